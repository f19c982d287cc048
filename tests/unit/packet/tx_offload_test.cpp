// SPDX-License-Identifier: BSD-3-Clause
#include "checksum.h"
#include "frame_builder.h"
#include "frame_layout.h"
#include "tx_offload.h"

#include <gtest/gtest.h>

namespace mana_emu::packet
{
namespace
{

struct OffloadCase {
    bool ipv6;
    uint8_t protocol;
    bool vlan;
    size_t payload_len;
};

// The frame as a driver posts it for checksum offload: IPv4 header checksum anything
// (here zero), L4 checksum field = pseudo-header sum with length, not inverted.
struct Posted {
    std::vector<uint8_t> frame;
    TxChecksumRequest request;
};

Posted post_for_offload(const std::vector<uint8_t> &reference, const OffloadCase &c)
{
    Posted posted{reference, {}};
    const size_t l3 = c.vlan ? 18 : 14;
    const auto ip = std::span<const uint8_t>(posted.frame).subspan(l3);
    uint16_t seed = 0;
    size_t l4 = 0;
    if (c.ipv6) {
        seed = ipv6_pseudo_header_checksum(ip);
        l4 = l3 + 40;
    } else {
        test::put16(posted.frame, l3 + 10, 0);
        seed = ipv4_pseudo_header_checksum(ip);
        l4 = l3 + 20;
    }
    test::put16(posted.frame, l4 + (c.protocol == 6 ? 16 : 6), seed);
    posted.request = {.outer_ipv4 = !c.ipv6,
                      .outer_ipv6 = c.ipv6,
                      .ip = !c.ipv6,
                      .tcp = c.protocol == 6,
                      .udp = c.protocol == 17,
                      .transport_offset = static_cast<uint16_t>(l4)};
    return posted;
}

test::FrameSpec spec_of(const OffloadCase &c)
{
    test::FrameSpec spec;
    spec.ipv6 = c.ipv6;
    spec.protocol = c.protocol;
    if (c.vlan)
        spec.vlan_tci = 0x0123;
    spec.payload = test::pattern_payload(c.payload_len);
    return spec;
}

class TxChecksumOffload : public ::testing::TestWithParam<OffloadCase>
{
};

TEST_P(TxChecksumOffload, SeededFrameGetsTheFromScratchChecksums)
{
    const auto reference = test::build_frame(spec_of(GetParam()));
    auto posted = post_for_offload(reference, GetParam());
    ASSERT_NE(posted.frame, reference);

    ASSERT_TRUE(apply_tx_checksums(posted.frame, posted.request));
    EXPECT_EQ(posted.frame, reference);

    const auto status = validate_checksums(posted.frame);
    EXPECT_EQ(status.ip_ok, !GetParam().ipv6);
    EXPECT_EQ(status.tcp_ok, GetParam().protocol == 6);
    EXPECT_EQ(status.udp_ok, GetParam().protocol == 17);
}

TEST_P(TxChecksumOffload, PaddingIsNotSummed)
{
    const auto reference = test::build_frame(spec_of(GetParam()));
    auto posted = post_for_offload(reference, GetParam());
    posted.frame.resize(posted.frame.size() + 11, 0x5a);
    ASSERT_TRUE(apply_tx_checksums(posted.frame, posted.request));
    EXPECT_TRUE(std::equal(reference.begin(), reference.end(), posted.frame.begin()));
}

TEST_P(TxChecksumOffload, UnseededFieldGivesAWrongChecksum)
{
    // The device trusts the seed; a driver that forgets it sends a bad checksum.
    const auto reference = test::build_frame(spec_of(GetParam()));
    auto posted = post_for_offload(reference, GetParam());
    test::put16(posted.frame, posted.request.transport_offset + (GetParam().protocol == 6 ? 16 : 6),
                0);
    ASSERT_TRUE(apply_tx_checksums(posted.frame, posted.request));
    const auto status = validate_checksums(posted.frame);
    EXPECT_FALSE(status.tcp_ok || status.udp_ok);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, TxChecksumOffload,
    ::testing::Values(OffloadCase{false, 6, false, 100}, OffloadCase{false, 17, false, 99},
                      OffloadCase{true, 6, false, 1}, OffloadCase{true, 17, false, 0},
                      OffloadCase{false, 6, true, 1400}, OffloadCase{true, 17, true, 333}));

TEST(TxChecksumOffloadEdges, IpOnly)
{
    test::FrameSpec spec;
    spec.ipv4_options_len = 8;
    spec.payload = test::pattern_payload(10);
    const auto reference = test::build_frame(spec);
    auto frame = reference;
    test::put16(frame, 24, 0xdead);
    ASSERT_TRUE(apply_tx_checksums(frame, {.outer_ipv4 = true, .ip = true}));
    EXPECT_EQ(frame, reference);
}

TEST(TxChecksumOffloadEdges, UdpZeroResultIsSentAsAllOnes)
{
    // Choose the last payload word so that the UDP checksum comes out as 0.
    test::FrameSpec spec;
    spec.protocol = 17;
    spec.payload = test::pattern_payload(20);
    spec.payload[18] = 0;
    spec.payload[19] = 0;
    const auto reference = test::build_frame(spec);
    auto posted = post_for_offload(reference, {false, 17, false, 20});
    const uint16_t complement = internet_checksum(std::span(posted.frame).subspan(34));
    test::put16(posted.frame, posted.frame.size() - 2, complement);

    ASSERT_TRUE(apply_tx_checksums(posted.frame, posted.request));
    EXPECT_EQ(test::get16(posted.frame, 34 + 6), 0xffff);
    EXPECT_TRUE(validate_checksums(posted.frame).udp_ok);
}

// The device finds a UDP header itself: upstream net_mana 22.11, which ran on the
// hardware, leaves the transport offset of a UDP checksum request unset (stack garbage).
TEST(TxChecksumOffloadEdges, UdpRequestNeedsNoTransportOffset)
{
    for (const bool ipv6 : {false, true}) {
        const OffloadCase c{ipv6, 17, true, 33};
        const auto reference = test::build_frame(spec_of(c));
        for (const uint16_t offset : {0, 7, 1000}) {
            auto posted = post_for_offload(reference, c);
            posted.request.transport_offset = offset;
            ASSERT_TRUE(apply_tx_checksums(posted.frame, posted.request)) << offset;
            EXPECT_EQ(posted.frame, reference) << "ipv6 " << ipv6 << " offset " << offset;
        }
    }
}

TEST(TxChecksumOffloadEdges, ImpossibleRequestsAreRefusedAndLeaveTheFrame)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(30);
    const auto tcp4 = test::build_frame(spec);
    spec.ipv6 = true;
    spec.protocol = 17;
    const auto udp6 = test::build_frame(spec);

