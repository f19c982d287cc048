/* SPDX-License-Identifier: BSD-3-Clause */
// The one source of truth for what the driver registers with DPDK: PCI ids, kernel
// module dependencies and the devargs string. Both the rte_pci_driver id table and the
// PMD_INFO_STRING that dpdk-pmdinfo.py reads are generated from these constants.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mana
{

struct PciId {
    uint16_t vendor;
    uint16_t device;
};

inline constexpr uint16_t kMicrosoftVendorId = 0x1414;
inline constexpr uint16_t kManaVfDeviceId = 0x00ba;
inline constexpr uint16_t kManaPfDeviceId = 0x00b9;

inline constexpr std::array<PciId, 2> kPciIds{{
    {kMicrosoftVendorId, kManaVfDeviceId},
    {kMicrosoftVendorId, kManaPfDeviceId},
}};

inline constexpr std::string_view kDriverName = "net_mana";
inline constexpr std::string_view kKernelModules = "* ib_uverbs & mana_ib & mana";
inline constexpr std::string_view kDevargsHelp = "mac=<mac> recovery_timeout_ms=<0..3600000>";

} // namespace mana
