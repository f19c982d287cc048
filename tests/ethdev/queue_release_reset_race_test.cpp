/* SPDX-License-Identifier: BSD-3-Clause */
// Queue release and the memory-region registrar's replacement raced against service resets.
// The application reconfigures a port without pause (stop; the same queues set up again, which
// releases the old ones, or rte_eth_dev_configure with another queue count; start) while the
// device fails and the driver recovers it on the interrupt thread; and an lcore sends from
// mempools created during the test (each a TX registration from the fast path) while the
// control path sets RX queues up on new pools (the setup's registration warm-up) and every
// reset replaces the port's registrar. Setup and stop must never fail, start only with -EBUSY
// while the driver recovers (or with a verbs error before it knows of the reset), no mbuf or
// verbs object may be lost, and traffic must flow at the end. Run threaded
// (MANA_EMU_MODE=threaded), and under ThreadSanitizer by devtools/sanitize tsan.
#include "lcore_launch.h"
#include "reset_event_test.h"
#include "test_mempool.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

namespace ethdev_test
{
namespace
{

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif

constexpr uint64_t kRssTypes = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;

mana_emu_counters_t emulator()
{
    mana_emu_counters_t counters{};
    EXPECT_EQ(mana_emu_counters(&counters), 0);
    return counters;
}

// What one call of the control path may return, given what the driver had reported of the
// reset `reset` when the call was made.
struct Outcomes {
    uint64_t calls = 0;
    uint64_t refused_while_recovering = 0; // start: -EBUSY
    uint64_t failed_unknowing = 0;         // before ERR_RECOVERING reached the application
    int last_unknowing_error = 0;
    std::vector<std::string> unexpected;

    // `start`: a port start, which is refused while the device is away; everything else
    // (stop, configure, queue setup) touches no verbs object and never fails.
    void record(int rc, bool start, bool known, bool recovered, const char *what)
    {
        ++calls;
        if (rc == 0)
            return;
        if (!known) {
            ++failed_unknowing;
            if (start) {
                last_unknowing_error = rc;
                return;
            }
        } else if (start && rc == -EBUSY && !recovered) {
            ++refused_while_recovering;
            return;
        }
        if (unexpected.size() < 10)
            unexpected.push_back(std::string(what) + ": " + std::to_string(rc) +
                                 (known ? (recovered ? " (recovered)" : " (recovering)")
                                        : " (before the driver knew)"));
    }
};

class QueueReleaseDuringReset : public ResetEventTest
{
  protected:
    const char *unmet_requirement() const override
    {
        return mana_emu_get_mode() == MANA_EMU_THREADED ? nullptr : "needs MANA_EMU_MODE=threaded";
    }

    // Where the application stands in reset `reset`: whether ERR_RECOVERING reached it, and
    // RECOVERY_SUCCESS, on both ports.
    bool known(uint32_t reset)
    {
        return events_.count(port0_, RTE_ETH_EVENT_ERR_RECOVERING) >= reset &&
               events_.count(port1_, RTE_ETH_EVENT_ERR_RECOVERING) >= reset;
    }
    bool recovered(uint32_t reset)
    {
        return events_.count(port0_, RTE_ETH_EVENT_RECOVERY_SUCCESS) >= reset &&
               events_.count(port1_, RTE_ETH_EVENT_RECOVERY_SUCCESS) >= reset;
    }

