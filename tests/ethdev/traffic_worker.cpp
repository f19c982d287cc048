/* SPDX-License-Identifier: BSD-3-Clause */
#include "traffic_worker.h"
#include "lcore_launch.h"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include <array>
#include <limits>
#include <unistd.h>

namespace ethdev_test
{

int run_lcore_traffic(void *arg)
{
    auto *t = static_cast<LcoreTraffic *>(arg);
    const uint64_t end =
        t->duration.count() == 0
            ? std::numeric_limits<uint64_t>::max()
            : rte_get_timer_cycles() +
                  rte_get_timer_hz() * static_cast<uint64_t>(t->duration.count()) / 1000;
    uint32_t flow = t->queue * 100000U;
    std::array<rte_mbuf *, 32> burst;
    while (!t->stop.load(std::memory_order_relaxed) && rte_get_timer_cycles() < end) {
        uint16_t n = 0;
        for (; n < burst.size(); ++n) {
            rte_mbuf *mbuf = to_mbuf(t->pool, ipv4_flow_frame(flow++ & 0xffff, true, 64));
            if (mbuf == nullptr)
                break;
            burst[n] = mbuf;
        }
        const uint16_t sent = rte_eth_tx_burst(t->tx_port, t->queue, burst.data(), n);
        rte_pktmbuf_free_bulk(burst.data() + sent, n - sent);
        t->sent.fetch_add(sent, std::memory_order_relaxed);
        t->tx_refused.fetch_add(n - sent, std::memory_order_relaxed);
        const uint16_t got = rte_eth_rx_burst(t->rx_port, t->queue, burst.data(), burst.size());
        rte_pktmbuf_free_bulk(burst.data(), got);
        t->received.fetch_add(got, std::memory_order_relaxed);
    }
    t->finished.store(true, std::memory_order_release);
    return 0;
}

TrafficLcores::~TrafficLcores()
{
    stop();
}

bool TrafficLcores::launch(std::span<LcoreTraffic> jobs)
{
    jobs_ = jobs;
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    for (LcoreTraffic &job : jobs) {
        if (lcore >= RTE_MAX_LCORE || lcore_launch::launch(run_lcore_traffic, &job, lcore) != 0) {
            // What did not start must not be waited for, nor look finished to stop().
            jobs_ = jobs.first(lcores_.size());
            return false;
        }
        lcores_.push_back(lcore);
        lcore = rte_get_next_lcore(lcore, 1, 0);
    }
    return true;
}

bool TrafficLcores::wait()
{
    bool all_zero = true;
    for (const unsigned lcore : lcores_)
        all_zero &= lcore_launch::wait(lcore) == 0;
    lcores_.clear();
    return all_zero;
}

bool TrafficLcores::stop()
{
    for (LcoreTraffic &job : jobs_)
        job.stop.store(true, std::memory_order_relaxed);
    return wait();
}

bool TrafficLcores::all_finished() const
{
    for (const LcoreTraffic &job : jobs_)
        if (!job.finished.load(std::memory_order_acquire))
            return false;
    return true;
}

std::vector<uint64_t> drain_after_traffic(uint16_t tx_port, uint16_t rx_port, uint16_t queues,
                                          int rounds)
{
    std::vector<uint64_t> received(queues);
    for (int i = 0; i < rounds; ++i) {
        usleep(2000);
        for (uint16_t q = 0; q < queues; ++q) {
            std::array<rte_mbuf *, 32> burst;
            uint16_t n;
            while ((n = rte_eth_rx_burst(rx_port, q, burst.data(), burst.size())) != 0) {
                received[q] += n;
                rte_pktmbuf_free_bulk(burst.data(), n);
            }
            rte_eth_tx_burst(tx_port, q, nullptr, 0);
        }
    }
    return received;
}

} // namespace ethdev_test
