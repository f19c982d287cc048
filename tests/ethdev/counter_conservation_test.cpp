/* SPDX-License-Identifier: BSD-3-Clause */
// Exact conservation of the port counters under real concurrency: an lcore sends and
// receives without pause on the threaded device while the control path stops and starts
// queues and ports (with the traffic paused, as DPDK requires) and the device resets under
// the traffic. At the end every packet tx_burst took is in opackets or oerrors, every frame
// the device delivered to an RX queue is in ipackets, imissed, ierrors or rx_nombuf, and
// every mbuf is back in its pool. Run with MANA_EMU_MODE=threaded MANA_TEST_LCORES=0-1
// (and under ThreadSanitizer by devtools/sanitize tsan).
#include "reset_event_test.h"
#include "traffic_worker.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <chrono>
#include <functional>
#include <thread>

namespace ethdev_test
{
namespace
{

class CounterConservation : public ResetEventTest
{
  protected:
    const char *unmet_requirement() const override
    {
        if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 2)
            return "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
        return nullptr;
    }

    // Runs the traffic lcore until it has received `frames` more frames (or 10 s have
    // passed), with `during` called on this thread once the traffic flows, then stops it
    // and adds what it did to the totals. False when the traffic did not flow.
    bool traffic_phase(uint64_t frames, const std::function<void()> &during = {})
    {
        LcoreTraffic traffic{.tx_port = port0_, .rx_port = port1_, .queue = 0, .pool = pool_};
        TrafficLcores lcores;
        if (!lcores.launch(std::span(&traffic, 1)))
            return false;
        const auto received_at_least = [&](uint64_t count) {
            const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (traffic.received.load() < count && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return traffic.received.load() >= count;
        };
        bool flowed = received_at_least(frames / 2);
        if (during) {
            during();
            flowed = flowed && received_at_least(traffic.received.load() + frames / 2);
        } else {
            flowed = flowed && received_at_least(frames);
        }
        const bool stopped = lcores.stop();
        sent_ += traffic.sent.load();
        received_ += traffic.received.load();
        return flowed && stopped;
    }

    rte_mempool *pool_ = nullptr;
    uint64_t sent_ = 0;     // taken by tx_burst
    uint64_t received_ = 0; // returned by rx_burst
};

TEST_F(CounterConservation, EveryPacketIsCountedOnceAcrossStopsAndResets)
{
    start_ports({}, {}, 2048);
    pool_ = make_pool(1024);
    mana_emu_reset_counters();

    ASSERT_TRUE(traffic_phase(2000));
    // Queue stops with packets in flight and frames waiting in the CQ.
    for (int round = 0; round < 3; ++round) {
        ASSERT_EQ(rte_eth_dev_tx_queue_stop(port0_, 0), 0);
        ASSERT_EQ(rte_eth_dev_tx_queue_start(port0_, 0), 0);
        ASSERT_TRUE(traffic_phase(1000)) << "round " << round;
        ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 0), 0);
        ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), 0);
        ASSERT_TRUE(traffic_phase(1000)) << "round " << round;
    }
    // A service reset under the traffic.
    ASSERT_TRUE(traffic_phase(2000, [&] {
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 30), 0);
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS));
    }));
    // Both ports stopped and started again.
    for (const uint16_t port : {port1_, port0_})
        ASSERT_EQ(rte_eth_dev_stop(port), 0);
    for (const uint16_t port : {port0_, port1_})
        ASSERT_EQ(rte_eth_dev_start(port), 0);
    ASSERT_TRUE(traffic_phase(2000));

    received_ += drain_after_traffic(port0_, port1_, 1, 50)[0];
    mana_emu_counters_t tx_device{};
    mana_emu_counters_t rx_device{};
    ASSERT_EQ(mana_emu_port_counters(0, &tx_device), 0);
    ASSERT_EQ(mana_emu_port_counters(1, &rx_device), 0);
    rte_eth_stats tx{};
    rte_eth_stats rx{};
    ASSERT_EQ(rte_eth_stats_get(port0_, &tx), 0);
    ASSERT_EQ(rte_eth_stats_get(port1_, &rx), 0);
    EXPECT_EQ(tx.opackets + tx.oerrors, sent_) << "every packet tx_burst took, once";
    EXPECT_LE(tx.opackets, tx_device.tx_frames) << "counted as sent but never on the wire";
    EXPECT_LE(tx_device.tx_frames, sent_);
    EXPECT_EQ(rx.ipackets, received_);
    EXPECT_EQ(rx.ipackets + rx.imissed + rx.ierrors + rx.rx_nombuf, rx_device.rx_frames)
        << "every frame the device delivered to a queue, once";
    EXPECT_EQ(rte_mempool_avail_count(pool_), pool_->size) << "a sent mbuf was lost";
}

} // namespace
} // namespace ethdev_test