    // Receives on every RX queue of `port` until each of `frames` came or 10 s passed;
    // returns how many of them came. Other frames are freed and not counted: the threaded
    // device may still deliver what port 1 sent in the last rounds of the loop.
    static uint32_t receive_frames(uint16_t port, uint16_t queues, const std::vector<Frame> &frames)
    {
        std::multiset<Frame> missing(frames.begin(), frames.end());
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!missing.empty() && std::chrono::steady_clock::now() < end) {
            for (uint16_t q = 0; q < queues; ++q) {
                std::array<rte_mbuf *, 32> burst;
                const uint16_t n = rte_eth_rx_burst(port, q, burst.data(), burst.size());
                for (uint16_t i = 0; i < n; ++i) {
                    if (const auto it = missing.find(from_mbuf(burst[i])); it != missing.end())
                        missing.erase(it);
                }
                rte_pktmbuf_free_bulk(burst.data(), n);
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        return static_cast<uint32_t>(frames.size() - missing.size());
    }
};

// Port 0 is reconfigured over and over (1 to 3 queues each way, RSS), alternating between
// setting the same queues up again and rte_eth_dev_configure with another count, while the
// device resets; port 1 keeps sending to it, so the queues released hold received frames.
TEST_F(QueueReleaseDuringReset, ThreadedReconfigurationRacesRecovery)
{
    constexpr uint16_t kFinalQueues = 2;
    rte_mempool *tx_pool = make_pool(1024);
    PortConfig final_config = rss_config(kFinalQueues, kRssTypes, kFinalQueues);
    rte_mempool *pool = start_ports(final_config, {}, 4096);
    // With tx_pool registered (port 1's TX registers it on demand), as it is again after
    // the last reset: the loop keeps sending from it after each recovery.
    const std::vector<Frame> frames = ipv4_flow_frames(8, false);
    send_from(tx_pool, port1_, 0, frames, 8);
    ASSERT_EQ(receive_frames(port0_, kFinalQueues, frames), 8U);
    const uint64_t objects = emulator().live_objects;
    const uint64_t fds = emulator().open_fds;

    const uint32_t resets = kUnderTsan ? 20 : 100;
    Outcomes outcomes;
    uint64_t rounds = 0;
    uint64_t frames_offered = 0;
    uint16_t queues = kFinalQueues;
    for (uint32_t reset = 1; reset <= resets; ++reset) {
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 2 + 4 * (reset % 4)), 0);
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        uint32_t after = 0;
        while (after < 10 && std::chrono::steady_clock::now() < limit) {
            const bool knew = known(reset);
            const bool back = recovered(reset);
            after += back;
            // Frames into port 0's queues, so that the stop below has buffers to give back.
            std::array<rte_mbuf *, 8> burst;
            for (std::size_t i = 0; i < burst.size(); ++i)
                burst[i] = to_mbuf(tx_pool, frames[i]);
            const uint16_t taken = rte_eth_tx_burst(port1_, 0, burst.data(), burst.size());
            rte_pktmbuf_free_bulk(burst.data() + taken, burst.size() - taken);
            frames_offered += taken;

            outcomes.record(rte_eth_dev_stop(port0_), false, knew, back, "stop");
            PortConfig config = rss_config(queues, kRssTypes, queues);
            if (rounds % 2 == 1) {
                // Another queue count: ethdev releases the queues beyond it.
                queues = static_cast<uint16_t>(1 + rounds % 3);
                config = rss_config(queues, kRssTypes, queues);
                outcomes.record(configure(port0_, config, pool), false, knew, back,
                                "configure and setup");
            } else {
                // The same queue ids again: each setup releases the queue it replaces.
                for (uint16_t q = 0; q < queues; ++q) {
                    outcomes.record(rte_eth_rx_queue_setup(port0_, q, config.rx_descriptors,
                                                           SOCKET_ID_ANY, nullptr, pool),
                                    false, knew, back, "rx queue setup");
                    outcomes.record(rte_eth_tx_queue_setup(port0_, q, config.tx_descriptors,
                                                           SOCKET_ID_ANY, nullptr),
                                    false, knew, back, "tx queue setup");
                }
            }
            const int started = rte_eth_dev_start(port0_);
            outcomes.record(started, true, knew, back, "start");
            if (started == 0) {
                rte_eth_dev_info info{};
                ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
                EXPECT_EQ(info.nb_rx_queues, queues);
                EXPECT_EQ(info.nb_tx_queues, queues);
            }
            ++rounds;
        }
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, reset))
            << "reset " << reset << " not recovered";
    }
    std::printf(
        "%llu reconfigurations, %llu calls: %llu starts refused while recovering, %llu "
        "failures before the driver knew of a reset (the last %d); %llu frames sent to the port\n",
        static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(outcomes.calls),
        static_cast<unsigned long long>(outcomes.refused_while_recovering),
        static_cast<unsigned long long>(outcomes.failed_unknowing), outcomes.last_unknowing_error,
        static_cast<unsigned long long>(frames_offered));
    for (const std::string &failure : outcomes.unexpected)
        ADD_FAILURE() << failure;
    EXPECT_GE(rounds, resets * 10ULL);
    EXPECT_EQ(events_.count(port0_, RTE_ETH_EVENT_RECOVERY_FAILED), 0U);
    EXPECT_EQ(events_.count(port0_, RTE_ETH_EVENT_ERR_RECOVERING), resets);

    // Back to the configuration the counts were taken in: every queue released along the
    // way gave back its verbs objects and its mbufs.
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(configure(port0_, final_config, pool), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    EXPECT_EQ(emulator().live_objects, objects) << "verbs objects lost or leaked";
    EXPECT_EQ(emulator().open_fds, fds);
    const std::vector<Frame> last = ipv4_flow_frames(64, false, 1000);
    send(port1_, 0, last);
    EXPECT_EQ(receive_frames(port0_, kFinalQueues, last), 64U) << "traffic does not flow";
    EXPECT_EQ(emulator().dma_violations, 0U);
    EXPECT_EQ(emulator().wqe_violations, 0U);
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// ---- the registrar replaced under traffic and control --------------------------------------

// An lcore sending from port 0 TX queue 0, each burst from the newest pool the control thread
// published: every new pool is a registration from the fast path (the TX lkey lookup).
struct SendLoop {
    uint16_t port = 0;
    std::vector<Frame> frames;
    std::atomic<rte_mempool *> pool{nullptr};
    std::atomic<uint64_t> epoch{0}; // bumped after each new pool is published
    std::atomic<uint64_t> done_epoch{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> running{false};
    std::atomic<uint64_t> sent{0};
};

int run_send_loop(void *arg)
{
    auto &loop = *static_cast<SendLoop *>(arg);
    loop.running = true;
    std::array<rte_mbuf *, 8> burst;
    while (!loop.stop.load(std::memory_order_acquire)) {
        // The pool read after the epoch is at least that epoch's: a pool published at
        // epoch k is out of use once done_epoch passes k.
        const uint64_t epoch = loop.epoch.load(std::memory_order_acquire);
        rte_mempool *pool = loop.pool.load(std::memory_order_acquire);
        std::size_t n = 0;
        for (; n < burst.size(); ++n)
            if ((burst[n] = to_mbuf(pool, loop.frames[n % loop.frames.size()])) == nullptr)
                break;
        const uint16_t taken = rte_eth_tx_burst(loop.port, 0, burst.data(), n);
        rte_pktmbuf_free_bulk(burst.data() + taken, n - taken);
        loop.sent.fetch_add(taken, std::memory_order_relaxed);
        loop.done_epoch.store(epoch, std::memory_order_release);
        if (taken == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    // What the device still holds is reaped by the port stop.
    return 0;
}

class MrRegistrarDuringReset : public QueueReleaseDuringReset
{
  protected:
    const char *unmet_requirement() const override
    {
        return mana_emu_get_mode() == MANA_EMU_THREADED && rte_lcore_count() >= 2
                   ? nullptr
                   : "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    }

    void TearDown() override
    {
        stop_lcore();
        QueueReleaseDuringReset::TearDown();
    }

    bool launch(SendLoop &loop)
    {
        loop_ = &loop;
        lcore_ = rte_get_next_lcore(rte_lcore_id(), 1, 0);
        if (lcore_ >= RTE_MAX_LCORE || lcore_launch::launch(run_send_loop, &loop, lcore_) != 0)
            return false;
        while (!loop.running)
            std::this_thread::yield();
        return true;
    }

    bool stop_lcore()
    {
        if (loop_ == nullptr)
            return true;
        loop_->stop = true;
        loop_ = nullptr;
        return lcore_launch::wait(lcore_) == 0;
    }

    // A pool the test frees itself (make_pool's are freed at teardown), with hand-offs
    // between threads TSan can see (test_mempool.h). Without per-lcore caches: an lcore
    // flushing its cache to the ring briefly counts mbufs twice, so a pool could look full
    // (and be freed) while that lcore still writes to it.
    static rte_mempool *new_pool(unsigned mbufs)
    {
        static unsigned serial = 0;
        const std::string name = "mr_race_" + std::to_string(serial++);
        rte_mempool *pool =
            test_mempool::create(name.c_str(), mbufs, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        EXPECT_NE(pool, nullptr) << rte_strerror(rte_errno);
        return pool;
    }

  private:
    SendLoop *loop_ = nullptr;
    unsigned lcore_ = RTE_MAX_LCORE;
};

// Every round a new pool: the lcore sends from it (port 0), and port 1's RX queue is set up
// on it again (releasing the queue on the previous pool). Pools nobody uses any more are
// freed once all their mbufs are back, which releases their registrations. The device resets
// every few rounds, replacing both ports' registrars while this goes on.
TEST_F(MrRegistrarDuringReset, ThreadedNewPoolsRegisterWhileTheRegistrarIsReplaced)
{
    constexpr uint16_t kRxDescriptors = 64;
    constexpr unsigned kPoolMbufs = 512; // RX ring + TX ring + caches
    rte_mempool *pool = start_ports({}, {}, 4096);
    // The port 1 queue setups below pass their own pools and descriptor count.
    const uint64_t fds = emulator().open_fds;

    SendLoop loop;
    loop.port = port0_;
    loop.frames = ipv4_flow_frames(8, true);
    struct Published {
        rte_mempool *pool;
        uint64_t epoch;
    };
    std::deque<Published> published; // oldest first; the newest is in use
    const auto publish = [&](rte_mempool *next) {
        loop.pool.store(next, std::memory_order_release);
        const uint64_t epoch = loop.epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
        published.push_back({next, epoch});
    };
    rte_mempool *const first = new_pool(kPoolMbufs);
    ASSERT_NE(first, nullptr);
    publish(first);
    ASSERT_TRUE(launch(loop));

    uint64_t freed = 0;
    // Frees the pools the lcore has moved past, that port 1's queue no longer uses and
    // whose mbufs are all back (none in a TX ring, an RX ring or a burst).
    const auto free_retired = [&](rte_mempool *rx_pool) {
        const uint64_t done = loop.done_epoch.load(std::memory_order_acquire);
        while (published.size() > 1) {
            const Published &oldest = published.front();
            if (oldest.epoch >= done || oldest.pool == rx_pool ||
                rte_mempool_avail_count(oldest.pool) != oldest.pool->size)
                break;
            rte_mempool_free(oldest.pool);
            published.pop_front();
            ++freed;
        }
    };

    const uint32_t resets = kUnderTsan ? 15 : 60;
    constexpr std::size_t kPoolsPerReset = 24;
    Outcomes outcomes;
    uint64_t rounds = 0;
    uint64_t received = 0;
    uint64_t created = 1;
    rte_mempool *rx_pool = pool;
    for (uint32_t reset = 1; reset <= resets; ++reset) {
        // Pools are created and freed between resets, not during them: DPDK's heap lock is
        // invisible to TSan, which would take the recovery's frees and allocations of queue
        // rings (on the interrupt thread, under the device mutex) as racing with the
        // pools' (on this thread, under no lock the driver shares). Each is new to the
        // driver all the same until a round below hands it out.
        free_retired(rx_pool);
        std::deque<rte_mempool *> fresh;
        for (std::size_t i = 0; i < kPoolsPerReset; ++i) {
            fresh.push_back(new_pool(kPoolMbufs));
            ASSERT_NE(fresh.back(), nullptr);
            ++created;
        }
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 2 + 5 * (reset % 3)), 0);
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        uint32_t after = 0;
        while (after < 8 && std::chrono::steady_clock::now() < limit) {
            const bool knew = known(reset);
            const bool back = recovered(reset);
            after += back;
            // A new pool each round while they last, then the newest again (its queue is
            // still released and set up again).
            rte_mempool *next = rx_pool;
            if (!fresh.empty()) {
                next = fresh.front();
                fresh.pop_front();
                publish(next);
            }
            outcomes.record(rte_eth_dev_stop(port1_), false, knew, back, "stop");
            // Releases the queue on the previous pool; the warm-up registers the new one
            // (or, the device away, leaves it to the recovery's rebuild).
            outcomes.record(
                rte_eth_rx_queue_setup(port1_, 0, kRxDescriptors, SOCKET_ID_ANY, nullptr, next),
                false, knew, back, "rx queue setup");
            rx_pool = next;
            const int started = rte_eth_dev_start(port1_);
            outcomes.record(started, true, knew, back, "start");
            // RX refills (registering on a miss) run here, on this thread.
            const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
            while (started == 0 && std::chrono::steady_clock::now() < until) {
                std::array<rte_mbuf *, 32> burst;
                const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
                received += n;
                rte_pktmbuf_free_bulk(burst.data(), n);
            }
            ++rounds;
        }
        // Recovered (the events' lock orders the recovery's heap use before ours).
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, reset))
            << "reset " << reset << " not recovered";
        for (rte_mempool *unused : fresh) {
            rte_mempool_free(unused); // never handed out
            --created;
        }
    }

    // Traffic flows at the end: port 1 receives what the lcore sends from the newest pool.
    const uint64_t sent_before = loop.sent.load();
    uint64_t received_at_end = 0;
    if (rte_eth_dev_start(port1_) == 0) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (received_at_end < 256 && std::chrono::steady_clock::now() < end) {
            std::array<rte_mbuf *, 32> burst;
            const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
            received_at_end += n;
            rte_pktmbuf_free_bulk(burst.data(), n);
        }
    }
    ASSERT_TRUE(stop_lcore());
    std::printf(
        "%llu rounds, %llu pools used, %llu freed during the test; %llu calls: %llu starts refused "
        "while recovering, %llu failures before the driver knew of a reset; %llu "
        "frames sent, %llu received during the rounds\n",
        static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(created),
        static_cast<unsigned long long>(freed), static_cast<unsigned long long>(outcomes.calls),
        static_cast<unsigned long long>(outcomes.refused_while_recovering),
        static_cast<unsigned long long>(outcomes.failed_unknowing),
        static_cast<unsigned long long>(loop.sent.load()),
        static_cast<unsigned long long>(received));
    for (const std::string &failure : outcomes.unexpected)
        ADD_FAILURE() << failure;
    EXPECT_GE(received_at_end, 256U)
        << "traffic does not flow after " << loop.sent - sent_before << " more frames sent";
    EXPECT_GE(rounds, resets * 8ULL);
    EXPECT_GT(freed, 0U) << "no pool was ever retired: the release path went untested";
    EXPECT_EQ(events_.count(port0_, RTE_ETH_EVENT_RECOVERY_FAILED), 0U);
    EXPECT_EQ(events_.count(port1_, RTE_ETH_EVENT_ERR_RECOVERING), resets);
    EXPECT_EQ(emulator().dma_violations, 0U);
    EXPECT_EQ(emulator().wqe_violations, 0U);

    // Port 1 back on the first pool, both ports stopped: every mbuf is back, and once the
    // test's pools are gone so are their registrations, leaving the objects of the start.
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port1_, 0, kRxDescriptors, SOCKET_ID_ANY, nullptr, pool), 0);
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    for (const Published &entry : published) {
        EXPECT_EQ(rte_mempool_avail_count(entry.pool), entry.pool->size) << entry.pool->name;
        rte_mempool_free(entry.pool);
    }
    published.clear();
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    EXPECT_EQ(emulator().open_fds, fds);
    // Each port: PD, parent domain and its registrations of `pool` (port 0's RX queue, and
    // port 1's just set up), in whatever ranges they cover; nothing of the freed pools.
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    const uint64_t objects = emulator().live_objects;
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 1), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, resets + 1));
    // A reset registers again only what the RX queues use: the same count unless the
    // registrations of the freed pools had stayed.
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    EXPECT_EQ(emulator().live_objects, objects) << "registrations of freed pools kept";
}

} // namespace
} // namespace ethdev_test
