// SPDX-License-Identifier: BSD-3-Clause
// Where the headers of an Ethernet frame are, as the device sees them on TX and RX.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace mana_emu::packet
{

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

inline constexpr uint16_t kEthernetHeaderLen = 14;
inline constexpr uint16_t kVlanTagLen = 4;
inline constexpr uint16_t kIpv4MinHeaderLen = 20;
inline constexpr uint16_t kIpv6HeaderLen = 40;
inline constexpr uint16_t kTcpMinHeaderLen = 20;
inline constexpr uint16_t kUdpHeaderLen = 8;

struct FrameLayout {
    uint16_t l2_len;    // Ethernet header, including the VLAN tag if present
    bool has_vlan;      // one 802.1Q tag after the source MAC
    uint16_t vlan_tci;  // the tag's PCP/DEI/VID when has_vlan
    uint16_t ethertype; // inner ethertype (after the VLAN tag)
    enum class L3 { none, ipv4, ipv6 } l3;
    uint16_t l3_offset; // == l2_len when l3 != none
    uint16_t l3_len;    // IPv4: IHL * 4; IPv6: 40 + skipped extension headers
    enum class L4 { none, tcp, udp, other } l4;
    uint16_t l4_offset; // == l3_offset + l3_len when l4 != none
    uint16_t l4_len;    // TCP: data offset * 4; UDP: 8; other: 0
    // IPv4 packet with MF set or a non-zero fragment offset. A first fragment (offset 0)
    // still has its L4 header parsed, but its payload is partial: RSS must not use the
    // ports and checksums must not be validated. Later fragments get l4 == none.
    bool ipv4_fragment;
};

// Parses Ethernet (one optional 802.1Q tag), IPv4 (with options) or IPv6 (hop-by-hop,
// routing and destination-options headers skipped; a fragment header means no L4), then
// TCP or UDP. Never reads outside `frame`:
//  - nullopt when the frame is too short for the Ethernet header (and tag, if any);
//  - l3 == none for other ethertypes and for IP headers that are truncated or malformed;
//  - l4 == none when the transport header is truncated, absent or unreachable.
// IP length fields are not used to bound the headers, because a frame posted for TSO has
// them zeroed; checksum code bounds the payload by them separately.
std::optional<FrameLayout> parse_frame(std::span<const uint8_t> frame);

} // namespace mana_emu::packet
