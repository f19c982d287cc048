/* SPDX-License-Identifier: BSD-3-Clause */
// The fault matrix: every fault the emulator can inject, under traffic, through rte_eth_*
// only. Each case asserts what the driver does about the fault, that every frame offered
// is either received or counted as dropped (conservation), and -- in the harness's
// TearDown -- that every mempool is full again, no verbs object or emulator fd outlives
// close and the device saw no DMA or WQE violation.
#include "ethdev_harness.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace ethdev_test
{
namespace
{

mana_emu_counters_t emu_counters()
{
    mana_emu_counters_t counters{};
    EXPECT_EQ(mana_emu_counters(&counters), 0);
    return counters;
}

std::vector<Frame> numbered_frames(uint32_t first, uint32_t count, std::size_t payload = 64)
{
    std::vector<Frame> frames;
    for (uint32_t i = first; i < first + count; ++i)
        frames.push_back(ipv4_flow_frame(i, i % 2 == 0, payload));
    return frames;
}

// The completion queue ids of an emulated port, in creation order.
std::vector<uint32_t> cq_ids(unsigned emu_port)
{
    std::array<uint32_t, 16> ids{};
    const int n = mana_emu_port_queues(emu_port, MANA_EMU_QUEUE_CQ, ids.data(), ids.size());
    EXPECT_GE(n, 0);
    return {ids.begin(), ids.begin() + std::clamp(n, 0, static_cast<int>(ids.size()))};
}

// A raw CQE whose first OOB dword carries `type`, with packet lengths for RX types.
std::array<uint8_t, 64> raw_cqe(uint8_t type, std::array<uint16_t, 4> lengths = {})
{
    std::array<uint8_t, 64> cqe{};
    cqe[0] = type & 0x3f;
    // RX OOB: packet i's length in the low 16 bits of dword 2 + 3 * i (gdma/rx_completion.h).
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        cqe[(2 + 3 * i) * 4] = static_cast<uint8_t>(lengths[i]);
        cqe[(2 + 3 * i) * 4 + 1] = static_cast<uint8_t>(lengths[i] >> 8);
    }
    return cqe;
}

class Faults : public EthdevTest
{
  protected:
    // Port 0 sends only, port 1 receives only: each has exactly one CQ, so the emulator's
    // CQ list of a port names the queue a raw CQE goes to without guessing creation order.
    void start_one_way(rte_mempool *rx_pool, PortConfig tx = {}, PortConfig rx = {})
    {
        tx.rx_queues = 0;
        rx.tx_queues = 0;
        setup_and_start(port0_, tx, rx_pool);
        setup_and_start(port1_, rx, rx_pool);
    }

    // Receives everything the device has delivered to port 1 and checks each frame
    // against what was offered (in order, skipping frames the device dropped).
    std::vector<rte_mbuf *> drain(uint16_t queues = 1) { return receive_all(port1_, queues); }

    // sent = received + counted drops, over the emulator's device-side drops and the
    // driver's counters.
    void check_rx_registration_failure(bool scatter);

    // Receives what the device delivered to port 1 and checks it is exactly `frames`, in
    // order and byte for byte; frees it.
    void expect_delivered(const std::vector<Frame> &frames)
    {
        auto got = drain();
        EXPECT_EQ(got.size(), frames.size());
        for (std::size_t i = 0; i < std::min(got.size(), frames.size()); ++i)
            EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
        free_all(got);
    }

    void expect_conservation(uint64_t offered, uint64_t received, const char *what)
    {
        const auto tx = stats(port0_);
        const auto rx = stats(port1_);
        const auto emu = emu_counters();
        EXPECT_EQ(offered, tx.opackets + tx.oerrors) << what << ": TX side lost packets";
        EXPECT_EQ(received, rx.ipackets) << what;
        EXPECT_EQ(tx.opackets, received + emu.rx_drops_no_buffer + emu.rx_drops_other + rx.ierrors)
            << what << ": frames on the wire neither received nor counted";
    }
};

// ---- mbuf pool exhaustion on RX -------------------------------------------------------

TEST_F(Faults, RxPoolExhaustionDropsAreCountedAndTrafficRecovers)
{
    rte_mempool *tx_pool = make_pool(2048);
    rte_mempool *rx_pool = make_pool(384);
    setup_and_start(port0_, {}, tx_pool);
    setup_and_start(port1_, {}, rx_pool);
    // Hold every mbuf the ring does not: refills fail from now on.
    std::vector<rte_mbuf *> hoard;
    while (rte_mbuf *m = rte_pktmbuf_alloc(rx_pool))
        hoard.push_back(m);

    const auto frames = numbered_frames(0, 200);
    send(port0_, 0, frames);
    auto held = drain();
    EXPECT_EQ(held.size(), 200U);
    EXPECT_GT(stats(port1_).rx_nombuf, 0U);
    // 56 buffers are still posted: 56 of the next 150 arrive, 94 are device drops.
    send(port0_, 0, numbered_frames(200, 150));
    auto more = drain();
    EXPECT_EQ(more.size(), 56U);
    EXPECT_EQ(emu_counters().rx_drops_no_buffer, 94U);
    expect_conservation(350, held.size() + more.size(), "exhausted pool");
    free_all(held);
    free_all(more);
    free_all(hoard);

    // The next poll refills the whole ring; traffic is byte-exact again.
    EXPECT_TRUE(drain().empty());
    const auto again = numbered_frames(1000, 256);
    send(port0_, 0, again);
    auto got = drain();
    ASSERT_EQ(got.size(), again.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), again[i]) << "frame " << i;
    free_all(got);
    expect_conservation(350 + 256, 200 + 56 + 256, "after recovery");
}

