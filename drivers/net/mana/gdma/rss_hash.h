/* SPDX-License-Identifier: BSD-3-Clause */
// RSS as the device does it (spec §2 item 6, §6): a Toeplitz hash under a 40-byte key picks
// an entry of a 64-entry indirection table. And the key the driver programs while the
// application has configured none, which the emulator and the tests take from here too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mana::gdma
{

inline constexpr std::size_t kRssKeySize = 40;
inline constexpr std::size_t kRetaSize = 64;
inline constexpr uint32_t kLogRetaSize = 6;
static_assert(std::size_t{1} << kLogRetaSize == kRetaSize);

// The default RSS key (spec §2 item 6): what the driver passes to ibv_create_qp_ex until
// the application sets one (rte_eth_dev_configure's rss_key, rss_hash_update). The device
// has no key of its own: every RSS QP is created with one. A plain array so that users can
// take it as a pointer or as a std::array (std::to_array). Its bytes are checked against
// the spec's, written out independently, in tests/unit/packet/toeplitz_rss_test.cpp.
inline constexpr uint8_t kDefaultRssKey[kRssKeySize] = {
    0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2, 0x83, 0x19, 0xdb, 0x1a,
    0x3e, 0x94, 0x6b, 0x9e, 0x38, 0xd9, 0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7,
    0xd9, 0x56, 0x3d, 0x59, 0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a,
};

} // namespace mana::gdma
