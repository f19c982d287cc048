/* SPDX-License-Identifier: BSD-3-Clause */
// Completion queue entries: 60 bytes of completion OOB and a trailer naming the work
// queue and carrying the owner bits; CQE types and the common completion header.
#pragma once

#include "bits.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace mana::gdma
{

enum class CqeType : uint8_t {
    invalid = 0,
    rx_ok = 1,
    rx_coalesced = 2,
    rx_object_fence = 3,
    rx_truncated = 4,
    tx_ok = 32,
    tx_sa_drop = 33,
    tx_mtu_drop = 34,
    tx_invalid_oob = 35,
    tx_invalid_ethertype = 36,
    tx_header_processing_error = 37,
    tx_vf_disabled = 38,
    tx_vport_index_out_of_range = 39,
    tx_vport_disabled = 40,
    tx_vlan_tagging_violation = 41,
};

constexpr bool is_tx_error(CqeType type)
{
    return static_cast<uint8_t>(type) > static_cast<uint8_t>(CqeType::tx_ok) &&
           static_cast<uint8_t>(type) <= static_cast<uint8_t>(CqeType::tx_vlan_tagging_violation);
}

inline constexpr uint32_t kCqeBytes = 64;
inline constexpr uint32_t kCqeOobWords = 15;
inline constexpr uint32_t kOwnerBitsMask = 7;

// First dword of every completion OOB.
struct CompletionHeaderFields {
    CqeType cqe_type = CqeType::invalid;
    uint8_t client_type = 0; // 2 bits
    uint32_t vendor_err = 0; // 24 bits

    friend constexpr bool operator==(const CompletionHeaderFields &,
                                     const CompletionHeaderFields &) = default;
};

constexpr uint32_t encode_completion_header(const CompletionHeaderFields &f)
{
    return put_bits(static_cast<uint32_t>(f.cqe_type), 0, 6) | put_bits(f.client_type, 6, 2) |
           put_bits(f.vendor_err, 8, 24);
}

constexpr CompletionHeaderFields decode_completion_header(uint32_t word)
{
    return CompletionHeaderFields{
        .cqe_type = static_cast<CqeType>(get_bits(word, 0, 6)),
        .client_type = static_cast<uint8_t>(get_bits(word, 6, 2)),
        .vendor_err = get_bits(word, 8, 24),
    };
}

struct CqeTrailerFields {
    uint32_t wq_num = 0; // 24 bits
    bool is_sq = false;
    uint8_t owner_bits = 0; // 3 bits

    friend constexpr bool operator==(const CqeTrailerFields &, const CqeTrailerFields &) = default;
};

constexpr uint32_t encode_cqe_trailer(const CqeTrailerFields &f)
{
    return put_bits(f.wq_num, 0, 24) | put_flag(f.is_sq, 24) | put_bits(f.owner_bits, 29, 3);
}

constexpr CqeTrailerFields decode_cqe_trailer(uint32_t word)
{
    return CqeTrailerFields{
        .wq_num = get_bits(word, 0, 24),
        .is_sq = get_flag(word, 24),
        .owner_bits = static_cast<uint8_t>(get_bits(word, 29, 3)),
    };
}

struct alignas(kCqeBytes) Cqe {
    std::array<uint32_t, kCqeOobWords> oob;
    uint32_t trailer;

    constexpr uint8_t owner_bits() const { return static_cast<uint8_t>(trailer >> 29); }
    constexpr CqeType type() const { return static_cast<CqeType>(oob[0] & 0x3F); }
};
static_assert(sizeof(Cqe) == kCqeBytes);
static_assert(offsetof(Cqe, trailer) == 60);

} // namespace mana::gdma
