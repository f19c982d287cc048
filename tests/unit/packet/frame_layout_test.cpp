// SPDX-License-Identifier: BSD-3-Clause
#include "frame_builder.h"
#include "frame_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace mana_emu::packet
{
namespace
{

using L3 = FrameLayout::L3;
using L4 = FrameLayout::L4;

TEST(ParseFrame, Ipv4Tcp)
{
    test::FrameSpec spec;
    spec.tcp_options_len = 12;
    spec.payload = test::pattern_payload(100);
    const auto frame = test::build_frame(spec);
    const auto layout = parse_frame(frame);
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->l2_len, 14);
    EXPECT_FALSE(layout->has_vlan);
    EXPECT_EQ(layout->ethertype, 0x0800);
    EXPECT_EQ(layout->l3, L3::ipv4);
    EXPECT_EQ(layout->l3_offset, 14);
    EXPECT_EQ(layout->l3_len, 20);
    EXPECT_EQ(layout->l4, L4::tcp);
    EXPECT_EQ(layout->l4_offset, 34);
    EXPECT_EQ(layout->l4_len, 32);
    EXPECT_FALSE(layout->ipv4_fragment);
}

TEST(ParseFrame, VlanIpv4OptionsUdp)
{
    test::FrameSpec spec;
    spec.vlan_tci = 0xa123;
    spec.ipv4_options_len = 12;
    spec.protocol = 17;
    const auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_TRUE(layout->has_vlan);
    EXPECT_EQ(layout->vlan_tci, 0xa123);
    EXPECT_EQ(layout->ethertype, 0x0800);
    EXPECT_EQ(layout->l2_len, 18);
    EXPECT_EQ(layout->l3_offset, 18);
    EXPECT_EQ(layout->l3_len, 32);
    EXPECT_EQ(layout->l4, L4::udp);
    EXPECT_EQ(layout->l4_offset, 50);
    EXPECT_EQ(layout->l4_len, 8);
}

TEST(ParseFrame, Ipv6ExtensionHeadersAreSkipped)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    spec.ipv6_extensions = {{0, 8}, {43, 24}, {60, 16}};
    const auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->ethertype, 0x86dd);
    EXPECT_EQ(layout->l3, L3::ipv6);
    EXPECT_EQ(layout->l3_len, 40 + 8 + 24 + 16);
    EXPECT_EQ(layout->l4, L4::tcp);
    EXPECT_EQ(layout->l4_offset, 14 + 88);
    EXPECT_EQ(layout->l4_len, 20);
}

TEST(ParseFrame, Ipv6FragmentHeaderStopsAtL3)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    spec.ipv6_extensions = {{44, 8}};
    const auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->l3, L3::ipv6);
    EXPECT_EQ(layout->l3_len, 48);
    EXPECT_EQ(layout->l4, L4::none);
}

TEST(ParseFrame, Ipv4Fragments)
{
    test::FrameSpec spec;
    spec.ipv4_flags_fragment = 0x2000; // first fragment
    auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_TRUE(layout->ipv4_fragment);
    EXPECT_EQ(layout->l4, L4::tcp);

    spec.ipv4_flags_fragment = 0x0100; // later fragment, no MF
    layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_TRUE(layout->ipv4_fragment);
    EXPECT_EQ(layout->l4, L4::none);
}

TEST(ParseFrame, OtherProtocolsAndEthertypes)
{
    test::FrameSpec spec;
    spec.protocol = 1; // ICMP
    spec.payload = test::pattern_payload(8);
    auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->l4, L4::other);
    EXPECT_EQ(layout->l4_offset, 34);
    EXPECT_EQ(layout->l4_len, 0);

    std::vector<uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    layout = parse_frame(arp);
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->ethertype, 0x0806);
    EXPECT_EQ(layout->l3, L3::none);
    EXPECT_EQ(layout->l4, L4::none);
}

TEST(ParseFrame, MalformedIpHeadersGiveNoL3)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(30); // 84-byte frame
    auto frame = test::build_frame(spec);
    frame[14] = 0x44; // IHL 4 < 5
    EXPECT_EQ(parse_frame(frame)->l3, L3::none);
    frame[14] = 0x65; // version 6 under the IPv4 ethertype
    EXPECT_EQ(parse_frame(frame)->l3, L3::none);
    frame[14] = 0x4f; // 60-byte header: still fits in this frame, but TCP no longer does
    const auto layout = parse_frame(frame);
    EXPECT_EQ(layout->l3, L3::ipv4);
    EXPECT_EQ(layout->l3_len, 60);
    EXPECT_EQ(layout->l4, L4::none);

    auto tcp = test::build_frame(spec);
    tcp[34 + 12] = 0x40; // TCP data offset 4 < 5
    EXPECT_EQ(parse_frame(tcp)->l4, L4::none);
}

// Every prefix of a valid frame parses without reading past it. Each prefix is copied into
// its own heap block of exactly that size so that AddressSanitizer (or valgrind) would
// flag any overrun.
void check_every_prefix(const std::vector<uint8_t> &frame)
{
    for (size_t length = 0; length <= frame.size(); ++length) {
        auto copy = std::make_unique<uint8_t[]>(length == 0 ? 1 : length);
        std::memcpy(copy.get(), frame.data(), length);
        const auto layout = parse_frame({copy.get(), length});
        if (length < 14) {
            EXPECT_FALSE(layout.has_value()) << length;
            continue;
        }
        if (!layout)
            continue; // VLAN tag truncated
        // Whatever was found lies inside the prefix.
        if (layout->l3 != L3::none) {
            EXPECT_LE(size_t{layout->l3_offset} + layout->l3_len, length);
        }
        if (layout->l4 == L4::tcp || layout->l4 == L4::udp) {
            EXPECT_LE(size_t{layout->l4_offset} + layout->l4_len, length);
        }
    }
    // The full frame parses completely.
    const auto full = parse_frame(frame);
    ASSERT_TRUE(full.has_value());
    EXPECT_NE(full->l4, L4::none);
}

TEST(ParseFrame, EveryPrefixIsSafe)
{
    test::FrameSpec spec;
    spec.vlan_tci = 5;
    spec.ipv4_options_len = 8;
    spec.tcp_options_len = 8;
    spec.payload = test::pattern_payload(10);
    check_every_prefix(test::build_frame(spec));

    spec.ipv6 = true;
    spec.ipv6_extensions = {{0, 16}, {60, 8}};
    check_every_prefix(test::build_frame(spec));

    spec.protocol = 17;
    check_every_prefix(test::build_frame(spec));
}

TEST(ParseFrame, Ipv6ExtensionLoopIsBounded)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    for (int i = 0; i < 12; ++i)
        spec.ipv6_extensions.emplace_back(60, 8);
    const auto layout = parse_frame(test::build_frame(spec));
    ASSERT_TRUE(layout.has_value());
    EXPECT_EQ(layout->l3, L3::ipv6);
    EXPECT_EQ(layout->l4, L4::none);
}

} // namespace
} // namespace mana_emu::packet
