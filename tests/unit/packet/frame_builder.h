// SPDX-License-Identifier: BSD-3-Clause
// Builds test frames field by field. Checksums are computed here with a deliberately naive
// reference implementation, independent of the library under test.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mana_emu::packet::test
{

struct FrameSpec {
    bool ipv6 = false;
    uint8_t protocol = 6; // TCP
    std::optional<uint16_t> vlan_tci;
    std::array<uint8_t, 4> src4{192, 168, 1, 10};
    std::array<uint8_t, 4> dst4{10, 0, 0, 2};
    std::array<uint8_t, 16> src6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    std::array<uint8_t, 16> dst6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
    uint16_t ip_id = 0x1234;
    uint16_t ipv4_flags_fragment = 0x4000; // DF
    size_t ipv4_options_len = 0;           // multiple of 4
    // IPv6 extension headers to insert before the transport header: (type, total length)
    std::vector<std::pair<uint8_t, size_t>> ipv6_extensions;
    uint16_t src_port = 40000;
    uint16_t dst_port = 80;
    uint32_t seq = 0x10000000;
    uint32_t ack = 0x20000000;
    uint8_t tcp_flags = 0x18;   // PSH|ACK
    size_t tcp_options_len = 0; // multiple of 4
    std::vector<uint8_t> payload;
    bool fill_checksums = true; // IPv4 header and L4 checksums correct
};

std::vector<uint8_t> build_frame(const FrameSpec &spec);

// Straightforward RFC 1071: sum of big-endian words, folded, inverted.
uint16_t reference_checksum(std::span<const uint8_t> bytes);

// Payload bytes 0, 1, 2, ... (mod 251 so the pattern does not align with 16-bit words).
std::vector<uint8_t> pattern_payload(size_t size);

uint16_t get16(std::span<const uint8_t> bytes, size_t offset);
uint32_t get32(std::span<const uint8_t> bytes, size_t offset);
void put16(std::span<uint8_t> bytes, size_t offset, uint16_t value);

} // namespace mana_emu::packet::test
