// SPDX-License-Identifier: BSD-3-Clause
// Internet (RFC 1071) checksums, pseudo-header sums and the RX checksum verdicts.
//
// Convention: every 16-bit value here is the numeric value of a big-endian field, i.e.
// what load_be16() reads and store_be16() writes. (DPDK's functions return the same bits
// in the CPU's order of the in-memory field, so on x86 rte_ipv4_phdr_cksum(h, 0) ==
// bswap16(ipv4_pseudo_header_checksum(h)).)
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace mana_emu::packet
{

// Ones'-complement sum of `data` as big-endian 16-bit words (an odd trailing byte is the high
// half of a zero-padded word), added to `initial`. Not inverted and not necessarily folded to
// 16 bits (the value is only meaningful modulo 0xffff, as fold_sum reads it): partial sums
// from several ranges can be added before folding. Ranges after the first must start at an
// even offset of the checksummed whole.
uint32_t ones_complement_sum(std::span<const uint8_t> data, uint32_t initial = 0);

// Folds a 32-bit partial sum into 16 bits with end-around carry (not inverted).
constexpr uint16_t fold_sum(uint32_t sum)
{
    uint64_t wide = sum;
    while (wide >> 16)
        wide = (wide & 0xffff) + (wide >> 16);
    return static_cast<uint16_t>(wide);
}

// The value to store in a checksum field: ~fold(initial + sum(data)). A range that already
// contains a correct checksum gives 0.
uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial = 0);

// Folded, non-inverted pseudo-header sums, as software seeds an L4 checksum field for
// offload. `l4_length` is the TCP/UDP header plus payload length, 0 for TSO.
uint16_t ipv4_pseudo_header_sum(std::span<const uint8_t, 4> src, std::span<const uint8_t, 4> dst,
                                uint8_t protocol, uint32_t l4_length);
uint16_t ipv6_pseudo_header_sum(std::span<const uint8_t, 16> src, std::span<const uint8_t, 16> dst,
                                uint8_t next_header, uint32_t l4_length);

// rte_ipv4_phdr_cksum semantics on an IPv4 header (at least 20 bytes; returns 0 if
// shorter): protocol from the header, length = total length - IHL*4 when `with_length`,
// else 0 (the TSO seed).
uint16_t ipv4_pseudo_header_checksum(std::span<const uint8_t> ipv4_header, bool with_length = true);
// rte_ipv6_phdr_cksum semantics on an IPv6 header (at least 40 bytes; returns 0 if
// shorter): next header and payload length from the fixed header (extension headers are
// not walked, as in DPDK), length 0 when !with_length.
uint16_t ipv6_pseudo_header_checksum(std::span<const uint8_t> ipv6_header, bool with_length = true);

// What the device reports in an RX completion (spec §4): for each layer present, exactly
// one of ok/failed is set; layers absent (or not checkable, e.g. IP fragments for L4)
// leave both false.
struct RxChecksumStatus {
    bool ip_ok = false, ip_failed = false;
    bool tcp_ok = false, tcp_failed = false;
    bool udp_ok = false, udp_failed = false;
};

// Validates the IPv4 header checksum and the TCP/UDP checksum (over IPv4 or IPv6) of a
// frame. UDP over IPv4 with checksum 0 (none computed) is ok; over IPv6 it is failed. An
// L4 payload whose IP length field is inconsistent with the frame counts as failed.
RxChecksumStatus validate_checksums(std::span<const uint8_t> frame);

} // namespace mana_emu::packet
