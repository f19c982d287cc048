/* SPDX-License-Identifier: BSD-3-Clause */
// Finding the RDMA device of a PCI function and the Ethernet ports behind it, from the
// files the kernel's mana/mana_ib drivers publish in sysfs (spec §1). The parsers take
// file contents so they can be tested and fuzzed without a sysfs tree.
#pragma once

#include "mac_address.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mana
{

// "PCI_SLOT_NAME=DDDD:BB:DD.F" line of a device/uevent file.
std::optional<std::string> pci_slot_from_uevent(std::string_view uevent);

// Contents of a net/<ifname>/dev_port file: a decimal number, optionally followed by a
// newline.
std::optional<unsigned> parse_dev_port(std::string_view text);

// Contents of a net/<ifname>/address file: a MAC, optionally followed by a newline.
std::optional<MacAddress> parse_address_file(std::string_view text);

struct NetdevPort {
    unsigned ib_port; // 1-based, dev_port + 1
    std::string ifname;
    MacAddress mac;
};

// Whole file, or nullopt when it cannot be read. Bounded: sysfs attributes are small.
std::optional<std::string> read_small_file(const std::string &path);

// The Ethernet netdevs of an RDMA device (<ibdev_path>/device/net/*), sorted by IB port.
// Entries whose dev_port or address cannot be parsed are skipped.
std::vector<NetdevPort> list_netdev_ports(const std::string &ibdev_path);

} // namespace mana
