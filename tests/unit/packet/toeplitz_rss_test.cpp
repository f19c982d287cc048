// SPDX-License-Identifier: BSD-3-Clause
// Toeplitz and rss_hash against Microsoft's "Verifying the RSS Hash Calculation" table.
#include "frame_builder.h"
#include "rss.h"
#include "toeplitz.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <array>
#include <string>

namespace mana_emu::packet
{
namespace
{

// The key the verification table is computed with (it is not the MANA default key).
constexpr std::array<uint8_t, 40> kVerificationKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// One row of the table, in its column order: destination first, then source.
struct VerificationRow {
    const char *destination;
    uint16_t destination_port;
    const char *source;
    uint16_t source_port;
    uint32_t ip_only_hash;
    uint32_t with_tcp_hash;
};

constexpr VerificationRow kIpv4Table[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

constexpr VerificationRow kIpv6Table[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985,
     0x02d1feef},
};

template <size_t N>
std::array<uint8_t, N> parse_address(int family, const char *text)
{
    std::array<uint8_t, N> bytes{};
    EXPECT_EQ(inet_pton(family, text, bytes.data()), 1) << text;
    return bytes;
}

// The Toeplitz input of the table: source address, destination address[, ports].
std::vector<uint8_t> tuple_of(const VerificationRow &row, bool ipv6, bool with_ports)
{
    std::vector<uint8_t> tuple;
    if (ipv6) {
        const auto src = parse_address<16>(AF_INET6, row.source);
        const auto dst = parse_address<16>(AF_INET6, row.destination);
        tuple.insert(tuple.end(), src.begin(), src.end());
        tuple.insert(tuple.end(), dst.begin(), dst.end());
    } else {
        const auto src = parse_address<4>(AF_INET, row.source);
        const auto dst = parse_address<4>(AF_INET, row.destination);
        tuple.insert(tuple.end(), src.begin(), src.end());
        tuple.insert(tuple.end(), dst.begin(), dst.end());
    }
    if (with_ports) {
        for (const uint16_t port : {row.source_port, row.destination_port}) {
            tuple.push_back(static_cast<uint8_t>(port >> 8));
            tuple.push_back(static_cast<uint8_t>(port));
        }
    }
    return tuple;
}

test::FrameSpec frame_spec_of(const VerificationRow &row, bool ipv6, uint8_t protocol)
{
    test::FrameSpec spec;
    spec.ipv6 = ipv6;
    spec.protocol = protocol;
    if (ipv6) {
        spec.src6 = parse_address<16>(AF_INET6, row.source);
        spec.dst6 = parse_address<16>(AF_INET6, row.destination);
    } else {
        spec.src4 = parse_address<4>(AF_INET, row.source);
        spec.dst4 = parse_address<4>(AF_INET, row.destination);
    }
    spec.src_port = row.source_port;
    spec.dst_port = row.destination_port;
    spec.payload = test::pattern_payload(33);
    return spec;
}

// The first row, checked at compile time: the hash is a constant expression.
constexpr std::array<uint8_t, 12> kFirstRowTuple = {66,  9,  149,  187,  161,  142,
                                                    100, 80, 0x0a, 0xea, 0x06, 0xe6};
static_assert(toeplitz_hash(kVerificationKey, kFirstRowTuple) == 0x51ccc178);
static_assert(toeplitz_hash(kVerificationKey, std::span(kFirstRowTuple).first(8)) == 0x323e8fc2);

// The spec's bytes written out again on purpose, as a golden vector: the driver, the
// emulator and the other tests all take the key from gdma/rss_hash.h, so this is the one
// independent check that it is the spec's (§2 item 6).
TEST(Toeplitz, DefaultKeyIsTheSpecKey)
{
    const std::array<uint8_t, 40> spec_key = {
        0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2, 0x83, 0x19, 0xdb, 0x1a,
        0x3e, 0x94, 0x6b, 0x9e, 0x38, 0xd9, 0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7,
        0xd9, 0x56, 0x3d, 0x59, 0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a};
    EXPECT_EQ(kDefaultRssKey, spec_key);
}

TEST(Toeplitz, Ipv4VerificationTable)
{
    for (const auto &row : kIpv4Table) {
        SCOPED_TRACE(std::string(row.source) + " -> " + row.destination);
        EXPECT_EQ(toeplitz_hash(kVerificationKey, tuple_of(row, false, false)), row.ip_only_hash);
        EXPECT_EQ(toeplitz_hash(kVerificationKey, tuple_of(row, false, true)), row.with_tcp_hash);
    }
}

TEST(Toeplitz, Ipv6VerificationTable)
{
    for (const auto &row : kIpv6Table) {
        SCOPED_TRACE(std::string(row.source) + " -> " + row.destination);
        EXPECT_EQ(toeplitz_hash(kVerificationKey, tuple_of(row, true, false)), row.ip_only_hash);
        EXPECT_EQ(toeplitz_hash(kVerificationKey, tuple_of(row, true, true)), row.with_tcp_hash);
    }
}

// The definition taken literally: a 320-bit key register shifted left one bit per input
// bit, its leftmost 32 bits XORed in for every set bit.
uint32_t bit_by_bit_toeplitz(std::span<const uint8_t> key, std::span<const uint8_t> input)
{
    std::vector<bool> key_bits;
    for (const uint8_t byte : key)
        for (int bit = 7; bit >= 0; --bit)
            key_bits.push_back((byte >> bit) & 1);
    uint32_t result = 0;
    for (size_t i = 0; i < input.size() * 8; ++i) {
        if ((input[i / 8] >> (7 - i % 8)) & 1) {
            uint32_t window = 0;
            for (size_t j = 0; j < 32; ++j)
                window = (window << 1) | (i + j < key_bits.size() && key_bits[i + j] ? 1 : 0);
            result ^= window;
        }
    }
    return result;
}

TEST(Toeplitz, DefaultKeyMatchesBitByBitDefinition)
{
    // IPv6 4-tuples (36 bytes, the longest RSS input) of pseudo-random bytes.
    uint32_t state = 0x12345678;
    for (int round = 0; round < 200; ++round) {
        std::array<uint8_t, 36> input{};
        for (auto &byte : input) {
            state = state * 1664525u + 1013904223u;
            byte = static_cast<uint8_t>(state >> 24);
        }
        const size_t length = static_cast<size_t>(round) % (input.size() + 1);
        const auto prefix = std::span(input).first(length);
        ASSERT_EQ(toeplitz_hash(kDefaultRssKey, prefix),
                  bit_by_bit_toeplitz(kDefaultRssKey, prefix))
            << "round " << round;
    }
}

TEST(Toeplitz, EmptyInputAndZeroKeyHashToZero)
{
    EXPECT_EQ(toeplitz_hash(kVerificationKey, {}), 0u);
    const std::array<uint8_t, 40> zero_key{};
    const std::array<uint8_t, 4> input{1, 2, 3, 4};
    EXPECT_EQ(toeplitz_hash(zero_key, input), 0u);
}

TEST(Toeplitz, SingleBitSelectsKeyWindow)
{
    // Input bit k set alone XORs key bits k..k+31: for the first bit, the first 4 key bytes.
    const std::array<uint8_t, 1> first_bit{0x80};
    EXPECT_EQ(toeplitz_hash(kVerificationKey, first_bit), 0x6d5a56dau);
    const std::array<uint8_t, 2> ninth_bit{0x00, 0x80};
    EXPECT_EQ(toeplitz_hash(kVerificationKey, ninth_bit), 0x5a56da25u);
}

TEST(RssHash, TcpFramesReproduceTheTable)
{
    const uint64_t mask = kRxHashIpv4 | kRxHashIpv6 | kRxHashTcpPorts;
    for (const bool ipv6 : {false, true}) {
        const auto table = ipv6 ? std::span<const VerificationRow>(kIpv6Table)
                                : std::span<const VerificationRow>(kIpv4Table);
        for (const auto &row : table) {
            SCOPED_TRACE(std::string(row.source) + " -> " + row.destination);
            const auto frame = test::build_frame(frame_spec_of(row, ipv6, 6));
            const auto result = rss_hash(frame, mask, kVerificationKey);
            ASSERT_TRUE(result.has_value());
            EXPECT_EQ(result->hash, row.with_tcp_hash);
            EXPECT_EQ(result->hash_type, ipv6 ? kHashTypeTcpIpv6 : kHashTypeTcpIpv4);

            // Addresses only: the L3 column.
            const auto l3 = rss_hash(frame, kRxHashIpv4 | kRxHashIpv6, kVerificationKey);
            ASSERT_TRUE(l3.has_value());
            EXPECT_EQ(l3->hash, row.ip_only_hash);
            EXPECT_EQ(l3->hash_type, ipv6 ? kHashTypeIpv6 : kHashTypeIpv4);
        }
    }
}

TEST(RssHash, UdpUsesPortsOnlyWithUdpBits)
{
    const auto &row = kIpv4Table[1];
    const auto frame = test::build_frame(frame_spec_of(row, false, 17));

    const auto with_udp = rss_hash(frame, kRxHashIpv4 | kRxHashUdpPorts, kVerificationKey);
    ASSERT_TRUE(with_udp.has_value());
    EXPECT_EQ(with_udp->hash, row.with_tcp_hash); // same 4-tuple input as the TCP column
    EXPECT_EQ(with_udp->hash_type, kHashTypeUdpIpv4);

    // TCP port bits do not apply to a UDP packet: fall back to the address hash.
    const auto with_tcp_bits = rss_hash(frame, kRxHashIpv4 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(with_tcp_bits.has_value());
    EXPECT_EQ(with_tcp_bits->hash, row.ip_only_hash);
    EXPECT_EQ(with_tcp_bits->hash_type, kHashTypeIpv4);

    const auto row6 = kIpv6Table[2];
    const auto frame6 = test::build_frame(frame_spec_of(row6, true, 17));
    const auto udp6 = rss_hash(frame6, kRxHashUdpPorts, kVerificationKey);
    ASSERT_TRUE(udp6.has_value());
    EXPECT_EQ(udp6->hash, row6.with_tcp_hash);
    EXPECT_EQ(udp6->hash_type, kHashTypeUdpIpv6);
}

TEST(RssHash, NoHashWithoutMatchingFields)
{
    const auto frame4 = test::build_frame(frame_spec_of(kIpv4Table[0], false, 6));
    const auto frame6 = test::build_frame(frame_spec_of(kIpv6Table[0], true, 6));
    EXPECT_FALSE(rss_hash(frame4, 0, kVerificationKey).has_value());
    EXPECT_FALSE(rss_hash(frame4, kRxHashIpv6, kVerificationKey).has_value());
    EXPECT_FALSE(rss_hash(frame6, kRxHashIpv4, kVerificationKey).has_value());
    const auto tcp_with_udp_bits =
        rss_hash(frame4, kRxHashIpv4 | kRxHashUdpPorts, kVerificationKey);
    ASSERT_TRUE(tcp_with_udp_bits.has_value());
    EXPECT_EQ(tcp_with_udp_bits->hash_type, kHashTypeIpv4);

    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_FALSE(rss_hash(arp, ~uint64_t{0}, kVerificationKey).has_value());
    EXPECT_FALSE(rss_hash(std::span(arp).first(10), ~uint64_t{0}, kVerificationKey).has_value());
}

TEST(RssHash, FragmentsGetTheAddressHash)
{
    const auto &row = kIpv4Table[2];
    auto spec = frame_spec_of(row, false, 6);
    spec.ipv4_flags_fragment = 0x2000; // MF, offset 0: first fragment, TCP header present
    const auto first_fragment = test::build_frame(spec);
    const auto result = rss_hash(first_fragment, kRxHashIpv4 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->hash, row.ip_only_hash);
    EXPECT_EQ(result->hash_type, kHashTypeIpv4);

    spec.ipv4_flags_fragment = 0x0010; // a later fragment
    const auto later =
        rss_hash(test::build_frame(spec), kRxHashIpv4 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(later.has_value());
    EXPECT_EQ(later->hash, row.ip_only_hash);

    // Only the TCP bits and a fragment: nothing to hash.
    EXPECT_FALSE(rss_hash(first_fragment, kRxHashTcpPorts, kVerificationKey).has_value());

    // IPv6 with a fragment header: address hash.
    const auto &row6 = kIpv6Table[1];
    auto spec6 = frame_spec_of(row6, true, 6);
    spec6.ipv6_extensions = {{44, 8}};
    const auto fragment6 =
        rss_hash(test::build_frame(spec6), kRxHashIpv6 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(fragment6.has_value());
    EXPECT_EQ(fragment6->hash, row6.ip_only_hash);
    EXPECT_EQ(fragment6->hash_type, kHashTypeIpv6);
}

TEST(RssHash, VlanAndExtensionHeadersHashInnerHeaders)
{
    const auto &row = kIpv4Table[3];
    auto spec = frame_spec_of(row, false, 6);
    spec.vlan_tci = 0x2064;
    spec.ipv4_options_len = 8;
    const auto result =
        rss_hash(test::build_frame(spec), kRxHashIpv4 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->hash, row.with_tcp_hash);

    const auto &row6 = kIpv6Table[0];
    auto spec6 = frame_spec_of(row6, true, 6);
    spec6.vlan_tci = 7;
    spec6.ipv6_extensions = {{0, 8}, {60, 16}};
    const auto result6 =
        rss_hash(test::build_frame(spec6), kRxHashIpv6 | kRxHashTcpPorts, kVerificationKey);
    ASSERT_TRUE(result6.has_value());
    EXPECT_EQ(result6->hash, row6.with_tcp_hash);
    EXPECT_EQ(result6->hash_type, kHashTypeTcpIpv6);
}

} // namespace
} // namespace mana_emu::packet
