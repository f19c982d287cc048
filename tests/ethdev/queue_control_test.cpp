/* SPDX-License-Identifier: BSD-3-Clause */
// Per-queue control through rte_eth_*: stop and start single queues of a running port
// (mbufs back in their pools, bursts on a stopped queue return 0, the others keep
// working), deferred start, queue state, rx_queue_count, descriptor status,
// tx_done_cleanup, queue information and burst modes.
#include "ethdev_harness.h"
#include "traffic_worker.h"

#include <ethdev_driver.h>
#include <rte_cycles.h>
#include <rte_lcore.h>

#include <chrono>
#include <cstring>
#include <unistd.h>

namespace ethdev_test
{
namespace
{

using QueueControl = EthdevTest;

uint8_t rx_state(uint16_t port, uint16_t queue)
{
    rte_eth_rxq_info info{};
    EXPECT_EQ(rte_eth_rx_queue_info_get(port, queue, &info), 0);
    return info.queue_state;
}

uint8_t tx_state(uint16_t port, uint16_t queue)
{
    rte_eth_txq_info info{};
    EXPECT_EQ(rte_eth_tx_queue_info_get(port, queue, &info), 0);
    return info.queue_state;
}

uint64_t device_rx_drops()
{
    mana_emu_counters_t counters{};
    EXPECT_EQ(mana_emu_counters(&counters), 0);
    return counters.rx_drops_no_buffer;
}

// RSS over `queues` RX queues, as many TX queues.
PortConfig rss_queues(uint16_t queues)
{
    return rss_config(queues, RTE_ETH_RSS_NONFRAG_IPV4_TCP, queues);
}

TEST_F(QueueControl, StoppedRxQueueReturnsItsMbufsAndItsTrafficIsDropped)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool = start_port(port1_, rss_queues(2), 1024);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U - 2 * 256);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STARTED);

    ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 1), 0);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rte_eth_devices[port1_].data->rx_queue_state[1], RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U - 256) << "queue 1's buffers not returned";
    // Stopping again is a no-op.
    EXPECT_EQ(rte_eth_dev_rx_queue_stop(port1_, 1), 0);

    const auto frames = ipv4_flow_frames(64, true);
    send(port0_, 0, frames);
    auto got = receive(port1_, 2);
    EXPECT_TRUE(got[1].empty()) << "a burst on a stopped queue returned packets";
    EXPECT_GT(got[0].size(), 0U);
    EXPECT_EQ(got[0].size() + device_rx_drops(), frames.size())
        << "what RSS steers to the stopped queue is dropped, not moved";
    const std::size_t dropped = frames.size() - got[0].size();
    EXPECT_GT(dropped, 0U);
    free_all(got[0]);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 1), 0);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U - 2 * 256);
    send(port0_, 0, frames);
    got = receive(port1_, 2);
    EXPECT_EQ(got[1].size(), dropped) << "the restarted queue gets its flows again";
    EXPECT_EQ(got[0].size() + got[1].size(), frames.size());
    for (auto &queue : got)
        free_all(queue);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, 2 * frames.size() - dropped);
    EXPECT_EQ(s.ierrors, 0U);
}

TEST_F(QueueControl, StoppedTxQueueFreesWhatIsInFlightAndTakesNothing)
{
    start_ports(rss_queues(2), {}, 4096);
    rte_mempool *tx_pool = make_pool(256);
    std::array<rte_mbuf *, 40> burst;
    for (uint32_t i = 0; i < burst.size(); ++i)
        ASSERT_NE(burst[i] = to_mbuf(tx_pool, ipv4_flow_frame(i, true)), nullptr);
    // Posted but not yet sent (the device has not run): stopping frees them.
    ASSERT_EQ(rte_eth_tx_burst(port0_, 1, burst.data(), burst.size()), burst.size());
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), 256U - 40);
    ASSERT_EQ(rte_eth_dev_tx_queue_stop(port0_, 1), 0);
    EXPECT_EQ(tx_state(port0_, 1), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), 256U);
    mana_emu_poll();
    auto got = receive_all(port1_, 1);
    EXPECT_TRUE(got.empty()) << "packets of a stopped queue were sent";

    for (uint32_t i = 0; i < burst.size(); ++i)
        ASSERT_NE(burst[i] = to_mbuf(tx_pool, ipv4_flow_frame(i, true)), nullptr);
    EXPECT_EQ(rte_eth_tx_burst(port0_, 1, burst.data(), burst.size()), 0)
        << "a stopped queue took packets";
    EXPECT_EQ(rte_eth_tx_done_cleanup(port0_, 1, 0), 0);
    // Queue 0 is unaffected.
    send(port0_, 0, ipv4_flow_frames(10, true));
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);

    ASSERT_EQ(rte_eth_dev_tx_queue_start(port0_, 1), 0);
    EXPECT_EQ(tx_state(port0_, 1), RTE_ETH_QUEUE_STATE_STARTED);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 1, burst.data(), burst.size()), burst.size());
    mana_emu_poll();
    got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), burst.size());
    for (uint32_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), ipv4_flow_frame(i, true));
    free_all(got);
    mana_emu_counters_t counters{};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.tx_frames, 50U) << "the 40 freed by the stop were never sent";
}

