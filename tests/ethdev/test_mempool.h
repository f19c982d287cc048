/* SPDX-License-Identifier: BSD-3-Clause */
// Packet mempools for the tests, whose hand-offs between lcores ThreadSanitizer can see.
//
// An mbuf freed on one lcore and allocated on another travels through the mempool's
// ring (librte_mempool_ring / librte_ring), whose atomics are in Debian's uninstrumented
// DPDK: TSan sees the new owner's rte_pktmbuf_reset() and every later write as racing
// with the previous owner's last accesses. Under TSan the tests' pools therefore use
// "ring_mp_mc" wrapped by ops that tell TSan what the ring guarantees: every object
// enqueued is released, every object dequeued is acquired (the per-lcore caches in front
// of the ring are used by one lcore each and need nothing). Precise, per mbuf, and no
// suppression that could hide a real use-after-free. Without TSan: plain
// rte_pktmbuf_pool_create.
#pragma once

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cerrno>
#include <cstring>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace test_mempool
{

#if defined(__SANITIZE_THREAD__)
inline constexpr const char *kOpsName = "tsan_ring_mp_mc";
inline rte_mempool_ops ring_ops{};

inline int enqueue(rte_mempool *pool, void *const *objects, unsigned n)
{
    for (unsigned i = 0; i < n; ++i)
        __tsan_release(objects[i]);
    return ring_ops.enqueue(pool, objects, n);
}

inline int dequeue(rte_mempool *pool, void **objects, unsigned n)
{
    const int rc = ring_ops.dequeue(pool, objects, n);
    if (rc == 0)
        for (unsigned i = 0; i < n; ++i)
            __tsan_acquire(objects[i]);
    return rc;
}

// Registers the wrapping ops once (librte_mempool_ring is loaded by rte_eal_init).
inline bool register_ops()
{
    static const bool registered = [] {
        for (uint32_t i = 0; i < rte_mempool_ops_table.num_ops; ++i) {
            if (std::strcmp(rte_mempool_ops_table.ops[i].name, "ring_mp_mc") == 0) {
                ring_ops = rte_mempool_ops_table.ops[i];
                rte_mempool_ops ops = ring_ops;
                std::strncpy(ops.name, kOpsName, sizeof(ops.name) - 1);
                ops.enqueue = enqueue;
                ops.dequeue = dequeue;
                ops.dequeue_contig_blocks = nullptr;
                return rte_mempool_register_ops(&ops) >= 0;
            }
        }
        return false;
    }();
    return registered;
}
#endif

// rte_pktmbuf_pool_create with TSan-visible hand-offs in TSan builds; nullptr (with
// rte_errno) on failure.
inline rte_mempool *create(const char *name, unsigned n, unsigned cache, uint16_t data_room,
                           int socket)
{
#if defined(__SANITIZE_THREAD__)
    if (!register_ops()) {
        rte_errno = ENOENT;
        return nullptr;
    }
    return rte_pktmbuf_pool_create_by_ops(name, n, cache, 0, data_room, socket, kOpsName);
#else
    return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
#endif
}

} // namespace test_mempool
