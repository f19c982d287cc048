/* SPDX-License-Identifier: BSD-3-Clause */
// Traffic on worker lcores for the threaded tests (threaded emulator, several lcores):
// the lcore function that keeps sending and receiving on one queue pair, its launch and
// stop through lcore_launch.h (so that ThreadSanitizer sees the worker's counters and
// mbufs handed back to the main lcore), and the drain that lets the device finish what
// was in flight before the test counts.
#pragma once

#include "ethdev_harness.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

namespace ethdev_test
{

// One lcore's traffic: bursts of up to 32 64-byte TCP frames of distinct flows (the first
// is queue * 100000), built in `pool`, into TX queue `queue` of tx_port; what tx_burst
// does not take is freed. After each TX burst, one rx_burst on RX queue `queue` of
// rx_port, whose mbufs are freed at once. Runs until `stop` is set or, if `duration` is
// not zero, until it has passed. The counters may be read while it runs.
struct LcoreTraffic {
    uint16_t tx_port = 0;
    uint16_t rx_port = 0;
    uint16_t queue = 0;
    rte_mempool *pool = nullptr;
    std::chrono::milliseconds duration{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> finished{false};
    std::atomic<uint64_t> sent{0};       // taken by tx_burst
    std::atomic<uint64_t> tx_refused{0}; // not taken (ring full), freed again
    std::atomic<uint64_t> received{0};   // returned by rx_burst
};

// An lcore_function_t: runs the LcoreTraffic `traffic` points to, then sets `finished`.
int run_lcore_traffic(void *traffic);

// Runs LcoreTraffic jobs on worker lcores of their own, and stops them at the latest when
// it goes out of scope (a failed ASSERT leaves no lcore bursting into the teardown).
class TrafficLcores
{
  public:
    TrafficLcores() = default;
    TrafficLcores(const TrafficLcores &) = delete;
    TrafficLcores &operator=(const TrafficLcores &) = delete;
    ~TrafficLcores();

    // Starts jobs[i] on the i-th worker lcore. False when there are fewer worker lcores
    // than jobs or a launch fails (whatever did start is still stopped by stop()).
    bool launch(std::span<LcoreTraffic> jobs);
    // Waits until every job has returned; false if one did not return 0.
    bool wait();
    // Sets every job's stop flag, then waits.
    bool stop();
    // Whether every job has finished (for control-path loops that run while they do).
    bool all_finished() const;

  private:
    std::span<LcoreTraffic> jobs_;
    std::vector<unsigned> lcores_;
};

// After the traffic has stopped: `rounds` times, gives the device 2 ms, then takes (and
// frees) everything RX queues 0..queues-1 of rx_port hold and reaps TX queues
// 0..queues-1 of tx_port (a zero-length tx_burst). result[q] is how many packets RX
// queue q returned.
std::vector<uint64_t> drain_after_traffic(uint16_t tx_port, uint16_t rx_port, uint16_t queues,
                                          int rounds = 100);

} // namespace ethdev_test