TEST_F(QueueControl, DeferredQueuesWaitForTheirStart)
{
    rte_mempool *rx_pool = make_pool(1024);
    rte_mempool *tx_pool = start_port(port0_, {}, 2048);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port1_, 1, 1, &conf), 0);
    rte_eth_rxconf rxconf{};
    rxconf.rx_deferred_start = 1;
    rte_eth_txconf txconf{};
    txconf.tx_deferred_start = 1;
    ASSERT_EQ(rte_eth_rx_queue_setup(port1_, 0, 256, SOCKET_ID_ANY, &rxconf, rx_pool), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port1_, 0, 256, SOCKET_ID_ANY, &txconf), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    EXPECT_EQ(rx_state(port1_, 0), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(tx_state(port1_, 0), RTE_ETH_QUEUE_STATE_STOPPED);
    rte_eth_rxq_info rx_info{};
    ASSERT_EQ(rte_eth_rx_queue_info_get(port1_, 0, &rx_info), 0);
    EXPECT_EQ(rx_info.conf.rx_deferred_start, 1);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U) << "a deferred queue posted buffers";

    send(port0_, 0, ipv4_flow_frames(5, true));
    EXPECT_TRUE(receive_all(port1_, 1).empty());
    EXPECT_EQ(device_rx_drops(), 5U);
    rte_mbuf *reply = to_mbuf(tx_pool, ipv4_flow_frame(1, false));
    EXPECT_EQ(rte_eth_tx_burst(port1_, 0, &reply, 1), 0);

    ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), 0);
    ASSERT_EQ(rte_eth_dev_tx_queue_start(port1_, 0), 0);
    EXPECT_EQ(rx_state(port1_, 0), RTE_ETH_QUEUE_STATE_STARTED);
    EXPECT_EQ(tx_state(port1_, 0), RTE_ETH_QUEUE_STATE_STARTED);
    // Starting a started queue is a no-op.
    EXPECT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), 0);
    send(port0_, 0, ipv4_flow_frames(5, true));
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 5U);
    free_all(got);
    ASSERT_EQ(rte_eth_tx_burst(port1_, 0, &reply, 1), 1);
    mana_emu_poll();
    got = receive_all(port0_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(1, false));
    free_all(got);

    // A port stopped and started again honours deferred start again.
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    EXPECT_EQ(rx_state(port1_, 0), RTE_ETH_QUEUE_STATE_STOPPED);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), 1024U);
}

TEST_F(QueueControl, BadRequestsAreRefusedAndLoseNothing)
{
    rte_mempool *rx_pool = make_pool(512);
    start_port(port0_, {}, 2048);
    ASSERT_EQ(configure(port1_, rss_queues(2), rx_pool), 0);
    // Not started: queues cannot be started one by one.
    EXPECT_EQ(rte_eth_dev_rx_queue_start(port1_, 0), -EINVAL);
    EXPECT_EQ(rte_eth_dev_tx_queue_start(port1_, 0), -EINVAL);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    EXPECT_EQ(rte_eth_dev_rx_queue_stop(port1_, 2), -EINVAL);
    EXPECT_EQ(rte_eth_dev_tx_queue_stop(port1_, 2), -EINVAL);

    // A queue whose pool is empty cannot start: it stays stopped, and starts once the
    // pool has mbufs again.
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 1), 0);
    std::vector<rte_mbuf *> hoard = take_all(rx_pool);
    EXPECT_EQ(rte_eth_dev_rx_queue_start(port1_, 1), -ENOMEM);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STOPPED);
    std::array<rte_mbuf *, 8> burst;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 1, burst.data(), burst.size()), 0);
    free_all(hoard);
    EXPECT_EQ(rte_eth_dev_rx_queue_start(port1_, 1), 0);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STARTED);
    const auto frames = ipv4_flow_frames(32, true);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 2);
    EXPECT_EQ(got.size(), frames.size());
    free_all(got);
}

