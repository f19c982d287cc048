/* SPDX-License-Identifier: BSD-3-Clause */
// Service reset (IBV_EVENT_DEVICE_FATAL with the PCI function still present) through
// rte_eth_* only: the emulator's mana_emu_device_fatal() kills every context of the
// function and lets a new ibv_open_device succeed after a delay (or never). The driver
// must report RTE_ETH_EVENT_ERR_RECOVERING then RECOVERY_SUCCESS (or RECOVERY_FAILED),
// keep the configuration, lose no mbuf and no verbs object, and carry traffic again.
#include "reset_event_test.h"
#include "traffic_worker.h"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ethdev_test
{
namespace
{

class Recovery : public ResetEventTest
{
  protected:
    static uint64_t live_objects()
    {
        struct mana_emu_counters counters = {};
        EXPECT_EQ(mana_emu_counters(&counters), 0);
        return counters.live_objects;
    }

    static uint64_t open_fds()
    {
        struct mana_emu_counters counters = {};
        EXPECT_EQ(mana_emu_counters(&counters), 0);
        return counters.open_fds;
    }

    // Neither burst function touches the device: nothing taken, nothing received.
    void expect_bursts_stopped(uint16_t tx_port, uint16_t rx_port)
    {
        rte_mempool *pool = make_pool(64);
        rte_mbuf *mbuf = to_mbuf(pool, ipv4_flow_frame(999, true));
        ASSERT_NE(mbuf, nullptr);
        EXPECT_EQ(rte_eth_tx_burst(tx_port, 0, &mbuf, 1), 0);
        rte_pktmbuf_free(mbuf);
        std::array<rte_mbuf *, 8> burst;
        EXPECT_EQ(rte_eth_rx_burst(rx_port, 0, burst.data(), burst.size()), 0);
    }
};

const std::vector<rte_eth_event_type> kRecovered = {RTE_ETH_EVENT_ERR_RECOVERING,
                                                    RTE_ETH_EVENT_RECOVERY_SUCCESS};
const std::vector<rte_eth_event_type> kNotRecovered = {RTE_ETH_EVENT_ERR_RECOVERING,
                                                       RTE_ETH_EVENT_RECOVERY_FAILED};

TEST_F(Recovery, TrafficResumesWithTheSameConfiguration)
{
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_EQ(info.err_handle_mode, RTE_ETH_ERROR_HANDLE_MODE_PROACTIVE);

    uint8_t key[40];
    for (uint8_t i = 0; i < 40; ++i)
        key[i] = static_cast<uint8_t>(i * 31 + 7);
    PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_TCP, 2);
    config.rss_key = key;
    start_ports(config, config, 4096);
    // Everything to RX queue 1: a RETA the recovery forgot would spread flows over both.
    std::array<rte_eth_rss_reta_entry64, 1> reta{};
    reta[0].mask = ~0ULL;
    std::fill(std::begin(reta[0].reta), std::end(reta[0].reta), 1);
    ASSERT_EQ(rte_eth_dev_rss_reta_update(port1_, reta.data(), 64), 0);

    // Before traffic: memory the TX path registers on demand is registered again on
    // demand after the reset.
    const uint64_t objects = live_objects();
    const uint64_t fds = open_fds();
    send(port0_, 0, ipv4_flow_frames(16, true));
    auto before = receive(port1_, 2);
    EXPECT_EQ(before[0].size(), 0U);
    EXPECT_EQ(before[1].size(), 16U);
    free_all(before[0]);
    free_all(before[1]);

    // The device stays away long enough to look at the ports while it is gone.
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 300), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_ERR_RECOVERING));
    expect_bursts_stopped(port0_, port1_);
    rte_eth_link link{};
    ASSERT_EQ(rte_eth_link_get_nowait(port1_, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_DOWN);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS));
    EXPECT_EQ(events_.of(port0_), kRecovered);
    EXPECT_EQ(events_.of(port1_), kRecovered);
    EXPECT_EQ(live_objects(), objects) << "verbs objects lost or leaked by the recovery";
    EXPECT_EQ(open_fds(), fds);
    ASSERT_EQ(rte_eth_link_get_nowait(port1_, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);

    const RssHashConf rss = rss_hash_conf(port1_);
    ASSERT_EQ(rss.rc, 0);
    EXPECT_EQ(rss.key, std::to_array(key));
    EXPECT_EQ(rss.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_TCP);

    send(port0_, 1, ipv4_flow_frames(16, true, 100));
    auto after = receive(port1_, 2);
    EXPECT_EQ(after[0].size(), 0U);
    ASSERT_EQ(after[1].size(), 16U);
    for (std::size_t i = 0; i < after[1].size(); ++i)
        EXPECT_EQ(from_mbuf(after[1][i]), ipv4_flow_frame(100 + static_cast<uint32_t>(i), true));
    free_all(after[0]);
    free_all(after[1]);
    // Counters run on across the reset.
    const rte_eth_stats tx = stats(port0_);
    const rte_eth_stats rx = stats(port1_);
    EXPECT_EQ(tx.opackets, 32U);
    EXPECT_EQ(tx.q_opackets[0], 16U);
    EXPECT_EQ(tx.q_opackets[1], 16U);
    EXPECT_EQ(tx.oerrors, 0U);
    EXPECT_EQ(rx.ipackets, 32U);
    EXPECT_EQ(rx.q_ipackets[1], 32U);
    EXPECT_EQ(rx.ierrors, 0U);
}

