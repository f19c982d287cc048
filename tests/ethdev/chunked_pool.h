/* SPDX-License-Identifier: BSD-3-Clause */
// A pktmbuf pool populated in chunks of given sizes, in address order, with `gap` bytes
// between one chunk and the next: adjacent chunks as DPDK makes of a memzone over
// hugepages that are not physically contiguous (gap 0), or memory regions of their own
// (a gap). No per-lcore cache, so mbufs come out in the order the chunks were populated
// (and freed ones after them).
#pragma once

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

namespace ethdev_test
{

class ChunkedPool
{
  public:
    ChunkedPool(const char *name, std::vector<unsigned> mbufs_per_chunk, std::size_t gap,
                uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE)
        : mbufs_per_chunk_(std::move(mbufs_per_chunk))
    {
        const unsigned total =
            std::accumulate(mbufs_per_chunk_.begin(), mbufs_per_chunk_.end(), 0U);
        pool_ = rte_mempool_create_empty(name, total, sizeof(rte_mbuf) + data_room, 0,
                                         sizeof(rte_pktmbuf_pool_private), SOCKET_ID_ANY,
                                         RTE_MEMPOOL_F_NO_IOVA_CONTIG);
        if (pool_ == nullptr)
            return;
        if (rte_mempool_set_ops_byname(pool_, rte_mbuf_best_mempool_ops(), nullptr) != 0)
            return;
        rte_pktmbuf_pool_init(pool_, nullptr); // the data room the element size leaves
        object_bytes_ = pool_->header_size + pool_->elt_size + pool_->trailer_size;
        gap_ = (gap + RTE_MEMPOOL_ALIGN - 1) / RTE_MEMPOOL_ALIGN * RTE_MEMPOOL_ALIGN;
        memory_ = static_cast<std::byte *>(rte_malloc(
            name, object_bytes_ * total + gap_ * mbufs_per_chunk_.size(), RTE_MEMPOOL_ALIGN));
        if (memory_ == nullptr)
            return;
        for (std::size_t i = 0; i < mbufs_per_chunk_.size(); ++i) {
            const unsigned mbufs = mbufs_per_chunk_[i];
            if (rte_mempool_populate_iova(pool_, reinterpret_cast<char *>(chunk_start(i)),
                                          RTE_BAD_IOVA, object_bytes_ * mbufs, nullptr,
                                          nullptr) != static_cast<int>(mbufs))
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
    unsigned size() const { return pool_->size; }
    // The chunk an mbuf of the pool lies in.
    unsigned chunk_of(const rte_mbuf *mbuf) const
    {
        const auto *address = reinterpret_cast<const std::byte *>(mbuf);
        unsigned chunk = 0;
        while (chunk + 1 < mbufs_per_chunk_.size() && address >= chunk_start(chunk + 1))
            ++chunk;
        return chunk;
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
    std::byte *chunk_start(std::size_t chunk) const
    {
        const unsigned before =
            std::accumulate(mbufs_per_chunk_.begin(), mbufs_per_chunk_.begin() + chunk, 0U);
        return memory_ + object_bytes_ * before + gap_ * chunk;
    }

    std::vector<unsigned> mbufs_per_chunk_;
    rte_mempool *pool_ = nullptr;
    std::byte *memory_ = nullptr;
    std::size_t object_bytes_ = 0;
    std::size_t gap_ = 0;
    bool ready_ = false;
};

} // namespace ethdev_test
