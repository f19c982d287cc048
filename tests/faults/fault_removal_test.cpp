/* SPDX-License-Identifier: BSD-3-Clause */
// The device removed (PCI hot-remove) during traffic: bursts stop, stop and close work,
// nothing leaks. Runs in its own process (meson test faults_removal).
#include "event_log.h"
#include "faults_fixture.h"

namespace ethdev_test
{
namespace
{

// ---- device removal during traffic ------------------------------------------------------

// Runs in its own process (meson test faults_removal): the function stays removed.
using Removal = Faults;

TEST_F(Removal, BurstsStopStopAndCloseWorkNothingLeaks)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    static EventLog events;
    ASSERT_EQ(rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_RMV, EventLog::record,
                                            &events),
              0);
    rte_mempool *tx_pool = make_pool(1024);
    const auto frames = numbered_frames(0, 64);
    // Traffic in flight both ways when the device goes.
    send(port0_, 0, frames);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 32), 32);
    ASSERT_EQ(mana_emu_remove_device(kBdf), 0);
    mana_emu_poll();

    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    const bool removal_supported = (*info.dev_flags & RTE_ETH_DEV_INTR_RMV) != 0;
    EXPECT_TRUE(removal_supported) << "the driver does not announce RTE_ETH_DEV_INTR_RMV";
    events.wait_for({port0_, port1_}, RTE_ETH_EVENT_INTR_RMV, 1, std::chrono::seconds(2));
    EXPECT_EQ(events.count(port0_, RTE_ETH_EVENT_INTR_RMV), 1U)
        << "no RTE_ETH_EVENT_INTR_RMV on port 0";
    EXPECT_EQ(events.count(port1_, RTE_ETH_EVENT_INTR_RMV), 1U)
        << "no RTE_ETH_EVENT_INTR_RMV on port 1";
    // RX: whatever was completed before the removal may still come; then nothing.
    auto got = drain();
    free_all(got);
    std::array<rte_mbuf *, 32> burst;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), burst.size()), 0);
    // TX: the device takes no more work; the queue must not grow without bound and
    // must not touch freed memory. Whatever it takes is freed or counted by stop.
    std::size_t taken = 32;
    for (int round = 0; round < 8 && taken < mbufs.size(); ++round)
        taken += rte_eth_tx_burst(port0_, 0, mbufs.data() + taken,
                                  static_cast<uint16_t>(mbufs.size() - taken));
    EXPECT_EQ(taken, 32U) << "tx_burst still takes packets for a removed device";
    for (std::size_t i = taken; i < mbufs.size(); ++i)
        rte_pktmbuf_free(mbufs[i]);
    EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
    EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "in-flight mbufs lost";
    EXPECT_EQ(rte_eth_dev_callback_unregister(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_RMV, EventLog::record,
                                              &events),
              0);
    // TearDown closes the ports and checks that no verbs object or fd is left.
}

} // namespace
} // namespace ethdev_test
