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
// The default round: half of the smallest ring of the standard matrix (64 descriptors),
// and one standard burst.
inline constexpr unsigned kDefaultRoundPackets = 32;

enum class Mode { rx, tx, fwd };
// auto: hugepages when the machine has enough free ones (as DPDK deployments run), else
// 4 KiB pages (--no-huge).
enum class Memory { automatic, hugepages, small_pages };
const char *mode_name(Mode mode);

struct Offloads {
    bool checksum = false;
    bool rss_hash = false;
    bool vlan = false;
    bool multi_segment = false;
    bool scatter = false;         // RX scatter with a 9000-byte MTU: WQEs of several buffers
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
    // Per-lcore mempool cache; unset: sized to the largest round (mempool_cache()).
    std::optional<unsigned> mempool_cache;
    unsigned windows = 200;
    // Warm-up: at least this many windows, and traffic for at least warmup_ms. A new
    // process on the VM this was measured on runs its first 50 to 150 ms up to 2.5 times
    // slower per packet, in every configuration (spinning for a second before the first
    // round removes most of it): a count of windows alone (a few thousand packets) would
    // measure that start-up rather than the driver.
    unsigned warmup_windows = 20;
    unsigned warmup_ms = 500;
    // A window repeats rounds (fill, timed bursts, device work) until it has moved at least
    // this many packets: the TSC may tick in steps of tens of cycles (21 on AMD EPYC
    // guests), which over one round of a small ring (32 packets) is a step of most of a
    // cycle per packet.
    unsigned window_packets = 1024;
    // Packets a round delivers to (or sends from) its queue; unset: kDefaultRoundPackets,
    // or half the ring when that is less (the most a TX queue takes while it still holds
    // the previous round's packets). Every round costs a fixed amount besides its packets:
    // it starts with caches and branch predictors that the emulator's work (on the
    // measuring core) has disturbed. One round size for every ring and queue count keeps
    // that share per packet the same in the configurations the growth targets compare;
    // half of each ring would give a 64-descriptor ring's packets four times the share of
    // a 256-descriptor ring's.
    std::optional<unsigned> round_packets;
    Memory memory = Memory::automatic;
    std::vector<std::string> extra_eal;
};

// The mempool cache a run uses: --mempool-cache if given, else one that holds every mbuf
// the largest round the ring allows keeps out of the pool (half of one queue's ring;
// the default round is smaller), at least 256 and at most
// RTE_MEMPOOL_CACHE_MAX_SIZE. A round that takes more mbufs than the cache holds flushes
// it into the pool's ring on the frees after the round, and the next round's refills
// then draw long-unused, cold mbufs from that FIFO: the mempool's ring and the memory
// hierarchy would be measured rather than the driver.
unsigned mempool_cache(const Options &options);

// Exits with a usage message on bad input.
Options parse_options(int argc, char **argv);

// Whether the run uses hugepages: --memory, or for auto whether the machine has free
// hugepages enough (and --eal did not choose already).
bool uses_hugepages(const Options &options);

// EAL command line: one lcore, the memory uses_hugepages() chose, the PMD plugin, and the
// emulated VF.
std::vector<std::string> eal_arguments(const Options &options);

} // namespace mana_bench
