/* SPDX-License-Identifier: BSD-3-Clause */
// Command line of mana-bench.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mana_bench
{

inline constexpr uint16_t kMaxBurst = 512;

enum class Mode { rx, tx, fwd };
const char *mode_name(Mode mode);

struct Offloads {
    bool checksum = false;
    bool rss_hash = false;
    bool vlan = false;
    bool multi_segment = false;
    std::string describe() const; // "csum,rss" or "none"
};

struct Options {
    Mode mode = Mode::rx;
    std::string pmd_path;
    unsigned frame_size = 64;
    uint16_t burst = 32;
    unsigned descriptors = 256;
    uint16_t queues = 1;
    Offloads offloads;
    // Per-lcore mempool cache; unset: sized to the mbufs a window holds (mempool_cache()).
    std::optional<unsigned> mempool_cache;
    unsigned windows = 200;
    unsigned warmup_windows = 20;
    std::vector<std::string> extra_eal;
};

// The mempool cache a run uses: --mempool-cache if given, else one that holds every mbuf
// a window keeps out of the pool (the packets of half of each queue's ring), at least 256
// and at most RTE_MEMPOOL_CACHE_MAX_SIZE. A window that takes more mbufs than the cache
// holds flushes it into the pool's ring on the frees after the window, and the next
// window's refills then draw long-unused, cold mbufs from that FIFO: with 4 queues of 256
// descriptors (512 mbufs per window) a 256-entry cache measured the mempool's ring and the
// memory hierarchy rather than the driver, while 1 queue (128 mbufs) never did.
unsigned mempool_cache(const Options &options);

// Exits with a usage message on bad input.
Options parse_options(int argc, char **argv);

// EAL command line: one lcore, no hugepages unless --eal says otherwise, the PMD plugin,
// and the emulated VF.
std::vector<std::string> eal_arguments(const Options &options);

} // namespace mana_bench