TEST_F(QueueControl, RxQueueCountAndDescriptorStatusFollowTheRing)
{
    start_port(port0_, {}, 2048);
    // Refilled after every burst, so that only the pool running dry leaves slots empty.
    rte_mempool *rx_pool = start_port(port1_, {.rx_free_thresh = 1}, 1024);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 0), RTE_ETH_RX_DESC_AVAIL);
    send(port0_, 0, ipv4_flow_frames(10, true));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 10);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 0), RTE_ETH_RX_DESC_DONE);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 9), RTE_ETH_RX_DESC_DONE);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 10), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 255), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 256), -EINVAL);

    // Bursts that end inside a coalesced completion (with coalesce=1).
    std::array<rte_mbuf *, 3> burst;
    ASSERT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), 1), 1);
    rte_pktmbuf_free(burst[0]);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 9);
    ASSERT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), 3), 3);
    rte_pktmbuf_free_bulk(burst.data(), 3);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 6);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 5), RTE_ETH_RX_DESC_DONE);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 6), RTE_ETH_RX_DESC_AVAIL);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 6U);
    free_all(got);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);

    // Truncated frames use descriptors too.
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 2), 0);
    send(port0_, 0, ipv4_flow_frames(3, true));
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 3);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);

    // Buffers the pool could not refill are not available to the device.
    std::vector<rte_mbuf *> hoard = take_all(rx_pool);
    send(port0_, 0, ipv4_flow_frames(20, true));
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 20U);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 235), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 236), RTE_ETH_RX_DESC_UNAVAIL);
    free_all(got);
    free_all(hoard);

    // A stopped queue has nothing filled and nothing available.
    ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 0), 0);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 0);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 0), RTE_ETH_RX_DESC_UNAVAIL);
}

TEST_F(QueueControl, TxDescriptorStatusAndDoneCleanupFreeWhatWasSent)
{
    start_ports({}, {}, 2048);
    rte_mempool *tx_pool = make_pool(256);
    std::array<rte_mbuf *, 40> burst;
    for (uint32_t i = 0; i < burst.size(); ++i)
        ASSERT_NE(burst[i] = to_mbuf(tx_pool, ipv4_flow_frame(i, true)), nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), burst.size()), burst.size());
    // Offset 0 is where the next packet goes; the 40 in flight are the last slots.
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 0), RTE_ETH_TX_DESC_DONE);
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 215), RTE_ETH_TX_DESC_DONE);
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 216), RTE_ETH_TX_DESC_FULL);
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 255), RTE_ETH_TX_DESC_FULL);
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 256), -EINVAL);
    EXPECT_EQ(rte_eth_tx_done_cleanup(port0_, 0, 0), 0) << "nothing is sent yet";

    mana_emu_poll(); // the device sends all 40
    EXPECT_EQ(rte_eth_tx_done_cleanup(port0_, 0, 10), 10);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), 256U - 30);
    EXPECT_EQ(rte_eth_tx_done_cleanup(port0_, 0, 25), 25);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), 256U - 5);
    EXPECT_EQ(rte_eth_tx_descriptor_status(port0_, 0, 255), RTE_ETH_TX_DESC_DONE)
        << "descriptor status reads completions";
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), 256U);
    EXPECT_EQ(rte_eth_tx_done_cleanup(port0_, 0, 0), 0);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), burst.size());
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, burst.size());
    EXPECT_EQ(s.oerrors, 0U);
}

TEST_F(QueueControl, QueueInfoAndBurstModeDescribeTheQueues)
{
    PortConfig config;
    config.rx_descriptors = 100; // rounded up to a power of two
    config.tx_descriptors = 64;
    config.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM;
    config.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    rte_mempool *pool = start_port(port0_, config, 2048);
    rte_eth_rxq_info rx{};
    ASSERT_EQ(rte_eth_rx_queue_info_get(port0_, 0, &rx), 0);
    EXPECT_EQ(rx.mp, pool);
    EXPECT_EQ(rx.nb_desc, 128);
    EXPECT_EQ(rx.scattered_rx, 0);
    EXPECT_EQ(rx.rx_buf_size, RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM);
    EXPECT_EQ(rx.conf.offloads & RTE_ETH_RX_OFFLOAD_CHECKSUM, RTE_ETH_RX_OFFLOAD_CHECKSUM);
    EXPECT_EQ(rx.queue_state, RTE_ETH_QUEUE_STATE_STARTED);
    rte_eth_txq_info tx{};
    ASSERT_EQ(rte_eth_tx_queue_info_get(port0_, 0, &tx), 0);
    EXPECT_EQ(tx.nb_desc, 64);
    EXPECT_EQ(tx.conf.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS, RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
    EXPECT_EQ(tx.conf.tx_rs_thresh, 32) << "a completion every descriptors/2 WQEs";
    EXPECT_EQ(rte_eth_rx_queue_info_get(port0_, 1, &rx), -EINVAL);

    rte_eth_burst_mode mode{};
    ASSERT_EQ(rte_eth_rx_burst_mode_get(port0_, 0, &mode), 0);
    EXPECT_NE(std::strstr(mode.info, "Scalar"), nullptr) << mode.info;
    ASSERT_EQ(rte_eth_tx_burst_mode_get(port0_, 0, &mode), 0);
    EXPECT_NE(std::strstr(mode.info, "every 32 packets"), nullptr) << mode.info;
    EXPECT_EQ(rte_eth_tx_burst_mode_get(port0_, 1, &mode), -EINVAL);
}

} // namespace