TEST_F(Recovery, PacketsInFlightAreFreedAndCountedAsErrors)
{
    start_ports({}, {}, 2048);
    // The device takes the WQEs but does not process them: they stay in flight.
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    rte_mempool *tx_pool = make_pool(64);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &frame : ipv4_flow_frames(8, true))
        mbufs.push_back(to_mbuf(tx_pool, frame));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 8), 8);
    EXPECT_EQ(stats(port0_).opackets, 0U) << "not sent yet";

    ASSERT_EQ(mana_emu_device_fatal(kBdf, 20), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS));
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "in-flight mbufs not freed";
    rte_eth_stats tx = stats(port0_);
    EXPECT_EQ(tx.opackets, 0U);
    EXPECT_EQ(tx.obytes, 0U);
    EXPECT_EQ(tx.oerrors, 8U);
    struct mana_emu_counters counters = {};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.tx_frames, 0U);

    send(port0_, 0, ipv4_flow_frames(5, true, 50));
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 5U);
    free_all(got);
    tx = stats(port0_);
    EXPECT_EQ(tx.opackets, 5U);
    EXPECT_EQ(tx.oerrors, 8U);
}

TEST_F(Recovery, RepeatedResetsKeepEverythingBalanced)
{
    PortConfig config;
    config.rx_interrupts = true; // completion channels are re-created too
    start_ports(config, config, 2048);
    const uint64_t objects = live_objects();
    const uint64_t fds = open_fds();
    for (uint32_t round = 1; round <= 3; ++round) {
        ASSERT_EQ(mana_emu_device_fatal(kBdf, 10 * round), 0);
        ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS, round));
        EXPECT_EQ(events_.count(port0_, RTE_ETH_EVENT_ERR_RECOVERING), round);
        EXPECT_EQ(live_objects(), objects) << "round " << round;
        EXPECT_EQ(open_fds(), fds) << "round " << round;
        send(port0_, 0, ipv4_flow_frames(10, true, round * 100));
        auto got = receive_all(port1_, 1);
        EXPECT_EQ(got.size(), 10U) << "round " << round;
        free_all(got);
        EXPECT_EQ(rte_eth_dev_rx_intr_enable(port1_, 0), 0);
        EXPECT_EQ(rte_eth_dev_rx_intr_disable(port1_, 0), 0);
    }
    EXPECT_EQ(stats(port1_).ipackets, 30U);
    EXPECT_EQ(stats(port0_).opackets, 30U);
    for (const uint16_t port : {port0_, port1_}) {
        const auto log = events_.of(port);
        ASSERT_EQ(log.size(), 6U);
        for (std::size_t i = 0; i < log.size(); ++i)
            EXPECT_EQ(log[i], kRecovered[i % 2]) << "event " << i << " of port " << port;
    }
}

TEST_F(Recovery, DeviceThatDoesNotComeBackFailsAndThePortsBehaveAsRemoved)
{
    reprobe("recovery_timeout_ms=200");
    rte_mempool *pool = start_ports({}, {}, 2048);
    send(port0_, 0, ipv4_flow_frames(4, true));
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 4U);
    free_all(got);

    ASSERT_EQ(mana_emu_device_fatal(kBdf, 0), 0); // never comes back
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_FAILED));
    EXPECT_EQ(events_.of(port0_), kNotRecovered);
    EXPECT_EQ(events_.of(port1_), kNotRecovered);
    expect_bursts_stopped(port0_, port1_);
    // Everything of the dead context is gone already; the pool has its buffers back.
    EXPECT_EQ(live_objects(), 0U);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
    EXPECT_EQ(rte_eth_dev_start(port0_), -ENODEV);
    EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
    close_port(port1_);
    // Nothing more happens after the failure.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(events_.of(port0_), kNotRecovered);
    // The function comes back for the tests that follow (no context is open to kill).
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 1), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

