/* SPDX-License-Identifier: BSD-3-Clause */
// Sent packets go back to their mempool through the sending lcore's cache: on top of it
// while it stays within its flush threshold, through the pool's ring beyond that. A
// small cache sees both. Every mbuf must be back in its pool after stop (checked by the
// harness), and the cache must never hold more than its threshold.
#include "ethdev_harness.h"

#include <rte_lcore.h>

#include <algorithm>

namespace ethdev_test
{
using TxPool = EthdevTest;

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
    start_port(port1_, {}, 2048);

    const std::vector<Frame> frames = ipv4_flow_frames(1200, false);
    uint64_t received = 0;
    for (std::size_t at = 0; at < frames.size(); at += 100) {
        const std::vector<Frame> chunk(frames.begin() + static_cast<long>(at),
                                       frames.begin() + static_cast<long>(at + 100));
        // Every fourth chunk a burst at a time, so that reaps are small too.
        if (at % 400 == 0) {
            for (std::size_t piece = 0; piece < chunk.size(); piece += 32) {
                const auto end = std::min(chunk.size(), piece + 32);
                send_from(pool, port0_, 0,
                          std::vector<Frame>(chunk.begin() + static_cast<long>(piece),
                                             chunk.begin() + static_cast<long>(end)),
                          32);
                // What fits lands on top of the cache, the sent mbufs ready for the next
                // allocation; what does not flushes it.
                const uint32_t before = cache->len;
                const auto reaped = static_cast<uint32_t>(end - piece);
                ASSERT_EQ(reap_tx(port0_), 0);
                if (before + reaped <= cache->flushthresh) {
                    EXPECT_EQ(cache->len, before + reaped) << "after frame " << at + end;
                }
                EXPECT_LE(cache->len, cache->flushthresh);
            }
        } else {
            send_from(pool, port0_, 0, chunk, 100);
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
