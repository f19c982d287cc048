/* SPDX-License-Identifier: BSD-3-Clause */
// Doorbell values and their offsets in the doorbell page: the 64-bit form and the
// 32-bit "short" form used where 64-bit stores are not atomic.
#pragma once

#include "bits.h"

#include <cstdint>

namespace mana::gdma
{

enum class DoorbellQueue { sq, rq, cq, eq };

namespace doorbell_offset
{
inline constexpr uint32_t sq = 0x000;
inline constexpr uint32_t rq = 0x400;
inline constexpr uint32_t cq = 0x800;
inline constexpr uint32_t eq = 0xFF8;
inline constexpr uint32_t sq_short = 0x010;
inline constexpr uint32_t rq_short = 0x410;
inline constexpr uint32_t cq_short = 0x810;
inline constexpr uint32_t eq_short = 0xFF0;
} // namespace doorbell_offset

inline constexpr uint32_t kDoorbellPageBytes = 4096;

constexpr uint32_t doorbell_offset_of(DoorbellQueue q)
{
    switch (q) {
    case DoorbellQueue::sq:
        return doorbell_offset::sq;
    case DoorbellQueue::rq:
        return doorbell_offset::rq;
    case DoorbellQueue::cq:
        return doorbell_offset::cq;
    case DoorbellQueue::eq:
        return doorbell_offset::eq;
    }
    return 0;
}

// SQ: tail is the byte position of the head (head_bu * 32), free-running.
constexpr uint64_t sq_doorbell(uint32_t sq_id, uint32_t tail_bytes)
{
    return put_bits(sq_id, 0, 24) | (static_cast<uint64_t>(tail_bytes) << 32);
}

// RQ: as SQ, with the wqe_cnt byte that must stay 0.
constexpr uint64_t rq_doorbell(uint32_t rq_id, uint32_t tail_bytes)
{
    return put_bits(rq_id, 0, 24) | (static_cast<uint64_t>(tail_bytes) << 32);
}

// CQ: the driver's head modulo count * 8 (the owner-bit period), and the arm request.
constexpr uint64_t cq_doorbell(uint32_t cq_id, uint32_t head, uint32_t count, bool arm)
{
    const uint32_t tail = head % (count * 8U);
    return put_bits(cq_id, 0, 24) |
           (static_cast<uint64_t>(put_bits(tail, 0, 31) | put_flag(arm, 31)) << 32);
}

constexpr uint64_t eq_doorbell(uint16_t eq_id, uint32_t tail, bool arm)
{
    return put_bits(eq_id, 0, 16) |
           (static_cast<uint64_t>(put_bits(tail, 0, 31) | put_flag(arm, 31)) << 32);
}

struct DoorbellFields {
    uint32_t id = 0;
    uint8_t wqe_cnt = 0;
    uint32_t tail = 0;
    bool arm = false;
};

// Reading a doorbell back (the device side). For SQ/RQ, `tail` is all 32 upper bits;
// for CQ/EQ the arm bit is split off.
constexpr DoorbellFields decode_doorbell(DoorbellQueue q, uint64_t value)
{
    const auto low = static_cast<uint32_t>(value);
    const auto high = static_cast<uint32_t>(value >> 32);
    switch (q) {
    case DoorbellQueue::sq:
    case DoorbellQueue::rq:
        return {.id = get_bits(low, 0, 24),
                .wqe_cnt = static_cast<uint8_t>(get_bits(low, 24, 8)),
                .tail = high,
                .arm = false};
    case DoorbellQueue::cq:
        return {.id = get_bits(low, 0, 24),
                .wqe_cnt = 0,
                .tail = get_bits(high, 0, 31),
                .arm = get_flag(high, 31)};
    case DoorbellQueue::eq:
        return {.id = get_bits(low, 0, 16),
                .wqe_cnt = 0,
                .tail = get_bits(high, 0, 31),
                .arm = get_flag(high, 31)};
    }
    return {};
}

// Short form: 16-bit tail increment (bytes for SQ/RQ, entries for CQ/EQ), 12-bit id,
// arm in bit 31 (CQ/EQ only).
inline constexpr uint32_t kShortDoorbellMaxIncrement = 0xFFFF;

constexpr uint32_t short_doorbell(uint32_t id, uint32_t tail_increment, bool arm = false)
{
    return put_bits(tail_increment, 0, 16) | put_bits(id, 16, 12) | put_flag(arm, 31);
}

constexpr uint32_t short_doorbell_offset_of(DoorbellQueue q)
{
    switch (q) {
    case DoorbellQueue::sq:
        return doorbell_offset::sq_short;
    case DoorbellQueue::rq:
        return doorbell_offset::rq_short;
    case DoorbellQueue::cq:
        return doorbell_offset::cq_short;
    case DoorbellQueue::eq:
        return doorbell_offset::eq_short;
    }
    return 0;
}

} // namespace mana::gdma
