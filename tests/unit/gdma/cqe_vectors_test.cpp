/* SPDX-License-Identifier: BSD-3-Clause */
// RX and TX CQEs: encoding the fields gives the golden bytes, and decoding the golden
// bytes gives the fields back.
#include "vector_file.h"

#include <gdma/gdma.h>

#include <gtest/gtest.h>

#include <cstring>

namespace mana::test
{
namespace
{

using namespace mana::gdma;

CompletionHeaderFields header_of(const nlohmann::json &f)
{
    return CompletionHeaderFields{
        .cqe_type = static_cast<CqeType>(number_field(f, "cqe_type")),
        .client_type = static_cast<uint8_t>(number_field(f, "client_type")),
        .vendor_err = static_cast<uint32_t>(number_field(f, "vendor_err")),
    };
}

CqeTrailerFields trailer_of(const nlohmann::json &f)
{
    return CqeTrailerFields{
        .wq_num = static_cast<uint32_t>(number_field(f, "wq_num")),
        .is_sq = flag_field(f, "is_sq"),
        .owner_bits = static_cast<uint8_t>(number_field(f, "owner_bits")),
    };
}

RxCompletionFields rx_fields_of(const nlohmann::json &f)
{
    RxCompletionFields rx{
        .header = header_of(f),
        .vlan_id = static_cast<uint16_t>(number_field(f, "vlan_id")),
        .vlan_present = flag_field(f, "vlan_present"),
        .outer_ip_csum_ok = flag_field(f, "outer_ip_csum_ok"),
        .outer_ip_csum_failed = flag_field(f, "outer_ip_csum_failed"),
        .hash_type = static_cast<uint16_t>(number_field(f, "hash_type")),
        .ip_csum_ok = flag_field(f, "ip_csum_ok"),
        .ip_csum_failed = flag_field(f, "ip_csum_failed"),
        .tcp_csum_ok = flag_field(f, "tcp_csum_ok"),
        .tcp_csum_failed = flag_field(f, "tcp_csum_failed"),
        .udp_csum_ok = flag_field(f, "udp_csum_ok"),
        .udp_csum_failed = flag_field(f, "udp_csum_failed"),
        .packets = {},
        .received_wqe_offset = static_cast<uint32_t>(number_field(f, "received_wqe_offset")),
    };
    if (f.contains("packets")) {
        const auto &packets = f.at("packets");
        EXPECT_LE(packets.size(), kRxPacketsPerCqe);
        for (std::size_t i = 0; i < packets.size() && i < kRxPacketsPerCqe; ++i) {
            rx.packets[i].length = static_cast<uint16_t>(number_field(packets[i], "length"));
            rx.packets[i].hash = static_cast<uint32_t>(number_field(packets[i], "hash"));
        }
    }
    return rx;
}

TxCompletionFields tx_fields_of(const nlohmann::json &f)
{
    return TxCompletionFields{
        .header = header_of(f),
        .tx_data_offset = static_cast<uint32_t>(number_field(f, "tx_data_offset")),
        .tx_sgl_offset = static_cast<uint8_t>(number_field(f, "tx_sgl_offset")),
        .tx_wqe_offset = static_cast<uint32_t>(number_field(f, "tx_wqe_offset")),
    };
}

Cqe cqe_from_hex(const std::string &hex)
{
    const auto bytes = hex_bytes(hex);
    EXPECT_EQ(bytes.size(), sizeof(Cqe));
    Cqe cqe{};
    std::memcpy(&cqe, bytes.data(), std::min(bytes.size(), sizeof(cqe)));
    return cqe;
}

TEST(CqeVectors, RxCompletionsEncodeAndDecode)
{
    const auto vectors = load_vector_file("cqe_rx.json");
    ASSERT_FALSE(vectors.empty());
    for (const auto &entry : vectors) {
        SCOPED_TRACE(entry.at("name").get<std::string>());
        const auto &fields = entry.at("fields");
        const auto expected = rx_fields_of(fields);
        const Cqe encoded{encode_rx_completion(expected), encode_cqe_trailer(trailer_of(fields))};
        EXPECT_EQ(to_hex(&encoded, sizeof(encoded)), entry.at("bytes").get<std::string>());

        const Cqe golden = cqe_from_hex(entry.at("bytes").get<std::string>());
        EXPECT_EQ(decode_rx_completion(golden.oob), expected);
        EXPECT_EQ(decode_cqe_trailer(golden.trailer), trailer_of(fields));
        EXPECT_EQ(golden.type(), expected.header.cqe_type);
        EXPECT_EQ(golden.owner_bits(), trailer_of(fields).owner_bits);
    }
}

TEST(CqeVectors, TxCompletionsEncodeAndDecode)
{
    const auto vectors = load_vector_file("cqe_tx.json");
    ASSERT_FALSE(vectors.empty());
    for (const auto &entry : vectors) {
        SCOPED_TRACE(entry.at("name").get<std::string>());
        const auto &fields = entry.at("fields");
        const auto expected = tx_fields_of(fields);
        const Cqe encoded{encode_tx_completion(expected), encode_cqe_trailer(trailer_of(fields))};
        EXPECT_EQ(to_hex(&encoded, sizeof(encoded)), entry.at("bytes").get<std::string>());

        const Cqe golden = cqe_from_hex(entry.at("bytes").get<std::string>());
        EXPECT_EQ(decode_tx_completion(golden.oob), expected);
        EXPECT_EQ(decode_cqe_trailer(golden.trailer), trailer_of(fields));
        EXPECT_EQ(is_tx_error(golden.type()), expected.header.cqe_type != CqeType::tx_ok);
    }
}

} // namespace
} // namespace mana::test
