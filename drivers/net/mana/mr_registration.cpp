/* SPDX-License-Identifier: BSD-3-Clause */
#include "mr_registration.h"

#include "log.h"
#include "verbs.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace mana
{

std::pair<uintptr_t, uintptr_t> VerbsMrRegistrar::covering_range(uintptr_t addr, std::size_t len)
{
    void *pointer = reinterpret_cast<void *>(addr);
    const rte_memseg_list *list = rte_mem_virt2memseg_list(pointer);
    if (list != nullptr) {
        const rte_memseg *segment = rte_mem_virt2memseg(pointer, list);
        if (segment != nullptr) {
            const auto start = reinterpret_cast<uintptr_t>(segment->addr);
            const uintptr_t end = start + segment->len;
            if (addr >= start && addr + len <= end)
                return {start, end};
        }
    }
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    return {addr & ~(page - 1), (addr + len + page - 1) & ~(page - 1)};
}

std::optional<MrRegistration> VerbsMrRegistrar::register_range(uintptr_t start, uintptr_t end)
{
    ibv_mr *mr =
        ibv_reg_mr(pd_, reinterpret_cast<void *>(start), end - start, IBV_ACCESS_LOCAL_WRITE);
    if (mr == nullptr) {
        // Callers say what a failure means for them (a dropped TX packet, an RX buffer left
        // unposted and retried every burst), so this detail stays at debug level.
        const int error = errno;
        MANA_DRV_LOG(DEBUG, "ibv_reg_mr of [%#lx, %#lx) failed: %s",
                     static_cast<unsigned long>(start), static_cast<unsigned long>(end),
                     strerror(error));
        errno = error;
        return std::nullopt;
    }
    MANA_DRV_LOG(DEBUG, "registered [%#lx, %#lx) lkey %#x", static_cast<unsigned long>(start),
                 static_cast<unsigned long>(end), mr->lkey);
    return MrRegistration{.range = {.start = start, .end = end, .lkey = mr->lkey}, .handle = mr};
}

void VerbsMrRegistrar::release(const MrRegistration &registration)
{
    MrOwner owner(static_cast<ibv_mr *>(registration.handle));
}

namespace
{

// The memory chunks of a mempool, as [start, end) pairs.
void collect_chunk(rte_mempool *, void *opaque, rte_mempool_memhdr *chunk, unsigned)
{
    const auto start = reinterpret_cast<uintptr_t>(chunk->addr);
    static_cast<std::vector<std::pair<uintptr_t, uintptr_t>> *>(opaque)->emplace_back(
        start, start + chunk->len);
}

} // namespace

namespace
{

constexpr const char *kMemEventName = "net_mana_mr";

void forget_chunk(rte_mempool *, void *opaque, rte_mempool_memhdr *chunk, unsigned)
{
    const auto start = reinterpret_cast<uintptr_t>(chunk->addr);
    static_cast<MrTable *>(opaque)->remove_overlapping(start, start + chunk->len);
}

void on_mempool_event(rte_mempool_event event, rte_mempool *pool, void *opaque)
{
    if (event == RTE_MEMPOOL_EVENT_DESTROY)
        rte_mempool_mem_iter(pool, forget_chunk, opaque);
}

void on_memory_event(rte_mem_event event, const void *addr, size_t len, void *opaque)
{
    if (event != RTE_MEM_EVENT_FREE)
        return;
    const auto start = reinterpret_cast<uintptr_t>(addr);
    static_cast<MrTable *>(opaque)->remove_overlapping(start, start + len);
}

} // namespace

void watch_memory_events(MrTable &table)
{
    if (rte_mempool_event_callback_register(on_mempool_event, &table) != 0)
        MANA_DRV_LOG(WARNING, "cannot watch mempool destruction: registrations of destroyed "
                              "mempools stay until the port is closed");
    // Legacy memory (including --no-huge) is never freed, and refuses the callback.
    if (rte_mem_event_callback_register(kMemEventName, on_memory_event, &table) != 0 &&
        rte_errno != ENOTSUP)
        MANA_DRV_LOG(WARNING, "cannot watch DPDK memory being freed: %s", rte_strerror(rte_errno));
}

void unwatch_memory_events(MrTable &table)
{
    static_cast<void>(rte_mempool_event_callback_unregister(on_mempool_event, &table));
    static_cast<void>(rte_mem_event_callback_unregister(kMemEventName, &table));
}

namespace
{

// Every packet in memory that cannot be registered is dropped; one line a second says so
// without flooding the log at line rate.
[[gnu::cold, gnu::noinline]] void report_tx_registration_failure(MrTable &table,
                                                                 const rte_mbuf *segment, int error)
{
    static std::atomic<uint64_t> next_report{0};
    const uint64_t now = rte_get_timer_cycles();
    uint64_t due = next_report.load(std::memory_order_relaxed);
    if (now < due || !next_report.compare_exchange_strong(due, now + rte_get_timer_hz(),
                                                          std::memory_order_relaxed))
        return;
    MANA_DRV_LOG(ERR,
                 "cannot register the memory of a TX buffer (mempool %s) with the device: %s "
                 "(%zu of %zu memory regions used); such packets are dropped and counted in "
                 "oerrors",
                 segment->pool != nullptr ? segment->pool->name : "none",
                 error != 0 ? strerror(-error) : "registration failed", table.size(),
                 table.capacity());
}

} // namespace

// Chunks that follow each other in memory are registered as one region: DPDK cuts a
// memzone into chunks wherever its pages are not physically contiguous (hugepages with
// IOVA as PA), and one region per chunk would have the fast paths' range checks change
// lkey from one buffer to the next. The chunks of a pool go away together (the pool is
// destroyed), so nothing outlives its region.
int register_mempool(MrTable &table, rte_mempool *pool)
{
    std::vector<std::pair<uintptr_t, uintptr_t>> chunks;
    rte_mempool_mem_iter(pool, collect_chunk, &chunks);
    std::sort(chunks.begin(), chunks.end());
    for (std::size_t i = 0; i < chunks.size();) {
        const uintptr_t start = chunks[i].first;
        uintptr_t end = chunks[i].second;
        for (++i; i < chunks.size() && chunks[i].first == end; ++i)
            end = chunks[i].second;
        if (const int error = table.register_exact(start, end); error != 0)
            return error;
    }
    return 0;
}

std::optional<uint32_t> lookup_segment_lkey(MrQueueCache &cache, MrTable &table,
                                            const rte_mbuf *segment)
{
    const auto addr = rte_pktmbuf_mtod(segment, uintptr_t);
    const std::size_t len = segment->data_len;
    if (const auto hit = cache.cached(addr, len)) [[likely]]
        return hit;
    // A secondary cannot read the table; its misses go to the primary (cache.lkey).
    int error = 0;
    if (remote_mr_lookup == nullptr && RTE_MBUF_DIRECT(segment) && segment->pool != nullptr &&
        !table.find(addr, len))
        error = register_mempool(table, segment->pool);
    const auto lkey = cache.lkey(addr, len);
    if (!lkey)
        report_tx_registration_failure(table, segment, error);
    return lkey;
}

} // namespace mana
