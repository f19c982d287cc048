// SPDX-License-Identifier: BSD-3-Clause
#include "checksum.h"
#include "frame_builder.h"
#include "frame_layout.h"
#include "tso.h"

#include <gtest/gtest.h>

namespace mana_emu::packet
{
namespace
{

constexpr uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;

// What the driver posts for TSO (spec §3): IPv4 total length and header checksum zeroed,
// IPv6 payload length zeroed, TCP checksum = pseudo-header sum with length 0.
std::vector<uint8_t> post_for_tso(const test::FrameSpec &spec)
{
    auto frame = test::build_frame(spec);
    const size_t l3 = spec.vlan_tci ? 18 : 14;
    const auto ip = std::span<const uint8_t>(frame).subspan(l3);
    size_t tcp = 0;
    if (spec.ipv6) {
        size_t extensions = 0;
        for (const auto &extension : spec.ipv6_extensions)
            extensions += extension.second;
        tcp = l3 + 40 + extensions;
        const uint16_t seed =
            ipv6_pseudo_header_sum(ip.subspan<8, 16>(), ip.subspan<24, 16>(), 6, 0);
        test::put16(frame, l3 + 4, 0);
        test::put16(frame, tcp + 16, seed);
    } else {
        tcp = l3 + 20 + spec.ipv4_options_len;
        const uint16_t seed = ipv4_pseudo_header_checksum(ip, false);
        test::put16(frame, l3 + 2, 0);
        test::put16(frame, l3 + 10, 0);
        test::put16(frame, tcp + 16, seed);
    }
    return frame;
}

struct TsoCase {
    bool ipv6;
    bool vlan;
    size_t tcp_options_len;
};

class Tso : public ::testing::TestWithParam<TsoCase>
{
};

TEST_P(Tso, ThreeMssPlusRemainder)
{
    const auto param = GetParam();
    constexpr uint16_t mss = 1000;
    test::FrameSpec spec;
    spec.ipv6 = param.ipv6;
    if (param.vlan)
        spec.vlan_tci = 42;
    spec.tcp_options_len = param.tcp_options_len;
    spec.ip_id = 0xfffe; // wraps during the burst
    spec.seq = 0xfffffc00;
    spec.tcp_flags = kCwr | kAck | kPsh | kFin;
    spec.payload = test::pattern_payload(3 * mss + 123);

    const auto posted = post_for_tso(spec);
    const auto segments = segment_tcp(posted, mss);
    ASSERT_EQ(segments.size(), 4u);

    const size_t headers_len =
        (param.vlan ? 18 : 14) + (param.ipv6 ? 40 : 20) + 20 + param.tcp_options_len;
    std::vector<uint8_t> reassembled;
    for (size_t i = 0; i < segments.size(); ++i) {
        SCOPED_TRACE(i);
        const auto &segment = segments[i];
        const size_t chunk_len = i < 3 ? mss : 123;
        ASSERT_EQ(segment.size(), headers_len + chunk_len);

        // Byte for byte what a sender would have built for this segment.
        test::FrameSpec expected = spec;
        expected.ip_id = static_cast<uint16_t>(spec.ip_id + i);
        expected.seq = static_cast<uint32_t>(spec.seq + i * mss);
        expected.tcp_flags = kAck | (i == 0 ? kCwr : 0) | (i == 3 ? kPsh | kFin : 0);
        expected.payload.assign(spec.payload.begin() + static_cast<long>(i * mss),
                                spec.payload.begin() + static_cast<long>(i * mss + chunk_len));
        EXPECT_EQ(segment, test::build_frame(expected));

        const auto status = validate_checksums(segment);
        EXPECT_TRUE(status.tcp_ok);
        EXPECT_FALSE(status.tcp_failed);
        EXPECT_EQ(status.ip_ok, !param.ipv6);
        EXPECT_FALSE(status.ip_failed);

        const auto layout = parse_frame(segment);
        ASSERT_TRUE(layout.has_value());
        if (param.ipv6) {
            EXPECT_EQ(test::get16(segment, layout->l3_offset + 4),
                      20 + param.tcp_options_len + chunk_len);
        } else {
            EXPECT_EQ(test::get16(segment, layout->l3_offset + 2),
                      40 + param.tcp_options_len + chunk_len);
            EXPECT_EQ(test::get16(segment, layout->l3_offset + 4),
                      static_cast<uint16_t>(0xfffe + i));
        }
        EXPECT_EQ(test::get32(segment, layout->l4_offset + 4),
                  static_cast<uint32_t>(0xfffffc00u + i * mss));
        reassembled.insert(reassembled.end(), segment.begin() + static_cast<long>(headers_len),
                           segment.end());
    }
    EXPECT_EQ(reassembled, spec.payload);
}

INSTANTIATE_TEST_SUITE_P(Families, Tso,
                         ::testing::Values(TsoCase{false, false, 0}, TsoCase{true, false, 0},
                                           TsoCase{false, true, 12}, TsoCase{true, true, 12}));

TEST(TsoEdges, ExactMultipleAndShortPayload)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(2 * 500);
    const auto exact = segment_tcp(post_for_tso(spec), 500);
    ASSERT_EQ(exact.size(), 2u);
    EXPECT_EQ(exact[1].size(), 54u + 500);

