/* SPDX-License-Identifier: BSD-3-Clause */
// RSS as the device does it: Toeplitz over a 40-byte key and a 64-entry indirection
// table (spec §2 item 6), and the mapping from DPDK hash types to verbs hash fields.
#pragma once

#include <infiniband/verbs.h>
#include <rte_ethdev.h>

#include <array>
#include <cstdint>

namespace mana
{

inline constexpr std::size_t kRssKeySize = 40;
inline constexpr std::size_t kRetaSize = 64;
inline constexpr uint32_t kLogRetaSize = 6;
static_assert(std::size_t{1} << kLogRetaSize == kRetaSize);

using RssKey = std::array<uint8_t, kRssKeySize>;

inline constexpr RssKey kDefaultRssKey = {
    0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2, 0x83, 0x19, 0xdb, 0x1a,
    0x3e, 0x94, 0x6b, 0x9e, 0x38, 0xd9, 0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7,
    0xd9, 0x56, 0x3d, 0x59, 0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a,
};

inline constexpr uint64_t kRssIpv4Types =
    RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER |
    RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
inline constexpr uint64_t kRssIpv6Types =
    RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER |
    RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
inline constexpr uint64_t kRssTcpTypes =
    RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP;
inline constexpr uint64_t kRssUdpTypes =
    RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
inline constexpr uint64_t kSupportedRssTypes = kRssIpv4Types | kRssIpv6Types;
// What the device hashes when the application asks for no particular types (spec §2).
inline constexpr uint64_t kDefaultRssTypes = RTE_ETH_RSS_IPV4;

// Verbs fields for DPDK hash types. An L4 type hashes the addresses of its IP version
// too, because the device's tuple is (source, destination, source port, destination
// port); both IPv6 addresses are included (upstream sets the source bit twice, §9).
constexpr uint64_t rss_fields_for(uint64_t rss_hf)
{
    uint64_t fields = 0;
    if (rss_hf & kRssIpv4Types)
        fields |= IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4;
    if (rss_hf & kRssIpv6Types)
        fields |= IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6;
    if (rss_hf & kRssTcpTypes)
        fields |= IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP;
    if (rss_hf & kRssUdpTypes)
        fields |= IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
    return fields;
}

static_assert(rss_fields_for(RTE_ETH_RSS_IPV6) == (IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6));

} // namespace mana
