/* SPDX-License-Identifier: BSD-3-Clause */
// The RX queue queries (rte_eth_rx_queue_count, rte_eth_rx_descriptor_status,
// rte_eth_get_monitor_addr) while the queue is halted: stopped, the device away in a
// service reset, or hot-removed. They read the queue's CQ and mbuf ring, which a reset
// or a stop after a removal frees and recreates, so they must answer as for a stopped
// queue then (nothing filled, no descriptor usable, an lcore may sleep until the queue
// runs again) and never read the rings while they go: the threaded tests call them
// without pause on an lcore while the control path resets the device, or removes it and
// stops the ports under it. Under ThreadSanitizer (devtools/sanitize tsan) a query that
// read a ring unordered with its destruction is reported; under AddressSanitizer a read of
// freed driver state would be.
#include "lcore_launch.h"
#include "monitor_condition.h"
#include "reset_event_test.h"
#include "traffic_worker.h"

#include <rte_lcore.h>
#include <rte_power_intrinsics.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace ethdev_test
{
namespace
{

constexpr uint16_t kDescriptors = 256;

class RxQueriesWhileHalted : public ResetEventTest
{
  protected:
    // What a halted RX queue answers: nothing filled, no descriptor the device may fill,
    // and a condition that lets the lcore sleep.
    void expect_halted_answers(uint16_t port, uint16_t queue, rte_power_monitor_cond &condition)
    {
        EXPECT_EQ(rte_eth_rx_queue_count(port, queue), 0);
        for (const uint16_t offset : std::array<uint16_t, 4>{0, 9, 10, kDescriptors - 1})
            EXPECT_EQ(rte_eth_rx_descriptor_status(port, queue, offset), RTE_ETH_RX_DESC_UNAVAIL)
                << "offset " << offset;
        EXPECT_EQ(rte_eth_rx_descriptor_status(port, queue, kDescriptors), -EINVAL);
        condition = {};
        ASSERT_EQ(rte_eth_get_monitor_addr(port, queue, &condition), 0);
        ASSERT_NE(condition.fn, nullptr);
        EXPECT_FALSE(would_wake(condition)) << "nothing can arrive: the lcore may sleep";
    }
};

TEST_F(RxQueriesWhileHalted, ServiceResetAnswersAsAStoppedQueueAndItsEndWakesTheLcore)
{
    start_port(port0_, {}, 2048);
    start_port(port1_, {}, 1024);
    send(port0_, 0, ipv4_flow_frames(10, true));
    ASSERT_EQ(rte_eth_rx_queue_count(port1_, 0), 10);
    ASSERT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 9), RTE_ETH_RX_DESC_DONE);

    // The device stays away long enough to ask while it is gone.
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 1000), 0);
    ASSERT_TRUE(events_.wait_for({port1_}, RTE_ETH_EVENT_ERR_RECOVERING));
    rte_power_monitor_cond during{};
    expect_halted_answers(port1_, 0, during);
    ASSERT_EQ(events_.count(port1_, RTE_ETH_EVENT_RECOVERY_SUCCESS), 0U)
        << "recovered before the answers above were checked: they were not taken while halted";

    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS));
    EXPECT_TRUE(would_wake(during))
        << "an lcore sleeping through the reset is not woken by its end";
    // The frames that waited went with the reset's buffers; the new ring is empty.
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 0), RTE_ETH_RX_DESC_AVAIL);
    rte_power_monitor_cond after{};
    ASSERT_EQ(rte_eth_get_monitor_addr(port1_, 0, &after), 0);
    EXPECT_FALSE(would_wake(after));
    send(port0_, 0, ipv4_flow_frames(4, true, 100));
    EXPECT_TRUE(would_wake(after));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 4);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 3), RTE_ETH_RX_DESC_DONE);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 4U);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), ipv4_flow_frame(100 + static_cast<uint32_t>(i), true));
    free_all(got);
}

