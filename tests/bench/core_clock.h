/* SPDX-License-Identifier: BSD-3-Clause */
// The clock the measuring core runs at, against the TSC's. Cycles per packet are TSC ticks;
// on a VM whose cores run faster or slower than the TSC, "51 instructions in 5 cycles"
// needs this to be read as instructions per core cycle.
#pragma once

#include <cstdint>

namespace mana_bench
{

struct CoreClock {
    double core_ghz = 0;  // measured: dependent adds per nanosecond
    double tsc_ghz = 0;   // rte_get_tsc_hz()
    double linearity = 0; // time of 2N adds over twice the time of N: 1 when the loop is sound
    // TSC ticks per core cycle: multiply TSC cycles by core_ghz / tsc_ghz for core cycles.
    double core_per_tsc() const { return tsc_ghz > 0 ? core_ghz / tsc_ghz : 0; }
};

// Times chains of dependent integer adds (one core cycle each on any x86-64) with the TSC,
// best of several repetitions, on the calling thread.
CoreClock measure_core_clock();

} // namespace mana_bench
