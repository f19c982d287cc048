// SPDX-License-Identifier: BSD-3-Clause
#include "tso.h"

#include "byte_order.h"
#include "checksum.h"
#include "frame_layout.h"

#include <algorithm>

namespace mana_emu::packet
{
namespace
{

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

// Where the TCP payload ends: the IP length field when it is set and fits, else the frame.
size_t payload_end(std::span<const uint8_t> frame, const FrameLayout &layout)
{
    const bool ipv4 = layout.l3 == FrameLayout::L3::ipv4;
    const size_t length_field = load_be16(frame, layout.l3_offset + (ipv4 ? 2 : 4));
    const size_t end = layout.l3_offset + length_field + (ipv4 ? 0 : kIpv6HeaderLen);
    const size_t headers_end = size_t{layout.l4_offset} + layout.l4_len;
    if (length_field == 0 || end > frame.size() || end < headers_end)
        return frame.size();
    return end;
}

} // namespace

std::vector<std::vector<uint8_t>> segment_tcp(std::span<const uint8_t> frame, uint16_t mss)
{
    if (mss == 0)
        return {};
    const auto layout = parse_frame(frame);
    if (!layout || layout->l3 == FrameLayout::L3::none || layout->l4 != FrameLayout::L4::tcp ||
        layout->ipv4_fragment)
        return {};
    const bool ipv4 = layout->l3 == FrameLayout::L3::ipv4;

    const size_t headers_len = size_t{layout->l4_offset} + layout->l4_len;
    const auto headers = frame.first(headers_len);
    const auto payload = frame.subspan(headers_len, payload_end(frame, *layout) - headers_len);
    const size_t segment_count = std::max<size_t>(1, (payload.size() + mss - 1) / mss);
    // The largest segment must still fit the 16-bit IP length field.
    const size_t largest_ip_length = (ipv4 ? layout->l3_len : layout->l3_len - kIpv6HeaderLen) +
                                     layout->l4_len + std::min<size_t>(mss, payload.size());
    if (largest_ip_length > 0xffff)
        return {};

    const size_t ip = layout->l3_offset;
    const size_t tcp = layout->l4_offset;
    const uint16_t first_id = ipv4 ? load_be16(frame, ip + 4) : 0;
    const uint32_t first_seq = load_be32(frame, tcp + 4);
    const uint8_t flags = frame[tcp + 13];

    std::vector<std::vector<uint8_t>> segments;
    segments.reserve(segment_count);
    for (size_t i = 0; i < segment_count; ++i) {
        const size_t chunk_offset = i * mss;
        const size_t chunk_len = std::min<size_t>(mss, payload.size() - chunk_offset);
        const auto chunk = payload.subspan(chunk_offset, chunk_len);

        std::vector<uint8_t> segment(headers.begin(), headers.end());
        segment.insert(segment.end(), chunk.begin(), chunk.end());
        const std::span<uint8_t> bytes(segment);

        const size_t tcp_len = layout->l4_len + chunk_len;
        if (ipv4) {
            store_be16(bytes, ip + 2, static_cast<uint16_t>(layout->l3_len + tcp_len));
            store_be16(bytes, ip + 4, static_cast<uint16_t>(first_id + i));
            const auto ip_header = bytes.subspan(ip, layout->l3_len);
            store_be16(ip_header, 10, 0);
            store_be16(ip_header, 10, internet_checksum(ip_header));
        } else {
            // Extension headers, if any, are part of the IPv6 payload.
            store_be16(bytes, ip + 4,
                       static_cast<uint16_t>(layout->l3_len - kIpv6HeaderLen + tcp_len));
        }

        store_be32(bytes, tcp + 4, static_cast<uint32_t>(first_seq + chunk_offset));
        uint8_t segment_flags = flags;
        if (i + 1 < segment_count)
            segment_flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
        if (i > 0)
            segment_flags &= static_cast<uint8_t>(~kTcpCwr);
        bytes[tcp + 13] = segment_flags;

        // The posted seed is the pseudo-header sum without length: add this segment's TCP
        // length, then everything from the TCP header on (seed included).
        const uint32_t length_sum = static_cast<uint32_t>(tcp_len);
        store_be16(bytes, tcp + 16, internet_checksum(bytes.subspan(tcp), length_sum));
        segments.push_back(std::move(segment));
    }
    return segments;
}

} // namespace mana_emu::packet
