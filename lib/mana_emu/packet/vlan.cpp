// SPDX-License-Identifier: BSD-3-Clause
#include "vlan.h"

#include "byte_order.h"
#include "frame_layout.h"

namespace mana_emu::packet
{
namespace
{
constexpr size_t kMacAddressesLen = 12; // destination + source MAC; the tag goes after
} // namespace

std::vector<uint8_t> insert_vlan(std::span<const uint8_t> frame, uint8_t pcp, bool dei,
                                 uint16_t vid)
{
    if (frame.size() < kEthernetHeaderLen)
        return {};
    std::vector<uint8_t> tagged;
    tagged.reserve(frame.size() + kVlanTagLen);
    tagged.insert(tagged.end(), frame.begin(), frame.begin() + kMacAddressesLen);
    tagged.resize(kMacAddressesLen + kVlanTagLen);
    store_be16(tagged, kMacAddressesLen, kEtherTypeVlan);
    store_be16(tagged, kMacAddressesLen + 2, make_vlan_tci(pcp, dei, vid));
    tagged.insert(tagged.end(), frame.begin() + kMacAddressesLen, frame.end());
    return tagged;
}

std::optional<uint16_t> strip_vlan(std::vector<uint8_t> &frame)
{
    if (frame.size() < kEthernetHeaderLen + kVlanTagLen ||
        load_be16(frame, kMacAddressesLen) != kEtherTypeVlan)
        return std::nullopt;
    const uint16_t tci = load_be16(frame, kMacAddressesLen + 2);
    const auto tag = frame.begin() + kMacAddressesLen;
    frame.erase(tag, tag + kVlanTagLen);
    return tci;
}

} // namespace mana_emu::packet
