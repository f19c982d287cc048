/* SPDX-License-Identifier: BSD-3-Clause */
// The 8-byte DMA header that starts every work queue entry.
#pragma once

#include "bits.h"

#include <cstdint>

namespace mana::gdma
{

struct DmaHeaderFields {
    uint8_t last_v_bytes = 0;      // TSO: size of SGE 0 (the header SGE)
    uint8_t num_sgl_entries = 0;   // including a dummy SGE
    uint8_t inline_oob_dwords = 0; // 2 (8-byte OOB) or 6 (24-byte OOB)
    bool client_oob_in_sgl = false;
    bool consume_credit = false;
    bool fence = false;
    uint16_t client_data_unit = 0; // SQ only: TSO MSS (14 bits)
    bool check_sn = false;
    bool sgl_direct = false;

    friend constexpr bool operator==(const DmaHeaderFields &, const DmaHeaderFields &) = default;
};

struct DmaHeader {
    uint32_t word0;
    uint32_t word1;

    static constexpr DmaHeader encode(const DmaHeaderFields &f)
    {
        return DmaHeader{
            .word0 = put_bits(f.last_v_bytes, 24, 8),
            .word1 = put_bits(f.num_sgl_entries, 0, 8) | put_bits(f.inline_oob_dwords, 8, 3) |
                     put_flag(f.client_oob_in_sgl, 11) | put_flag(f.consume_credit, 12) |
                     put_flag(f.fence, 13) | put_bits(f.client_data_unit, 16, 14) |
                     put_flag(f.check_sn, 30) | put_flag(f.sgl_direct, 31),
        };
    }

    constexpr DmaHeaderFields decode() const
    {
        return DmaHeaderFields{
            .last_v_bytes = static_cast<uint8_t>(get_bits(word0, 24, 8)),
            .num_sgl_entries = static_cast<uint8_t>(get_bits(word1, 0, 8)),
            .inline_oob_dwords = static_cast<uint8_t>(get_bits(word1, 8, 3)),
            .client_oob_in_sgl = get_flag(word1, 11),
            .consume_credit = get_flag(word1, 12),
            .fence = get_flag(word1, 13),
            .client_data_unit = static_cast<uint16_t>(get_bits(word1, 16, 14)),
            .check_sn = get_flag(word1, 30),
            .sgl_direct = get_flag(word1, 31),
        };
    }

    // Reserved bits the device expects to be zero (word 0 bits 0-23, word 1 bits 14-15).
    constexpr bool reserved_bits_clear() const
    {
        return get_bits(word0, 0, 24) == 0 && get_bits(word1, 14, 2) == 0;
    }
};
static_assert(sizeof(DmaHeader) == 8);

} // namespace mana::gdma