// ---- every TX error completion ----------------------------------------------------------

class TxErrorType : public Faults, public ::testing::WithParamInterface<unsigned>
{
};

TEST_P(TxErrorType, CountedInOerrorsWithNoMbufLost)
{
    const unsigned type = GetParam();
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_fault_tx_error(0, type, 5), 0);
    rte_mempool *tx_pool = make_pool(128);
    // Frames 2..6 of 40 fail: some in the middle of suppressed-CQE runs.
    const auto frames = numbered_frames(0, 40);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 2), 2);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data() + 2, 38), 38);
    mana_emu_poll();
    auto got = drain();
    ASSERT_EQ(got.size(), 35U);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i + 5]) << "frame " << i;
    free_all(got);
    const auto s = stats(port0_); // reaps
    EXPECT_EQ(s.oerrors, 5U);
    EXPECT_EQ(s.opackets, 35U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "failed packets not freed";
    EXPECT_EQ(emu_counters().tx_errors, 5U);
    expect_conservation(40, 35, "TX errors");
    // The queue keeps working.
    send(port0_, 0, numbered_frames(100, 64));
    got = drain();
    EXPECT_EQ(got.size(), 64U);
    free_all(got);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TxErrorType, ::testing::Range(33U, 42U),
                         [](const ::testing::TestParamInfo<unsigned> &info) {
                             return "type" + std::to_string(info.param);
                         });

// ---- RX truncated and garbage completions -----------------------------------------------

TEST_F(Faults, RxTruncatedIsCountedAndTheBufferReused)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 7), 0);
    // More than the ring holds, in bursts the ring can take: truncated buffers must return.
    const auto frames = numbered_frames(0, 300);
    std::vector<rte_mbuf *> got;
    for (std::size_t first = 0; first < frames.size(); first += 100) {
        send(port0_, 0, {frames.begin() + first, frames.begin() + first + 100});
        auto part = drain();
        got.insert(got.end(), part.begin(), part.end());
        free_all(part);
    }
    ASSERT_EQ(got.size(), 293U);
    got.clear();
    const auto s = stats(port1_);
    EXPECT_EQ(s.ierrors, 7U);
    EXPECT_EQ(s.rx_nombuf, 0U);
    EXPECT_EQ(emu_counters().rx_truncated, 7U);
    expect_conservation(300, 293, "RX truncated");
}

TEST_F(Faults, RandomGarbageRxCompletionsAreCountedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    std::mt19937 random(20261126);
    uint64_t must_count = 0; // garbage the driver cannot take for a packet
    for (int i = 0; i < 24; ++i) {
        std::array<uint8_t, 64> cqe;
        for (auto &b : cqe)
            b = static_cast<uint8_t>(random());
        const unsigned type = cqe[0] & 0x3f;
        const uint32_t first_length = cqe[8] | (cqe[9] << 8);
        if ((type != 1 && type != 2 && type != 3) ||
            ((type == 1 || type == 2) && (first_length == 0 || first_length > room)))
            ++must_count;
        ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    }
    std::set<rte_mbuf *> seen;
    std::vector<rte_mbuf *> got;
    std::array<rte_mbuf *, 32> burst;
    for (int round = 0; round < 8; ++round) {
        const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
        for (uint16_t i = 0; i < n; ++i) {
            EXPECT_TRUE(seen.insert(burst[i]).second) << "one mbuf delivered twice";
            EXPECT_LE(burst[i]->data_len, room) << "length beyond the buffer delivered";
            EXPECT_EQ(burst[i]->pkt_len, burst[i]->data_len);
            EXPECT_EQ(burst[i]->nb_segs, 1);
            got.push_back(burst[i]);
        }
    }
    free_all(got);
    EXPECT_GE(stats(port1_).ierrors, must_count);
    // The ring no longer matches the device: a restart resynchronises it.
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    ASSERT_EQ(rte_eth_stats_reset(port1_), 0);
    const auto frames = numbered_frames(0, 100);
    send(port0_, 0, frames);
    expect_delivered(frames);
}

