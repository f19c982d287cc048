/* SPDX-License-Identifier: BSD-3-Clause */
// Faults of the buffers a queue works with: an RX mempool that runs dry, and memory
// registration failing on RX setup and refill, on scatter RX and on TX.
#include "chunked_pool.h"
#include "faults_fixture.h"

namespace ethdev_test
{
namespace
{

// ---- mbuf pool exhaustion on RX -------------------------------------------------------

TEST_F(Faults, RxPoolExhaustionDropsAreCountedAndTrafficRecovers)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool = start_port(port1_, {}, 384);
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

// ---- memory registration failures -------------------------------------------------------

} // namespace

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

namespace
{

TEST_F(Faults, RegistrationFailureOnRxRefillLeavesSlotsUnpostedAndIsRetried)
{
    check_rx_registration_failure(false);
}

TEST_F(Faults, RegistrationFailureOnScatterRxRefillLeavesWqesUnpostedAndIsRetried)
{
    check_rx_registration_failure(true);
}

// A scattering queue of five-buffer WQEs whose pool has a second memory region that cannot
// be registered: the ring starts from the first, and the refill after short frames meets
// the second's mbufs, which its short-frame path cannot post. Those WQEs stay unposted
// (their other buffers kept, the fresh mbufs back in the pool) and every burst retries;
// once registration works the next burst posts them and traffic flows.
TEST_F(Faults, RegistrationFailureOnScatterRefillOfShortFramesLeavesWqesUnpostedAndIsRetried)
{
    constexpr uint16_t kDescriptors = 32;
    constexpr unsigned kBuffersPerWqe = 5; // MTU 9000 in 2048-byte buffers
    constexpr unsigned kRing = kDescriptors * kBuffersPerWqe;
    rte_mempool *tx_pool = start_port(port0_, {}, 1024, RTE_PKTMBUF_HEADROOM + 9216);
    // Enough in the first region for the ring and one refill; the second lies apart.
    ChunkedPool chunked("scatter_two_regions", {kRing + 16, 64}, 64 * 1024,
                        RTE_PKTMBUF_HEADROOM + 2048);
    ASSERT_TRUE(chunked.ready());
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 1, 1000000, ENOMEM), 0); // the second fails
    setup_and_start(port1_,
                    {.tx_queues = 0,
                     .rx_descriptors = kDescriptors,
                     .rx_offloads = RTE_ETH_RX_OFFLOAD_SCATTER,
                     .mtu = 9000},
                    chunked.pool());
    ASSERT_EQ(rte_mempool_in_use_count(chunked.pool()), kRing) << "the ring starts full";

    // 16 short frames: their WQEs need one fresh mbuf each, and the refill meets the
    // second region's mbufs.
    uint32_t offered = 0;
    auto offer = [&](std::vector<Frame> frames) {
        send_from(tx_pool, port0_, 0, frames, 64);
        offered += static_cast<uint32_t>(frames.size());
        return frames;
    };
    expect_delivered(offer(numbered_frames(0, 16)));
    const uint64_t nombuf = stats(port1_).rx_nombuf;
    EXPECT_GT(nombuf, 0U) << "WQEs left unposted";
    // The ring keeps the 16 unposted WQEs' other buffers; `reposted` were posted from the
    // first region before the refill met the second.
    const unsigned held = rte_mempool_in_use_count(chunked.pool());
    ASSERT_GE(held, kRing - 16U);
    ASSERT_LT(held, kRing);
    const unsigned reposted = held - (kRing - 16U);

    // The device finds only the posted WQEs; each burst retries the refill.
    const auto second = offer(numbered_frames(100, 32));
    auto got = drain();
    ASSERT_EQ(got.size(), 16U + reposted);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), second[i]) << "frame " << i;
    free_all(got);
    EXPECT_EQ(emu_counters().rx_drops_no_buffer, 16U - reposted);
    EXPECT_GT(stats(port1_).rx_nombuf, nombuf) << "bursts do not retry";

    mana_emu_clear_faults();
    std::array<rte_mbuf *, 8> none;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, none.data(), none.size()), 0); // refills the ring
    EXPECT_EQ(rte_mempool_in_use_count(chunked.pool()), kRing) << "ring not refilled";
    std::vector<Frame> mixed = numbered_frames(200, 24);
    for (uint32_t i = 0; i < 8; ++i)
        mixed.push_back(ipv4_flow_frame(300 + i, false, 9018 - 42));
    expect_delivered(offer(mixed));
    ASSERT_EQ(reap_tx(port0_), 0);
    expect_conservation(offered, offered - (16U - reposted), "scatter refill registration failure");

    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(chunked.pool()), chunked.size()) << "mbufs lost";
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

} // namespace
} // namespace ethdev_test
