/* SPDX-License-Identifier: BSD-3-Clause */
// TX client OOBs ("v2"): the 8-byte short form and the 24-byte long form (format 1),
// which adds VLAN insertion and encapsulation fields.
#pragma once

#include "bits.h"

#include <cstddef>
#include <cstdint>

namespace mana::gdma
{

enum class TxPacketFormat : uint8_t { short_oob = 0, long_oob = 1 };

struct TxShortOobFields {
    TxPacketFormat packet_format = TxPacketFormat::short_oob;
    bool outer_ipv4 = false;
    bool outer_ipv6 = false;
    bool compute_ip_csum = false;
    bool compute_tcp_csum = false;
    bool compute_udp_csum = false;
    bool suppress_cqe = false;
    uint32_t vcq_number = 0;        // the TX CQ id (24 bits)
    uint16_t transport_offset = 0;  // l2_len + l3_len (10 bits)
    uint16_t vsq_frame = 0;         // SQ id bits 10-23 (14 bits)
    uint8_t short_vport_offset = 0; // tx_vp_offset from manadv_init_obj

    friend constexpr bool operator==(const TxShortOobFields &, const TxShortOobFields &) = default;
};

// The VSQ frame number of an SQ: the id bits above the low 10.
constexpr uint16_t vsq_frame_of(uint32_t sq_id)
{
    return static_cast<uint16_t>((sq_id >> 10) & 0x3FFF);
}

struct TxShortOob {
    uint32_t word[2];

    static constexpr TxShortOob encode(const TxShortOobFields &f)
    {
        return TxShortOob{{
            put_bits(static_cast<uint32_t>(f.packet_format), 0, 2) | put_flag(f.outer_ipv4, 2) |
                put_flag(f.outer_ipv6, 3) | put_flag(f.compute_ip_csum, 4) |
                put_flag(f.compute_tcp_csum, 5) | put_flag(f.compute_udp_csum, 6) |
                put_flag(f.suppress_cqe, 7) | put_bits(f.vcq_number, 8, 24),
            put_bits(f.transport_offset, 0, 10) | put_bits(f.vsq_frame, 10, 14) |
                put_bits(f.short_vport_offset, 24, 8),
        }};
    }

    constexpr TxShortOobFields decode() const
    {
        return TxShortOobFields{
            .packet_format = static_cast<TxPacketFormat>(get_bits(word[0], 0, 2)),
            .outer_ipv4 = get_flag(word[0], 2),
            .outer_ipv6 = get_flag(word[0], 3),
            .compute_ip_csum = get_flag(word[0], 4),
            .compute_tcp_csum = get_flag(word[0], 5),
            .compute_udp_csum = get_flag(word[0], 6),
            .suppress_cqe = get_flag(word[0], 7),
            .vcq_number = get_bits(word[0], 8, 24),
            .transport_offset = static_cast<uint16_t>(get_bits(word[1], 0, 10)),
            .vsq_frame = static_cast<uint16_t>(get_bits(word[1], 10, 14)),
            .short_vport_offset = static_cast<uint8_t>(get_bits(word[1], 24, 8)),
        };
    }
};
static_assert(sizeof(TxShortOob) == 8);

struct TxLongOobFields {
    bool encapsulated = false;
    bool inner_ipv6 = false;
    bool inner_tcp_options = false;
    bool inject_vlan = false;
    uint8_t pcp = 0; // 3 bits
    bool dei = false;
    uint16_t vlan_id = 0;            // 12 bits
    uint16_t inner_frame_offset = 0; // 10 bits
    uint8_t inner_ip_rel_offset = 0; // 6 bits
    uint16_t long_vport_offset = 0;  // 12 bits

    friend constexpr bool operator==(const TxLongOobFields &, const TxLongOobFields &) = default;
};

// Short OOB followed by the long extension: 24 bytes in the WQE.
struct TxLongOob {
    TxShortOob short_part;
    uint32_t word2;
    uint32_t word3;
    uint32_t reserved[2];

    static constexpr TxLongOob encode(TxShortOobFields s, const TxLongOobFields &l)
    {
        s.packet_format = TxPacketFormat::long_oob;
        return TxLongOob{
            .short_part = TxShortOob::encode(s),
            .word2 = put_flag(l.encapsulated, 0) | put_flag(l.inner_ipv6, 1) |
                     put_flag(l.inner_tcp_options, 2) | put_flag(l.inject_vlan, 3) |
                     put_bits(l.pcp, 16, 3) | put_flag(l.dei, 19) | put_bits(l.vlan_id, 20, 12),
            .word3 = put_bits(l.inner_frame_offset, 0, 10) |
                     put_bits(l.inner_ip_rel_offset, 10, 6) | put_bits(l.long_vport_offset, 16, 12),
            .reserved = {0, 0},
        };
    }

    constexpr TxLongOobFields decode_long() const
    {
        return TxLongOobFields{
            .encapsulated = get_flag(word2, 0),
            .inner_ipv6 = get_flag(word2, 1),
            .inner_tcp_options = get_flag(word2, 2),
            .inject_vlan = get_flag(word2, 3),
            .pcp = static_cast<uint8_t>(get_bits(word2, 16, 3)),
            .dei = get_flag(word2, 19),
            .vlan_id = static_cast<uint16_t>(get_bits(word2, 20, 12)),
            .inner_frame_offset = static_cast<uint16_t>(get_bits(word3, 0, 10)),
            .inner_ip_rel_offset = static_cast<uint8_t>(get_bits(word3, 10, 6)),
            .long_vport_offset = static_cast<uint16_t>(get_bits(word3, 16, 12)),
        };
    }
};
static_assert(sizeof(TxLongOob) == 24);
static_assert(offsetof(TxLongOob, word2) == 8);

} // namespace mana::gdma
