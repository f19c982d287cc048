/* SPDX-License-Identifier: BSD-3-Clause */
#include "mr_cache.h"

#include <algorithm>
#include <cerrno>

namespace mana
{
namespace
{

// Scoped holders of the table's reader-writer lock.
class ReadLock
{
  public:
    explicit ReadLock(rte_rwlock_t &lock) : lock_(lock) { rte_rwlock_read_lock(&lock_); }
    ~ReadLock() { rte_rwlock_read_unlock(&lock_); }
    ReadLock(const ReadLock &) = delete;
    ReadLock &operator=(const ReadLock &) = delete;

  private:
    rte_rwlock_t &lock_;
};

class WriteLock
{
  public:
    explicit WriteLock(rte_rwlock_t &lock) : lock_(lock) { rte_rwlock_write_lock(&lock_); }
    ~WriteLock() { rte_rwlock_write_unlock(&lock_); }
    WriteLock(const WriteLock &) = delete;
    WriteLock &operator=(const WriteLock &) = delete;

  private:
    rte_rwlock_t &lock_;
};

} // namespace

RemoteMrLookup remote_mr_lookup = nullptr;

MrTable::MrTable(MrRegistrar &registrar, std::size_t capacity)
    : registrar_(&registrar), capacity_(capacity)
{
    rte_rwlock_init(&lock_);
    entries_.reserve(capacity);
}

MrTable::~MrTable()
{
    clear();
}

void MrTable::clear()
{
    WriteLock guard(lock_);
    for (const MrRegistration &entry : entries_)
        registrar_->release(entry);
    entries_.clear();
    longest_ = 0;
    generation_.fetch_add(1, std::memory_order_release);
}

void MrTable::detach_registrar()
{
    WriteLock guard(lock_);
    for (const MrRegistration &entry : entries_)
        registrar_->release(entry);
    entries_.clear();
    longest_ = 0;
    registrar_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
}

void MrTable::attach_registrar(MrRegistrar &registrar)
{
    WriteLock guard(lock_);
    registrar_ = &registrar;
}

std::size_t MrTable::remove_overlapping(uintptr_t start, uintptr_t end)
{
    WriteLock guard(lock_);
    const auto removed = std::erase_if(entries_, [&](const MrRegistration &e) {
        if (e.range.start >= end || e.range.end <= start)
            return false;
        registrar_->release(e);
        return true;
    });
    if (removed != 0)
        generation_.fetch_add(1, std::memory_order_release);
    return removed;
}

std::size_t MrTable::size()
{
    ReadLock guard(lock_);
    return entries_.size();
}

std::optional<MrRange> MrTable::find_locked(uintptr_t addr, std::size_t len) const
{
    // Entries may overlap (a page-aligned range next to a segment). Candidates start at
    // or before addr; none that starts more than the longest entry's length earlier can
    // reach addr, which bounds the scan.
    auto it =
        std::upper_bound(entries_.begin(), entries_.end(), addr,
                         [](uintptr_t a, const MrRegistration &e) { return a < e.range.start; });
    while (it != entries_.begin()) {
        --it;
        if (it->range.contains(addr, len))
            return it->range;
        if (addr - it->range.start > longest_)
            break;
    }
    return std::nullopt;
}

std::optional<MrRange> MrTable::find(uintptr_t addr, std::size_t len)
{
    ReadLock guard(lock_);
    return find_locked(addr, len);
}

int MrTable::insert_locked(uintptr_t start, uintptr_t end, MrRange *out)
{
    if (registrar_ == nullptr)
        return -ENODEV; // between a service reset and the rebuild
    if (entries_.size() >= capacity_) {
        full_misses_.fetch_add(1, std::memory_order_relaxed);
        return -ENOSPC;
    }
    auto registration = registrar_->register_range(start, end);
    if (!registration)
        return errno != 0 ? -errno : -EIO;
    const auto at =
        std::upper_bound(entries_.begin(), entries_.end(), registration->range.start,
                         [](uintptr_t a, const MrRegistration &e) { return a < e.range.start; });
    entries_.insert(at, *registration);
    longest_ = std::max(longest_, registration->range.end - registration->range.start);
    if (out != nullptr)
        *out = registration->range;
    return 0;
}

std::optional<MrRange> MrTable::find_or_register(uintptr_t addr, std::size_t len)
{
    if (auto hit = find(addr, len))
        return hit;
    WriteLock guard(lock_);
    // Another lcore may have registered it between the two locks.
    if (auto hit = find_locked(addr, len))
        return hit;
    if (registrar_ == nullptr) {
        errno = ENODEV;
        return std::nullopt;
    }
    const auto [start, end] = registrar_->covering_range(addr, len);
    MrRange range;
    if (const int ret = insert_locked(start, end, &range); ret != 0) {
        errno = -ret;
        return std::nullopt;
    }
    if (!range.contains(addr, len))
        return std::nullopt;
    return range;
}

int MrTable::register_exact(uintptr_t start, uintptr_t end)
{
    WriteLock guard(lock_);
    if (find_locked(start, end - start))
        return 0;
    return insert_locked(start, end, nullptr);
}

std::optional<uint32_t> MrQueueCache::miss(uintptr_t addr, std::size_t len)
{
    if (table_ == nullptr)
        return std::nullopt;
    const auto range = remote_mr_lookup != nullptr ? remote_mr_lookup(*table_, addr, len)
                                                   : table_->find_or_register(addr, len);
    if (!range)
        return std::nullopt;
    last_ = next_;
    entries_[next_] = *range;
    next_ = (next_ + 1) & (kEntries - 1);
    return range->lkey;
}

} // namespace mana
