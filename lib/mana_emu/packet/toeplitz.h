// SPDX-License-Identifier: BSD-3-Clause
// The Toeplitz hash that MANA (like every RSS NIC) uses to pick a receive queue.
#pragma once

#include "gdma/rss_hash.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mana_emu::packet
{

// The key a MANA port hashes with while the application has configured none
// (gdma/rss_hash.h, where the driver takes it from too).
inline constexpr std::array<uint8_t, mana::gdma::kRssKeySize> kDefaultRssKey =
    std::to_array(mana::gdma::kDefaultRssKey);

// Toeplitz hash of `input` under `key`: for every input bit, most significant bit of byte 0
// first, a set bit XORs the 32 key bits starting at that bit position into the result.
// The key must be at least input.size() + 4 bytes to cover every window; key bits past its
// end are taken as zero (so a short key still gives a deterministic, if weak, hash).
// constexpr so that tests and the device model can pin known values at compile time.
constexpr uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input)
{
    auto key_byte = [&](size_t i) -> uint64_t { return i < key.size() ? key[i] : 0; };

    // A 64-bit window over the key: its upper 32 bits are the key bits aligned with the
    // current input bit, its lower 32 bits the next ones, refilled one byte at a time.
    uint64_t window = 0;
    for (size_t i = 0; i < 8; ++i)
        window = (window << 8) | key_byte(i);

    uint32_t result = 0;
    for (size_t i = 0; i < input.size(); ++i) {
        for (int bit = 7; bit >= 0; --bit) {
            if ((input[i] >> bit) & 1)
                result ^= static_cast<uint32_t>(window >> 32);
            window <<= 1;
        }
        window |= key_byte(i + 8);
    }
    return result;
}

} // namespace mana_emu::packet