    spec.payload = test::pattern_payload(10);
    const auto one = segment_tcp(post_for_tso(spec), 1460);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0], test::build_frame(spec));

    spec.payload.clear();
    const auto empty = segment_tcp(post_for_tso(spec), 1460);
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_EQ(empty[0], test::build_frame(spec));
}

TEST(TsoEdges, Ipv6ExtensionHeadersCountInPayloadLength)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    spec.ipv6_extensions = {{60, 16}};
    spec.payload = test::pattern_payload(250);
    const auto segments = segment_tcp(post_for_tso(spec), 100);
    ASSERT_EQ(segments.size(), 3u);
    for (size_t i = 0; i < segments.size(); ++i) {
        test::FrameSpec expected = spec;
        expected.seq = static_cast<uint32_t>(spec.seq + i * 100);
        expected.tcp_flags = i == 2 ? spec.tcp_flags : (spec.tcp_flags & ~kPsh);
        const size_t chunk = i == 2 ? 50 : 100;
        expected.payload.assign(spec.payload.begin() + static_cast<long>(i * 100),
                                spec.payload.begin() + static_cast<long>(i * 100 + chunk));
        EXPECT_EQ(segments[i], test::build_frame(expected)) << i;
        EXPECT_TRUE(validate_checksums(segments[i]).tcp_ok);
    }
}

TEST(TsoEdges, InvalidInputGivesNothing)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(3000);
    EXPECT_TRUE(segment_tcp(post_for_tso(spec), 0).empty());

    test::FrameSpec udp = spec;
    udp.protocol = 17;
    EXPECT_TRUE(segment_tcp(test::build_frame(udp), 1000).empty());

    test::FrameSpec fragment = spec;
    fragment.ipv4_flags_fragment = 0x2000;
    EXPECT_TRUE(segment_tcp(test::build_frame(fragment), 1000).empty());

    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_TRUE(segment_tcp(arp, 1000).empty());
    EXPECT_TRUE(segment_tcp(std::span(arp).first(5), 1000).empty());
}

TEST(TsoEdges, WrongSeedGivesBadChecksums)
{
    // Seeding with the length included (the checksum-offload seed) is wrong for TSO.
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(2500);
    auto posted = post_for_tso(spec);
    const auto reference = test::build_frame(spec);
    const uint16_t wrong_seed =
        ipv4_pseudo_header_checksum(std::span<const uint8_t>(reference).subspan(14));
    test::put16(posted, 34 + 16, wrong_seed);
    const auto segments = segment_tcp(posted, 1000);
    ASSERT_EQ(segments.size(), 3u);
    for (const auto &segment : segments)
        EXPECT_TRUE(validate_checksums(segment).tcp_failed);
}

} // namespace
} // namespace mana_emu::packet