    const TxChecksumRequest bad_requests4[] = {
        {.outer_ipv4 = true, .tcp = true, .transport_offset = 2000}, // beyond the frame
        {.outer_ipv4 = true, .tcp = true, .transport_offset = 30},   // not where TCP is
        {.outer_ipv4 = true, .udp = true, .transport_offset = 34},   // not UDP
        {.outer_ipv4 = true, .tcp = true, .udp = true, .transport_offset = 34},
        {.outer_ipv6 = true, .ip = true}, // contradicts the frame
    };
    for (const auto &request : bad_requests4) {
        auto frame = tcp4;
        EXPECT_FALSE(apply_tx_checksums(frame, request));
        EXPECT_EQ(frame, tcp4);
    }
    const TxChecksumRequest bad_requests6[] = {
        {.outer_ipv6 = true, .ip = true},                          // no IPv4 header
        {.outer_ipv6 = true, .tcp = true, .transport_offset = 54}, // not TCP
        {.outer_ipv4 = true, .udp = true, .transport_offset = 54},
    };
    for (const auto &request : bad_requests6) {
        auto frame = udp6;
        EXPECT_FALSE(apply_tx_checksums(frame, request));
        EXPECT_EQ(frame, udp6);
    }

    std::vector<uint8_t> runt(20, 0);
    EXPECT_FALSE(apply_tx_checksums(runt, {.ip = true}));
    auto untouched = tcp4;
    EXPECT_TRUE(apply_tx_checksums(untouched, {})); // nothing requested
    EXPECT_EQ(untouched, tcp4);
}

} // namespace
} // namespace mana_emu::packet
