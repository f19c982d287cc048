/* SPDX-License-Identifier: BSD-3-Clause */
// The RX path through rte_eth_* over the emulator: pool exhaustion, bursts smaller than
// a completion, RX interrupts, and completions or frames the driver must not deliver
// (corrupt, truncated, larger than the buffers).
#include "ethdev_harness.h"
#include "raw_completion.h"

#include <rte_epoll.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace ethdev_test
{
namespace
{

using Rx = EthdevTest;

TEST_F(Rx, PoolExhaustionIsCountedAndRecovers)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool = start_port(port1_, {}, 512);
    // Take every spare mbuf so refills fail.
    std::vector<rte_mbuf *> hoard = take_all(rx_pool);
    const auto frames = ipv4_flow_frames(200, false);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 200U);
    auto s = stats(port1_);
    EXPECT_GT(s.rx_nombuf, 0U);
    // Only 56 buffers are posted now: most of the next 100 frames are dropped.
    send(port0_, 0, std::vector<Frame>(frames.begin(), frames.begin() + 100));
    auto partial = receive_all(port1_, 1);
    EXPECT_EQ(partial.size(), 56U);
    free_all(partial);
    free_all(got);
    free_all(hoard);
    // The pool is back: the next burst refills the ring and traffic flows again.
    auto none = receive_all(port1_, 1);
    EXPECT_TRUE(none.empty());
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 200U);
    free_all(got);
}

TEST_F(Rx, SmallBurstsSplitCompletionsInOrder)
{
    start_ports({}, {}, 2048);
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < 23; ++i)
        frames.push_back(ipv4_flow_frame(i, i % 3 == 0, 40 + i));
    send(port0_, 0, frames);
    // Bursts of 1 and 3 end in the middle of coalesced completions (up to 4 packets).
    std::vector<rte_mbuf *> got;
    for (uint16_t max : {1, 3, 1, 3, 3, 1, 3, 3, 3, 3, 3, 3}) {
        std::array<rte_mbuf *, 3> burst;
        const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), max);
        EXPECT_LE(n, max);
        got.insert(got.end(), burst.begin(), burst.begin() + n);
    }
    auto rest = receive_all(port1_, 1);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
    free_all(got);
    EXPECT_EQ(stats(port1_).ipackets, frames.size());
    const char *config = std::getenv("MANA_EMU_CONFIG");
    if (config != nullptr && std::strstr(config, "coalesce=1") != nullptr) {
        struct mana_emu_counters counters = {};
        ASSERT_EQ(mana_emu_counters(&counters), 0);
        // One TX completion (CQE suppression) and fewer RX CQEs than packets (packets
        // with the same flags share a CQE).
        EXPECT_LT(counters.cqes, frames.size()) << "the emulator did not coalesce";
    }
}

TEST_F(Rx, InterruptWakesTheLcoreOnArrival)
{
    start_ports({}, {.rx_queues = 2, .rx_interrupts = true}, 2048);
    for (uint16_t q = 0; q < 2; ++q) {
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(port1_, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
                                            reinterpret_cast<void *>(uintptr_t{q})),
                  0);
        ASSERT_EQ(rte_eth_dev_rx_intr_enable(port1_, q), 0);
    }
    rte_epoll_event events[2];
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 0), 0) << "woken with nothing";
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    const int woken = rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 1000);
    ASSERT_EQ(woken, 1);
    EXPECT_EQ(events[0].epdata.data, reinterpret_cast<void *>(uintptr_t{0}));
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(port1_, 0), 0);
    auto got = receive_all(port1_, 2);
    ASSERT_EQ(got.size(), 1U);
    free_all(got);
    // Drained: no further wake-up until re-armed and a new packet comes.
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 0), 0);
    ASSERT_EQ(rte_eth_dev_rx_intr_enable(port1_, 0), 0);
    send(port0_, 0, {ipv4_flow_frame(2, true)});
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 1000), 1);
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(port1_, 0), 0);
    got = receive_all(port1_, 2);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);
    for (uint16_t q = 0; q < 2; ++q)
        EXPECT_EQ(
            rte_eth_dev_rx_intr_ctl_q(port1_, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr),
            0);
}

TEST_F(Rx, InterruptsNeedTheConfiguration)
{
    start_port(port1_, {}, 2048);
    EXPECT_NE(rte_eth_dev_rx_intr_enable(port1_, 0), 0);
}

TEST_F(Rx, CorruptCompletionsAreCountedNotDelivered)
{
    start_ports({}, {.tx_queues = 0}, 2048);
    const uint32_t cq = only_cq_of(1);
    // Longer than any buffer; no packet at all; a type RX queues never get.
    for (const auto &cqe : {raw_completion(1, {0xffff}), raw_completion(2, {100, 60000}),
                            raw_completion(1, {0}), raw_completion(33, {64})})
        ASSERT_EQ(mana_emu_write_cqe(cq, cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    ASSERT_EQ(n, 1); // only the 100-byte packet of the coalesced CQE
    EXPECT_EQ(burst[0]->data_len, 100);
    rte_pktmbuf_free(burst[0]);
    EXPECT_EQ(stats(port1_).ierrors, 4U);
    // Restarted, the ring matches the device again and traffic flows.
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(1, true));
    free_all(got);
}

TEST_F(Rx, TruncatedFramesAreCountedAndTheirBuffersReused)
{
    start_ports({}, {}, 2048);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 2), 0);
    const auto frames = ipv4_flow_frames(5, true);
    send(port0_, 0, frames);
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0], frames[2]);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ierrors, 2U);
    EXPECT_EQ(s.ipackets, 3U);
    EXPECT_EQ(s.rx_nombuf, 0U);
}

TEST_F(Rx, OversizedFrameIsTruncatedNotDelivered)
{
    start_port(port0_, {}, 2048);
    start_port(port1_, {}, 512, RTE_PKTMBUF_HEADROOM + 1024);
    // Larger than the 1024-byte buffers of the RX pool.
    send(port0_, 0, {ipv4_flow_frame(1, false, 1400), ipv4_flow_frame(2, false, 100)});
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], ipv4_flow_frame(2, false, 100));
    EXPECT_EQ(stats(port1_).ierrors, 1U);
}

} // namespace
} // namespace ethdev_test
