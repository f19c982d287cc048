/* SPDX-License-Identifier: BSD-3-Clause */
// MrTable and MrQueueCache against a fake registrar: no EAL, no verbs.
#include "mr_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace mana
{
namespace
{

constexpr uintptr_t kPage = 4096;

class FakeRegistrar final : public MrRegistrar
{
  public:
    std::pair<uintptr_t, uintptr_t> covering_range(uintptr_t addr, std::size_t len) override
    {
        return {addr & ~(kPage - 1), (addr + len + kPage - 1) & ~(kPage - 1)};
    }
    std::optional<MrRegistration> register_range(uintptr_t start, uintptr_t end) override
    {
        std::lock_guard guard(mutex_);
        if (fail_next_) {
            fail_next_ = false;
            errno = EFAULT;
            return std::nullopt;
        }
        const uint32_t key = next_key_++;
        live_[key] = {start, end};
        ++registrations_;
        return MrRegistration{.range = {.start = start, .end = end, .lkey = key},
                              .handle = reinterpret_cast<void *>(static_cast<uintptr_t>(key))};
    }
    void release(const MrRegistration &registration) override
    {
        std::lock_guard guard(mutex_);
        live_.erase(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(registration.handle)));
    }

    std::size_t live() const { return live_.size(); }
    int registrations() const { return registrations_; }
    bool fail_next_ = false;

  private:
    std::mutex mutex_;
    std::map<uint32_t, std::pair<uintptr_t, uintptr_t>> live_;
    uint32_t next_key_ = 100;
    std::atomic<int> registrations_{0};
};

TEST(MrTable, ExactRegistrationIsFoundInsideAndNotOutside)
{
    FakeRegistrar fake;
    MrTable table(fake, 8);
    ASSERT_EQ(table.register_exact(0x10000, 0x20000), 0);
    const auto hit = table.find(0x10000, 0x10000);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->lkey, 100U);
    EXPECT_TRUE(table.find(0x1ff00, 0x100));
    EXPECT_FALSE(table.find(0x1ff00, 0x101)); // runs past the end
    EXPECT_FALSE(table.find(0xffff, 2));      // starts before
    EXPECT_FALSE(table.find(0x20000, 1));
    // Already covered: no second registration.
    EXPECT_EQ(table.register_exact(0x10000, 0x18000), 0);
    EXPECT_EQ(fake.registrations(), 1);
}

TEST(MrTable, MissRegistersTheCoveringPages)
{
    FakeRegistrar fake;
    MrTable table(fake, 8);
    const auto range = table.find_or_register(0x5010, 100);
    ASSERT_TRUE(range);
    EXPECT_EQ(range->start, 0x5000U);
    EXPECT_EQ(range->end, 0x6000U);
    const auto again = table.find_or_register(0x5800, 100);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->lkey, range->lkey);
    EXPECT_EQ(fake.registrations(), 1);
}

TEST(MrTable, OverlappingEntriesAreAllFound)
{
    FakeRegistrar fake;
    MrTable table(fake, 8);
    ASSERT_EQ(table.register_exact(0x100000, 0x200000), 0); // large
    ASSERT_EQ(table.register_exact(0x180000, 0x181000), 0); // small, inside
    ASSERT_EQ(table.register_exact(0x1f0000, 0x300000), 0); // overlaps the end
    // Covered by the large entry although a later-starting one exists.
    EXPECT_TRUE(table.find(0x1a0000, 0x1000));
    EXPECT_TRUE(table.find(0x1f8000, 0x10000)); // only the third covers it
    EXPECT_FALSE(table.find(0x2ff000, 0x2000));
}

TEST(MrTable, FullTableFailsNewLookupsButKeepsOldOnes)
{
    FakeRegistrar fake;
    MrTable table(fake, 2);
    ASSERT_TRUE(table.find_or_register(0x1000, 10));
    ASSERT_TRUE(table.find_or_register(0x3000, 10));
    EXPECT_FALSE(table.find_or_register(0x5000, 10));
    EXPECT_EQ(table.register_exact(0x9000, 0xa000), -ENOSPC);
    EXPECT_EQ(table.full_misses(), 2U);
    EXPECT_TRUE(table.find_or_register(0x1008, 8));
    EXPECT_EQ(table.size(), 2U);
}

TEST(MrTable, RegistrarFailureIsReportedAndNotCached)
{
    FakeRegistrar fake;
    MrTable table(fake, 4);
    fake.fail_next_ = true;
    EXPECT_FALSE(table.find_or_register(0x1000, 10));
    EXPECT_EQ(table.register_exact(0x8000, 0x9000), 0);
    fake.fail_next_ = true;
    EXPECT_EQ(table.register_exact(0x20000, 0x21000), -EFAULT);
    EXPECT_TRUE(table.find_or_register(0x1000, 10));
}

TEST(MrTable, ClearAndDestructionReleaseEverything)
{
    FakeRegistrar fake;
    {
        MrTable table(fake, 8);
        ASSERT_TRUE(table.find_or_register(0x1000, 10));
        ASSERT_TRUE(table.find_or_register(0x9000, 10));
        EXPECT_EQ(fake.live(), 2U);
        table.clear();
        EXPECT_EQ(fake.live(), 0U);
        EXPECT_EQ(table.size(), 0U);
        ASSERT_TRUE(table.find_or_register(0x1000, 10));
    }
    EXPECT_EQ(fake.live(), 0U);
}

