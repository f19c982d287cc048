/* SPDX-License-Identifier: BSD-3-Clause */
#include "bench_options.h"

#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#ifndef MANA_BENCH_DEFAULT_PMD
#error "the build must define MANA_BENCH_DEFAULT_PMD (path of our librte_net_mana.so)"
#endif

namespace mana_bench
{
namespace
{

[[noreturn]] void usage(const char *problem)
{
    if (problem != nullptr)
        std::fprintf(stderr, "mana-bench: %s\n", problem);
    std::fprintf(
        stderr,
        "usage: mana-bench [--mode rx|tx|fwd] [--pmd PATH] [--frame-size BYTES]\n"
        "                  [--burst N] [--descriptors N] [--queues N]\n"
        "                  [--offloads none|csum,rss,vlan,mseg,scatter] [--mempool-cache N]\n"
        "                  [--windows N] [--warmup N] [--warmup-ms MS]\n"
        "                  [--window-packets N] [--round-packets N]\n"
        "                  [--memory auto|huge|4k] [--eal ARG]...\n"
        "Measures rte_eth_rx_burst/tx_burst of a MANA PMD over the emulator in step\n"
        "mode and prints one JSON line.\n");
    std::exit(problem == nullptr ? 0 : 2);
}

unsigned number(const char *name, const char *text, unsigned min, unsigned max)
{
    char *end = nullptr;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < min || value > max) {
        static char problem[128];
        std::snprintf(problem, sizeof(problem), "%s must be a number from %u to %u", name, min,
                      max);
        usage(problem);
    }
    return static_cast<unsigned>(value);
}

// The value of `text` among `choices`; exits with `problem` for anything else.
template <typename Value>
Value choice(std::string_view text,
             std::initializer_list<std::pair<std::string_view, Value>> choices, const char *problem)
{
    for (const auto &[name, value] : choices)
        if (text == name)
            return value;
    usage(problem);
}

Offloads parse_offloads(std::string_view text)
{
    Offloads offloads;
    if (text == "none")
        return offloads;
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        if (item == "csum")
            offloads.checksum = true;
        else if (item == "rss")
            offloads.rss_hash = true;
        else if (item == "vlan")
            offloads.vlan = true;
        else if (item == "mseg")
            offloads.multi_segment = true;
        else if (item == "scatter")
            offloads.scatter = true;
        else
            usage("--offloads takes none or a list of csum, rss, vlan, mseg, scatter");
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    return offloads;
}

} // namespace

const char *mode_name(Mode mode)
{
    switch (mode) {
    case Mode::rx:
        return "rx";
    case Mode::tx:
        return "tx";
    case Mode::fwd:
        return "fwd";
    }
    return "?";
}

std::string Offloads::describe() const
{
    std::string text;
    auto add = [&text](bool on, const char *name) {
        if (!on)
            return;
        if (!text.empty())
            text += ',';
        text += name;
    };
    add(checksum, "csum");
    add(rss_hash, "rss");
    add(vlan, "vlan");
    add(multi_segment, "mseg");
    add(scatter, "scatter");
    return text.empty() ? "none" : text;
}

unsigned mempool_cache(const Options &options)
{
    if (options.mempool_cache)
        return *options.mempool_cache;
    const unsigned round_mbufs = options.descriptors / 2;
    return std::clamp(round_mbufs, 256U, static_cast<unsigned>(RTE_MEMPOOL_CACHE_MAX_SIZE));
}

