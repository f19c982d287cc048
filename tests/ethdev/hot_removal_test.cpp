/* SPDX-License-Identifier: BSD-3-Clause */
// Hot removal of the VF through rte_eth_* over the emulator: RTE_ETH_EVENT_INTR_RMV on
// every port, and closing afterwards still releases everything.
#include "ethdev_harness.h"
#include "event_log.h"

#include <chrono>
#include <cstdlib>

namespace ethdev_test
{
namespace
{

// Hot removal of the VF: every port gets RTE_ETH_EVENT_INTR_RMV from the interrupt
// thread, and closing afterwards still releases everything. Run alone
// (MANA_TEST_REMOVAL=1): the function does not come back in this process.
using Removal = EthdevTest;

TEST_F(Removal, HotRemoveRaisesRmvOnEveryPort)
{
    if (std::getenv("MANA_TEST_REMOVAL") == nullptr)
        GTEST_SKIP() << "run with MANA_TEST_REMOVAL=1 in a process of its own";
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_TRUE(*info.dev_flags & RTE_ETH_DEV_INTR_RMV);
    start_ports({}, {}, 2048);
    EventLog events;
    for (uint16_t port : {port0_, port1_})
        ASSERT_EQ(
            rte_eth_dev_callback_register(port, RTE_ETH_EVENT_INTR_RMV, EventLog::record, &events),
            0);
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);

    ASSERT_EQ(mana_emu_remove_device(kBdf), 0);
    events.wait_for({port0_, port1_}, RTE_ETH_EVENT_INTR_RMV, 1, std::chrono::seconds(2));
    EXPECT_GE(events.count(port0_, RTE_ETH_EVENT_INTR_RMV), 1U);
    EXPECT_GE(events.count(port1_, RTE_ETH_EVENT_INTR_RMV), 1U);
    for (uint16_t port : {port0_, port1_})
        EXPECT_EQ(rte_eth_dev_callback_unregister(port, RTE_ETH_EVENT_INTR_RMV, EventLog::record,
                                                  &events),
                  0);
    // The data path stops cleanly: nothing received, nothing taken for sending.
    std::array<rte_mbuf *, 8> burst;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), burst.size()), 0);
    rte_mempool *tx_pool = make_pool(64);
    rte_mbuf *mbuf = to_mbuf(tx_pool, ipv4_flow_frame(2, true));
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 0);
    rte_pktmbuf_free(mbuf);
}

} // namespace
} // namespace ethdev_test
