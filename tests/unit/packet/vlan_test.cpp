// SPDX-License-Identifier: BSD-3-Clause
#include "frame_builder.h"
#include "frame_layout.h"
#include "vlan.h"

#include <gtest/gtest.h>

namespace mana_emu::packet
{
namespace
{

TEST(Vlan, TciPacksPcpDeiVid)
{
    EXPECT_EQ(make_vlan_tci(5, true, 0x123), 0xb123);
    EXPECT_EQ(make_vlan_tci(7, false, 0xfff), 0xefff);
    EXPECT_EQ(make_vlan_tci(0, false, 0x1001), 0x0001); // VID is 12 bits
}

TEST(Vlan, InsertPlacesTagAfterSourceMac)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(50);
    const auto frame = test::build_frame(spec);
    const auto tagged = insert_vlan(frame, 3, false, 100);
    ASSERT_EQ(tagged.size(), frame.size() + 4);
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 12, tagged.begin()));
    EXPECT_EQ(test::get16(tagged, 12), 0x8100);
    EXPECT_EQ(test::get16(tagged, 14), (3 << 13) | 100);
    EXPECT_TRUE(std::equal(frame.begin() + 12, frame.end(), tagged.begin() + 16));

    // It parses as the same packet behind a tag.
    const auto layout = parse_frame(tagged);
    ASSERT_TRUE(layout.has_value());
    EXPECT_TRUE(layout->has_vlan);
    EXPECT_EQ(layout->vlan_tci, (3 << 13) | 100);
    EXPECT_EQ(layout->l4, FrameLayout::L4::tcp);
}

TEST(Vlan, RoundTrip)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    spec.payload = test::pattern_payload(7);
    const auto frame = test::build_frame(spec);
    auto tagged = insert_vlan(frame, 6, true, 4094);
    const auto tci = strip_vlan(tagged);
    ASSERT_TRUE(tci.has_value());
    EXPECT_EQ(*tci, make_vlan_tci(6, true, 4094));
    EXPECT_EQ(tagged, frame);
}

TEST(Vlan, StripWithoutTagLeavesFrame)
{
    const auto frame = test::build_frame({});
    auto copy = frame;
    EXPECT_FALSE(strip_vlan(copy).has_value());
    EXPECT_EQ(copy, frame);

    std::vector<uint8_t> short_tagged = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0};
    EXPECT_FALSE(strip_vlan(short_tagged).has_value());
    EXPECT_EQ(short_tagged.size(), 15u);
}

TEST(Vlan, InsertOnRuntGivesEmpty)
{
    const std::vector<uint8_t> runt(13, 0xaa);
    EXPECT_TRUE(insert_vlan(runt, 0, false, 1).empty());
}

TEST(Vlan, InsertOnTaggedFrameStacksTags)
{
    test::FrameSpec spec;
    spec.vlan_tci = 10;
    auto twice = insert_vlan(test::build_frame(spec), 0, false, 20);
    EXPECT_EQ(strip_vlan(twice), std::optional<uint16_t>(20));
    EXPECT_EQ(strip_vlan(twice), std::optional<uint16_t>(10));
    EXPECT_EQ(twice, test::build_frame({}));
}

} // namespace
} // namespace mana_emu::packet
