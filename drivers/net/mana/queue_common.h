/* SPDX-License-Identifier: BSD-3-Clause */
// What RX and TX queues share: the verbs objects they are created on, their counters,
// and the doorbell write.
#pragma once

#include "gdma/cqe.h"

#include <infiniband/verbs.h>
#include <rte_config.h>
#include <rte_pause.h>

#include <sched.h>

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
    // may be unmapped). A secondary stops bursting by other means (mp_secondary.cpp).
    const std::atomic<bool> *stop_bursts = &kDeviceAlive;
    // Secondary: the context's doorbell page mapped in this process, which accepts
    // every queue's doorbells (spec §2, §7). Primary: null, each queue rings its own.
    void *doorbell_page = nullptr;
};

[[gnu::visibility("hidden")]] extern std::array<ProcessPort, RTE_MAX_ETHPORTS> process_ports;

// Inside the burst gate: whether a queue's rings are there to read, for a burst or a
// fast-path query alike: the queue runs (`halted` is its halt flag) and this process's
// bursts on its port (`local`) are not stopped.
inline bool rings_readable(const std::atomic<bool> &halted, const ProcessPort &local)
{
    return !halted.load(std::memory_order_acquire) &&
           !local.stop_bursts->load(std::memory_order_acquire);
}

// The doorbell page a queue rings in this process.
inline void *doorbell_page(const ProcessPort &local, void *queue_page)
{
    return local.doorbell_page != nullptr ? local.doorbell_page : queue_page;
}

// Tells a thread tearing the queue down whether a burst is running. The polling lcore
// bumps the sequence when it enters a burst (odd) and when it leaves (even): two plain
// stores to a line only it writes, so the fast path pays nothing measurable. Bursts read
// the device's dead flag after entering; a thread that has set the flag, made every
// lcore's entry store visible (membarrier) and then sees an even sequence, or an odd one
// that has moved on, knows no burst that missed the flag is still running.
class BurstGate
{
  public:
    void enter()
    {
        sequence_.store(sequence_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        // The dead flag must be read after the entry store in program order; the
        // hardware order comes from the tearing-down thread's membarrier.
        std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    void leave()
    {
        sequence_.store(sequence_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    // Returns once the burst running now (if any) has left. Later bursts see the flag.
    void wait_for_exit() const
    {
        const uint32_t seen = sequence_.load(std::memory_order_acquire);
        if ((seen & 1U) == 0)
            return;
        for (unsigned spins = 0; sequence_.load(std::memory_order_acquire) == seen; ++spins) {
            if (spins < 1024)
                rte_pause();
            else
                sched_yield(); // the lcore was preempted in the middle of a burst
        }
    }

  private:
    std::atomic<uint32_t> sequence_{0};
};

// Makes every thread's earlier stores (a burst's entry mark) visible to this one, and
// this thread's earlier stores (a stop flag) to the loads every thread of the process
// makes next (membarrier; recovery.cpp).
void fence_all_threads();

// Scope of one burst for BurstGate.
class BurstSection
{
  public:
    explicit BurstSection(BurstGate &gate) : gate_(gate) { gate_.enter(); }
    ~BurstSection() { gate_.leave(); }
    BurstSection(const BurstSection &) = delete;
    BurstSection &operator=(const BurstSection &) = delete;

  private:
    BurstGate &gate_;
};

// One statistics counter of a queue. Written only by the lcore that polls the queue,
// once per burst, while stats_get may read it from any thread: relaxed atomic loads and
// stores (plain moves on x86, no locked read-modify-write on the data path) so a reader
// never sees a torn value and the race is a defined one.
class QueueCounter
{
  public:
    QueueCounter() = default;
    QueueCounter(const QueueCounter &other) : value_(other) {}
    QueueCounter &operator=(const QueueCounter &other) { return *this = uint64_t{other}; }
    QueueCounter &operator=(uint64_t value)
    {
        value_.store(value, std::memory_order_relaxed);
        return *this;
    }
    // Single writer: a load and a store, not fetch_add.
    QueueCounter &operator+=(uint64_t n) { return *this = uint64_t{*this} + n; }
    QueueCounter &operator-=(uint64_t n) { return *this = uint64_t{*this} - n; }
    QueueCounter &operator++() { return *this += 1; }
    operator uint64_t() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> value_{0};
};

// Written only by the lcore that polls the queue, once per burst (into the queue's own
// cache lines); read by stats_get and xstats_get. A stats_reset while the queue is being
// polled may be overwritten by the burst in flight (its store of the old value plus its
// packets); stats are exact once the queue is quiet.
struct QueueCounters {
    QueueCounter packets;
    QueueCounter bytes;
    QueueCounter errors;
    QueueCounter no_mbuf;     // RX only
    QueueCounter completions; // CQEs consumed
    QueueCounter doorbells;   // SQ/RQ doorbells rung
    QueueCounter wqes;        // TX only: WQEs posted
};

// TX error completion types, 33 (SA drop) to 41 (VLAN tagging violation), as indices.
inline constexpr uint32_t kFirstTxErrorCqe = static_cast<uint32_t>(gdma::CqeType::tx_sa_drop);
inline constexpr uint32_t kTxErrorCqeTypes =
    static_cast<uint32_t>(gdma::CqeType::tx_vlan_tagging_violation) - kFirstTxErrorCqe + 1;

// Counters of rare events, written by the polling lcore where they happen (outside the
// hot part of the queue).
struct QueueEventCounters {
    QueueCounter rx_truncated; // RX truncated completions (frame longer than the buffer)
    // TX error completions by CQE type (index = type - kFirstTxErrorCqe).
    std::array<QueueCounter, kTxErrorCqeTypes> tx_error_cqes{};
    // TX packets tx_burst dropped before posting them (each also in errors): the chain
    // contradicts its first segment's nb_segs or pkt_len; a segment's memory has no key
    // (it cannot be registered); the device cannot send what the header describes (too
    // many segments, empty, longer than the largest frame, a TSO request out of bounds).
    QueueCounter tx_malformed_chains;
    QueueCounter tx_unregistered_memory;
    QueueCounter tx_unsendable;
    // RX frames the device had completed into the queue's buffers when it stopped, which
    // no burst returned (each also in errors).
    QueueCounter rx_discarded_at_stop;
    // TX packets still in flight when the queue stopped (the device had not completed
    // them), freed unsent (each also in errors).
    QueueCounter tx_discarded_at_stop;
};

// A 64-bit doorbell write after the ring stores it publishes. A release store: on x86
// the same plain store as DPDK's rte_write64 (whose I/O write barrier is a compiler
// barrier there), but an atomic one, so the device reading the doorbell with an acquire
// load (the emulator's device thread) is ordered after the WQE contents, and a race
// detector can see that ordering.
inline void ring_doorbell(void *page, uint32_t offset, uint64_t value)
{
    __atomic_store_n(reinterpret_cast<uint64_t *>(static_cast<uint8_t *>(page) + offset), value,
                     __ATOMIC_RELEASE);
}

} // namespace mana

namespace mana
{
// rdma-core 44's mana provider accepts at most this many entries per CQ, so it bounds
// every ring (spec §2).
inline constexpr uint32_t kMaxQueueDescriptors = 256;
inline constexpr uint32_t kMinQueueDescriptors = 32;
} // namespace mana