TEST_F(Recovery, StopAndCloseWhileRecoveringAreSafe)
{
    rte_mempool *pool = start_ports({}, {}, 2048);
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 200), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_ERR_RECOVERING));
    EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
    EXPECT_EQ(rte_eth_dev_start(port0_), -EBUSY);
    EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
    close_port(port1_);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    ASSERT_TRUE(events_.wait_for({port0_}, RTE_ETH_EVENT_RECOVERY_SUCCESS));
    EXPECT_EQ(events_.of(port0_), kRecovered);
    // A stopped port comes back stopped and starts as usual.
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    Frame frame = ipv4_flow_frame(7, true);
    std::memcpy(frame.data(), mac_of(0).data(), 6); // to itself
    send(port0_, 0, {frame});
    const auto got = received_frames(port0_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], frame);
}

TEST_F(Recovery, CloseWhileWaitingForTheDeviceReleasesEverything)
{
    rte_mempool *pool = start_ports({}, {}, 2048);
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 100), 0);
    ASSERT_TRUE(events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_ERR_RECOVERING));
    unwatch();
    ASSERT_EQ(remove(), 0); // the whole function, with its pending recovery
    EXPECT_EQ(live_objects(), 0U);
    EXPECT_EQ(open_fds(), 0U);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    // Past the point where the recovery would have run: nothing is left to run it.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    EXPECT_EQ(live_objects(), 0U);
    ASSERT_EQ(probe(), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port0_), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port1_), 0);
}

// Threaded emulator, one lcore sending and receiving without pause while the device
// resets under it. Run with MANA_EMU_MODE=threaded MANA_TEST_LCORES=0-1.
TEST_F(Recovery, ThreadedResetDuringTrafficConservesEveryPacket)
{
    if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 2)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    start_ports({}, {}, 2048);
    LcoreTraffic traffic{.tx_port = port0_, .rx_port = port1_, .queue = 0, .pool = make_pool(1024)};
    TrafficLcores lcores;
    ASSERT_TRUE(lcores.launch(std::span(&traffic, 1)));
    // Until packets flow (a loaded machine may take a while to schedule everyone).
    const auto received_more_than = [&](uint64_t count) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (traffic.received.load() <= count && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return traffic.received.load() > count;
    };
    const bool flowing = received_more_than(1000);
    // With the traffic pool registered on demand, as it is again after the reset.
    const uint64_t objects = live_objects();
    ASSERT_EQ(mana_emu_device_fatal(kBdf, 50), 0);
    const bool recovered = events_.wait_for({port0_, port1_}, RTE_ETH_EVENT_RECOVERY_SUCCESS);
    const uint64_t received_at_recovery = traffic.received.load();
    const bool resumed = recovered && received_more_than(received_at_recovery + 1000);
    ASSERT_TRUE(lcores.stop());
    ASSERT_TRUE(flowing);
    ASSERT_TRUE(recovered);
    EXPECT_TRUE(resumed) << "traffic did not resume";
    EXPECT_EQ(events_.of(port0_), kRecovered);
    EXPECT_EQ(events_.of(port1_), kRecovered);
    EXPECT_EQ(live_objects(), objects);

    // Let the device finish, then drain RX and reap TX.
    const uint64_t received = traffic.received + drain_after_traffic(port0_, port1_, 1, 50)[0];
    const uint64_t sent = traffic.sent.load();
    struct mana_emu_counters counters = {};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    const rte_eth_stats tx = stats(port0_);
    const rte_eth_stats rx = stats(port1_);
    // Every packet the burst took is either sent or, if it was in flight at the reset,
    // an error; the device may have sent some of those before it failed.
    EXPECT_EQ(tx.opackets + tx.oerrors, sent);
    EXPECT_LE(tx.opackets, counters.tx_frames);
    EXPECT_LE(counters.tx_frames, sent);
    // What the application received is what the port counted; frames the device had
    // delivered into buffers not yet polled at the reset are the only ones lost.
    EXPECT_EQ(rx.ipackets, received);
    EXPECT_LE(received, counters.rx_frames);
    EXPECT_EQ(rte_mempool_avail_count(traffic.pool), traffic.pool->size);
}

} // namespace
} // namespace ethdev_test
