/* SPDX-License-Identifier: BSD-3-Clause */
// A chain of N adds, each depending on the previous one, takes N core cycles whatever the
// core's frequency: an add has one cycle of latency and the dependency forbids overlap.
// Timing the chain with the TSC gives the core's clock in TSC terms. The best (shortest)
// of several repetitions rejects preemption and frequency ramp-up.
#include "core_clock.h"

#include <rte_cycles.h>

#include <algorithm>
#include <x86intrin.h>

namespace mana_bench
{
namespace
{

// TSC ticks for `blocks` blocks of 64 dependent adds, written in assembly so that the
// compiler can neither fold nor vectorise the chain. Each add doubles the register (reg +
// reg): some cores fold chains of add-immediate at rename, which would count 8 per cycle.
uint64_t time_add_chain(uint64_t blocks)
{
    uint64_t value = 1;
    _mm_lfence();
    const uint64_t start = __rdtsc();
    _mm_lfence();
    for (uint64_t i = 0; i < blocks; ++i) {
        asm volatile(".rept 64\n\taddq %0, %0\n\t.endr" : "+r"(value));
    }
    _mm_lfence();
    const uint64_t end = __rdtsc();
    asm volatile("" : : "r"(value));
    return end - start;
}

uint64_t best_of(uint64_t blocks, unsigned repetitions)
{
    uint64_t best = UINT64_MAX;
    for (unsigned i = 0; i < repetitions; ++i)
        best = std::min(best, time_add_chain(blocks));
    return best;
}

} // namespace

CoreClock measure_core_clock()
{
    constexpr uint64_t kBlocks = 1U << 16; // 4 Mi adds: about a millisecond
    constexpr unsigned kRepetitions = 15;
    static_cast<void>(best_of(kBlocks, 3)); // let the core reach its working clock
    const uint64_t single = best_of(kBlocks, kRepetitions);
    const uint64_t twice = best_of(2 * kBlocks, kRepetitions);
    CoreClock clock;
    clock.tsc_ghz = static_cast<double>(rte_get_tsc_hz()) / 1e9;
    const double adds = static_cast<double>(kBlocks * 64);
    if (single == 0 || twice == 0)
        return clock;
    // adds / (ticks / tsc_hz) = core cycles per second.
    clock.core_ghz = adds / static_cast<double>(single) * clock.tsc_ghz;
    clock.linearity = static_cast<double>(twice) / (2.0 * static_cast<double>(single));
    return clock;
}

} // namespace mana_bench
