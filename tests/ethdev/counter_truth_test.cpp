/* SPDX-License-Identifier: BSD-3-Clause */
// The port counters tell what the device did: every frame it delivered to an RX queue is
// in ipackets or ierrors (also the frames a queue stop discards); opackets and obytes
// count the packets it sent, when it completes them (an idle queue's too), never a packet
// that failed or that a queue stop freed, and they never go back.
#include "ethdev_harness.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vector>

using namespace ethdev_test;

namespace
{

class CounterTruth : public EthdevTest
{
  protected:
    // Posts `frames` on port 0's TX queue 0 in one burst, from `pool`.
    static void post(rte_mempool *pool, const std::vector<Frame> &frames)
    {
        std::vector<rte_mbuf *> mbufs;
        for (const Frame &frame : frames)
            mbufs.push_back(to_mbuf(pool, frame));
        ASSERT_EQ(rte_eth_tx_burst(0, 0, mbufs.data(), static_cast<uint16_t>(mbufs.size())),
                  mbufs.size());
    }
    // rte_eth_stats_get alone (stats() reads the TX completions first, as a burst would).
    static rte_eth_stats idle_stats(uint16_t port)
    {
        rte_eth_stats s{};
        EXPECT_EQ(rte_eth_stats_get(port, &s), 0);
        return s;
    }
    static uint64_t bytes_of(const std::vector<Frame> &frames)
    {
        uint64_t bytes = 0;
        for (const Frame &frame : frames)
            bytes += frame.size();
        return bytes;
    }
};

// Failed before: the frames in a stopped queue's completion queue vanished uncounted.
TEST_F(CounterTruth, FramesAnRxQueueStopDiscardsAreCounted)
{
    start_ports({}, {}, 2048);
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

// Failed before: opackets counted a packet when tx_burst posted it, so packets the device
// held were reported sent.
TEST_F(CounterTruth, TxPacketsCountWhenTheDeviceSendsThemAlsoOnAnIdleQueue)
{
    start_ports({}, {}, 2048);
    rte_mempool *tx_pool = make_pool(64);
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    const std::vector<Frame> frames = ipv4_flow_frames(8, true);
    post(tx_pool, frames);
    mana_emu_poll();
    rte_eth_stats s = stats(port0_);
    EXPECT_EQ(s.opackets, 0U) << "the device has sent nothing";
    EXPECT_EQ(s.obytes, 0U);

    // The device sends them; no burst comes to read the completions.
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    mana_emu_poll();
    s = idle_stats(port0_);
    EXPECT_EQ(s.opackets, 8U);
    EXPECT_EQ(s.obytes, bytes_of(frames));
    EXPECT_EQ(s.q_opackets[0], 8U);
    EXPECT_EQ(xstat(port0_, "tx_q0_packets"), 8U);
    EXPECT_EQ(s.oerrors, 0U);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 8U);
    free_all(got);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reads the completions: nothing counts twice
    s = stats(port0_);
    EXPECT_EQ(s.opackets, 8U);
    EXPECT_EQ(s.obytes, bytes_of(frames));
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// Failed before: a packet was counted sent when posted and taken back when its error
// completion came, so opackets went down.
TEST_F(CounterTruth, AFailedTxPacketIsNeverCountedAsSent)
{
    start_ports({}, {}, 2048);
    rte_mempool *tx_pool = make_pool(64);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 34, 1), 0);
    const std::vector<Frame> frames = ipv4_flow_frames(4, true);
    post(tx_pool, frames);
    mana_emu_poll();
    const rte_eth_stats before = idle_stats(port0_);
    EXPECT_LE(before.opackets + before.oerrors, 4U);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reads the completions
    const rte_eth_stats after = stats(port0_);
    EXPECT_GE(after.opackets, before.opackets) << "opackets went back";
    EXPECT_GE(after.obytes, before.obytes) << "obytes went back";
    EXPECT_EQ(after.opackets, 3U);
    EXPECT_EQ(after.obytes, bytes_of(frames) - frames[0].size());
    EXPECT_EQ(after.oerrors, 1U);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 3U);
    free_all(got);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// Failed before: the packets a TX queue stop freed unsent stayed in opackets.
TEST_F(CounterTruth, PacketsATxQueueStopFreesAreDroppedNotSent)
{
    start_ports({}, {}, 2048);
    rte_mempool *tx_pool = make_pool(64);
    const std::vector<Frame> sent = ipv4_flow_frames(3, true);
    post(tx_pool, sent);
    mana_emu_poll(); // sent and completed; no burst reads the completions
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    post(tx_pool, ipv4_flow_frames(5, true, 10)); // never sent
    ASSERT_EQ(rte_eth_dev_tx_queue_stop(port0_, 0), 0);
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    const rte_eth_stats s = idle_stats(port0_);
    EXPECT_EQ(s.opackets, 3U);
    EXPECT_EQ(s.obytes, bytes_of(sent));
    EXPECT_EQ(s.oerrors, 5U);
    EXPECT_EQ(xstat(port0_, "tx_q0_discarded_at_stop_errors"), 5U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "freed packets lost";
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 3U);
    free_all(got);
    ASSERT_EQ(rte_eth_dev_tx_queue_start(port0_, 0), 0);
}

// The completions no burst has read when the counters are reset were sent before it.
TEST_F(CounterTruth, ResetCountersStayAtZeroWhenOldCompletionsAreRead)
{
    start_ports({}, {}, 2048);
    send(port0_, 0, ipv4_flow_frames(6, true));
    ASSERT_EQ(rte_eth_stats_reset(port0_), 0);
    EXPECT_EQ(idle_stats(port0_).opackets, 0U);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reads them
    rte_eth_stats s = stats(port0_);
    EXPECT_EQ(s.opackets, 0U);
    EXPECT_EQ(s.obytes, 0U);
    send(port0_, 0, ipv4_flow_frames(2, true, 20));
    s = stats(port0_);
    EXPECT_EQ(s.opackets, 2U);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 8U);
    free_all(got);
}

} // namespace
