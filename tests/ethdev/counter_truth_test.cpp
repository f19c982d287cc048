/* SPDX-License-Identifier: BSD-3-Clause */
// The port counters account for every frame the device delivered to an RX queue: in
// ipackets, or in ierrors, also the frames a queue stop discards.
#include "ethdev_harness.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vector>

using namespace ethdev_test;

namespace
{

class CounterTruth : public EthdevTest
{
};

// Failed before: the frames in a stopped queue's completion queue vanished uncounted.
TEST_F(CounterTruth, FramesAnRxQueueStopDiscardsAreCounted)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    mana_emu_reset_counters();
    send(port0_, 0, ipv4_flow_frames(6, true)); // delivered, not received
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 0), 0);
    rte_eth_stats s = stats(port1_);
    EXPECT_EQ(s.ipackets, 0U);
    EXPECT_EQ(s.ierrors, 6U);
    EXPECT_EQ(xstat(port1_, "rx_q0_discarded_at_stop_errors"), 6U);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), 0);
    send(port0_, 0, ipv4_flow_frames(4, true, 50));
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 4U);
    free_all(got);
    s = stats(port1_);
    struct mana_emu_counters device {
    };
    ASSERT_EQ(mana_emu_port_counters(1, &device), 0);
    EXPECT_EQ(device.rx_frames, 10U);
    EXPECT_EQ(s.ipackets + s.imissed + s.ierrors + s.rx_nombuf, device.rx_frames)
        << "every frame the device delivered is accounted for";
}

} // namespace