TEST_F(Faults, RxCompletionLongerThanTheBufferIsCountedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    const auto cqe = raw_cqe(1, {0xffff});
    ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    for (uint16_t i = 0; i < n; ++i)
        EXPECT_LE(burst[i]->data_len, 2048U) << "65535-byte packet in a 2048-byte buffer";
    rte_pktmbuf_free_bulk(burst.data(), n);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(stats(port1_).ierrors, 1U);
}

TEST_F(Faults, RxCompletionWithNoPostedBufferIsCountedNotDelivered)
{
    rte_mempool *tx_pool = make_pool(2048);
    rte_mempool *rx_pool = make_pool(256, RTE_MBUF_DEFAULT_BUF_SIZE);
    setup_and_start(port0_, {}, tx_pool);
    PortConfig rx;
    rx.tx_queues = 0;
    rx.rx_descriptors = 128;
    setup_and_start(port1_, rx, rx_pool);
    std::vector<rte_mbuf *> hoard;
    while (rte_mbuf *m = rte_pktmbuf_alloc(rx_pool))
        hoard.push_back(m);
    // Receive every posted buffer: nothing is posted any more.
    send(port0_, 0, numbered_frames(0, 128));
    auto held = drain();
    ASSERT_EQ(held.size(), 128U);
    const auto cqs = cq_ids(1);
    ASSERT_EQ(cqs.size(), 1U);
    const auto cqe = raw_cqe(1, {60});
    ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    for (uint16_t i = 0; i < n; ++i)
        EXPECT_EQ(std::count(held.begin(), held.end(), burst[i]), 0)
            << "an mbuf the application owns was delivered again";
    EXPECT_EQ(n, 0);
    EXPECT_EQ(stats(port1_).ierrors, 1U);
    free_all(held);
    free_all(hoard);
}

TEST_F(Faults, GarbageTxCompletionsWithNothingInFlightAreCounted)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    const auto frames = numbered_frames(0, 50);
    send(port0_, 0, frames);
    auto got = drain();
    ASSERT_EQ(got.size(), 50U);
    free_all(got);
    ASSERT_EQ(stats(port0_).opackets, 50U); // everything reaped
    const auto cqs = cq_ids(0);
    ASSERT_EQ(cqs.size(), 1U);
    std::mt19937 random(7);
    for (int i = 0; i < 6; ++i) {
        std::array<uint8_t, 64> cqe;
        for (auto &b : cqe)
            b = static_cast<uint8_t>(random());
        ASSERT_EQ(mana_emu_write_cqe(cqs[0], cqe.data()), 0);
    }
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 6U);
    EXPECT_EQ(s.opackets, 50U) << "spurious completions must not uncount packets that were sent";
    // Traffic still flows.
    send(port0_, 0, frames);
    got = drain();
    EXPECT_EQ(got.size(), 50U);
    free_all(got);
}

// ---- memory registration failures -------------------------------------------------------

