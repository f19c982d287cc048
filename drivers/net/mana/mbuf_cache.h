/* SPDX-License-Identifier: BSD-3-Clause */
// The bursts' way in and out of an lcore's mempool cache. RX refills take fresh mbufs
// where they lie at the top of the cache, and TX completions put sent ones back there, the
// way rte_mempool_get_bulk/put_bulk do but without their copies: the get copies pointers
// out one by one, and the put copies with the rte_memcpy of DPDK's baseline ISA (SSE);
// the C library's memcpy uses the widest vectors the CPU has. Whatever the cache cannot
// take the rte_mempool calls handle.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <cstring>

namespace mana
{

// The rte_mempool calls for what the cache cannot do, out of line: inlined, each is
// kilobytes of code (cache refill or flush, the pool's ring operations) that the bursts
// would carry into every call site while running them only when a cache runs dry or full.
[[gnu::noinline, gnu::cold]] inline void get_from_pool(rte_mempool *pool, rte_mbuf **spare,
                                                       uint32_t &count)
{
    while (count != 0 && rte_mempool_get_bulk(pool, reinterpret_cast<void **>(spare), count) != 0)
        count >>= 1;
}
[[gnu::noinline, gnu::cold]] inline void put_into_pool(rte_mempool *pool, rte_mbuf *const *mbufs,
                                                       uint32_t count)
{
    rte_mempool_put_bulk(pool, reinterpret_cast<void *const *>(mbufs), count);
}

// Fresh mbufs, `count` of them or fewer. Taken from the top of `cache` (the most recently
// freed, so the warmest), they stay there until this lcore's next operation on the pool.
// When the cache holds too few (or this thread has none), rte_mempool_get_bulk fills
// `spare` instead, halving a request the pool cannot satisfy so that a nearly dry pool
// still gives what it can.
[[gnu::always_inline]] inline rte_mbuf *const *
take_mbufs(rte_mempool *pool, rte_mempool_cache *cache, rte_mbuf **spare, uint32_t &count)
{
    if (cache != nullptr && cache->len >= count) [[likely]] {
        cache->len -= count;
        RTE_MEMPOOL_CACHE_STAT_ADD(cache, get_success_bulk, 1);
        RTE_MEMPOOL_CACHE_STAT_ADD(cache, get_success_objs, count);
        return reinterpret_cast<rte_mbuf *const *>(&cache->objs[cache->len]);
    }
    get_from_pool(pool, spare, count);
    return spare;
}

// Returns `count` mbufs (free, from `pool`) to it: onto the top of `cache` while that stays
// within its flush threshold, else through rte_mempool_put_bulk (which flushes the cache
// into the pool first).
[[gnu::always_inline]] inline void give_back_mbufs(rte_mempool *pool, rte_mempool_cache *cache,
                                                   rte_mbuf *const *mbufs, uint32_t count)
{
    if (cache != nullptr && cache->len + count <= cache->flushthresh) [[likely]] {
        RTE_MEMPOOL_CACHE_STAT_ADD(cache, put_bulk, 1);
        RTE_MEMPOOL_CACHE_STAT_ADD(cache, put_objs, count);
        std::memcpy(&cache->objs[cache->len], mbufs, count * sizeof(*mbufs));
        cache->len += count;
        return;
    }
    put_into_pool(pool, mbufs, count);
}

// Gives back the first `left` of the mbufs a take_mbufs() returned as `fresh`, the rest
// having been used, with nothing else done to `cache` since: taken from the cache, they
// still lie at its top, so they are counted back in where they are.
[[gnu::always_inline]] inline void untake_mbufs(rte_mempool *pool, rte_mempool_cache *cache,
                                                rte_mbuf *const *fresh,
                                                const rte_mbuf *const *spare, uint32_t left)
{
    if (fresh != spare) {
        cache->len += left;
        return;
    }
    give_back_mbufs(pool, cache, fresh, left);
}

// Fresh mbufs taken for several uses at once (a refill of many WQEs), used from the top
// down: fresh()[0, left()) are not used yet. What is left goes back when the batch is
// taken again or ends, with nothing else done to the lcore's cache meanwhile.
template <uint32_t kCapacity>
class MbufBatch
{
  public:
    explicit MbufBatch(rte_mempool *pool)
        : pool_(pool), cache_(rte_mempool_default_cache(pool, rte_lcore_id()))
    {
    }
    MbufBatch(const MbufBatch &) = delete;
    MbufBatch &operator=(const MbufBatch &) = delete;
    ~MbufBatch() { give_back(); }

    // What is left goes back and up to `count` (at most kCapacity) fresh mbufs replace it:
    // fewer from a nearly dry pool, which halves a request it cannot meet. Returns how many.
    uint32_t retake(uint32_t count)
    {
        give_back();
        left_ = count;
        fresh_ = take_mbufs(pool_, cache_, spare_, left_);
        return left_;
    }
    rte_mbuf *const *fresh() const { return fresh_; }
    uint32_t &left() { return left_; }

  private:
    void give_back()
    {
        if (left_ != 0)
            untake_mbufs(pool_, cache_, fresh_, spare_, left_);
        left_ = 0;
    }

    rte_mempool *pool_;
    rte_mempool_cache *cache_;
    rte_mbuf *const *fresh_ = spare_;
    uint32_t left_ = 0;
    rte_mbuf *spare_[kCapacity];
};

} // namespace mana