// rte_power_ethdev_pmgmt sleeps on every queue of an lcore at once: a stopped queue
// must let it sleep, and its start must wake it (the CQ it had is replaced).
TEST_F(RxQueriesWhileHalted, StoppedQueueLetsTheLcoreSleepUntilItStarts)
{
    start_port(port0_, {}, 2048);
    start_port(port1_, {}, 1024);
    send(port0_, 0, ipv4_flow_frames(5, true));
    ASSERT_EQ(rte_eth_rx_queue_count(port1_, 0), 5);
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 0), 0);
    rte_power_monitor_cond stopped{};
    expect_halted_answers(port1_, 0, stopped);
    // Frames steered to the stopped queue are dropped: still nothing to wake for.
    send(port0_, 0, ipv4_flow_frames(3, true, 10));
    EXPECT_FALSE(would_wake(stopped));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), 0);
    EXPECT_TRUE(would_wake(stopped)) << "starting the queue does not wake an lcore sleeping on it";
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 0), RTE_ETH_RX_DESC_AVAIL);
    send(port0_, 0, ipv4_flow_frames(2, true, 20));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 2);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 2U);
    free_all(got);
}

// ---- The queries on an lcore of their own, racing the control path --------------------

// One lcore calling the three queries on one RX queue without pause, and every 16th round
// an rx_burst (the same lcore polls the queue, as DPDK requires) so that completions keep
// coming and the queries walk real ones.
struct QueryLoop {
    uint16_t port = 0;
    uint16_t queue = 0;
    // The test stops the port under the lcore. The lcore then calls the driver through
    // the fast-path table as it was when it started: rte_eth_dev_stop rewrites ethdev's
    // table for the port (eth_dev_fp_ops_reset, a plain struct assignment) before the
    // driver's dev_stop, and a reader racing that can find the queue array pointer still
    // null (a SIGSEGV inside rte_eth_rx_queue_count in about 1 of 5 runs), so DPDK does
    // not allow fast-path calls to race a stop. What the driver answers for a queue that
    // stops under it is what is tested; its queues live until the port is closed.
    bool port_stops = false;
    std::atomic<bool> stop{false};
    std::atomic<bool> running{false};
    uint64_t rounds = 0;
    uint64_t halted_rounds = 0; // the monitor condition watched a halted flag
    uint64_t received = 0;
    uint64_t bad_answers = 0; // answers neither a running nor a halted queue gives
    int first_bad = 0;        // the first of them
};

void count_bad(QueryLoop &loop, int answer)
{
    if (loop.bad_answers++ == 0)
        loop.first_bad = answer;
}

// Counts an answer outside `allowed`.
template <std::size_t N>
void check_answer(QueryLoop &loop, int answer, const std::array<int, N> &allowed)
{
    for (const int ok : allowed)
        if (answer == ok)
            return;
    count_bad(loop, answer);
}

// The fast-path calls of one RX queue: through ethdev, or through the driver's entries
// and queue pointer read once from ethdev's table (see QueryLoop::port_stops).
class RxQueueCalls
{
  public:
    RxQueueCalls(uint16_t port, uint16_t queue, bool snapshot)
        : port_(port), queue_(queue), snapshot_(snapshot), ops_(rte_eth_fp_ops[port]),
          data_(ops_.rxq.data[queue])
    {
    }
    int count() const
    {
        return snapshot_ ? ops_.rx_queue_count(data_) : rte_eth_rx_queue_count(port_, queue_);
    }
    int status(uint16_t offset) const
    {
        return snapshot_ ? ops_.rx_descriptor_status(data_, offset)
                         : rte_eth_rx_descriptor_status(port_, queue_, offset);
    }
    uint16_t burst(rte_mbuf **packets, uint16_t max) const
    {
        return snapshot_ ? ops_.rx_pkt_burst(data_, packets, max)
                         : rte_eth_rx_burst(port_, queue_, packets, max);
    }

  private:
    uint16_t port_;
    uint16_t queue_;
    bool snapshot_;
    struct rte_eth_fp_ops ops_; // "struct": ethdev names its table array the same
    void *data_;
};

