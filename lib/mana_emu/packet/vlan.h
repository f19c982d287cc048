// SPDX-License-Identifier: BSD-3-Clause
// 802.1Q tag insertion (TX long OOB "inject VLAN tag") and stripping (RX).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mana_emu::packet
{

// Tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits; higher bits dropped).
constexpr uint16_t make_vlan_tci(uint8_t pcp, bool dei, uint16_t vid)
{
    return static_cast<uint16_t>(((pcp & 0x7u) << 13) | (dei ? 1u << 12 : 0u) | (vid & 0xfffu));
}

// A copy of `frame` with an 802.1Q tag (TPID 0x8100) inserted after the source MAC. The
// frame must hold at least both MAC addresses and the ethertype (14 bytes); a shorter one
// gives an empty vector. An existing tag is kept (the result is double tagged), as a
// device that inserts blindly would do.
std::vector<uint8_t> insert_vlan(std::span<const uint8_t> frame, uint8_t pcp, bool dei,
                                 uint16_t vid);

// Removes the outer 802.1Q tag and returns its TCI; nullopt (frame unchanged) when the
// frame carries no tag or is too short to hold one.
std::optional<uint16_t> strip_vlan(std::vector<uint8_t> &frame);

} // namespace mana_emu::packet
