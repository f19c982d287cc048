// SPDX-License-Identifier: BSD-3-Clause
#include "rss.h"

#include "frame_layout.h"
#include "toeplitz.h"

#include <algorithm>
#include <array>

namespace mana_emu::packet
{

std::optional<RssResult> rss_hash(std::span<const uint8_t> frame, uint64_t fields_mask,
                                  std::span<const uint8_t> key)
{
    const auto layout = parse_frame(frame);
    if (!layout || layout->l3 == FrameLayout::L3::none)
        return std::nullopt;

    const bool ipv4 = layout->l3 == FrameLayout::L3::ipv4;
    const size_t address_offset = layout->l3_offset + (ipv4 ? 12 : 8);
    const size_t address_bytes = ipv4 ? 2 * 4 : 2 * 16; // source then destination
    const uint64_t address_bits = ipv4 ? kRxHashIpv4 : kRxHashIpv6;

    const bool l4_hashable = !layout->ipv4_fragment;
    const bool hash_tcp_ports =
        l4_hashable && layout->l4 == FrameLayout::L4::tcp && (fields_mask & kRxHashTcpPorts) != 0;
    const bool hash_udp_ports =
        l4_hashable && layout->l4 == FrameLayout::L4::udp && (fields_mask & kRxHashUdpPorts) != 0;
    const bool hash_ports = hash_tcp_ports || hash_udp_ports;
    if (!hash_ports && (fields_mask & address_bits) == 0)
        return std::nullopt;

    // Addresses and ports are adjacent in the packet already, but collect them so the
    // Toeplitz input is exactly the tuple (the IPv6 path may have skipped extensions).
    std::array<uint8_t, 36> tuple{};
    const auto addresses = frame.subspan(address_offset, address_bytes);
    std::copy(addresses.begin(), addresses.end(), tuple.begin());
    size_t tuple_len = address_bytes;
    if (hash_ports) {
        const auto ports = frame.subspan(layout->l4_offset, 4);
        std::copy(ports.begin(), ports.end(), tuple.begin() + static_cast<long>(tuple_len));
        tuple_len += 4;
    }

    uint16_t hash_type = 0;
    if (ipv4)
        hash_type = hash_tcp_ports   ? kHashTypeTcpIpv4
                    : hash_udp_ports ? kHashTypeUdpIpv4
                                     : kHashTypeIpv4;
    else
        hash_type = hash_tcp_ports   ? kHashTypeTcpIpv6
                    : hash_udp_ports ? kHashTypeUdpIpv6
                                     : kHashTypeIpv6;

    return RssResult{toeplitz_hash(key, std::span(tuple).first(tuple_len)), hash_type};
}

} // namespace mana_emu::packet
