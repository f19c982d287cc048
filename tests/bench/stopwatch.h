/* SPDX-License-Identifier: BSD-3-Clause */
// Cycles of a timed region, less what reading the clock costs by itself: two serialised
// TSC reads take tens of cycles, which spread over the 32 packets of one burst (a small
// ring's round) would be a cycle or two per packet that no driver spends.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace mana_bench
{

class Stopwatch
{
  public:
    // Measures the clock's own cost: the mean of many back-to-back reads (the TSC may
    // tick in steps of tens of cycles, so a median would be a whole step or nothing).
    Stopwatch()
    {
        constexpr unsigned kReads = 4096;
        for (unsigned i = 0; i < kReads / 16; ++i) // the first reads are slower
            static_cast<void>(rte_rdtsc_precise());
        uint64_t total = 0;
        for (unsigned i = 0; i < kReads; ++i) {
            const uint64_t begin = rte_rdtsc_precise();
            total += rte_rdtsc_precise() - begin;
        }
        overhead_ = (total + kReads / 2) / kReads;
    }

    void start() { begin_ = rte_rdtsc_precise(); }
    // Cycles since start(), without the clock's cost (never below 0).
    uint64_t stop() const
    {
        const uint64_t elapsed = rte_rdtsc_precise() - begin_;
        return elapsed > overhead_ ? elapsed - overhead_ : 0;
    }
    uint64_t overhead() const { return overhead_; }

  private:
    uint64_t begin_ = 0;
    uint64_t overhead_ = 0;
};

} // namespace mana_bench
