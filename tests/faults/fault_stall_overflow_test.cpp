/* SPDX-License-Identifier: BSD-3-Clause */
// A device that stops keeping up: stalled (the rings fill, nothing is lost after it
// resumes) and lapping the driver on a CQ (overflow detected, counted, a restart
// recovers).
#include "faults_fixture.h"

namespace ethdev_test
{
namespace
{

// ---- a stalled device -------------------------------------------------------------------

TEST_F(Faults, StalledDeviceFillsTheRingAndNothingIsLostAfterResume)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx;
    tx.tx_descriptors = 64;
    start_one_way(pool, tx);
    rte_mempool *tx_pool = make_pool(512);
    const auto frames = numbered_frames(0, 300);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    std::size_t sent = 0;
    uint16_t shortest = UINT16_MAX;
    for (int round = 0; round < 10; ++round) {
        const uint16_t n = rte_eth_tx_burst(port0_, 0, mbufs.data() + sent,
                                            static_cast<uint16_t>(mbufs.size() - sent));
        shortest = std::min(shortest, n);
        sent += n;
        mana_emu_poll(); // the stalled port does nothing
    }
    EXPECT_EQ(sent, 64U) << "the ring holds exactly its descriptors while stalled";
    EXPECT_EQ(shortest, 0);
    EXPECT_TRUE(drain().empty());
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    while (sent < mbufs.size()) {
        mana_emu_poll();
        auto got = drain();
        const uint16_t n = rte_eth_tx_burst(port0_, 0, mbufs.data() + sent,
                                            static_cast<uint16_t>(mbufs.size() - sent));
        sent += n;
        free_all(got);
    }
    mana_emu_poll();
    auto rest = drain();
    free_all(rest);
    expect_conservation(300, stats(port1_).ipackets, "stall");
    EXPECT_EQ(stats(port1_).ipackets, 300U);
    EXPECT_EQ(stats(port0_).oerrors, 0U);
}

// ---- CQ overflow ------------------------------------------------------------------------

// The driver's documented behaviour (rxq.cpp): an overflowed RX CQ is reported once in
// ierrors with a log asking for a restart, the queue stops delivering, and stop/start
// recovers it.
TEST_F(Faults, RxCqOverflowIsDetectedCountedAndARestartRecovers)
{
    start_one_way(make_pool(2048));
    ASSERT_NO_FATAL_FAILURE(overflow_cq_under_traffic(1));
    EXPECT_EQ(stats(port1_).ierrors, 1U) << "overflow not counted";
    ASSERT_NO_FATAL_FAILURE(expect_restart_recovers(port1_));
}

// A lapped TX CQ must be detected and counted as well; the ring can then no longer be
// reaped, so the queue reports it and a restart recovers (every mbuf returns on stop).
TEST_F(Faults, TxCqOverflowIsDetectedCountedAndARestartRecovers)
{
    start_one_way(make_pool(2048));
    ASSERT_NO_FATAL_FAILURE(overflow_cq_under_traffic(0));
    reap_tx(port0_); // a burst is what finds the lapped CQ
    EXPECT_GE(stats(port0_).oerrors, 1U) << "TX CQ overflow neither detected nor counted";
    ASSERT_NO_FATAL_FAILURE(expect_restart_recovers(port0_));
}

} // namespace
} // namespace ethdev_test
