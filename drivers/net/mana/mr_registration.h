/* SPDX-License-Identifier: BSD-3-Clause */
// Registering DPDK memory with the device: the verbs registrar behind MrTable, and
// registration of whole mempools (at queue setup, and on a TX miss for a foreign pool).
#pragma once

#include "mr_cache.h"

#include <infiniband/verbs.h>

struct rte_mbuf;
struct rte_mempool;

namespace mana
{

class VerbsMrRegistrar final : public MrRegistrar
{
  public:
    explicit VerbsMrRegistrar(ibv_pd *pd) : pd_(pd) {}

    // DPDK memory: the memory segment holding the buffer; anything else (external
    // buffers from the application): the pages it spans.
    std::pair<uintptr_t, uintptr_t> covering_range(uintptr_t addr, std::size_t len) override;
    std::optional<MrRegistration> register_range(uintptr_t start, uintptr_t end) override;
    void release(const MrRegistration &registration) override;

  private:
    ibv_pd *pd_;
};

// Keeps the table truthful when memory goes away: entries of a destroyed mempool and of
// freed DPDK memory are released. Call unwatch before the table is destroyed.
void watch_memory_events(MrTable &table);
void unwatch_memory_events(MrTable &table);

// Registers every memory chunk of a mempool. 0 or a negative errno.
int register_mempool(MrTable &table, rte_mempool *pool);

// The lkey for one mbuf segment's data, registering on a miss: a direct mbuf's whole
// pool first (one miss per pool), otherwise the covering range of the buffer. A failure
// is logged (at most once a second); the caller drops the packet.
std::optional<uint32_t> lookup_segment_lkey(MrQueueCache &cache, MrTable &table,
                                            const rte_mbuf *segment);

} // namespace mana
