/* SPDX-License-Identifier: BSD-3-Clause */
// What the fuzz targets that drive the real plugin share: one EAL per process over the
// step-mode emulator, its first port sending into its second (wired together), and the
// checks every received mbuf must pass. Included by exactly one source of each target.
#pragma once

#include <mana_emu.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fuzz
{

[[noreturn]] inline void fail(const char *target, const char *what)
{
    std::fprintf(stderr, "%s: invariant broken: %s\n", target, what);
    std::abort();
}

struct Ports {
    uint16_t tx = 0; // the emulator's port 0
    uint16_t rx = 0; // its port 1, wired to port 0
};

// Starts EAL as `target` with the plugin named by MANA_PMD, or else the one beside the
// target's binary (argv[0]; tests/fuzz/build.sh builds it there), over the step-mode
// emulator, and wires the function's two ports together.
inline Ports start_eal(const char *target, char **argv)
{
    mana_emu_set_mode(MANA_EMU_STEP);
    std::string pmd;
    if (const char *path = std::getenv("MANA_PMD")) {
        pmd = path;
    } else {
        pmd = std::string(argv[0]);
        pmd = pmd.substr(0, pmd.find_last_of('/') + 1) + "librte_net_mana.so";
    }
    std::vector<std::string> args = {target,
                                     "--no-huge",
                                     "-m",
                                     "256",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "-l",
                                     "0",
                                     "-a",
                                     "7870:00:00.0",
                                     "-d",
                                     pmd,
                                     "--log-level=pmd.net.mana.*:emerg",
                                     "--log-level=lib.eal:error"};
    std::vector<char *> eal_argv;
    for (auto &arg : args)
        eal_argv.push_back(arg.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s (MANA_PMD=%s)\n", rte_strerror(rte_errno),
                     pmd.c_str());
        std::exit(2);
    }
    Ports ports;
    if (rte_eth_dev_get_port_by_name("7870:00:00.0_port1", &ports.tx) != 0 ||
        rte_eth_dev_get_port_by_name("7870:00:00.0_port2", &ports.rx) != 0)
        fail(target, "net_mana ports not probed");
    mana_emu_wire_ports(0, 1);
    return ports;
}

// A received mbuf is one consistent segment inside its buffer.
inline void check_received(const char *target, const rte_mbuf *m)
{
    if (m->nb_segs != 1 || m->next != nullptr || m->pkt_len != m->data_len)
        fail(target, "RX mbuf is not one consistent segment");
    if (static_cast<uint32_t>(m->data_off) + m->data_len > m->buf_len)
        fail(target, "RX mbuf data beyond its buffer");
}

} // namespace fuzz

// LeakSanitizer off: the Port (and the heap blocks it owns) lives in dev_private, DPDK
// memory that LSan does not scan, so everything it owns looks leaked. Lost mbufs are what
// the targets' mempool-full checks catch instead.
extern "C" const char *__asan_default_options()
{
    return "detect_leaks=0";
}
