/* SPDX-License-Identifier: BSD-3-Clause */
// RX into mempools of every layout an application may hand to rx_queue_setup: with a
// per-lcore cache (refills take mbufs from it, or from the pool behind it when it runs
// short), with a private area between the mbuf and its buffer, and with pinned external
// buffers. Frames must land byte-exact where the mbuf says its data is, and every mbuf
// must be back in its pool after stop (checked by the harness).
#include "ethdev_harness.h"

#include <rte_malloc.h>

#include <string>

namespace ethdev_test
{
namespace
{

using RxPool = EthdevTest;

constexpr uint16_t kPrivateArea = 64;

// A pool of `mbufs` with a per-lcore cache of `cache` and a private area.
rte_mempool *cached_pool(std::vector<rte_mempool *> &pools, unsigned mbufs, unsigned cache)
{
    static unsigned serial = 0;
    const std::string name = "rx_cached_" + std::to_string(serial++);
    rte_mempool *pool = rte_pktmbuf_pool_create(name.c_str(), mbufs, cache, kPrivateArea,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    EXPECT_NE(pool, nullptr) << rte_strerror(rte_errno);
    if (pool != nullptr)
        pools.push_back(pool);
    return pool;
}

std::vector<Frame> frames_of_sizes(uint32_t count)
{
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < count; ++i) {
        FlowSpec flow;
        flow.tcp = i % 3 == 0;
        flow.src = ipv4(10, 1, 0, static_cast<uint8_t>(i));
        flow.dst = ipv4(10, 2, 0, 1);
        flow.payload = 18 + (i * 53) % 1400;
        flow.fill = static_cast<uint8_t>(i * 7);
        frames.push_back(make_frame(flow, mac_of(1), mac_of(0)));
    }
    return frames;
}

} // namespace

// Compares every received mbuf with the frame sent and with what a fresh mbuf of its pool
// carries: data right after the headroom of the mbuf's own buffer, one segment, one
// reference.
static void expect_delivered(const std::vector<rte_mbuf *> &got, const std::vector<Frame> &frames,
                             uint16_t port, rte_mempool *pool, bool own_buffer)
{
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const rte_mbuf *m = got[i];
        EXPECT_EQ(from_mbuf(m), frames[i]) << "frame " << i;
        EXPECT_EQ(m->pool, pool);
        EXPECT_EQ(m->port, port);
        EXPECT_EQ(m->nb_segs, 1);
        EXPECT_EQ(m->next, nullptr);
        EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
        EXPECT_EQ(m->data_off, RTE_PKTMBUF_HEADROOM);
        EXPECT_EQ(m->pkt_len, frames[i].size());
        EXPECT_EQ(m->data_len, frames[i].size());
        if (own_buffer)
            EXPECT_EQ(m->buf_addr, rte_mbuf_buf_addr(const_cast<rte_mbuf *>(m), pool));
        else
            EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_EXTERNAL) << "frame " << i;
    }
}

TEST_F(RxPool, CachedPoolWithPrivateAreaReceivesByteExact)
{
    start_port(port0_, {}, 2048);
    // Refills of 32 come straight from a 256-entry cache while it holds enough, from the
    // pool's ring through it otherwise.
    rte_mempool *pool = cached_pool(pools_, 2047, 256);
    ASSERT_NE(pool, nullptr);
    setup_and_start(port1_, {}, pool);
    const std::vector<Frame> frames = frames_of_sizes(1000);
    std::vector<rte_mbuf *> kept;
    for (std::size_t at = 0; at < frames.size(); at += 100) {
        const std::vector<Frame> chunk(frames.begin() + static_cast<long>(at),
                                       frames.begin() + static_cast<long>(at + 100));
        send(port0_, 0, chunk);
        auto got = receive_all(port1_, 1);
        expect_delivered(got, chunk, port1_, pool, true);
        // Every other chunk goes back into the cache at once, so later refills take these
        // very mbufs again; the others stay out, so refills also reach the ring.
        if (at % 200 == 0)
            free_all(got);
        else
            kept.insert(kept.end(), got.begin(), got.end());
    }
    EXPECT_EQ(kept.size(), 500U);
    free_all(kept);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, frames.size());
    EXPECT_EQ(s.ierrors, 0U);
    EXPECT_EQ(s.rx_nombuf, 0U);
}

