// SPDX-License-Identifier: BSD-3-Clause
#include "frame_builder.h"

namespace mana_emu::packet::test
{

uint16_t get16(std::span<const uint8_t> bytes, size_t offset)
{
    return static_cast<uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}

uint32_t get32(std::span<const uint8_t> bytes, size_t offset)
{
    return uint32_t{get16(bytes, offset)} << 16 | get16(bytes, offset + 2);
}

void put16(std::span<uint8_t> bytes, size_t offset, uint16_t value)
{
    bytes[offset] = static_cast<uint8_t>(value >> 8);
    bytes[offset + 1] = static_cast<uint8_t>(value);
}

uint16_t reference_checksum(std::span<const uint8_t> bytes)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < bytes.size(); ++i)
        sum += (i % 2 == 0) ? uint64_t{bytes[i]} << 8 : bytes[i];
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

std::vector<uint8_t> pattern_payload(size_t size)
{
    std::vector<uint8_t> payload(size);
    for (size_t i = 0; i < size; ++i)
        payload[i] = static_cast<uint8_t>(i % 251);
    return payload;
}

namespace
{

void append16(std::vector<uint8_t> &out, uint16_t value)
{
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}

void append32(std::vector<uint8_t> &out, uint32_t value)
{
    append16(out, static_cast<uint16_t>(value >> 16));
    append16(out, static_cast<uint16_t>(value));
}

} // namespace

std::vector<uint8_t> build_frame(const FrameSpec &spec)
{
    std::vector<uint8_t> frame = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // destination MAC
                                  0x02, 0x00, 0x00, 0x00, 0x00, 0x01}; // source MAC
    if (spec.vlan_tci) {
        append16(frame, 0x8100);
        append16(frame, *spec.vlan_tci);
    }
    append16(frame, spec.ipv6 ? 0x86dd : 0x0800);

    // Transport header + payload first, so that the IP lengths are known.
    std::vector<uint8_t> l4;
    if (spec.protocol == 6) {
        append16(l4, spec.src_port);
        append16(l4, spec.dst_port);
        append32(l4, spec.seq);
        append32(l4, spec.ack);
        l4.push_back(static_cast<uint8_t>(((20 + spec.tcp_options_len) / 4) << 4));
        l4.push_back(spec.tcp_flags);
        append16(l4, 0xffff); // window
        append16(l4, 0);      // checksum
        append16(l4, 0);      // urgent pointer
        for (size_t i = 0; i < spec.tcp_options_len; ++i)
            l4.push_back(1); // NOP
    } else if (spec.protocol == 17) {
        append16(l4, spec.src_port);
        append16(l4, spec.dst_port);
        append16(l4, static_cast<uint16_t>(8 + spec.payload.size()));
        append16(l4, 0);
    }
    l4.insert(l4.end(), spec.payload.begin(), spec.payload.end());

    // Pseudo-header, summed naively into a byte vector.
    std::vector<uint8_t> pseudo;
    const size_t l3_start = frame.size();
    if (!spec.ipv6) {
        const size_t header_len = 20 + spec.ipv4_options_len;
        frame.push_back(static_cast<uint8_t>(0x40 | header_len / 4));
        frame.push_back(0); // DSCP/ECN
        append16(frame, static_cast<uint16_t>(header_len + l4.size()));
        append16(frame, spec.ip_id);
        append16(frame, spec.ipv4_flags_fragment);
        frame.push_back(64); // TTL
        frame.push_back(spec.protocol);
        append16(frame, 0); // checksum
        frame.insert(frame.end(), spec.src4.begin(), spec.src4.end());
        frame.insert(frame.end(), spec.dst4.begin(), spec.dst4.end());
        for (size_t i = 0; i < spec.ipv4_options_len; ++i)
            frame.push_back(1); // NOP option
        if (spec.fill_checksums)
            put16(frame, l3_start + 10,
                  reference_checksum(std::span(frame).subspan(l3_start, header_len)));
        pseudo.insert(pseudo.end(), spec.src4.begin(), spec.src4.end());
        pseudo.insert(pseudo.end(), spec.dst4.begin(), spec.dst4.end());
        pseudo.push_back(0);
        pseudo.push_back(spec.protocol);
        append16(pseudo, static_cast<uint16_t>(l4.size()));
    } else {
        size_t extensions_len = 0;
        for (const auto &extension : spec.ipv6_extensions)
            extensions_len += extension.second;
        append32(frame, 0x60000000);
        append16(frame, static_cast<uint16_t>(extensions_len + l4.size()));
        frame.push_back(spec.ipv6_extensions.empty() ? spec.protocol
                                                     : spec.ipv6_extensions[0].first);
        frame.push_back(64); // hop limit
        frame.insert(frame.end(), spec.src6.begin(), spec.src6.end());
        frame.insert(frame.end(), spec.dst6.begin(), spec.dst6.end());
        for (size_t i = 0; i < spec.ipv6_extensions.size(); ++i) {
            const auto [type, length] = spec.ipv6_extensions[i];
            const uint8_t next = i + 1 < spec.ipv6_extensions.size()
                                     ? spec.ipv6_extensions[i + 1].first
                                     : spec.protocol;
            frame.push_back(next);
            frame.push_back(type == 44 ? 0 : static_cast<uint8_t>(length / 8 - 1));
            frame.resize(frame.size() + length - 2, 0);
        }
        pseudo.insert(pseudo.end(), spec.src6.begin(), spec.src6.end());
        pseudo.insert(pseudo.end(), spec.dst6.begin(), spec.dst6.end());
        append32(pseudo, static_cast<uint32_t>(l4.size()));
        append32(pseudo, spec.protocol);
    }

    if (spec.fill_checksums && (spec.protocol == 6 || spec.protocol == 17)) {
        std::vector<uint8_t> covered = pseudo;
        covered.insert(covered.end(), l4.begin(), l4.end());
        uint16_t checksum = reference_checksum(covered);
        if (spec.protocol == 17 && checksum == 0)
            checksum = 0xffff;
        put16(l4, spec.protocol == 6 ? 16 : 6, checksum);
    }
    frame.insert(frame.end(), l4.begin(), l4.end());
    return frame;
}

} // namespace mana_emu::packet::test
