// SPDX-License-Identifier: BSD-3-Clause
#include "frame_layout.h"

#include "byte_order.h"

namespace mana_emu::packet
{
namespace
{

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestinationOptions = 60;
// Bounds the walk over IPv6 extension headers; real packets carry a few at most.
constexpr int kMaxIpv6ExtensionHeaders = 8;

// Fills l4/l4_offset/l4_len for a transport header at `offset` of protocol `proto`.
void parse_transport(std::span<const uint8_t> frame, size_t offset, uint8_t proto,
                     FrameLayout &layout)
{
    layout.l4_offset = static_cast<uint16_t>(offset);
    if (proto == kIpProtoTcp) {
        if (offset + kTcpMinHeaderLen > frame.size())
            return;
        const size_t header_len = static_cast<size_t>(frame[offset + 12] >> 4) * 4;
        if (header_len < kTcpMinHeaderLen || offset + header_len > frame.size())
            return;
        layout.l4 = FrameLayout::L4::tcp;
        layout.l4_len = static_cast<uint16_t>(header_len);
    } else if (proto == kIpProtoUdp) {
        if (offset + kUdpHeaderLen > frame.size())
            return;
        layout.l4 = FrameLayout::L4::udp;
        layout.l4_len = kUdpHeaderLen;
    } else {
        layout.l4 = FrameLayout::L4::other;
        layout.l4_len = 0;
    }
}

void parse_ipv4(std::span<const uint8_t> frame, FrameLayout &layout)
{
    const size_t ip = layout.l3_offset;
    if (ip + kIpv4MinHeaderLen > frame.size() || (frame[ip] >> 4) != 4)
        return;
    const size_t header_len = size_t{frame[ip] & 0x0fu} * 4;
    if (header_len < kIpv4MinHeaderLen || ip + header_len > frame.size())
        return;
    layout.l3 = FrameLayout::L3::ipv4;
    layout.l3_len = static_cast<uint16_t>(header_len);

    const uint16_t flags_and_offset = load_be16(frame, ip + 6);
    const bool more_fragments = flags_and_offset & 0x2000;
    const uint16_t fragment_offset = flags_and_offset & 0x1fff;
    layout.ipv4_fragment = more_fragments || fragment_offset != 0;
    if (fragment_offset != 0)
        return; // no transport header in this fragment
    parse_transport(frame, ip + header_len, frame[ip + 9], layout);
}

void parse_ipv6(std::span<const uint8_t> frame, FrameLayout &layout)
{
    const size_t ip = layout.l3_offset;
    if (ip + kIpv6HeaderLen > frame.size() || (frame[ip] >> 4) != 6)
        return;
    layout.l3 = FrameLayout::L3::ipv6;

    uint8_t next_header = frame[ip + 6];
    size_t offset = ip + kIpv6HeaderLen;
    for (int hops = 0; hops < kMaxIpv6ExtensionHeaders; ++hops) {
        if (next_header == kIpv6Fragment) {
            // The fragment header is 8 bytes; what follows is (part of) a payload that the
            // device cannot interpret, so the layout stops at L3.
            offset = offset + 8 <= frame.size() ? offset + 8 : offset;
            layout.l3_len = static_cast<uint16_t>(offset - ip);
            return;
        }
        if (next_header != kIpv6HopByHop && next_header != kIpv6Routing &&
            next_header != kIpv6DestinationOptions)
            break;
        if (offset + 8 > frame.size())
            break; // truncated extension header: keep L3, no L4
        const size_t extension_len = (size_t{frame[offset + 1]} + 1) * 8;
        if (offset + extension_len > frame.size()) {
            next_header = kIpv6Fragment; // poison: do not parse a transport header
            break;
        }
        next_header = frame[offset];
        offset += extension_len;
    }
    layout.l3_len = static_cast<uint16_t>(offset - ip);
    if (next_header == kIpv6HopByHop || next_header == kIpv6Routing ||
        next_header == kIpv6DestinationOptions || next_header == kIpv6Fragment)
        return; // chain too long or truncated
    parse_transport(frame, offset, next_header, layout);
}

} // namespace

std::optional<FrameLayout> parse_frame(std::span<const uint8_t> frame)
{
    // Offsets are uint16_t: headers always end well below 64 KiB (at most 8 IPv6 extension
    // headers of 2 KiB each), whatever the frame size.
    if (frame.size() < kEthernetHeaderLen)
        return std::nullopt;

    FrameLayout layout{};
    layout.l2_len = kEthernetHeaderLen;
    layout.ethertype = load_be16(frame, 12);
    if (layout.ethertype == kEtherTypeVlan) {
        if (frame.size() < kEthernetHeaderLen + kVlanTagLen)
            return std::nullopt;
        layout.has_vlan = true;
        layout.vlan_tci = load_be16(frame, 14);
        layout.ethertype = load_be16(frame, 16);
        layout.l2_len = kEthernetHeaderLen + kVlanTagLen;
    }
    layout.l3 = FrameLayout::L3::none;
    layout.l4 = FrameLayout::L4::none;
    layout.l3_offset = layout.l2_len;

    if (layout.ethertype == kEtherTypeIpv4)
        parse_ipv4(frame, layout);
    else if (layout.ethertype == kEtherTypeIpv6)
        parse_ipv6(frame, layout);
    return layout;
}

} // namespace mana_emu::packet