Options parse_options(int argc, char **argv)
{
    Options options;
    options.pmd_path = MANA_BENCH_DEFAULT_PMD;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help")
            usage(nullptr);
        if (i + 1 >= argc)
            usage("every option takes a value");
        const char *value = argv[++i];
        if (arg == "--mode") {
            options.mode =
                choice<Mode>(value, {{"rx", Mode::rx}, {"tx", Mode::tx}, {"fwd", Mode::fwd}},
                             "--mode takes rx, tx or fwd");
        } else if (arg == "--pmd") {
            options.pmd_path = value;
        } else if (arg == "--frame-size") {
            options.frame_size = number("--frame-size", value, 60, 9000);
        } else if (arg == "--burst") {
            options.burst = static_cast<uint16_t>(number("--burst", value, 1, kMaxBurst));
        } else if (arg == "--descriptors") {
            options.descriptors = number("--descriptors", value, 16, 32768);
        } else if (arg == "--queues") {
            options.queues = static_cast<uint16_t>(number("--queues", value, 1, 64));
        } else if (arg == "--offloads") {
            options.offloads = parse_offloads(value);
        } else if (arg == "--mempool-cache") {
            options.mempool_cache = number("--mempool-cache", value, 0, 512);
        } else if (arg == "--windows") {
            options.windows = number("--windows", value, 1, 1000000);
        } else if (arg == "--warmup") {
            options.warmup_windows = number("--warmup", value, 0, 1000000);
        } else if (arg == "--warmup-ms") {
            options.warmup_ms = number("--warmup-ms", value, 0, 600000);
        } else if (arg == "--window-packets") {
            options.window_packets = number("--window-packets", value, 1, 1000000);
        } else if (arg == "--round-packets") {
            options.round_packets = number("--round-packets", value, 1, 16384);
        } else if (arg == "--memory") {
            options.memory = choice<Memory>(value,
                                            {{"auto", Memory::automatic},
                                             {"huge", Memory::hugepages},
                                             {"4k", Memory::small_pages}},
                                            "--memory takes auto, huge or 4k");
        } else if (arg == "--eal") {
            options.extra_eal.emplace_back(value);
        } else {
            usage("unknown option");
        }
    }
    return options;
}

namespace
{

// What --eal arguments already say about memory: hugepages (true), 4 KiB pages (false),
// or nothing.
std::optional<bool> hugepages_chosen_by_eal(const Options &options)
{
    for (const std::string &extra : options.extra_eal) {
        if (extra.starts_with("--huge") || extra.starts_with("--socket-mem") ||
            extra.starts_with("--in-memory"))
            return true;
        if (extra == "--no-huge")
            return false;
    }
    return std::nullopt;
}

// Whether a hugetlbfs is mounted and enough hugepages are free for the largest standard
// run (4 queues), with room to spare.
bool hugepages_free()
{
    constexpr unsigned long kWantedKib = 256 * 1024;
    unsigned long free_pages = 0;
    unsigned long page_kib = 0;
    bool mounted = false;
    if (std::FILE *meminfo = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof(line), meminfo) != nullptr) {
            std::sscanf(line, "HugePages_Free: %lu", &free_pages);
            std::sscanf(line, "Hugepagesize: %lu kB", &page_kib);
        }
        std::fclose(meminfo);
    }
    if (std::FILE *mounts = std::fopen("/proc/mounts", "r")) {
        char line[512];
        while (std::fgets(line, sizeof(line), mounts) != nullptr)
            mounted = mounted || std::strstr(line, " hugetlbfs ") != nullptr;
        std::fclose(mounts);
    }
    return mounted && free_pages * page_kib >= kWantedKib;
}

} // namespace

bool uses_hugepages(const Options &options)
{
    if (const auto chosen = hugepages_chosen_by_eal(options))
        return *chosen;
    if (options.memory != Memory::automatic)
        return options.memory == Memory::hugepages;
    return hugepages_free();
}

std::vector<std::string> eal_arguments(const Options &options)
{
    std::vector<std::string> args = {
        "mana-bench",           "-l", "0", "-d", options.pmd_path, "-a", "7870:00:00.0",
        "--log-level=*:warning"};
    if (hugepages_chosen_by_eal(options))
        args.emplace_back("--no-shconf"); // --eal says the rest
    else if (uses_hugepages(options))
        args.emplace_back("--in-memory"); // no files left behind, nothing shared
    else
        args.insert(args.end(), {"--no-shconf", "--no-huge", "-m", "1024"});
    args.insert(args.end(), options.extra_eal.begin(), options.extra_eal.end());
    return args;
}

} // namespace mana_bench
