/* SPDX-License-Identifier: BSD-3-Clause */
// RSS in the driver's terms: the device's key and table sizes and its default key
// (gdma/rss_hash.h) as the port keeps them, and the mapping from DPDK hash types to verbs
// hash fields.
#pragma once

#include "gdma/rss_hash.h"

#include <infiniband/verbs.h>
#include <rte_ethdev.h>

#include <array>
#include <cstdint>

namespace mana
{

using gdma::kLogRetaSize;
using gdma::kRetaSize;
using gdma::kRssKeySize;

using RssKey = std::array<uint8_t, kRssKeySize>;

// The key a port hashes with until the application configures one (gdma/rss_hash.h).
inline constexpr RssKey kDefaultRssKey = std::to_array(gdma::kDefaultRssKey);

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
