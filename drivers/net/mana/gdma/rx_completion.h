/* SPDX-License-Identifier: BSD-3-Clause */
// The RX completion OOB: per-CQE flags (VLAN, checksums, hash type) and up to four
// per-packet infos (a coalesced CQE carries several packets; length 0 ends the list).
#pragma once

#include "bits.h"
#include "cqe.h"

#include <array>
#include <bit>
#include <cstdint>

namespace mana::gdma
{

inline constexpr uint32_t kRxPacketsPerCqe = 4;

// NDIS hash-type bits reported in the RX OOB.
namespace rx_hash_type
{
inline constexpr uint16_t ipv4 = 1U << 0;
inline constexpr uint16_t tcp_ipv4 = 1U << 1;
inline constexpr uint16_t udp_ipv4 = 1U << 2;
inline constexpr uint16_t ipv6 = 1U << 3;
inline constexpr uint16_t tcp_ipv6 = 1U << 4;
inline constexpr uint16_t udp_ipv6 = 1U << 5;
inline constexpr uint16_t ipv6_ex = 1U << 6;
inline constexpr uint16_t tcp_ipv6_ex = 1U << 7;
inline constexpr uint16_t udp_ipv6_ex = 1U << 8;
inline constexpr uint16_t l4_any =
    tcp_ipv4 | udp_ipv4 | tcp_ipv6 | udp_ipv6 | tcp_ipv6_ex | udp_ipv6_ex;
inline constexpr uint16_t l3_any = ipv4 | ipv6 | ipv6_ex;
} // namespace rx_hash_type

struct RxPacketInfo {
    uint16_t length = 0; // 0: no packet in this slot
    uint32_t hash = 0;

    friend constexpr bool operator==(const RxPacketInfo &, const RxPacketInfo &) = default;
};

struct RxCompletionFields {
    CompletionHeaderFields header;
    uint16_t vlan_id = 0; // 12 bits
    bool vlan_present = false;
    bool outer_ip_csum_ok = false;
    bool outer_ip_csum_failed = false;
    uint16_t hash_type = 0; // 9 bits, rx_hash_type
    bool ip_csum_ok = false;
    bool ip_csum_failed = false;
    bool tcp_csum_ok = false;
    bool tcp_csum_failed = false;
    bool udp_csum_ok = false;
    bool udp_csum_failed = false;
    std::array<RxPacketInfo, kRxPacketsPerCqe> packets{};
    uint32_t received_wqe_offset = 0;

    friend constexpr bool operator==(const RxCompletionFields &,
                                     const RxCompletionFields &) = default;
};

// OOB word indices.
namespace rx_oob_word
{
inline constexpr unsigned flags = 1;
constexpr unsigned packet_length(unsigned i)
{
    return 2 + 3 * i;
}
constexpr unsigned packet_hash(unsigned i)
{
    return 4 + 3 * i;
}
inline constexpr unsigned received_wqe_offset = 14;
} // namespace rx_oob_word

constexpr std::array<uint32_t, kCqeOobWords> encode_rx_completion(const RxCompletionFields &f)
{
    std::array<uint32_t, kCqeOobWords> w{};
    w[0] = encode_completion_header(f.header);
    w[rx_oob_word::flags] = put_bits(f.vlan_id, 0, 12) | put_flag(f.vlan_present, 12) |
                            put_flag(f.outer_ip_csum_ok, 13) |
                            put_flag(f.outer_ip_csum_failed, 14) | put_bits(f.hash_type, 16, 9) |
                            put_flag(f.ip_csum_ok, 25) | put_flag(f.ip_csum_failed, 26) |
                            put_flag(f.tcp_csum_ok, 27) | put_flag(f.tcp_csum_failed, 28) |
                            put_flag(f.udp_csum_ok, 29) | put_flag(f.udp_csum_failed, 30);
    for (unsigned i = 0; i < kRxPacketsPerCqe; ++i) {
        w[rx_oob_word::packet_length(i)] = put_bits(f.packets[i].length, 0, 16);
        w[rx_oob_word::packet_hash(i)] = f.packets[i].hash;
    }
    w[rx_oob_word::received_wqe_offset] = f.received_wqe_offset;
    return w;
}

// Bits of the flags word, for decoding on the fast path without unpacking everything:
// taken from the encoder, so that the layout is written once.
namespace rx_flag
{
// The flags-word bits of one field set to `value` (all ones: the field's mask).
template <typename T>
constexpr uint32_t of(T RxCompletionFields::*field, T value)
{
    RxCompletionFields f{};
    f.*field = value;
    return encode_rx_completion(f)[rx_oob_word::flags];
}
inline constexpr uint32_t vlan_present = of(&RxCompletionFields::vlan_present, true);
inline constexpr uint32_t outer_ip_csum_ok = of(&RxCompletionFields::outer_ip_csum_ok, true);
inline constexpr uint32_t outer_ip_csum_failed =
    of(&RxCompletionFields::outer_ip_csum_failed, true);
inline constexpr uint32_t hash_type_mask = of<uint16_t>(&RxCompletionFields::hash_type, 0x1FF);
inline constexpr unsigned hash_type_shift = std::countr_zero(hash_type_mask);
inline constexpr uint32_t ip_csum_ok = of(&RxCompletionFields::ip_csum_ok, true);
inline constexpr uint32_t ip_csum_failed = of(&RxCompletionFields::ip_csum_failed, true);
inline constexpr uint32_t tcp_csum_ok = of(&RxCompletionFields::tcp_csum_ok, true);
inline constexpr uint32_t tcp_csum_failed = of(&RxCompletionFields::tcp_csum_failed, true);
inline constexpr uint32_t udp_csum_ok = of(&RxCompletionFields::udp_csum_ok, true);
inline constexpr uint32_t udp_csum_failed = of(&RxCompletionFields::udp_csum_failed, true);
inline constexpr uint32_t vlan_id_mask = of<uint16_t>(&RxCompletionFields::vlan_id, 0xFFF);
} // namespace rx_flag

constexpr RxCompletionFields decode_rx_completion(const std::array<uint32_t, kCqeOobWords> &w)
{
    const uint32_t flags = w[rx_oob_word::flags];
    RxCompletionFields f{
        .header = decode_completion_header(w[0]),
        .vlan_id = static_cast<uint16_t>(get_bits(flags, 0, 12)),
        .vlan_present = get_flag(flags, 12),
        .outer_ip_csum_ok = get_flag(flags, 13),
        .outer_ip_csum_failed = get_flag(flags, 14),
        .hash_type = static_cast<uint16_t>(get_bits(flags, 16, 9)),
        .ip_csum_ok = get_flag(flags, 25),
        .ip_csum_failed = get_flag(flags, 26),
        .tcp_csum_ok = get_flag(flags, 27),
        .tcp_csum_failed = get_flag(flags, 28),
        .udp_csum_ok = get_flag(flags, 29),
        .udp_csum_failed = get_flag(flags, 30),
        .packets = {},
        .received_wqe_offset = w[rx_oob_word::received_wqe_offset],
    };
    for (unsigned i = 0; i < kRxPacketsPerCqe; ++i) {
        f.packets[i].length =
            static_cast<uint16_t>(get_bits(w[rx_oob_word::packet_length(i)], 0, 16));
        f.packets[i].hash = w[rx_oob_word::packet_hash(i)];
    }
    return f;
}

} // namespace mana::gdma
