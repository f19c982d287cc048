/* SPDX-License-Identifier: BSD-3-Clause */
// PMD_INFO_STRING for dpdk-pmdinfo.py. In-tree DPDK builds generate it with
// buildtools/pmdinfogen.py from the registration macros; an out-of-tree plugin has no such
// step, so the JSON is composed at compile time from pci_ids.h and placed in .rodata.
#include "pci_ids.h"

#include <algorithm>
#include <string>

namespace mana
{
namespace
{

constexpr std::string decimal(unsigned value)
{
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + value % 10));
        value /= 10;
    } while (value != 0);
    return digits;
}

constexpr std::string json_string(std::string_view s)
{
    // The strings composed here hold no quotes or backslashes; keep it that way.
    return std::string("\"") + std::string(s) + "\"";
}

constexpr std::string pmd_info_json()
{
    constexpr unsigned kAnyId = 0xffff;
    std::string ids;
    for (const PciId &id : kPciIds) {
        if (!ids.empty())
            ids += ", ";
        ids += "[" + decimal(id.vendor) + ", " + decimal(id.device) + ", " + decimal(kAnyId) +
               ", " + decimal(kAnyId) + "]";
    }
    return "PMD_INFO_STRING= {\"name\": " + json_string(kDriverName) +
           ", \"params\": " + json_string(kDevargsHelp) +
           ", \"kmod\": " + json_string(kKernelModules) + ", \"pci_ids\": [" + ids + "]}";
}

constexpr std::size_t kPmdInfoLength = pmd_info_json().size();

constexpr std::array<char, kPmdInfoLength + 1> pmd_info_chars()
{
    std::array<char, kPmdInfoLength + 1> chars{};
    const std::string json = pmd_info_json();
    std::copy(json.begin(), json.end(), chars.begin());
    return chars;
}

// gnu::used keeps the otherwise unreferenced string in .rodata of the shared library.
[[gnu::used]] constexpr std::array<char, kPmdInfoLength + 1> kPmdInfoString = pmd_info_chars();

} // namespace
} // namespace mana
