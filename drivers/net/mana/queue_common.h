/* SPDX-License-Identifier: BSD-3-Clause */
// What RX and TX queues share: the verbs objects they are created on, their counters,
// and the doorbell write.
#pragma once

#include "gdma/cqe.h"

#include <infiniband/verbs.h>
#include <rte_config.h>
#include <rte_io.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace mana
{

// Objects of the port a queue's verbs objects are created on.
struct QueueVerbs {
    ibv_context *context = nullptr;
    ibv_pd *parent_domain = nullptr; // pd_context = IB port (spec §2)
    // Read by the ring allocator callback: the NUMA socket of the queue being created.
    int *allocator_socket = nullptr;
};

inline const std::atomic<bool> kDeviceAlive{false};

// What a burst needs that differs between the processes sharing a port. Queue objects
// and rings live in DPDK shared memory at the same address in every process, but a
// doorbell mapping and the flag that stops bursts are process-local, so each process
// keeps its own table (the plugin's globals are per process), indexed by port id.
struct ProcessPort {
    // Bursts return 0 and ring no doorbell while it reads true: the device's
    // removed/failed flag, set by the primary's async event handler (the doorbell page
    // may be unmapped). A secondary stops bursting by other means (mp.cpp).
    const std::atomic<bool> *stop_bursts = &kDeviceAlive;
    // Secondary: the context's doorbell page mapped in this process, which accepts
    // every queue's doorbells (spec §2, §7). Primary: null, each queue rings its own.
    void *doorbell_page = nullptr;
};

[[gnu::visibility("hidden")]] extern std::array<ProcessPort, RTE_MAX_ETHPORTS> process_ports;

// The doorbell page a queue rings in this process.
inline void *doorbell_page(const ProcessPort &local, void *queue_page)
{
    return local.doorbell_page != nullptr ? local.doorbell_page : queue_page;
}

// Written only by the lcore that polls the queue, once per burst (plain stores into the
// queue's own cache lines); read by stats_get and xstats_get.
struct QueueCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t no_mbuf = 0;     // RX only
    uint64_t completions = 0; // CQEs consumed
    uint64_t doorbells = 0;   // SQ/RQ doorbells rung
    uint64_t wqes = 0;        // TX only: WQEs posted
};

// TX error completion types, 33 (SA drop) to 41 (VLAN tagging violation), as indices.
inline constexpr uint32_t kFirstTxErrorCqe = static_cast<uint32_t>(gdma::CqeType::tx_sa_drop);
inline constexpr uint32_t kTxErrorCqeTypes =
    static_cast<uint32_t>(gdma::CqeType::tx_vlan_tagging_violation) - kFirstTxErrorCqe + 1;

// Counters of rare events, written by the polling lcore where they happen (outside the
// hot part of the queue).
struct QueueEventCounters {
    uint64_t rx_truncated = 0; // RX truncated completions (frame longer than the buffer)
    // TX error completions by CQE type (index = type - kFirstTxErrorCqe).
    std::array<uint64_t, kTxErrorCqeTypes> tx_error_cqes{};
};

// A 64-bit doorbell write after the ring stores it publishes (write barrier for MMIO).
inline void ring_doorbell(void *page, uint32_t offset, uint64_t value)
{
    rte_write64(value, static_cast<uint8_t *>(page) + offset);
}

} // namespace mana

namespace mana
{
// rdma-core 44's mana provider accepts at most this many entries per CQ, so it bounds
// every ring (spec §2).
inline constexpr uint32_t kMaxQueueDescriptors = 256;
inline constexpr uint32_t kMinQueueDescriptors = 32;
} // namespace mana