int run_query_loop(void *arg)
{
    auto &loop = *static_cast<QueryLoop *>(arg);
    const RxQueueCalls calls(loop.port, loop.queue, loop.port_stops);
    loop.running = true;
    // ethdev's own answer for a stopped port; the driver's (through the snapshot) are
    // those of a halted queue. Without a stop it counts as a bad answer like any other.
    const int stopped = loop.port_stops ? -ENOTSUP : INT_MIN;
    const std::array<int, 4> statuses = {RTE_ETH_RX_DESC_AVAIL, RTE_ETH_RX_DESC_DONE,
                                         RTE_ETH_RX_DESC_UNAVAIL, stopped};
    while (!loop.stop.load(std::memory_order_relaxed)) {
        const int count = calls.count();
        if (count != stopped && (count < 0 || count > kDescriptors))
            count_bad(loop, count);
        // The first descriptor, the first one past those filled, the last one.
        const int past_filled = std::clamp(count, 1, kDescriptors - 1);
        for (const uint16_t offset :
             std::array<uint16_t, 3>{0, static_cast<uint16_t>(past_filled), kDescriptors - 1})
            check_answer(loop, calls.status(offset), statuses);
        check_answer(loop, calls.status(kDescriptors), std::array{-EINVAL, stopped});
        rte_power_monitor_cond condition{};
        const int monitor = rte_eth_get_monitor_addr(loop.port, loop.queue, &condition);
        check_answer(loop, monitor, std::array{0});
        // Only the kind of condition: the CQ word it names may be freed by now.
        if (monitor == 0 && condition.size == 1)
            ++loop.halted_rounds;
        else if (monitor == 0 && condition.size != 4)
            count_bad(loop, 1000 + condition.size);
        // Not through ethdev on a stopped port: its stand-in burst logs an error at every
        // call.
        if (++loop.rounds % 16 == 0 && count >= 0) {
            std::array<rte_mbuf *, 32> burst;
            const uint16_t n = calls.burst(burst.data(), burst.size());
            loop.received += n;
            rte_pktmbuf_free_bulk(burst.data(), n);
        }
    }
    return 0;
}

// Runs a QueryLoop on the first worker lcore; stops it at the latest when it goes out of
// scope (a failed ASSERT leaves no lcore querying into the teardown).
class QueryLcore
{
  public:
    explicit QueryLcore(QueryLoop &loop) : loop_(loop) {}
    QueryLcore(const QueryLcore &) = delete;
    QueryLcore &operator=(const QueryLcore &) = delete;
    ~QueryLcore() { stop(); }

    bool launch()
    {
        lcore_ = rte_get_next_lcore(rte_lcore_id(), 1, 0);
        if (lcore_ >= RTE_MAX_LCORE || lcore_launch::launch(run_query_loop, &loop_, lcore_) != 0)
            return false;
        launched_ = true;
        while (!loop_.running)
            std::this_thread::yield();
        return true;
    }

    bool stop()
    {
        if (!launched_)
            return true;
        launched_ = false;
        loop_.stop = true;
        return lcore_launch::wait(lcore_) == 0;
    }

  private:
    QueryLoop &loop_;
    unsigned lcore_ = RTE_MAX_LCORE;
    bool launched_ = false;
};

// Keeps frames coming to port 1 (from TX queue 0 of port 0, this thread's own): a burst of
// eight, whatever tx_burst does not take (the device is away) freed again.
void send_some(uint16_t port, rte_mempool *pool, const std::vector<Frame> &frames)
{
    std::array<rte_mbuf *, 8> burst;
    for (std::size_t i = 0; i < burst.size(); ++i)
        burst[i] = to_mbuf(pool, frames[i % frames.size()]);
    const uint16_t taken = rte_eth_tx_burst(port, 0, burst.data(), burst.size());
    rte_pktmbuf_free_bulk(burst.data() + taken, burst.size() - taken);
}

void print_rounds(const QueryLoop &loop)
{
    std::printf("query rounds: %llu, %llu of them on a halted queue; %llu packets received\n",
                static_cast<unsigned long long>(loop.rounds),
                static_cast<unsigned long long>(loop.halted_rounds),
                static_cast<unsigned long long>(loop.received));
}

bool threaded_with_two_lcores()
{
    return mana_emu_get_mode() == MANA_EMU_THREADED && rte_lcore_count() >= 2;
}

using RxQueriesDuringReset = RxQueriesWhileHalted;

