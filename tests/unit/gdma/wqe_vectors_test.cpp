/* SPDX-License-Identifier: BSD-3-Clause */
// TX and RX WQEs posted into a zeroed ring must reproduce the golden ring bytes,
// including the SGL wrap at the ring end and the dummy SGE of an empty SGL.
#include "vector_file.h"

#include <gdma/gdma.h>

#include <gtest/gtest.h>

#include <vector>

namespace mana::test
{
namespace
{

using namespace mana::gdma;

std::vector<Sge> sges_of(const nlohmann::json &fields)
{
    std::vector<Sge> sges;
    for (const auto &sge : fields.at("sges"))
        sges.push_back(Sge{.address = number_field(sge, "address"),
                           .memory_key = static_cast<uint32_t>(number_field(sge, "key")),
                           .size = static_cast<uint32_t>(number_field(sge, "size"))});
    return sges;
}

TxShortOobFields short_oob_of(const nlohmann::json &f)
{
    return TxShortOobFields{
        .packet_format = static_cast<TxPacketFormat>(number_field(f, "packet_format")),
        .outer_ipv4 = flag_field(f, "outer_ipv4"),
        .outer_ipv6 = flag_field(f, "outer_ipv6"),
        .compute_ip_csum = flag_field(f, "compute_ip_csum"),
        .compute_tcp_csum = flag_field(f, "compute_tcp_csum"),
        .compute_udp_csum = flag_field(f, "compute_udp_csum"),
        .suppress_cqe = flag_field(f, "suppress_cqe"),
        .vcq_number = static_cast<uint32_t>(number_field(f, "vcq_number")),
        .transport_offset = static_cast<uint16_t>(number_field(f, "transport_offset")),
        .vsq_frame = static_cast<uint16_t>(number_field(f, "vsq_frame")),
        .short_vport_offset = static_cast<uint8_t>(number_field(f, "short_vport_offset")),
    };
}

TxLongOobFields long_oob_of(const nlohmann::json &f)
{
    return TxLongOobFields{
        .encapsulated = false,
        .inner_ipv6 = false,
        .inner_tcp_options = false,
        .inject_vlan = flag_field(f, "inject_vlan"),
        .pcp = static_cast<uint8_t>(number_field(f, "pcp")),
        .dei = flag_field(f, "dei"),
        .vlan_id = static_cast<uint16_t>(number_field(f, "vlan_id")),
        .inner_frame_offset = 0,
        .inner_ip_rel_offset = 0,
        .long_vport_offset = 0,
    };
}

struct PostedRing {
    std::vector<std::byte> bytes;
    uint32_t advanced_bu;
};

PostedRing post(const nlohmann::json &entry, std::span<const std::byte> client_oob)
{
    PostedRing ring{std::vector<std::byte>(entry.at("ring_size_bytes").get<uint32_t>()), 0};
    const WqeRing view(ring.bytes.data(), static_cast<uint32_t>(ring.bytes.size()));
    const auto sges = sges_of(entry.at("fields"));
    ring.advanced_bu =
        write_wqe(view, entry.at("head_bu").get<uint32_t>(), DmaHeaderFields{}, client_oob, sges);
    return ring;
}

void expect_ring(const nlohmann::json &entry, const PostedRing &ring)
{
    EXPECT_EQ(ring.advanced_bu, entry.at("wqe_size_bu").get<uint32_t>());
    EXPECT_EQ(to_hex(ring.bytes.data(), ring.bytes.size()),
              entry.at("ring_bytes").get<std::string>());
}

TEST(WqeVectors, TxWqesMatchGoldenRings)
{
    const auto vectors = load_vector_file("tx_wqe.json");
    ASSERT_FALSE(vectors.empty());
    for (const auto &entry : vectors) {
        SCOPED_TRACE(entry.at("name").get<std::string>());
        const auto &fields = entry.at("fields");
        const auto short_fields = short_oob_of(fields);
        if (fields.contains("sq_id")) {
            EXPECT_EQ(vsq_frame_of(static_cast<uint32_t>(number_field(fields, "sq_id"))),
                      short_fields.vsq_frame);
        }
        if (short_fields.packet_format == TxPacketFormat::long_oob) {
            const auto oob = TxLongOob::encode(short_fields, long_oob_of(fields));
            expect_ring(entry, post(entry, std::as_bytes(std::span(&oob, 1))));
        } else {
            const auto oob = TxShortOob::encode(short_fields);
            expect_ring(entry, post(entry, std::as_bytes(std::span(&oob, 1))));
        }
    }
}

TEST(WqeVectors, RxWqesMatchGoldenRings)
{
    const auto vectors = load_vector_file("rx_wqe.json");
    ASSERT_FALSE(vectors.empty());
    for (const auto &entry : vectors) {
        SCOPED_TRACE(entry.at("name").get<std::string>());
        const std::array<std::byte, kSmallInlineOobBytes> zero_oob{};
        expect_ring(entry, post(entry, zero_oob));
    }
}

// The device side reads back what the golden rings hold: every SGE, including across
// the wrap, and the dummy SGE of an empty SGL.
TEST(WqeVectors, ParserReadsGoldenRingsBack)
{
    for (const char *file : {"tx_wqe.json", "rx_wqe.json"}) {
        for (const auto &entry : load_vector_file(file)) {
            SCOPED_TRACE(entry.at("name").get<std::string>());
            auto bytes = hex_bytes(entry.at("ring_bytes").get<std::string>());
            const WqeRing ring(reinterpret_cast<std::byte *>(bytes.data()),
                               static_cast<uint32_t>(bytes.size()));
            ParsedWqe wqe;
            const auto head = entry.at("head_bu").get<uint32_t>();
            ASSERT_EQ(parse_wqe(ring, head, ring.capacity_bu(), wqe), WqeParseError::none);
            EXPECT_EQ(wqe.size_bu, entry.at("wqe_size_bu").get<uint32_t>());
            const auto expected = sges_of(entry.at("fields"));
            if (expected.empty()) { // the slot of the header's zero SGEs holds the dummy
                EXPECT_EQ(read_sge(ring, wqe, 0).address, kDummySge.address);
            }
            ASSERT_EQ(wqe.header.num_sgl_entries, expected.size());
            for (uint32_t i = 0; i < expected.size(); ++i) {
                const Sge sge = read_sge(ring, wqe, i);
                EXPECT_EQ(sge.address, expected[i].address);
                EXPECT_EQ(sge.memory_key, expected[i].memory_key);
                EXPECT_EQ(sge.size, expected[i].size);
            }
            if (std::string(file) == "tx_wqe.json") {
                TxShortOob oob;
                std::memcpy(&oob, wqe.client_oob.data(), sizeof(oob));
                EXPECT_EQ(oob.decode(), short_oob_of(entry.at("fields")));
            }
        }
    }
}

} // namespace
} // namespace mana::test