// Threaded emulator: an lcore keeps traffic flowing on queue 0 of both ports while the
// main lcore stops and restarts queue 1 of each, again and again. Nothing is lost:
// everything sent is received or counted as dropped by the device, and every mbuf is
// back in its pool at the end (checked by the harness).
TEST_F(EthdevTest, ThreadedQueueRestartUnderTraffic)
{
    if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 2)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    const PortConfig config = rss_queues(2);
    start_ports(config, config, 4096);
    LcoreTraffic traffic{.tx_port = port0_, .rx_port = port1_, .queue = 0, .pool = make_pool(1024)};
    TrafficLcores lcores;
    ASSERT_TRUE(lcores.launch(std::span(&traffic, 1)));
    rte_mempool *own = make_pool(1024);
    uint64_t sent = 0;
    uint64_t received = 0;
    for (int round = 0; round < 20; ++round) {
        // Some traffic of the main lcore's own on queue 1, then stop both queue 1s with
        // packets possibly still in flight.
        std::array<rte_mbuf *, 32> burst;
        for (auto &mbuf : burst)
            ASSERT_NE(mbuf = to_mbuf(own, ipv4_flow_frame(60000 + round, true)), nullptr);
        const uint16_t n = rte_eth_tx_burst(port0_, 1, burst.data(), burst.size());
        sent += n;
        rte_pktmbuf_free_bulk(burst.data() + n, burst.size() - n);
        usleep(1000);
        const uint16_t got = rte_eth_rx_burst(port1_, 1, burst.data(), burst.size());
        received += got;
        rte_pktmbuf_free_bulk(burst.data(), got);
        ASSERT_EQ(rte_eth_dev_tx_queue_stop(port0_, 1), 0);
        ASSERT_EQ(rte_eth_dev_rx_queue_stop(port1_, 1), 0);
        EXPECT_EQ(rte_eth_rx_burst(port1_, 1, burst.data(), burst.size()), 0);
        usleep(1000);
        ASSERT_EQ(rte_eth_dev_rx_queue_start(port1_, 1), 0);
        ASSERT_EQ(rte_eth_dev_tx_queue_start(port0_, 1), 0);
    }
    // Queue 0 flows on: on a loaded machine the worker lcore may have had little CPU
    // during the restarts, so it gets time by the clock (a stalled queue never gets there).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (traffic.received.load() <= 1000 && std::chrono::steady_clock::now() < deadline)
        usleep(1000);
    ASSERT_TRUE(lcores.stop());
    const auto drained = drain_after_traffic(port0_, port1_, 2);
    const uint64_t received_q0 = traffic.received + drained[0];
    received += drained[1];
    mana_emu_counters_t counters{};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_GT(traffic.sent, 1000U) << "queue 0 stalled while queue 1 restarted";
    EXPECT_GT(traffic.received, 1000U);
    // Queue 0 (its WQ is the first the port created, and never recreated) returned every
    // frame the device gave it. Queue 1 loses what was in its ring at each stop: frames
    // the device had written and no burst had returned go back to the pool with their
    // buffers (at most a ring per stop).
    std::array<uint32_t, 2> rq_ids{};
    ASSERT_GE(mana_emu_port_queues(1, MANA_EMU_QUEUE_RQ, rq_ids.data(), rq_ids.size()), 2);
    mana_emu_counters_t q0{};
    ASSERT_EQ(mana_emu_queue_counters(MANA_EMU_QUEUE_RQ, rq_ids[0], &q0), 0);
    EXPECT_EQ(q0.rx_frames, received_q0);
    EXPECT_GE(counters.rx_frames, received_q0 + received);
    EXPECT_LE(counters.rx_frames, received_q0 + received + 20 * 256);
    // Packets of a stopped TX queue the device had not sent yet were freed, not sent.
    EXPECT_LE(counters.tx_frames, traffic.sent + sent);
    EXPECT_EQ(counters.tx_frames,
              counters.rx_frames + counters.rx_drops_no_buffer + counters.rx_drops_other);
    EXPECT_EQ(rx_state(port1_, 1), RTE_ETH_QUEUE_STATE_STARTED);
}

} // namespace ethdev_test