TEST(MrQueueCache, HitsAvoidTheTableAndMissesFillIt)
{
    FakeRegistrar fake;
    MrTable table(fake, 64);
    MrQueueCache cache(&table);
    EXPECT_FALSE(cache.cached(0x1000, 8));
    const auto key = cache.lkey(0x1000, 8);
    ASSERT_TRUE(key);
    EXPECT_EQ(cache.cached(0x1ff0, 16), key);
    // More distinct ranges than cache entries: the cache recycles, the table keeps all.
    for (uintptr_t i = 0; i < 3 * MrQueueCache::kEntries; ++i)
        ASSERT_TRUE(cache.lkey(0x100000 + i * kPage, 64));
    EXPECT_EQ(table.size(), 1 + 3 * MrQueueCache::kEntries);
    EXPECT_TRUE(cache.lkey(0x1000, 8)); // evicted from the cache, still in the table
    EXPECT_EQ(fake.registrations(), static_cast<int>(1 + 3 * MrQueueCache::kEntries));
    cache.flush();
    EXPECT_FALSE(cache.cached(0x1000, 8));
}

TEST(MrTable, RemovedMemoryIsReleasedAndQueueCachesForgetIt)
{
    FakeRegistrar fake;
    MrTable table(fake, 8);
    MrQueueCache cache(&table);
    ASSERT_EQ(table.register_exact(0x100000, 0x200000), 0);
    ASSERT_EQ(table.register_exact(0x400000, 0x500000), 0);
    const auto old_key = cache.lkey(0x100100, 64);
    ASSERT_TRUE(old_key);
    EXPECT_EQ(table.remove_overlapping(0x1ff000, 0x300000), 1U); // overlaps the first only
    EXPECT_EQ(fake.live(), 1U);
    EXPECT_FALSE(table.find(0x100100, 64));
    EXPECT_TRUE(table.find(0x400000, 64));
    // The cache must not hand out the released key, even for memory reused later.
    EXPECT_FALSE(cache.cached(0x100100, 64));
    const auto new_key = cache.lkey(0x100100, 64);
    ASSERT_TRUE(new_key);
    EXPECT_NE(*new_key, *old_key);
    EXPECT_EQ(table.remove_overlapping(0x600000, 0x700000), 0U);
}

TEST(MrQueueCache, WithoutTableEveryMissFails)
{
    MrQueueCache cache;
    EXPECT_FALSE(cache.lkey(0x1000, 8));
}

TEST(MrTable, ManyThreadsRegisterEachRangeOnce)
{
    FakeRegistrar fake;
    MrTable table(fake, 256);
    constexpr int kThreads = 8;
    constexpr uintptr_t kRanges = 64;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    std::vector<std::vector<uint32_t>> keys(kThreads, std::vector<uint32_t>(kRanges));
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            MrQueueCache cache(&table);
            for (int round = 0; round < 50; ++round) {
                for (uintptr_t r = 0; r < kRanges; ++r) {
                    const uintptr_t i = (r + static_cast<uintptr_t>(t) * 7) % kRanges;
                    const auto key = cache.lkey(0x1000000 + i * kPage + 64, 128);
                    if (!key)
                        ++failures;
                    else if (round == 0)
                        keys[t][i] = *key;
                    else if (keys[t][i] != *key)
                        ++failures;
                }
            }
        });
    }
    for (auto &thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(fake.registrations(), static_cast<int>(kRanges));
    for (int t = 1; t < kThreads; ++t)
        EXPECT_EQ(keys[t], keys[0]);
}

// A service reset: the table lets go of every registration of the old PD, refuses new
// ones until the registrar of the new PD is attached, then registers through that one.
TEST(MrTable, DetachedTableReleasesEverythingAndRegistersOnlyAfterAttach)
{
    FakeRegistrar old_pd;
    MrTable table(old_pd, 8);
    MrQueueCache cache(&table);
    ASSERT_EQ(table.register_exact(0x10000, 0x20000), 0);
    ASSERT_TRUE(cache.lkey(0x10100, 64));
    table.detach_registrar();
    EXPECT_EQ(old_pd.live(), 0U);
    EXPECT_EQ(table.size(), 0U);
    // The queue's cache forgets the old key; nothing can be registered meanwhile.
    EXPECT_FALSE(cache.lkey(0x10100, 64));
    errno = 0;
    EXPECT_FALSE(table.find_or_register(0x10100, 64));
    EXPECT_EQ(errno, ENODEV);
    EXPECT_EQ(table.register_exact(0x10000, 0x20000), -ENODEV);
    EXPECT_EQ(old_pd.registrations(), 1);

    FakeRegistrar new_pd;
    table.attach_registrar(new_pd);
    EXPECT_EQ(table.register_exact(0x10000, 0x20000), 0);
    EXPECT_EQ(cache.lkey(0x10100, 64), 100U); // the new registrar's first key
    EXPECT_EQ(new_pd.live(), 1U);
    EXPECT_EQ(old_pd.live(), 0U);
    table.clear();
    EXPECT_EQ(new_pd.live(), 0U);
}

// Registrations from other threads while the table is detached and attached again
// (what a secondary's request on the IPC thread meets during a reset): each either
// succeeds through the registrar attached at that moment or fails cleanly, and every
// registration is released by the registrar that made it.
TEST(MrTable, RegistrationsRacingDetachAndAttachStayBalanced)
{
    FakeRegistrar first;
    FakeRegistrar second;
    MrTable table(first, 64);
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::thread registering([&] {
        for (uintptr_t i = 0; !stop.load(); i = (i + 1) % 32) {
            errno = 0;
            if (!table.find_or_register(0x100000 + i * kPage, 64) && errno != ENODEV)
                ++failures;
        }
    });
    for (int round = 0; round < 200; ++round) {
        table.detach_registrar();
        table.attach_registrar(round % 2 == 0 ? second : first);
    }
    stop = true;
    registering.join();
    table.clear();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(first.live(), 0U);
    EXPECT_EQ(second.live(), 0U);
}

} // namespace
} // namespace mana
