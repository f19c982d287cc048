/* SPDX-License-Identifier: BSD-3-Clause */
// How mempool memory is registered with the device: a pool whose memory DPDK populated in
// several adjacent chunks (a memzone over hugepages that are not physically contiguous,
// IOVA as PA) is one memory region, so the fast paths' range checks hold across the pool.
#include "chunked_pool.h"
#include "ethdev_harness.h"

#include <cstring>
#include <set>

namespace ethdev_test
{
namespace
{

constexpr unsigned kChunks = 4;
constexpr unsigned kMbufsPerChunk = 32;

uint64_t live_device_objects()
{
    struct mana_emu_counters counters = {};
    mana_emu_counters(&counters);
    return counters.live_objects;
}

} // namespace

using MrRegistration = EthdevTest;

TEST_F(MrRegistration, AdjacentChunksOfAPoolAreOneMemoryRegion)
{
    start_ports({}, {}, 2048);
    uint64_t before = 0;
    {
        ChunkedPool chunked("chunked", std::vector<unsigned>(kChunks, kMbufsPerChunk), 0);
        ASSERT_TRUE(chunked.ready());
        ASSERT_EQ(chunked.memory_chunks(), kChunks);
        // One packet from every chunk, in one burst.
        std::vector<rte_mbuf *> all(kChunks * kMbufsPerChunk);
        ASSERT_EQ(rte_pktmbuf_alloc_bulk(chunked.pool(), all.data(), all.size()), 0);
        std::vector<rte_mbuf *> one_per_chunk;
        std::set<unsigned> chunks;
        for (rte_mbuf *mbuf : all) {
            if (chunks.insert(chunked.chunk_of(mbuf)).second)
                one_per_chunk.push_back(mbuf);
            else
                rte_pktmbuf_free(mbuf);
        }
        ASSERT_EQ(one_per_chunk.size(), kChunks);
        std::vector<Frame> frames;
        for (unsigned i = 0; i < kChunks; ++i) {
            frames.push_back(ipv4_flow_frame(i, true));
            const Frame &frame = frames.back();
            std::memcpy(rte_pktmbuf_append(one_per_chunk[i], static_cast<uint16_t>(frame.size())),
                        frame.data(), frame.size());
        }
        before = live_device_objects();
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, one_per_chunk.data(), kChunks), kChunks);
        EXPECT_EQ(live_device_objects(), before + 1) << "one memory region for the whole pool";
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), kChunks);
        for (unsigned i = 0; i < kChunks; ++i)
            EXPECT_EQ(from_mbuf(got[i]), frames[i]);
        free_all(got);
        ASSERT_EQ(reap_tx(port0_), 0);
        EXPECT_EQ(stats(port0_).oerrors, 0U);
        EXPECT_EQ(rte_mempool_avail_count(chunked.pool()), kChunks * kMbufsPerChunk);
    }
    EXPECT_EQ(live_device_objects(), before) << "the region goes with the pool";
}

} // namespace ethdev_test
