/* SPDX-License-Identifier: BSD-3-Clause */
// Memory-region lookup: which lkey covers a buffer the device must read or write.
//
// Two levels. MrTable is shared by all queues of a port: a bounded, sorted table of
// registered ranges behind a reader-writer lock; misses register new memory through an
// MrRegistrar (verbs in the driver, a fake in unit tests). MrQueueCache is a queue's
// private few-entry cache in front of it, touched by one lcore only, so the common case
// takes no lock.
//
// Entries live until the table is destroyed (port close) or the memory they cover goes
// away (a mempool destroyed, DPDK memory freed): then remove_overlapping() releases them
// and bumps the table's generation, which makes every per-queue cache flush itself on
// its next lookup. Memory that goes away holds no packets in flight, so no posted WQE
// refers to a removed entry. When the table is full, a lookup that needs a new
// registration fails; the caller drops the packet and counts it (no eviction: an
// evicted lkey could still sit in a posted WQE).
#pragma once

#include <rte_rwlock.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace mana
{

struct MrRange {
    uintptr_t start = 0;
    uintptr_t end = 0; // exclusive
    uint32_t lkey = 0;

    bool contains(uintptr_t addr, std::size_t len) const
    {
        return addr >= start && addr + len <= end && addr + len >= addr;
    }
};

struct MrRegistration {
    MrRange range;
    void *handle = nullptr; // what the registrar needs to release it
};

class MrRegistrar
{
  public:
    virtual ~MrRegistrar() = default;
    // The range to register so that [addr, addr + len) is covered: registrars widen it
    // (whole memory segment, whole pages) so neighbouring buffers hit the same entry.
    virtual std::pair<uintptr_t, uintptr_t> covering_range(uintptr_t addr, std::size_t len) = 0;
    // Registers exactly [start, end); nullopt with errno set on failure.
    virtual std::optional<MrRegistration> register_range(uintptr_t start, uintptr_t end) = 0;
    virtual void release(const MrRegistration &registration) = 0;
};

class MrTable
{
  public:
    MrTable(MrRegistrar &registrar, std::size_t capacity);
    ~MrTable();
    MrTable(const MrTable &) = delete;
    MrTable &operator=(const MrTable &) = delete;

    // An entry covering the buffer, if one is registered. Takes the read lock.
    std::optional<MrRange> find(uintptr_t addr, std::size_t len);

    // find(), registering the covering range on a miss. nullopt when registration fails
    // or the table is full (then `full_misses()` counts it).
    std::optional<MrRange> find_or_register(uintptr_t addr, std::size_t len);

    // Registers exactly [start, end) unless an entry already covers it (setup time:
    // mempool chunks). 0, -ENOSPC when full, or a negative errno from the registrar.
    int register_exact(uintptr_t start, uintptr_t end);

    // Releases every entry overlapping [start, end); returns how many.
    std::size_t remove_overlapping(uintptr_t start, uintptr_t end);
    uint32_t generation() const { return generation_.load(std::memory_order_acquire); }

    std::size_t size();
    std::size_t capacity() const { return capacity_; }
    uint64_t full_misses() const { return full_misses_.load(std::memory_order_relaxed); }

    // Releases every registration (port close).
    void clear();

    // Service reset: releases every registration and stops registering (a miss then
    // fails with ENODEV) until attach_registrar() names the registrar of the new
    // protection domain. Both take the write lock, so a registration running on another
    // thread (a secondary's request, a mempool event) is over before the old registrar
    // and its PD go, and none starts on a destroyed PD.
    void detach_registrar();
    void attach_registrar(MrRegistrar &registrar);

  private:
    std::optional<MrRange> find_locked(uintptr_t addr, std::size_t len) const;
    int insert_locked(uintptr_t start, uintptr_t end, MrRange *out);

    MrRegistrar *registrar_; // null while detached (entries_ is empty then)
    std::size_t capacity_;
    rte_rwlock_t lock_;
    std::vector<MrRegistration> entries_; // sorted by range.start
    uintptr_t longest_ = 0;               // longest entry, bounds the backward scan
    // Counted under the write lock, read without it (statistics).
    std::atomic<uint64_t> full_misses_{0};
    std::atomic<uint32_t> generation_{0};
};

// A secondary process cannot read an MrTable: its entries live in the primary's heap.
// There, misses go to this function instead, which asks the primary (mp_secondary.cpp)
// for the range covering the buffer, registering it if needed. Null in the primary.
using RemoteMrLookup = std::optional<MrRange> (*)(const MrTable &table, uintptr_t addr,
                                                  std::size_t len);
[[gnu::visibility("hidden")]] extern RemoteMrLookup remote_mr_lookup;

// A registered range as a fast path tests buffers of at most `len` bytes against it: how
// far past the range's start such a buffer may begin and still lie inside, so "is the
// buffer inside" is one subtraction and one comparison (an address below the start wraps
// far above any offset). The empty check (start 0, offset 0) admits only address 0,
// which no mbuf buffer has; so does the check of a range shorter than `len`.
struct RangeCheck {
    uintptr_t start = 0;
    uintptr_t last_offset = 0;
    uint32_t lkey = 0;

    RangeCheck() = default;
    RangeCheck(const MrRange &range, uint32_t len) : lkey(range.lkey)
    {
        if (range.end - range.start >= len) {
            start = range.start;
            last_offset = range.end - range.start - len;
        }
    }
    bool contains(uintptr_t address) const { return address - start <= last_offset; }
};

// A queue's range check kept from one burst to the next: the next burst's buffers usually
// lie in the same range. It holds while no registration has gone away since it was set
// (the table's generation is unchanged); otherwise it is emptied, as the range may no
// longer be registered.
class RememberedRange
{
  public:
    // The check to use in a burst that starts now.
    RangeCheck &current(const MrTable &table)
    {
        const uint32_t generation = table.generation();
        if (generation != generation_) [[unlikely]] {
            check_ = {};
            generation_ = generation;
        }
        return check_;
    }
    void forget() { check_ = {}; }

  private:
    RangeCheck check_;
    uint32_t generation_ = 0;
};

// A queue's private cache: a handful of recently used ranges, round-robin replacement.
class MrQueueCache
{
  public:
    static constexpr std::size_t kEntries = 8;

    MrQueueCache() = default;
    explicit MrQueueCache(MrTable *table) : table_(table) {}

    // The lkey of a buffer if this cache holds it; no lock, no registration.
    std::optional<uint32_t> cached(uintptr_t addr, std::size_t len)
    {
        if (const MrRange *hit = cached_range(addr, len)) [[likely]]
            return hit->lkey;
        return std::nullopt;
    }

    // The whole registered range covering a buffer, asking the shared table (and
    // registering) on a miss; nullopt when it cannot be registered. A queue posting a
    // batch of buffers keeps the range and tests the next buffers against it: a mempool
    // is one or a few chunks, so one lookup usually serves the whole batch.
    std::optional<MrRange> range(uintptr_t addr, std::size_t len)
    {
        if (const MrRange *hit = cached_range(addr, len)) [[likely]]
            return *hit;
        if (!miss(addr, len))
            return std::nullopt;
        return entries_[last_];
    }

    // The lkey of a buffer, asking the shared table (and registering) on a miss;
    // nullopt when it cannot be registered (the caller drops the packet).
    std::optional<uint32_t> lkey(uintptr_t addr, std::size_t len)
    {
        if (const auto hit = cached(addr, len)) [[likely]]
            return hit;
        return miss(addr, len);
    }

    // The range the last successful lookup hit (valid after cached() or lkey() gave a key).
    const MrRange &last_hit() const { return entries_[last_]; }

    void flush() { entries_ = {}; }

  private:
    const MrRange *cached_range(uintptr_t addr, std::size_t len)
    {
        if (table_ != nullptr && table_->generation() != generation_) [[unlikely]]
            resync();
        const MrRange &last = entries_[last_];
        if (last.contains(addr, len)) [[likely]]
            return &last;
        for (uint32_t i = 0; i < kEntries; ++i) {
            if (entries_[i].contains(addr, len)) {
                last_ = i;
                return &entries_[i];
            }
        }
        return nullptr;
    }

    void resync()
    {
        flush();
        generation_ = table_->generation();
    }

    std::optional<uint32_t> miss(uintptr_t addr, std::size_t len);

    std::array<MrRange, kEntries> entries_{};
    uint32_t last_ = 0;
    uint32_t next_ = 0;
    uint32_t generation_ = 0;
    MrTable *table_ = nullptr;
};

} // namespace mana
