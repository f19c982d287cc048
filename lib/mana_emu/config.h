/* SPDX-License-Identifier: BSD-3-Clause */
// The emulated topology (PCI functions, ports, MACs, wires) and device limits, parsed from
// MANA_EMU_CONFIG / mana_emu_configure(). Syntax: doc/guides/emulator.rst.
#pragma once

#include "mac_address.h" // the driver's MAC parser/formatter (same sysfs spelling)

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mana_emu
{

using MacAddress = mana::MacAddress;

struct FunctionConfig {
    std::string bdf;              // "DDDD:BB:DD.F"
    bool pf = false;              // PCI device 0x00b9 instead of the VF's 0x00ba
    unsigned ports = 2;           // IB ports of the RDMA device (1..8)
    std::vector<MacAddress> macs; // explicit MACs, in port order; the rest default
    int numa_node = 0;
    uint32_t vendor_part_id = 2;
};

enum class WireKind { none, loopback, ports, capture, tap };

struct WireConfig {
    unsigned port = 0;
    WireKind kind = WireKind::none;
    unsigned peer = 0;      // WireKind::ports
    std::string tap_ifname; // WireKind::tap
};

struct DeviceLimits {
    uint32_t max_qp_wr = 256;
    uint32_t max_cqe = 256;
    uint32_t max_sge = 30;
    uint32_t max_qp = 256;
    uint32_t max_cq = 256;
    uint32_t max_mr = 4096;
    uint64_t max_mr_size = 1ULL << 40;
};

enum class ModeSetting { unset, step, threaded };

// Whether each port gets a real kernel netdev (a TAP interface with the port's MAC) for
// the sysfs tree to name: `automatic` when the process may create one, else a name only.
enum class NetdevSetting { automatic, none };

// How the device learns of doorbell writes: `trapped` sees every write, as hardware sees
// every MMIO write (the driver's doorbell mapping is read-only and each store faults into the
// emulator); `sampled` maps it writable and compares the slots on each pass of the model,
// which is cheaper but merges two writes to one slot between two passes.
enum class DoorbellSetting { trapped, sampled };

// "trapped" or "sampled" (the config key and MANA_EMU_DOORBELLS); nullopt for anything else.
std::optional<DoorbellSetting> parse_doorbell_setting(std::string_view text);

struct Config {
    std::vector<FunctionConfig> functions;
    std::vector<WireConfig> wires;
    bool wires_given = false; // false: ports are paired 0-1, 2-3, ...; an odd last port loops back
    DeviceLimits limits;
    bool rx_coalescing = false; // CQE coalescing on RSS QPs (up to 4 packets per CQE)
    ModeSetting mode = ModeSetting::unset;
    NetdevSetting netdev = NetdevSetting::automatic;
    DoorbellSetting doorbells = DoorbellSetting::trapped;

    unsigned port_count() const;
};

// One VF 7870:00:00.0 with two ports wired to each other.
Config default_config();

// Parses the configuration text; on error returns nullopt and says why in `error`.
std::optional<Config> parse_config(std::string_view text, std::string &error);

// The MAC a port gets when the configuration names none: 00:15:5d, then the two bytes of
// the PCI domain of its function, then the global port number.
MacAddress default_mac(std::string_view bdf, unsigned global_port);

} // namespace mana_emu
