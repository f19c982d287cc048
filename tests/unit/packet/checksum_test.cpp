// SPDX-License-Identifier: BSD-3-Clause
#include "checksum.h"
#include "frame_builder.h"

#include <gtest/gtest.h>

#include <array>

namespace mana_emu::packet
{
namespace
{

TEST(InternetChecksum, KnownIpv4Header)
{
    // A textbook IPv4 header whose checksum is 0xb861.
    std::array<uint8_t, 20> header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                      0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(internet_checksum(header), 0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    EXPECT_EQ(internet_checksum(header), 0);
}

TEST(InternetChecksum, OddLengthAndInitialValue)
{
    const std::array<uint8_t, 3> odd = {0x12, 0x34, 0x56};
    // 0x1234 + 0x5600 = 0x6834
    EXPECT_EQ(ones_complement_sum(odd), 0x6834u);
    EXPECT_EQ(internet_checksum(odd), static_cast<uint16_t>(~0x6834));
    EXPECT_EQ(internet_checksum(odd, 0x97cb), 0); // 0x6834 + 0x97cb = 0xffff
    EXPECT_EQ(fold_sum(0x0001ffff), 0x0001);
    EXPECT_EQ(fold_sum(0xffffffff), 0xffff);

    const auto payload = test::pattern_payload(1001);
    EXPECT_EQ(internet_checksum(payload), test::reference_checksum(payload));
    // Partial sums over an even split add up.
    const uint32_t split = ones_complement_sum(std::span(payload).subspan(500),
                                               ones_complement_sum(std::span(payload).first(500)));
    EXPECT_EQ(static_cast<uint16_t>(~fold_sum(split)), test::reference_checksum(payload));
}

TEST(PseudoHeader, Ipv4MatchesHandComputedSum)
{
    test::FrameSpec spec;
    spec.src4 = {192, 168, 0, 1};
    spec.dst4 = {192, 168, 0, 199};
    spec.payload = test::pattern_payload(100);
    const auto frame = test::build_frame(spec);
    const auto ip = std::span(frame).subspan(14);
    // c0a8 + 0001 + c0a8 + 00c7 + 0006 + 0078 (TCP length 120), folded.
    const uint32_t by_hand = 0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 0x0006 + 120;
    EXPECT_EQ(ipv4_pseudo_header_checksum(ip), fold_sum(by_hand));
    EXPECT_EQ(ipv4_pseudo_header_checksum(ip, false), fold_sum(by_hand - 120));
    EXPECT_EQ(ipv4_pseudo_header_sum(ip.subspan<12, 4>(), ip.subspan<16, 4>(), 6, 120),
              fold_sum(by_hand));
}

TEST(PseudoHeader, Ipv6MatchesHandComputedSum)
{
    test::FrameSpec spec;
    spec.ipv6 = true;
    spec.protocol = 17;
    spec.payload = test::pattern_payload(12);
    const auto frame = test::build_frame(spec);
    const auto ip = std::span(frame).subspan(14);
    // 2001:db8::10 and 2001:db8:1::2, UDP, length 20.
    const uint32_t addresses = 0x2001 + 0x0db8 + 0x0010 + 0x2001 + 0x0db8 + 0x0001 + 0x0002;
    EXPECT_EQ(ipv6_pseudo_header_checksum(ip), fold_sum(addresses + 17 + 20));
    EXPECT_EQ(ipv6_pseudo_header_checksum(ip, false), fold_sum(addresses + 17));
    EXPECT_EQ(ipv6_pseudo_header_checksum(ip.first(39)), 0); // too short
}

struct ValidateCase {
    bool ipv6;
    uint8_t protocol;
    bool vlan;
};

class ValidateChecksums : public ::testing::TestWithParam<ValidateCase>
{
};

TEST_P(ValidateChecksums, GoodFrameIsOkAndEveryCorruptionFails)
{
    const auto param = GetParam();
    test::FrameSpec spec;
    spec.ipv6 = param.ipv6;
    spec.protocol = param.protocol;
    if (param.vlan)
        spec.vlan_tci = 100;
    spec.ipv4_options_len = param.ipv6 ? 0 : 4;
    spec.payload = test::pattern_payload(77);
    const auto frame = test::build_frame(spec);
    const bool tcp = param.protocol == 6;

    const auto good = validate_checksums(frame);
    EXPECT_EQ(good.ip_ok, !param.ipv6);
    EXPECT_FALSE(good.ip_failed);
    EXPECT_EQ(good.tcp_ok, tcp);
    EXPECT_EQ(good.udp_ok, !tcp);
    EXPECT_FALSE(good.tcp_failed);
    EXPECT_FALSE(good.udp_failed);

    // Ethernet padding after the IP payload is not covered by any checksum.
    auto padded = frame;
    padded.resize(padded.size() + 9, 0xee);
    const auto with_padding = validate_checksums(padded);
    EXPECT_EQ(with_padding.tcp_ok, tcp);
    EXPECT_EQ(with_padding.udp_ok, !tcp);

    const size_t l3 = param.vlan ? 18 : 14;
    const size_t l3_len = param.ipv6 ? 40 : 24;
    if (!param.ipv6) {
        auto bad_ip = frame;
        bad_ip[l3 + 8] ^= 0x01; // TTL
        const auto status = validate_checksums(bad_ip);
        EXPECT_FALSE(status.ip_ok);
        EXPECT_TRUE(status.ip_failed);
        EXPECT_EQ(status.tcp_ok, tcp); // the pseudo-header does not cover the TTL
    }

    // A flipped payload byte breaks the L4 checksum only.
    auto bad_payload = frame;
    bad_payload.back() ^= 0x40;
    const auto status = validate_checksums(bad_payload);
    EXPECT_EQ(status.ip_ok, !param.ipv6);
    EXPECT_EQ(status.tcp_failed, tcp);
    EXPECT_EQ(status.udp_failed, !tcp);
    EXPECT_FALSE(status.tcp_ok);
    EXPECT_FALSE(status.udp_ok);

    // So does a changed address (covered through the pseudo-header).
    auto bad_address = frame;
    bad_address[l3 + (param.ipv6 ? 39 : 19)] ^= 0x01;
    const auto address_status = validate_checksums(bad_address);
    EXPECT_EQ(address_status.tcp_failed, tcp);
    EXPECT_EQ(address_status.udp_failed, !tcp);

    // And a port in the transport header.
    auto bad_port = frame;
    bad_port[l3 + l3_len + 1] ^= 0x10;
    const auto port_status = validate_checksums(bad_port);
    EXPECT_EQ(port_status.tcp_failed, tcp);
    EXPECT_EQ(port_status.udp_failed, !tcp);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, ValidateChecksums,
    ::testing::Values(ValidateCase{false, 6, false}, ValidateCase{false, 17, false},
                      ValidateCase{true, 6, false}, ValidateCase{true, 17, false},
                      ValidateCase{false, 6, true}, ValidateCase{true, 17, true}));

TEST(ValidateChecksumsEdges, UdpZeroChecksum)
{
    test::FrameSpec spec;
    spec.protocol = 17;
    spec.payload = test::pattern_payload(20);
    auto frame = test::build_frame(spec);
    frame[34 + 6] = 0;
    frame[34 + 7] = 0;
    EXPECT_TRUE(validate_checksums(frame).udp_ok); // IPv4: "no checksum"

    spec.ipv6 = true;
    auto frame6 = test::build_frame(spec);
    frame6[54 + 6] = 0;
    frame6[54 + 7] = 0;
    const auto status = validate_checksums(frame6);
    EXPECT_FALSE(status.udp_ok);
    EXPECT_TRUE(status.udp_failed); // mandatory over IPv6
}

TEST(ValidateChecksumsEdges, AbsentLayersReportNothing)
{
    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const auto status = validate_checksums(arp);
    EXPECT_FALSE(status.ip_ok || status.ip_failed || status.tcp_ok || status.tcp_failed ||
                 status.udp_ok || status.udp_failed);

    test::FrameSpec icmp;
    icmp.protocol = 1;
    icmp.payload = test::pattern_payload(8);
    const auto icmp_status = validate_checksums(test::build_frame(icmp));
    EXPECT_TRUE(icmp_status.ip_ok);
    EXPECT_FALSE(icmp_status.tcp_ok || icmp_status.tcp_failed || icmp_status.udp_ok ||
                 icmp_status.udp_failed);

    // An IPv4 fragment: the IP header is checked, the partial TCP payload is not.
    test::FrameSpec fragment;
    fragment.ipv4_flags_fragment = 0x2000;
    fragment.fill_checksums = true;
    auto frame = test::build_frame(fragment);
    frame[34 + 16] ^= 0xff; // wrong TCP checksum, must not be reported
    const auto fragment_status = validate_checksums(frame);
    EXPECT_TRUE(fragment_status.ip_ok);
    EXPECT_FALSE(fragment_status.tcp_ok || fragment_status.tcp_failed);
}

TEST(ValidateChecksumsEdges, InconsistentIpLengthFailsL4)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(40);
    auto frame = test::build_frame(spec);
    // Claim more bytes than the frame holds; fix the IP checksum so only L4 is affected.
    test::put16(frame, 16, static_cast<uint16_t>(test::get16(frame, 16) + 100));
    test::put16(frame, 24, 0);
    test::put16(frame, 24, test::reference_checksum(std::span(frame).subspan(14, 20)));
    const auto status = validate_checksums(frame);
    EXPECT_TRUE(status.ip_ok);
    EXPECT_TRUE(status.tcp_failed);
    EXPECT_FALSE(status.tcp_ok);
}

} // namespace
} // namespace mana_emu::packet
