/* SPDX-License-Identifier: BSD-3-Clause */
// rte_eth_get_monitor_addr: the condition an lcore sleeps on (rte_power_monitor, the
// monitor mode of l3fwd-power and of rte_power_ethdev_pmgmt) says "sleep" while the RX
// queue has nothing and "wake" as soon as a completion lands or packets wait.
#include "ethdev_harness.h"
#include "lcore_launch.h"
#include "monitor_condition.h"

#include <rte_cpuflags.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_power_intrinsics.h>

#include <atomic>
#include <unistd.h>

namespace ethdev_test
{
namespace
{

using PowerMonitor = EthdevTest;

rte_power_monitor_cond monitor(uint16_t port, uint16_t queue)
{
    rte_power_monitor_cond condition{};
    EXPECT_EQ(rte_eth_get_monitor_addr(port, queue, &condition), 0);
    EXPECT_NE(condition.addr, nullptr);
    EXPECT_NE(condition.fn, nullptr);
    return condition;
}

TEST_F(PowerMonitor, ConditionFlipsWhenACompletionLands)
{
    start_ports({}, {.rx_queues = 2}, 2048);

    auto condition = monitor(port1_, 0);
    EXPECT_EQ(condition.size, 4);
    // The owner bits live in the last word of a 64-byte completion.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(condition.addr) % 64, 60U);
    EXPECT_FALSE(would_wake(condition)) << "an empty queue must let the lcore sleep";
    // A different queue watches a different completion queue.
    EXPECT_NE(monitor(port1_, 1).addr, condition.addr);

    send(port0_, 0, {ipv4_flow_frame(1, true), ipv4_flow_frame(2, true)});
    EXPECT_TRUE(would_wake(condition)) << "the completion did not change the watched word";
    EXPECT_FALSE(would_wake(monitor(port1_, 1))) << "queue 1 got nothing";

    // One of two packets returned: the rest waits, whether it shares the completion
    // (coalescing) or has its own.
    std::array<rte_mbuf *, 2> burst;
    ASSERT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), 1), 1);
    EXPECT_TRUE(would_wake(monitor(port1_, 0)));
    ASSERT_EQ(rte_eth_rx_burst(port1_, 0, burst.data() + 1, 1), 1);
    rte_pktmbuf_free_bulk(burst.data(), 2);
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), 2), 0);
    // All taken: sleep again, on the next completion's word.
    condition = monitor(port1_, 0);
    EXPECT_FALSE(would_wake(condition));
    send(port0_, 0, {ipv4_flow_frame(3, true)});
    EXPECT_TRUE(would_wake(condition));
    auto got = receive_all(port1_, 2);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);
}

TEST_F(PowerMonitor, WrapsAroundTheCompletionRing)
{
    start_ports({}, {.rx_descriptors = 32}, 4096);
    // Several laps of a small completion queue: the "empty" owner bits change each lap.
    for (uint32_t i = 0; i < 200; ++i) {
        const auto condition = monitor(port1_, 0);
        ASSERT_FALSE(would_wake(condition)) << "packet " << i;
        send(port0_, 0, {ipv4_flow_frame(i, false)});
        ASSERT_TRUE(would_wake(condition)) << "packet " << i;
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), 1U);
        free_all(got);
    }
}

TEST_F(PowerMonitor, StoppedPortHasNothingToWatch)
{
    rte_mempool *pool = make_pool(2048);
    ASSERT_EQ(configure(port1_, {}, pool), 0);
    rte_power_monitor_cond condition{};
    EXPECT_EQ(rte_eth_get_monitor_addr(port1_, 0, &condition), -EINVAL);
    EXPECT_EQ(rte_eth_get_monitor_addr(port1_, 1, &condition), -EINVAL);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    EXPECT_EQ(rte_eth_get_monitor_addr(port1_, 0, &condition), 0);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_eth_get_monitor_addr(port1_, 0, &condition), -EINVAL);
}

// The threaded emulator writes completions from its own thread. An lcore waits for one
// with rte_power_monitor where the CPU has it (WAITPKG or MONITORX), otherwise by
// re-reading the watched word as the monitor would; either way it must be woken by the
// arrival, long before its deadline.
struct Sleeper {
    rte_power_monitor_cond condition;
    std::atomic<bool> waiting{false};
    int monitor_result = 0;
    bool woke_by_condition = false;
    uint64_t deadline = 0;
};

int sleep_until_completion(void *arg)
{
    auto *s = static_cast<Sleeper *>(arg);
    rte_cpu_intrinsics intrinsics{};
    rte_cpu_get_intrinsics_support(&intrinsics);
    s->waiting = true;
    while (rte_get_timer_cycles() < s->deadline) {
        if (intrinsics.power_monitor) {
            s->monitor_result = rte_power_monitor(&s->condition, s->deadline);
            if (s->monitor_result != 0)
                return 0;
        }
        if (would_wake(s->condition)) {
            s->woke_by_condition = true;
            return 0;
        }
        if (!intrinsics.power_monitor)
            rte_pause();
    }
    return 0;
}

} // namespace

TEST_F(EthdevTest, ThreadedPowerMonitorWakesOnArrival)
{
    if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 2)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    rte_cpu_intrinsics intrinsics{};
    rte_cpu_get_intrinsics_support(&intrinsics);
    std::printf("power monitor intrinsics: %s\n", intrinsics.power_monitor
                                                      ? "yes (rte_power_monitor sleeps)"
                                                      : "no (the condition is polled instead)");
    rte_mempool *pool = start_ports({}, {}, 2048);
    Sleeper sleeper;
    ASSERT_EQ(rte_eth_get_monitor_addr(port1_, 0, &sleeper.condition), 0);
    sleeper.deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
    const unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    ASSERT_EQ(lcore_launch::launch(sleep_until_completion, &sleeper, worker), 0);
    while (!sleeper.waiting)
        rte_pause();
    usleep(50 * 1000);
    const uint64_t sent_at = rte_get_timer_cycles();
    rte_mbuf *mbuf = to_mbuf(pool, ipv4_flow_frame(7, true));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 1);
    ASSERT_EQ(lcore_launch::wait(worker), 0);
    const uint64_t woke_at = rte_get_timer_cycles();
    EXPECT_EQ(sleeper.monitor_result, 0);
    EXPECT_TRUE(sleeper.woke_by_condition) << "the sleeper ran into its deadline";
    EXPECT_LT(woke_at - sent_at, 5 * rte_get_timer_hz());
    std::vector<rte_mbuf *> got;
    for (int i = 0; i < 100 && got.empty(); ++i) {
        std::array<rte_mbuf *, 4> burst;
        const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
        got.insert(got.end(), burst.begin(), burst.begin() + n);
        usleep(1000);
    }
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(7, true));
    free_all(got);
    for (int i = 0; i < 50; ++i) {
        rte_eth_tx_burst(port0_, 0, nullptr, 0);
        usleep(1000);
    }
}

} // namespace ethdev_test
