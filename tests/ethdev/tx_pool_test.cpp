/* SPDX-License-Identifier: BSD-3-Clause */
// Sent packets go back to their mempool through the sending lcore's cache: on top of it
// while it stays within its flush threshold, through the pool's ring beyond that. A
// small cache sees both. Every mbuf must be back in its pool after stop (checked by the
// harness), and the cache must never hold more than its threshold.
#include "ethdev_harness.h"

#include <mana_emu.h>

#include <rte_lcore.h>

#include <algorithm>

namespace ethdev_test
{
namespace
{

using TxPool = EthdevTest;

std::vector<Frame> numbered_frames(uint32_t count)
{
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < count; ++i) {
        FlowSpec flow;
        flow.src = ipv4(10, 3, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
        flow.dst = ipv4(10, 4, 0, 1);
        flow.payload = 18 + (i * 29) % 600;
        flow.fill = static_cast<uint8_t>(i * 5);
        frames.push_back(make_frame(flow, mac_of(1), mac_of(0)));
    }
    return frames;
}

// tx_burst of `frames`, built in mbufs of `pool`, `burst` at a time; then the device sends.
void send_from(rte_mempool *pool, uint16_t port, const std::vector<Frame> &frames, uint16_t burst)
{
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &frame : frames) {
        rte_mbuf *mbuf = to_mbuf(pool, frame);
        ASSERT_NE(mbuf, nullptr);
        mbufs.push_back(mbuf);
    }
    std::size_t sent = 0;
    while (sent < mbufs.size()) {
        const auto want = static_cast<uint16_t>(std::min<std::size_t>(mbufs.size() - sent, burst));
        const uint16_t n = rte_eth_tx_burst(port, 0, mbufs.data() + sent, want);
        if (n == 0)
            mana_emu_poll(); // ring full: let the device complete
        sent += n;
    }
    mana_emu_poll();
}

} // namespace

TEST_F(TxPool, SentPacketsGoBackThroughASmallCacheWithinItsFlushThreshold)
{
    // A cache of 32 flushes beyond 48: completions of 32 packets fit on top of it only
    // while it holds 16 or fewer, and a reap of 100 never does.
    rte_mempool *pool =
        rte_pktmbuf_pool_create("tx_cached", 2047, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr) << rte_strerror(rte_errno);
    pools_.push_back(pool);
    rte_mempool_cache *cache = rte_mempool_default_cache(pool, rte_lcore_id());
    ASSERT_NE(cache, nullptr);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, make_pool(2048));

    const std::vector<Frame> frames = numbered_frames(1200);
    uint64_t received = 0;
    for (std::size_t at = 0; at < frames.size(); at += 100) {
        const std::vector<Frame> chunk(frames.begin() + static_cast<long>(at),
                                       frames.begin() + static_cast<long>(at + 100));
        // Every fourth chunk a burst at a time, so that reaps are small too.
        if (at % 400 == 0) {
            for (std::size_t piece = 0; piece < chunk.size(); piece += 32) {
                const auto end = std::min(chunk.size(), piece + 32);
                send_from(pool, port0_,
                          std::vector<Frame>(chunk.begin() + static_cast<long>(piece),
                                             chunk.begin() + static_cast<long>(end)),
                          32);
                ASSERT_EQ(reap_tx(port0_), 0);
                EXPECT_LE(cache->len, cache->flushthresh);
            }
        } else {
            send_from(pool, port0_, chunk, 100);
            ASSERT_EQ(reap_tx(port0_), 0);
        }
        EXPECT_LE(cache->len, cache->flushthresh) << "after frame " << at + 100;
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), chunk.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(from_mbuf(got[i]), chunk[i]) << "frame " << at + i;
        received += got.size();
        free_all(got);
    }
    EXPECT_EQ(received, frames.size());
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, frames.size());
    EXPECT_EQ(s.oerrors, 0U);
    // The pool holds every mbuf but those posted to port 0's RX ring.
    rte_eth_rxq_info rxq{};
    ASSERT_EQ(rte_eth_rx_queue_info_get(port0_, 0, &rxq), 0);
    EXPECT_EQ(rte_mempool_avail_count(pool), 2047U - rxq.nb_desc);
}

} // namespace ethdev_test