// Three service resets, the device away 30 to 90 ms each time, while the lcore queries.
TEST_F(RxQueriesDuringReset, ThreadedQueriesNeverReadTheRingsARecoveryFrees)
{
    if (!threaded_with_two_lcores())
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    rte_mempool *tx_pool = start_port(port0_, {}, 4096);
    start_port(port1_, {}, 1024);
    mana_emu_counters_t counters{};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    const uint64_t objects = counters.live_objects;
    const std::vector<Frame> frames = ipv4_flow_frames(8, true);

    QueryLoop loop{.port = port1_, .queue = 0};
    QueryLcore lcore(loop);
    ASSERT_TRUE(lcore.launch());
    constexpr uint32_t kResets = 3;
    for (uint32_t reset = 1; reset <= kResets; ++reset) {
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 30 * reset), 0);
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (events_.count(port1_, RTE_ETH_EVENT_RECOVERY_SUCCESS) < reset &&
               std::chrono::steady_clock::now() < limit) {
            send_some(port0_, tx_pool, frames);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, reset))
            << "reset " << reset << " not recovered";
        // Some traffic on the recovered port before the next reset.
        for (int i = 0; i < 20; ++i) {
            send_some(port0_, tx_pool, frames);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    ASSERT_TRUE(lcore.stop());
    print_rounds(loop);
    EXPECT_EQ(loop.bad_answers, 0U)
        << "first: " << loop.first_bad << " in " << loop.rounds << " rounds";
    EXPECT_GT(loop.halted_rounds, 0U) << "the lcore never asked while the device was away";
    EXPECT_GT(loop.received, 0U) << "the lcore never received: the queries walked no completion";
    EXPECT_EQ(events_.count(port1_, RTE_ETH_EVENT_RECOVERY_FAILED), 0U);
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.live_objects, objects) << "verbs objects lost or leaked";

    // The queue answers as before the resets: what waits is counted.
    drain_after_traffic(port0_, port1_, 1, 20);
    send(port0_, 0, ipv4_flow_frames(4, true, 50));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (rte_eth_rx_queue_count(port1_, 0) < 4 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 4);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 3), RTE_ETH_RX_DESC_DONE);
    drain_after_traffic(port0_, port1_, 1, 20);
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.dma_violations, 0U);
    EXPECT_EQ(counters.wqe_violations, 0U);
}

using RxQueriesDuringRemoval = RxQueriesWhileHalted;

// The VF is hot-removed while the lcore queries, and the application stops both ports
// (which frees the rings) without stopping the lcore first.
TEST_F(RxQueriesDuringRemoval, ThreadedQueriesNeverReadTheRingsAStopFrees)
{
    if (!threaded_with_two_lcores() || std::getenv("MANA_TEST_REMOVAL") == nullptr)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded, MANA_TEST_LCORES=0-1 and "
                        "MANA_TEST_REMOVAL=1 (the function does not come back in this process)";
    rte_mempool *tx_pool = start_port(port0_, {}, 4096);
    start_port(port1_, {}, 1024);
    const std::vector<Frame> frames = ipv4_flow_frames(8, true);

    QueryLoop loop{.port = port1_, .queue = 0, .port_stops = true};
    QueryLcore lcore(loop);
    ASSERT_TRUE(lcore.launch());
    for (int i = 0; i < 50; ++i) {
        send_some(port0_, tx_pool, frames);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(mana_emu_remove_device(kBdf), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_INTR_RMV));
    EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // queries on the stopped port
    ASSERT_TRUE(lcore.stop());
    print_rounds(loop);
    EXPECT_EQ(loop.bad_answers, 0U)
        << "first: " << loop.first_bad << " in " << loop.rounds << " rounds";
    EXPECT_GT(loop.halted_rounds, 0U) << "the lcore never asked after the removal";
    EXPECT_GT(loop.received, 0U);

    // The removed device never comes back: the lcore may sleep for good (until the
    // application closes the port).
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), -ENOTSUP); // ethdev: the port is stopped
    rte_power_monitor_cond condition{};
    ASSERT_EQ(rte_eth_get_monitor_addr(port1_, 0, &condition), 0);
    EXPECT_FALSE(would_wake(condition));
}

} // namespace
} // namespace ethdev_test
