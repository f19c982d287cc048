/* SPDX-License-Identifier: BSD-3-Clause */
// Fuzz target: the sysfs parsers of probe (sysfs_discovery.cpp, compiled into this
// target): uevent PCI_SLOT_NAME, net/<if>/dev_port and net/<if>/address contents.
#include "sysfs_discovery.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    if (const auto slot = mana::pci_slot_from_uevent(text)) {
        // What comes back is the rest of a PCI_SLOT_NAME= line: non-empty, one line.
        if (slot->empty() || slot->find('\n') != std::string::npos ||
            text.find("PCI_SLOT_NAME=" + *slot) == std::string_view::npos)
            std::abort();
    }
    if (const auto port = mana::parse_dev_port(text)) {
        // Only decimal digits (and trailing newlines) parse, and to their value.
        std::string_view number = text;
        while (!number.empty() && (number.back() == '\n' || number.back() == '\r'))
            number.remove_suffix(1);
        unsigned value = 0;
        for (const char c : number) {
            if (c < '0' || c > '9')
                std::abort();
            value = value * 10 + static_cast<unsigned>(c - '0'); // no overflow: it parsed
        }
        if (number.empty() || value != *port)
            std::abort();
    }
    if (const auto mac = mana::parse_address_file(text)) {
        if (text.size() < 17 || mana::parse_mac(text.substr(0, 17)) != *mac)
            std::abort();
    }
    return 0;
}