TEST_F(RxPool, CachedPoolRunningDryIsCountedAndRecovers)
{
    start_port(port0_, {}, 2048);
    rte_mempool *pool = cached_pool(pools_, 511, 64);
    ASSERT_NE(pool, nullptr);
    setup_and_start(port1_, {}, pool);
    // Every spare mbuf, from the cache and from the ring behind it.
    std::vector<rte_mbuf *> hoard = take_all(pool);
    const std::vector<Frame> frames = frames_of_sizes(200);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    expect_delivered(got, frames, port1_, pool, true);
    EXPECT_GT(stats(port1_).rx_nombuf, 0U);
    // Cache and ring are empty: only the 56 buffers still posted take frames.
    send(port0_, 0, std::vector<Frame>(frames.begin(), frames.begin() + 100));
    auto partial = receive_all(port1_, 1);
    EXPECT_EQ(partial.size(), 56U);
    free_all(partial);
    free_all(got);
    free_all(hoard);
    // The pool is back: the next burst refills the ring and traffic flows again.
    EXPECT_TRUE(receive_all(port1_, 1).empty());
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    expect_delivered(got, frames, port1_, pool, true);
    free_all(got);
}

// A pool only a little larger than the ring: a refill that finds fewer mbufs than it wants
// must post every one there is, not just the largest power-of-two share of its request, or
// frames are dropped while mbufs sit unused in the pool.
TEST_F(RxPool, NearlyDryPoolPostsEveryMbufItHas)
{
    start_port(port0_, {}, 2048);
    constexpr unsigned kRing = 256;
    constexpr unsigned kSpare = 8;
    rte_mempool *pool = make_pool(kRing + kSpare);
    ASSERT_NE(pool, nullptr);
    setup_and_start(port1_, {}, pool);
    EXPECT_EQ(rte_mempool_avail_count(pool), kSpare);
    // 24 frames received and kept by one burst: its refill wants 24 mbufs and the pool has 8.
    const std::vector<Frame> first = frames_of_sizes(24);
    send(port0_, 0, first);
    std::vector<rte_mbuf *> kept(32);
    kept.resize(rte_eth_rx_burst(port1_, 0, kept.data(), static_cast<uint16_t>(kept.size())));
    ASSERT_EQ(kept.size(), first.size());
    EXPECT_EQ(rte_mempool_avail_count(pool), 0U) << "mbufs left in the pool while slots are empty";
    // A flood: exactly the buffers posted (the ring less the 16 the pool could not fill)
    // take frames, and the device drops the rest for want of buffers.
    struct mana_emu_counters before {
    };
    ASSERT_EQ(mana_emu_port_counters(1, &before), 0);
    const std::vector<Frame> flood = frames_of_sizes(kRing);
    send(port0_, 0, flood);
    std::vector<rte_mbuf *> got = receive_all(port1_, 1);
    const uint32_t posted = kRing - (static_cast<uint32_t>(first.size()) - kSpare);
    EXPECT_EQ(got.size(), posted);
    struct mana_emu_counters after {
    };
    ASSERT_EQ(mana_emu_port_counters(1, &after), 0);
    EXPECT_EQ(after.rx_drops_no_buffer - before.rx_drops_no_buffer, kRing - posted);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, kept.size() + got.size());
    EXPECT_GT(s.rx_nombuf, 0U);
    free_all(got);
    free_all(kept);
}

// The external buffers' memory outlives the pool on it, which the harness frees.
class RxPinnedPool : public EthdevTest
{
  protected:
    void TearDown() override
    {
        EthdevTest::TearDown();
        rte_free(memory_);
    }
    void *memory_ = nullptr;
};

TEST_F(RxPinnedPool, ExternalBuffersReceiveByteExact)
{
    start_port(port0_, {}, 2048);
    constexpr unsigned kMbufs = 1023;
    constexpr uint16_t kElement = RTE_MBUF_DEFAULT_BUF_SIZE;
    const std::size_t bytes = std::size_t{kMbufs} * kElement;
    memory_ = rte_malloc("rx_extmem", bytes, RTE_CACHE_LINE_SIZE);
    ASSERT_NE(memory_, nullptr);
    void *const memory = memory_;
    rte_pktmbuf_extmem extmem{};
    extmem.buf_ptr = memory;
    extmem.buf_iova = rte_malloc_virt2iova(memory);
    extmem.buf_len = bytes;
    extmem.elt_size = kElement;
    rte_mempool *pool = rte_pktmbuf_pool_create_extbuf("rx_pinned", kMbufs, 64, 0, kElement,
                                                       SOCKET_ID_ANY, &extmem, 1);
    ASSERT_NE(pool, nullptr) << rte_strerror(rte_errno);
    pools_.push_back(pool);
    setup_and_start(port1_, {}, pool);
    const std::vector<Frame> frames = frames_of_sizes(200);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    expect_delivered(got, frames, port1_, pool, false);
    for (const rte_mbuf *m : got) {
        const auto *data = static_cast<const uint8_t *>(m->buf_addr);
        EXPECT_GE(data, static_cast<const uint8_t *>(memory));
        EXPECT_LE(data + m->buf_len, static_cast<const uint8_t *>(memory) + bytes);
    }
    free_all(got);
    EXPECT_EQ(stats(port1_).ierrors, 0U);
}

} // namespace ethdev_test
