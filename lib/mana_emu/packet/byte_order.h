// SPDX-License-Identifier: BSD-3-Clause
// Big-endian (network order) loads and stores on byte spans. Frames are plain bytes with no
// alignment guarantee, so every multi-byte field goes through these instead of casts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mana_emu::packet
{

constexpr uint16_t load_be16(std::span<const uint8_t> bytes, size_t offset)
{
    return static_cast<uint16_t>((bytes[offset] << 8) | bytes[offset + 1]);
}

constexpr uint32_t load_be32(std::span<const uint8_t> bytes, size_t offset)
{
    return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
           (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

constexpr void store_be16(std::span<uint8_t> bytes, size_t offset, uint16_t value)
{
    bytes[offset] = static_cast<uint8_t>(value >> 8);
    bytes[offset + 1] = static_cast<uint8_t>(value);
}

constexpr void store_be32(std::span<uint8_t> bytes, size_t offset, uint32_t value)
{
    bytes[offset] = static_cast<uint8_t>(value >> 24);
    bytes[offset + 1] = static_cast<uint8_t>(value >> 16);
    bytes[offset + 2] = static_cast<uint8_t>(value >> 8);
    bytes[offset + 3] = static_cast<uint8_t>(value);
}

} // namespace mana_emu::packet
