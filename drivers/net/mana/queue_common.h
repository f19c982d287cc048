/* SPDX-License-Identifier: BSD-3-Clause */
// What RX and TX queues share: the verbs objects they are created on, their counters,
// and the doorbell write.
#pragma once

#include <infiniband/verbs.h>
#include <rte_io.h>

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
    // Set by the async event handler when the device is gone or failed: bursts then
    // return 0 and ring no doorbell (the doorbell page may be unmapped).
    const std::atomic<bool> *device_dead = nullptr;
};

inline const std::atomic<bool> kDeviceAlive{false};

// Written only by the lcore that polls the queue, once per burst; read by stats_get.
struct QueueCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t no_mbuf = 0; // RX only
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
