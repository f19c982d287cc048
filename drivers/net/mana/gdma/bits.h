/* SPDX-License-Identifier: BSD-3-Clause */
// Bit-field packing for the little-endian 32-bit words of MANA hardware structures.
// Layouts are described as (word, first bit, width) in the spec; these helpers keep the
// encoders readable and let every encoder be constexpr.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace mana::gdma
{

static_assert(std::endian::native == std::endian::little,
              "MANA structures are little-endian; a big-endian host needs byte swapping");

// The value of a field `width` bits wide placed at bit `shift`; bits above the width are
// dropped so an out-of-range input cannot corrupt neighbouring fields.
constexpr uint32_t put_bits(uint32_t value, unsigned shift, unsigned width)
{
    const uint32_t mask = width >= 32 ? ~0U : ((1U << width) - 1U);
    return (value & mask) << shift;
}

constexpr uint32_t get_bits(uint32_t word, unsigned shift, unsigned width)
{
    const uint32_t mask = width >= 32 ? ~0U : ((1U << width) - 1U);
    return (word >> shift) & mask;
}

constexpr uint32_t put_flag(bool value, unsigned bit)
{
    return value ? (1U << bit) : 0U;
}

constexpr bool get_flag(uint32_t word, unsigned bit)
{
    return ((word >> bit) & 1U) != 0;
}

// Device memory is written as plain bytes; memcpy keeps the accesses free of aliasing
// assumptions and compiles to single moves.
inline void store_le32(void *dst, uint32_t value)
{
    std::memcpy(dst, &value, sizeof(value));
}

inline uint32_t load_le32(const void *src)
{
    uint32_t value;
    std::memcpy(&value, src, sizeof(value));
    return value;
}

inline void store_le64(void *dst, uint64_t value)
{
    std::memcpy(dst, &value, sizeof(value));
}

inline uint64_t load_le64(const void *src)
{
    uint64_t value;
    std::memcpy(&value, src, sizeof(value));
    return value;
}

} // namespace mana::gdma
