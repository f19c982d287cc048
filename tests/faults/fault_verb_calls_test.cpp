/* SPDX-License-Identifier: BSD-3-Clause */
// The k-th verbs call of configure, queue setup or start fails: each call in turn, every
// failure clean, and a retry works.
#include "faults_fixture.h"

namespace ethdev_test
{
namespace
{

// ---- the k-th verbs call of configure/start fails ---------------------------------------

// Configures both queues kinds on port 0 (2 RX with RSS, 2 TX) and starts it. The verbs
// calls RX queue setup makes (memory registration, a warm-up whose failure the first
// refill retries) are [rx_setup_calls->first, ->second) of those bring_up makes.
int bring_up(uint16_t port, rte_mempool *pool,
             std::pair<uint64_t, uint64_t> *rx_setup_calls = nullptr)
{
    const uint64_t before = mana_emu_verb_calls();
    rte_eth_conf conf{};
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    int ret = rte_eth_dev_configure(port, 2, 2, &conf);
    if (rx_setup_calls != nullptr)
        rx_setup_calls->first = mana_emu_verb_calls() - before;
    for (uint16_t q = 0; q < 2 && ret == 0; ++q)
        ret = rte_eth_rx_queue_setup(port, q, 128, SOCKET_ID_ANY, nullptr, pool);
    if (rx_setup_calls != nullptr)
        rx_setup_calls->second = mana_emu_verb_calls() - before;
    for (uint16_t q = 0; q < 2 && ret == 0; ++q)
        ret = rte_eth_tx_queue_setup(port, q, 128, SOCKET_ID_ANY, nullptr);
    if (ret == 0)
        ret = rte_eth_dev_start(port);
    return ret;
}

int start_receiver(uint16_t port, rte_mempool *pool)
{
    const rte_eth_conf conf{};
    int ret = rte_eth_dev_configure(port, 1, 0, &conf);
    if (ret == 0)
        ret = rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, nullptr, pool);
    if (ret == 0)
        ret = rte_eth_dev_start(port);
    return ret;
}

using VerbFailure = EthdevTest;

TEST_F(VerbFailure, EveryCallOfConfigureAndStartFailsCleanlyAndARetryWorks)
{
    rte_mempool *pool = make_pool(2048);
    // A clean run on a freshly probed port counts the calls.
    const uint64_t before = mana_emu_verb_calls();
    std::pair<uint64_t, uint64_t> registrations;
    ASSERT_EQ(bring_up(port0_, pool, &registrations), 0);
    const uint64_t calls = mana_emu_verb_calls() - before;
    ASSERT_GT(calls, 5U);
    ASSERT_LT(registrations.first, registrations.second) << "RX setup registers the pool";
    for (uint64_t k = 0; k <= calls; ++k) {
        SCOPED_TRACE("failing verbs call " + std::to_string(k) + " of " + std::to_string(calls));
        // A fresh port each time, so that every run makes the same calls.
        ASSERT_EQ(remove(), 0);
        ASSERT_EQ(probe(), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port0_), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port1_), 0);
        ASSERT_EQ(mana_emu_wire_ports(0, 1), 0);
        ASSERT_EQ(mana_emu_fail_verb("*", static_cast<unsigned>(k), 1, ENOMEM), 0);
        const int ret = bring_up(port0_, pool);
        mana_emu_clear_faults();
        if (k >= registrations.first && k < registrations.second) {
            EXPECT_EQ(ret, 0) << "a failed warm-up registration is retried, not fatal";
        } else if (k < calls) {
            EXPECT_LT(ret, 0) << "a failed verbs call went unnoticed";
        } else {
            EXPECT_EQ(ret, 0) << "a fault after the last call changed the outcome";
        }
        if (ret < 0) {
            EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
            EXPECT_EQ(rte_mempool_avail_count(pool), pool->size) << "mbufs leaked by failure";
            EXPECT_EQ(bring_up(port0_, pool), 0) << "retry after the failure";
        }
        // Traffic flows on the port that came up.
        ASSERT_EQ(start_receiver(port1_, pool), 0);
        const auto frames = numbered_frames(0, 32);
        send(port0_, 0, frames);
        auto got = receive_all(port1_, 1);
        EXPECT_EQ(got.size(), frames.size());
        free_all(got);
        EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
        EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
        EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
        ASSERT_EQ(remove(), 0);
        const auto counters = emu_counters();
        EXPECT_EQ(counters.live_objects, 0U) << "verbs objects leaked";
        EXPECT_EQ(counters.open_fds, 0U);
        ASSERT_EQ(probe(), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port0_), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port1_), 0);
        if (HasFatalFailure())
            return;
    }
}

} // namespace
} // namespace ethdev_test
