/* SPDX-License-Identifier: BSD-3-Clause */
// How mempool memory is registered with the device: a pool whose memory DPDK populated in
// several adjacent chunks (a memzone over hugepages that are not physically contiguous,
// IOVA as PA) is one memory region, so the fast paths' range checks hold across the pool.
#include "ethdev_harness.h"

#include <rte_malloc.h>
#include <rte_mbuf_pool_ops.h>

#include <cstring>
#include <set>

namespace ethdev_test
{
namespace
{

constexpr unsigned kChunks = 4;
constexpr unsigned kMbufsPerChunk = 32;

// A pktmbuf pool populated as kChunks chunks that follow each other in memory.
class ChunkedPool
{
  public:
    ChunkedPool()
    {
        pool_ = rte_mempool_create_empty(
            "chunked", kChunks * kMbufsPerChunk, sizeof(rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, 0,
            sizeof(rte_pktmbuf_pool_private), SOCKET_ID_ANY, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
        if (pool_ == nullptr)
            return;
        if (rte_mempool_set_ops_byname(pool_, rte_mbuf_best_mempool_ops(), nullptr) != 0)
            return;
        rte_pktmbuf_pool_init(pool_, nullptr);
        const std::size_t object = pool_->header_size + pool_->elt_size + pool_->trailer_size;
        chunk_bytes_ = object * kMbufsPerChunk;
        memory_ = static_cast<std::byte *>(
            rte_malloc("chunked", chunk_bytes_ * kChunks, RTE_MEMPOOL_ALIGN));
        if (memory_ == nullptr)
            return;
        for (unsigned i = 0; i < kChunks; ++i) {
            std::byte *chunk = memory_ + i * chunk_bytes_;
            if (rte_mempool_populate_iova(pool_, reinterpret_cast<char *>(chunk), RTE_BAD_IOVA,
                                          chunk_bytes_, nullptr,
                                          nullptr) != static_cast<int>(kMbufsPerChunk))
                return;
        }
        rte_mempool_obj_iter(pool_, rte_pktmbuf_init, nullptr);
        ready_ = true;
    }
    ~ChunkedPool()
    {
        rte_mempool_free(pool_);
        rte_free(memory_);
    }
    ChunkedPool(const ChunkedPool &) = delete;
    ChunkedPool &operator=(const ChunkedPool &) = delete;

    bool ready() const { return ready_; }
    rte_mempool *pool() const { return pool_; }
    unsigned chunk_of(const rte_mbuf *mbuf) const
    {
        return static_cast<unsigned>((reinterpret_cast<const std::byte *>(mbuf) - memory_) /
                                     chunk_bytes_);
    }
    unsigned memory_chunks() const
    {
        unsigned count = 0;
        rte_mempool_mem_iter(
            pool_,
            [](rte_mempool *, void *counter, rte_mempool_memhdr *, unsigned) {
                ++*static_cast<unsigned *>(counter);
            },
            &count);
        return count;
    }

  private:
    rte_mempool *pool_ = nullptr;
    std::byte *memory_ = nullptr;
    std::size_t chunk_bytes_ = 0;
    bool ready_ = false;
};

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
        ChunkedPool chunked;
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
