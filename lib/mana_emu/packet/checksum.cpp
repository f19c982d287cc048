// SPDX-License-Identifier: BSD-3-Clause
#include "checksum.h"

#include "byte_order.h"
#include "frame_layout.h"

#include <bit>
#include <cstring>
#include <optional>

namespace mana_emu::packet
{

uint32_t ones_complement_sum(std::span<const uint8_t> data, uint32_t initial)
{
    // The ones'-complement sum does not depend on byte order up to a final byte swap
    // (RFC 1071, 2.B), so the words are added as the host loads them, eight bytes per step
    // (in 32-bit halves, so the 64-bit accumulator cannot overflow), instead of assembling
    // each big-endian 16-bit word: the RX model validates every frame's checksums.
    uint64_t sum = 0;
    const uint8_t *p = data.data();
    size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;
        std::memcpy(&word, p, sizeof(word));
        sum += (word & 0xffffffffU) + (word >> 32);
    }
    if (n >= 4) {
        uint32_t word;
        std::memcpy(&word, p, sizeof(word));
        sum += word;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t word;
        std::memcpy(&word, p, sizeof(word));
        sum += word;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        // The high half of a zero-padded big-endian word: where the host puts that byte.
        sum += std::endian::native == std::endian::little ? uint64_t{*p} : uint64_t{*p} << 8;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint64_t total = initial;
    total += std::endian::native == std::endian::little
                 ? __builtin_bswap16(static_cast<uint16_t>(sum))
                 : sum;
    while (total >> 32)
        total = (total & 0xffffffff) + (total >> 32);
    return static_cast<uint32_t>(total);
}

uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial)
{
    return static_cast<uint16_t>(~fold_sum(ones_complement_sum(data, initial)));
}

namespace
{

// The pseudo-header sum of either IP version: the addresses, then the protocol (next
// header) and the L4 length as 16-bit words.
uint16_t pseudo_header_sum(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                           uint8_t protocol, uint32_t l4_length)
{
    uint32_t sum = ones_complement_sum(src);
    sum = ones_complement_sum(dst, sum);
    sum += protocol;
    sum += l4_length >> 16;
    sum += l4_length & 0xffff;
    return fold_sum(sum);
}

} // namespace

uint16_t ipv4_pseudo_header_sum(std::span<const uint8_t, 4> src, std::span<const uint8_t, 4> dst,
                                uint8_t protocol, uint32_t l4_length)
{
    return pseudo_header_sum(src, dst, protocol, l4_length);
}

uint16_t ipv6_pseudo_header_sum(std::span<const uint8_t, 16> src, std::span<const uint8_t, 16> dst,
                                uint8_t next_header, uint32_t l4_length)
{
    return pseudo_header_sum(src, dst, next_header, l4_length);
}

uint16_t ipv4_pseudo_header_checksum(std::span<const uint8_t> ipv4_header, bool with_length)
{
    if (ipv4_header.size() < kIpv4MinHeaderLen)
        return 0;
    uint32_t length = 0;
    if (with_length) {
        const uint32_t header_len = uint32_t{ipv4_header[0] & 0x0fu} * 4;
        const uint32_t total_len = load_be16(ipv4_header, 2);
        // Like DPDK, no sanity check beyond not going negative.
        length = total_len > header_len ? total_len - header_len : 0;
    }
    return ipv4_pseudo_header_sum(ipv4_header.subspan<12, 4>(), ipv4_header.subspan<16, 4>(),
                                  ipv4_header[9], length);
}

uint16_t ipv6_pseudo_header_checksum(std::span<const uint8_t> ipv6_header, bool with_length)
{
    if (ipv6_header.size() < kIpv6HeaderLen)
        return 0;
    const uint32_t length = with_length ? load_be16(ipv6_header, 4) : 0;
    return ipv6_pseudo_header_sum(ipv6_header.subspan<8, 16>(), ipv6_header.subspan<24, 16>(),
                                  ipv6_header[6], length);
}

namespace
{

// The L4 segment (header + payload) of a parsed frame as bounded by the IP length field,
// which excludes Ethernet padding; nullopt if that length disagrees with the frame.
std::optional<std::span<const uint8_t>> l4_segment(std::span<const uint8_t> frame,
                                                   const FrameLayout &layout)
{
    size_t l3_end = 0;
    if (layout.l3 == FrameLayout::L3::ipv4)
        l3_end = size_t{layout.l3_offset} + load_be16(frame, layout.l3_offset + 2);
    else
        l3_end = size_t{layout.l3_offset} + kIpv6HeaderLen + load_be16(frame, layout.l3_offset + 4);
    if (l3_end > frame.size() || l3_end < size_t{layout.l4_offset} + layout.l4_len)
        return std::nullopt;
    return frame.subspan(layout.l4_offset, l3_end - layout.l4_offset);
}

// Sum of the pseudo-header for `segment` of the given protocol.
uint32_t pseudo_header_for(std::span<const uint8_t> frame, const FrameLayout &layout,
                           uint8_t protocol, size_t segment_len)
{
    const auto ip = frame.subspan(layout.l3_offset);
    if (layout.l3 == FrameLayout::L3::ipv4)
        return ipv4_pseudo_header_sum(ip.subspan<12, 4>(), ip.subspan<16, 4>(), protocol,
                                      static_cast<uint32_t>(segment_len));
    return ipv6_pseudo_header_sum(ip.subspan<8, 16>(), ip.subspan<24, 16>(), protocol,
                                  static_cast<uint32_t>(segment_len));
}

} // namespace

RxChecksumStatus validate_checksums(std::span<const uint8_t> frame)
{
    RxChecksumStatus status{};
    const auto layout = parse_frame(frame);
    if (!layout || layout->l3 == FrameLayout::L3::none)
        return status;

    if (layout->l3 == FrameLayout::L3::ipv4) {
        const bool ok = internet_checksum(frame.subspan(layout->l3_offset, layout->l3_len)) == 0;
        status.ip_ok = ok;
        status.ip_failed = !ok;
    }

    const bool is_tcp = layout->l4 == FrameLayout::L4::tcp;
    const bool is_udp = layout->l4 == FrameLayout::L4::udp;
    if ((!is_tcp && !is_udp) || layout->ipv4_fragment)
        return status;

    bool ok = false;
    if (const auto segment = l4_segment(frame, *layout)) {
        if (is_udp && load_be16(*segment, 6) == 0) {
            // Checksum 0 means "not computed", allowed over IPv4 only (RFC 768 / 8200).
            ok = layout->l3 == FrameLayout::L3::ipv4;
        } else {
            const uint8_t protocol = is_tcp ? kIpProtoTcp : kIpProtoUdp;
            const uint32_t pseudo = pseudo_header_for(frame, *layout, protocol, segment->size());
            ok = internet_checksum(*segment, pseudo) == 0;
        }
    }
    if (is_tcp) {
        status.tcp_ok = ok;
        status.tcp_failed = !ok;
    } else {
        status.udp_ok = ok;
        status.udp_failed = !ok;
    }
    return status;
}

} // namespace mana_emu::packet
