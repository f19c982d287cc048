/* SPDX-License-Identifier: BSD-3-Clause */
// Cycles of a timed region, less what reading the clock costs by itself: two serialised
// TSC reads take tens of cycles, which spread over the 32 packets of one burst (a small
// ring's round) would be a cycle or two per packet that no driver spends.
#pragma once

#include <rte_cycles.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace mana_bench
{

class Stopwatch
{
  public:
    // Measures the clock's own cost: the mean of many back-to-back reads (the TSC may
    // tick in steps of tens of cycles, so a median would be a whole step or nothing),
    // leaving out the slowest tenth (an interrupt in the middle of a pair).
    Stopwatch()
    {
        constexpr unsigned kReads = 8192;
        for (unsigned i = 0; i < kReads / 16; ++i) // the first reads are slower
            static_cast<void>(read_at_start());
        std::vector<uint64_t> pairs(kReads);
        for (uint64_t &pair : pairs) {
            const uint64_t begin = read_at_start();
            pair = read_at_stop() - begin;
        }
        std::sort(pairs.begin(), pairs.end());
        const unsigned kept = kReads - kReads / 10;
        const uint64_t total = std::accumulate(pairs.begin(), pairs.begin() + kept, uint64_t{0});
        overhead_ = (total + kept / 2) / kept;
    }

    void start() { begin_ = read_at_start(); }
    // Cycles since start(), without the clock's cost (never below 0).
    uint64_t stop() const
    {
        const uint64_t elapsed = read_at_stop() - begin_;
        return elapsed > overhead_ ? elapsed - overhead_ : 0;
    }
    uint64_t overhead() const { return overhead_; }

  private:
    // A full fence first: the stores of whatever ran before (the emulator) are not the
    // measured code's to drain.
    static uint64_t read_at_start() { return rte_rdtsc_precise(); }
    // LFENCE then RDTSC waits for the measured instructions to execute, not for their
    // stores to drain from the store buffer: a polling loop drains them while it goes on,
    // so a full fence here would charge a short round (one burst) with the drain of every
    // WQE and mbuf store it made. The second LFENCE keeps later instructions from starting
    // early. (Not RDTSCP, which does the same: valgrind 3.19 cannot run it, and callgrind
    // counts this program's instructions.)
    static uint64_t read_at_stop()
    {
        _mm_lfence();
        const uint64_t now = __rdtsc();
        _mm_lfence();
        return now;
    }

    uint64_t begin_ = 0;
    uint64_t overhead_ = 0;
};

} // namespace mana_bench