// Every registration fails from RX queue setup on: setup and start still succeed (the
// setup-time registration is a warm-up), the queue starts with nothing posted, frames
// arriving meanwhile are dropped by the device for want of buffers, every buffer the
// queue could not post is back in its pool and counted in rx_nombuf, and each burst
// retries. Once registration works again, the next burst posts the whole ring and
// traffic flows. With `scatter`, port 1 takes 2-buffer WQEs (MTU 2000, 1 KiB buffers).
void Faults::check_rx_registration_failure(bool scatter)
{
    constexpr uint16_t kDescriptors = 256;
    const uint32_t buffers_per_wqe = scatter ? 2 : 1;
    rte_mempool *pool = make_pool(2048); // port 0's, registered before the fault
    rte_mempool *rx_pool = scatter ? make_pool(2048, RTE_PKTMBUF_HEADROOM + 1024) : make_pool(1024);
    setup_and_start(port0_, {}, pool);
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 0, 1000000, ENOMEM), 0);
    rte_eth_conf conf{};
    if (scatter) {
        conf.rxmode.mtu = 2000;
        conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SCATTER;
    }
    ASSERT_EQ(rte_eth_dev_configure(port1_, 1, 0, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port1_, 0, kDescriptors, SOCKET_ID_ANY, nullptr, rx_pool), 0)
        << "a failed warm-up registration fails the setup";
    ASSERT_EQ(rte_eth_dev_start(port1_), 0) << "nothing registrable fails the start";
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), rx_pool->size) << "unposted buffers kept";
    auto s = stats(port1_);
    EXPECT_GE(s.rx_nombuf, kDescriptors) << "the ring's buffers that could not be posted";

    // Traffic while nothing can be registered, from mbufs of the registered pool.
    auto offer = [&](uint32_t first, uint32_t count) {
        const auto frames = numbered_frames(first, count);
        std::vector<rte_mbuf *> mbufs;
        for (const Frame &f : frames)
            mbufs.push_back(to_mbuf(pool, f));
        EXPECT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), count), count);
        mana_emu_poll();
        return frames;
    };
    offer(0, 32);
    const uint64_t nombuf_before = s.rx_nombuf;
    auto got = drain();
    EXPECT_TRUE(got.empty());
    free_all(got);
    s = stats(port1_);
    EXPECT_GT(s.rx_nombuf, nombuf_before) << "bursts do not retry";
    EXPECT_EQ(s.ipackets, 0U);
    EXPECT_EQ(emu_counters().rx_drops_no_buffer, 32U);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), rx_pool->size) << "unposted buffers kept";

    mana_emu_clear_faults();
    std::array<rte_mbuf *, 8> none;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, none.data(), none.size()), 0); // refills the ring
    EXPECT_EQ(rte_mempool_avail_count(rx_pool), rx_pool->size - kDescriptors * buffers_per_wqe)
        << "ring not refilled";
    const auto frames = offer(32, 64);
    expect_delivered(frames);
    rte_eth_tx_burst(port0_, 0, nullptr, 0);
    expect_conservation(96, 64, "RX registration failure");
}

TEST_F(Faults, RegistrationFailureOnRxRefillLeavesSlotsUnpostedAndIsRetried)
{
    check_rx_registration_failure(false);
}

TEST_F(Faults, RegistrationFailureOnScatterRxRefillLeavesWqesUnpostedAndIsRetried)
{
    check_rx_registration_failure(true);
}

TEST_F(Faults, RegistrationFailureOnTxDropsAndCountsEveryPacket)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    rte_mempool *tx_pool = make_pool(64); // not registered until first sent from
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 0, 1000, ENOMEM), 0);
    std::vector<rte_mbuf *> mbufs;
    const auto frames = numbered_frames(0, 20);
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 20), 20);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "dropped packets not freed";
    mana_emu_clear_faults();
    mbufs.clear();
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 20), 20);
    mana_emu_poll();
    expect_delivered(frames);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 20U);
    EXPECT_EQ(s.opackets, 20U);
    EXPECT_EQ(xstat(port0_, "tx_q0_unregistered_memory_errors"), 20U);
    expect_conservation(40, 20, "TX registration failure");
}

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

// ---- a stalled device -------------------------------------------------------------------

TEST_F(Faults, StalledDeviceFillsTheRingAndNothingIsLostAfterResume)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx;
    tx.tx_descriptors = 64;
    start_one_way(pool, tx);
    rte_mempool *tx_pool = make_pool(512);
    const auto frames = numbered_frames(0, 300);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    std::size_t sent = 0;
    uint16_t shortest = UINT16_MAX;
    for (int round = 0; round < 10; ++round) {
        const uint16_t n = rte_eth_tx_burst(port0_, 0, mbufs.data() + sent,
                                            static_cast<uint16_t>(mbufs.size() - sent));
        shortest = std::min(shortest, n);
        sent += n;
        mana_emu_poll(); // the stalled port does nothing
    }
    EXPECT_EQ(sent, 64U) << "the ring holds exactly its descriptors while stalled";
    EXPECT_EQ(shortest, 0);
    EXPECT_TRUE(drain().empty());
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    while (sent < mbufs.size()) {
        mana_emu_poll();
        auto got = drain();
        const uint16_t n = rte_eth_tx_burst(port0_, 0, mbufs.data() + sent,
                                            static_cast<uint16_t>(mbufs.size() - sent));
        sent += n;
        free_all(got);
    }
    mana_emu_poll();
    auto rest = drain();
    free_all(rest);
    expect_conservation(300, stats(port1_).ipackets, "stall");
    EXPECT_EQ(stats(port1_).ipackets, 300U);
    EXPECT_EQ(stats(port0_).oerrors, 0U);
}

