/* SPDX-License-Identifier: BSD-3-Clause */
#include "rss.h"

#include <gtest/gtest.h>

namespace mana
{
namespace
{

TEST(RssFields, Ipv4AddressesOnly)
{
    EXPECT_EQ(rss_fields_for(RTE_ETH_RSS_IPV4), IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4);
}

TEST(RssFields, Ipv6HasBothAddresses)
{
    EXPECT_EQ(rss_fields_for(RTE_ETH_RSS_IPV6), IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6);
}

TEST(RssFields, L4TypesAddPortsAndTheirAddresses)
{
    EXPECT_EQ(rss_fields_for(RTE_ETH_RSS_NONFRAG_IPV4_TCP),
              IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 | IBV_RX_HASH_SRC_PORT_TCP |
                  IBV_RX_HASH_DST_PORT_TCP);
    EXPECT_EQ(rss_fields_for(RTE_ETH_RSS_NONFRAG_IPV6_UDP),
              IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6 | IBV_RX_HASH_SRC_PORT_UDP |
                  IBV_RX_HASH_DST_PORT_UDP);
}

TEST(RssFields, EverythingSupported)
{
    EXPECT_EQ(rss_fields_for(kSupportedRssTypes),
              IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 | IBV_RX_HASH_SRC_IPV6 |
                  IBV_RX_HASH_DST_IPV6 | IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
                  IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP);
    EXPECT_EQ(rss_fields_for(0), 0U);
}

TEST(RssKey, DefaultKeyIsTheSpecOne)
{
    EXPECT_EQ(kDefaultRssKey.size(), 40U);
    EXPECT_EQ(kDefaultRssKey.front(), 0x2c);
    EXPECT_EQ(kDefaultRssKey.back(), 0x2a);
}

} // namespace
} // namespace mana
