/* SPDX-License-Identifier: BSD-3-Clause */
// Per-queue start and stop (and RX interrupt arming) raced against service resets: the
// application stops and starts queues without pause while the device fails and the
// driver recovers it on the interrupt thread. Start and stop must never fail or crash whatever
// recovery step they meet (while the device is away they record the state the recovery applies),
// the recovery must lose no verbs object, fd or mbuf, and the queues must carry traffic at the end.
// Run threaded (MANA_EMU_MODE=threaded), and under ThreadSanitizer by devtools/sanitize tsan, which
// reports any access the device mutex does not order.
#include "reset_event_test.h"

#include <chrono>
#include <cstring>
#include <thread>

namespace ethdev_test
{
namespace
{

class QueueControlDuringReset : public ResetEventTest
{
  protected:
    const char *unmet_requirement() const override
    {
        return mana_emu_get_mode() == MANA_EMU_THREADED ? nullptr : "needs MANA_EMU_MODE=threaded";
    }

    static mana_emu_counters_t emulator()
    {
        mana_emu_counters_t counters{};
        EXPECT_EQ(mana_emu_counters(&counters), 0);
        return counters;
    }

    // Sends `count` frames from port 0's TX queue `queue` and waits (threaded device)
    // until port 1 has received them all, on any of its RX queues.
    uint32_t exchange(uint16_t queue, uint32_t first, uint32_t count)
    {
        send(port0_, queue, ipv4_flow_frames(count, true, first));
        uint32_t received = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (received < count && std::chrono::steady_clock::now() < end) {
            for (uint16_t q = 0; q < kQueues; ++q) {
                std::array<rte_mbuf *, 32> burst;
                const uint16_t n = rte_eth_rx_burst(port1_, q, burst.data(), burst.size());
                received += n;
                rte_pktmbuf_free_bulk(burst.data(), n);
            }
            rte_eth_tx_burst(port0_, queue, nullptr, 0);
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        return received;
    }

    static constexpr uint16_t kQueues = 2;
};

// Queue 1 of each direction stops and starts over and over while the device resets
// three times; queue 0 stays up, so the RSS table is rebuilt around a changing WQ.
TEST_F(QueueControlDuringReset, ThreadedQueueStartStopRacesRecovery)
{
    PortConfig config;
    config.rx_queues = kQueues;
    config.tx_queues = kQueues;
    config.rx_interrupts = true; // arming rings the doorbell of a CQ the recovery recreates
    rte_mempool *pool = start_ports(config, config, 4096);
    // Before traffic: memory TX registers on demand is not registered again by a reset.
    const uint64_t objects = emulator().live_objects;
    const uint64_t fds = emulator().open_fds;
    ASSERT_EQ(exchange(0, 0, 16), 16U);

    constexpr uint32_t kResets = 3;
    uint64_t toggles = 0;
    int failed = 0;
    int failed_unknowing = 0;
    for (uint32_t reset = 1; reset <= kResets; ++reset) {
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 5 * reset), 0);
        // Until the recovery is reported, and a little after it.
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        uint32_t after = 0;
        while (after < 20 && std::chrono::steady_clock::now() < limit) {
            if (events_.count(port1_, RTE_ETH_EVENT_RECOVERY_SUCCESS) >= reset)
                ++after;
            // Until the fatal event reaches the driver (ERR_RECOVERING is delivered after
            // it), the device is dead without the driver knowing: verbs fail with EIO and
            // so may a queue start or stop. From then on nothing may fail.
            const bool known = events_.count(port0_, RTE_ETH_EVENT_ERR_RECOVERING) >= reset &&
                               events_.count(port1_, RTE_ETH_EVENT_ERR_RECOVERING) >= reset;
            int batch = 0;
            for (const uint16_t port : {port0_, port1_}) {
                batch += rte_eth_dev_rx_queue_stop(port, 1) != 0;
                batch += rte_eth_dev_tx_queue_stop(port, 1) != 0;
                batch += rte_eth_dev_rx_queue_start(port, 1) != 0;
                batch += rte_eth_dev_tx_queue_start(port, 1) != 0;
                // Fails (-EINVAL) while the device is away: there is no CQ to arm.
                static_cast<void>(rte_eth_dev_rx_intr_enable(port, 0));
                static_cast<void>(rte_eth_dev_rx_intr_disable(port, 0));
            }
            (known ? failed : failed_unknowing) += batch;
            ++toggles;
        }
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, reset))
            << "reset " << reset << " not recovered";
    }
    EXPECT_EQ(failed, 0) << "of " << toggles * 8 << " queue starts and stops (" << failed_unknowing
                         << " failed before the driver learnt of a reset)";
    EXPECT_EQ(events_.count(port0_, RTE_ETH_EVENT_RECOVERY_FAILED), 0U);
    EXPECT_EQ(events_.count(port1_, RTE_ETH_EVENT_ERR_RECOVERING), kResets);

    // Every queue runs, as the last start said, and carries traffic.
    for (const uint16_t port : {port0_, port1_}) {
        EXPECT_EQ(rte_eth_dev_rx_intr_enable(port, 0), 0);
        EXPECT_EQ(rte_eth_dev_rx_intr_disable(port, 0), 0);
        for (uint16_t q = 0; q < kQueues; ++q) {
            rte_eth_rxq_info rx{};
            rte_eth_txq_info tx{};
            ASSERT_EQ(rte_eth_rx_queue_info_get(port, q, &rx), 0);
            ASSERT_EQ(rte_eth_tx_queue_info_get(port, q, &tx), 0);
            EXPECT_EQ(rx.queue_state, RTE_ETH_QUEUE_STATE_STARTED) << "port " << port;
            EXPECT_EQ(tx.queue_state, RTE_ETH_QUEUE_STATE_STARTED) << "port " << port;
        }
    }
    EXPECT_EQ(emulator().live_objects, objects) << "verbs objects lost or leaked";
    EXPECT_EQ(emulator().open_fds, fds);
    EXPECT_EQ(exchange(0, 100, 16), 16U);
    EXPECT_EQ(exchange(1, 200, 16), 16U);
    EXPECT_EQ(emulator().dma_violations, 0U);
    EXPECT_EQ(emulator().wqe_violations, 0U);
    // What the queues held went back to the pool at each stop and reset.
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
}

} // namespace
} // namespace ethdev_test