// ---- CQ overflow ------------------------------------------------------------------------

// The driver's documented behaviour (rxq.cpp): an overflowed RX CQ is reported once in
// ierrors with a log asking for a restart, the queue stops delivering, and stop/start
// recovers it.
TEST_F(Faults, RxCqOverflowIsDetectedCountedAndARestartRecovers)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_force_cq_overflow(1), 0);
    send(port0_, 0, numbered_frames(0, 20));
    auto got = drain();
    free_all(got);
    EXPECT_EQ(stats(port1_).ierrors, 1U) << "overflow not counted";
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    const auto frames = numbered_frames(100, 50);
    send(port0_, 0, frames);
    expect_delivered(frames);
}

// A lapped TX CQ must be detected and counted as well; the ring can then no longer be
// reaped, so the queue reports it and a restart recovers (every mbuf returns on stop).
TEST_F(Faults, TxCqOverflowIsDetectedCountedAndARestartRecovers)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    ASSERT_EQ(mana_emu_force_cq_overflow(0), 0);
    send(port0_, 0, numbered_frames(0, 20));
    auto got = drain();
    free_all(got);
    EXPECT_GE(stats(port0_).oerrors, 1U) << "TX CQ overflow neither detected nor counted";
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    const auto frames = numbered_frames(100, 50);
    send(port0_, 0, frames);
    expect_delivered(frames);
}

// ---- device removal during traffic ------------------------------------------------------

// Runs in its own process (meson test faults_removal): the function stays removed.
class Removal : public Faults
{
  protected:
    static int on_event(uint16_t port, rte_eth_event_type event, void *opaque, void *)
    {
        if (event == RTE_ETH_EVENT_INTR_RMV)
            static_cast<std::atomic<int> *>(opaque)[port] += 1;
        return 0;
    }
};

TEST_F(Removal, BurstsStopStopAndCloseWorkNothingLeaks)
{
    rte_mempool *pool = make_pool(2048);
    start_one_way(pool);
    static std::atomic<int> removal_events[RTE_MAX_ETHPORTS];
    ASSERT_EQ(rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_RMV, on_event,
                                            removal_events),
              0);
    rte_mempool *tx_pool = make_pool(1024);
    const auto frames = numbered_frames(0, 64);
    // Traffic in flight both ways when the device goes.
    send(port0_, 0, frames);
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &f : frames)
        mbufs.push_back(to_mbuf(tx_pool, f));
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 32), 32);
    ASSERT_EQ(mana_emu_remove_device(kBdf), 0);
    mana_emu_poll();

    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    const bool removal_supported = (*info.dev_flags & RTE_ETH_DEV_INTR_RMV) != 0;
    EXPECT_TRUE(removal_supported) << "the driver does not announce RTE_ETH_DEV_INTR_RMV";
    {
        for (int i = 0; i < 200 && (removal_events[port0_] == 0 || removal_events[port1_] == 0);
             ++i)
            rte_delay_ms(10);
        EXPECT_EQ(removal_events[port0_].load(), 1) << "no RTE_ETH_EVENT_INTR_RMV on port 0";
        EXPECT_EQ(removal_events[port1_].load(), 1) << "no RTE_ETH_EVENT_INTR_RMV on port 1";
    }
    // RX: whatever was completed before the removal may still come; then nothing.
    auto got = drain();
    free_all(got);
    std::array<rte_mbuf *, 32> burst;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), burst.size()), 0);
    // TX: the device takes no more work; the queue must not grow without bound and
    // must not touch freed memory. Whatever it takes is freed or counted by stop.
    std::size_t taken = 32;
    for (int round = 0; round < 8 && taken < mbufs.size(); ++round)
        taken += rte_eth_tx_burst(port0_, 0, mbufs.data() + taken,
                                  static_cast<uint16_t>(mbufs.size() - taken));
    EXPECT_EQ(taken, 32U) << "tx_burst still takes packets for a removed device";
    for (std::size_t i = taken; i < mbufs.size(); ++i)
        rte_pktmbuf_free(mbufs[i]);
    EXPECT_EQ(rte_eth_dev_stop(port0_), 0);
    EXPECT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "in-flight mbufs lost";
    EXPECT_EQ(rte_eth_dev_callback_unregister(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_RMV, on_event,
                                              removal_events),
              0);
    // TearDown closes the ports and checks that no verbs object or fd is left.
}

} // namespace
} // namespace ethdev_test
