/* SPDX-License-Identifier: BSD-3-Clause */
// Faulty completions: every TX error type, RX truncated completions, and completions no
// device should write (garbage, longer than the buffer, for no posted buffer, for nothing
// in flight).
#include "faults_fixture.h"

namespace ethdev_test
{
namespace
{

// ---- every TX error completion ----------------------------------------------------------

class TxErrorType : public Faults, public ::testing::WithParamInterface<unsigned>
{
};

TEST_P(TxErrorType, CountedInOerrorsWithNoMbufLost)
{
    const unsigned type = GetParam();
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_fault_tx_error(0, type, 5), 0);
    rte_mempool *tx_pool = make_pool(128);
    // Frames 2..6 of 40 fail: some in the middle of suppressed-CQE runs.
    const auto frames = numbered_frames(0, 40);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 2), 2);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data() + 2, 38), 38);
    mana_emu_poll();
    auto got = drain();
    ASSERT_EQ(got.size(), 35U);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i + 5]) << "frame " << i;
    free_all(got);
    // Failed and spurious completions are counted, and sent mbufs freed, when a burst
    // reads the completions (stats_get itself counts only unread success completions).
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 5U);
    EXPECT_EQ(s.opackets, 35U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "failed packets not freed";
    EXPECT_EQ(emu_counters().tx_errors, 5U);
    expect_conservation(40, 35, "TX errors");
    // The queue keeps working.
    send(port0_, 0, numbered_frames(100, 64));
    got = drain();
    EXPECT_EQ(got.size(), 64U);
    free_all(got);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TxErrorType, ::testing::Range(33U, 42U),
                         [](const ::testing::TestParamInfo<unsigned> &info) {
                             return "type" + std::to_string(info.param);
                         });

// ---- RX truncated and garbage completions -----------------------------------------------

TEST_F(Faults, RxTruncatedIsCountedAndTheBufferReused)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 7), 0);
    // More than the ring holds, in bursts the ring can take: truncated buffers must return.
    const auto frames = numbered_frames(0, 300);
    std::vector<rte_mbuf *> got;
    for (std::size_t first = 0; first < frames.size(); first += 100) {
        send(port0_, 0, {frames.begin() + first, frames.begin() + first + 100});
        auto part = drain();
        got.insert(got.end(), part.begin(), part.end());
        free_all(part);
    }
    ASSERT_EQ(got.size(), 293U);
    got.clear();
    const auto s = stats(port1_);
    EXPECT_EQ(s.ierrors, 7U);
    EXPECT_EQ(s.rx_nombuf, 0U);
    EXPECT_EQ(emu_counters().rx_truncated, 7U);
    expect_conservation(300, 293, "RX truncated");
}

TEST_F(Faults, RandomGarbageRxCompletionsAreCountedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    std::mt19937 random(20261126);
    uint64_t must_count = 0; // garbage the driver cannot take for a packet
    for (int i = 0; i < 24; ++i) {
        std::array<uint8_t, 64> cqe;
        for (auto &b : cqe)
            b = static_cast<uint8_t>(random());
        const unsigned type = cqe[0] & 0x3f;
        const uint32_t first_length = cqe[8] | (cqe[9] << 8);
        if ((type != 1 && type != 2 && type != 3) ||
            ((type == 1 || type == 2) && (first_length == 0 || first_length > room)))
            ++must_count;
        ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    }
    std::set<rte_mbuf *> seen;
    std::vector<rte_mbuf *> got;
    std::array<rte_mbuf *, 32> burst;
    for (int round = 0; round < 8; ++round) {
        const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
        for (uint16_t i = 0; i < n; ++i) {
            EXPECT_TRUE(seen.insert(burst[i]).second) << "one mbuf delivered twice";
            EXPECT_LE(burst[i]->data_len, room) << "length beyond the buffer delivered";
            EXPECT_EQ(burst[i]->pkt_len, burst[i]->data_len);
            EXPECT_EQ(burst[i]->nb_segs, 1);
            got.push_back(burst[i]);
        }
    }
    free_all(got);
    EXPECT_GE(stats(port1_).ierrors, must_count);
    // The ring no longer matches the device: a restart resynchronises it.
    ASSERT_NO_FATAL_FAILURE(restart(port1_));
    ASSERT_EQ(rte_eth_stats_reset(port1_), 0);
    const auto frames = numbered_frames(0, 100);
    send(port0_, 0, frames);
    expect_delivered(frames);
}

TEST_F(Faults, RxCompletionLongerThanTheBufferIsCountedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    const auto cqe = raw_cqe(1, {0xffff});
    ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    for (uint16_t i = 0; i < n; ++i)
        EXPECT_LE(burst[i]->data_len, 2048U) << "65535-byte packet in a 2048-byte buffer";
    rte_pktmbuf_free_bulk(burst.data(), n);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(stats(port1_).ierrors, 1U);
}

TEST_F(Faults, RxCompletionWithNoPostedBufferIsCountedNotDelivered)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool =
        start_port(port1_, {.tx_queues = 0, .rx_descriptors = 128}, 256, RTE_MBUF_DEFAULT_BUF_SIZE);
    std::vector<rte_mbuf *> hoard;
    while (rte_mbuf *m = rte_pktmbuf_alloc(rx_pool))
        hoard.push_back(m);
    // Receive every posted buffer: nothing is posted any more.
    send(port0_, 0, numbered_frames(0, 128));
    auto held = drain();
    ASSERT_EQ(held.size(), 128U);
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    const auto cqe = raw_cqe(1, {60});
    ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    for (uint16_t i = 0; i < n; ++i)
        EXPECT_EQ(std::count(held.begin(), held.end(), burst[i]), 0)
            << "an mbuf the application owns was delivered again";
    EXPECT_EQ(n, 0);
    EXPECT_EQ(stats(port1_).ierrors, 1U);
    free_all(held);
    free_all(hoard);
}

TEST_F(Faults, GarbageTxCompletionsWithNothingInFlightAreCounted)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const auto frames = numbered_frames(0, 50);
    send(port0_, 0, frames);
    auto got = drain();
    ASSERT_EQ(got.size(), 50U);
    free_all(got);
    ASSERT_EQ(stats(port0_).opackets, 50U); // everything reaped
    const auto cqs = cq_ids(0);
    ASSERT_EQ(cqs.size(), 1U);
    std::mt19937 random(7);
    for (int i = 0; i < 6; ++i) {
        std::array<uint8_t, 64> cqe;
        for (auto &b : cqe)
            b = static_cast<uint8_t>(random());
        ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    }
    // Failed and spurious completions are counted, and sent mbufs freed, when a burst
    // reads the completions (stats_get itself counts only unread success completions).
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 6U);
    EXPECT_EQ(s.opackets, 50U) << "spurious completions must not uncount packets that were sent";
    // Traffic still flows.
    send(port0_, 0, frames);
    got = drain();
    EXPECT_EQ(got.size(), 50U);
    free_all(got);
}

} // namespace
} // namespace ethdev_test
