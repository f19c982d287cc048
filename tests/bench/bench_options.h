/* SPDX-License-Identifier: BSD-3-Clause */
// Command line of mana-bench.
#pragma once

#include <cstdint>
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
    unsigned mempool_cache = 256;
    unsigned windows = 200;
    unsigned warmup_windows = 20;
    std::vector<std::string> extra_eal;
};

// Exits with a usage message on bad input.
Options parse_options(int argc, char **argv);

// EAL command line: one lcore, no hugepages unless --eal says otherwise, the PMD plugin,
// and the emulated VF.
std::vector<std::string> eal_arguments(const Options &options);

} // namespace mana_bench
