/* SPDX-License-Identifier: BSD-3-Clause */
// Every field of every encoder survives encode -> decode at its maximum value, so no
// field overlaps another or loses its top bit.
#include <gdma/gdma.h>

#include <gtest/gtest.h>

namespace mana::gdma
{
namespace
{

TEST(FormatRoundTrip, DmaHeaderAllFieldsAtMaximum)
{
    const DmaHeaderFields f{.last_v_bytes = 255,
                            .num_sgl_entries = 255,
                            .inline_oob_dwords = 6,
                            .client_oob_in_sgl = true,
                            .consume_credit = true,
                            .fence = true,
                            .client_data_unit = 0x3FFF,
                            .check_sn = true,
                            .sgl_direct = true};
    const auto encoded = DmaHeader::encode(f);
    EXPECT_EQ(encoded.decode(), f);
    EXPECT_TRUE(encoded.reserved_bits_clear());
}

TEST(FormatRoundTrip, TxOobsAllFieldsAtMaximum)
{
    const TxShortOobFields s{.packet_format = TxPacketFormat::long_oob,
                             .outer_ipv4 = true,
                             .outer_ipv6 = true,
                             .compute_ip_csum = true,
                             .compute_tcp_csum = true,
                             .compute_udp_csum = true,
                             .suppress_cqe = true,
                             .vcq_number = 0xFFFFFF,
                             .transport_offset = 0x3FF,
                             .vsq_frame = 0x3FFF,
                             .short_vport_offset = 0xFF};
    EXPECT_EQ(TxShortOob::encode(s).decode(), s);
    const TxLongOobFields l{.encapsulated = true,
                            .inner_ipv6 = true,
                            .inner_tcp_options = true,
                            .inject_vlan = true,
                            .pcp = 7,
                            .dei = true,
                            .vlan_id = 0xFFF,
                            .inner_frame_offset = 0x3FF,
                            .inner_ip_rel_offset = 0x3F,
                            .long_vport_offset = 0xFFF};
    const auto long_oob = TxLongOob::encode(s, l);
    EXPECT_EQ(long_oob.decode_long(), l);
    EXPECT_EQ(long_oob.short_part.decode(), s);
    EXPECT_EQ(long_oob.reserved[0] | long_oob.reserved[1], 0U);
}

TEST(FormatRoundTrip, VsqFrameIsSqIdAboveTenBits)
{
    EXPECT_EQ(vsq_frame_of(19459), 19);
    EXPECT_EQ(vsq_frame_of(0xFFFFFF), 0x3FFF);
}

TEST(FormatRoundTrip, CompletionsAllFieldsAtMaximum)
{
    RxCompletionFields rx{
        .header = {.cqe_type = CqeType::rx_coalesced, .client_type = 3, .vendor_err = 0xFFFFFF},
        .vlan_id = 0xFFF,
        .vlan_present = true,
        .outer_ip_csum_ok = true,
        .outer_ip_csum_failed = true,
        .hash_type = 0x1FF,
        .ip_csum_ok = true,
        .ip_csum_failed = true,
        .tcp_csum_ok = true,
        .tcp_csum_failed = true,
        .udp_csum_ok = true,
        .udp_csum_failed = true,
        .packets = {},
        .received_wqe_offset = 0xFFFFFFFF};
    for (auto &p : rx.packets)
        p = {.length = 0xFFFF, .hash = 0xFFFFFFFF};
    EXPECT_EQ(decode_rx_completion(encode_rx_completion(rx)), rx);

    const TxCompletionFields tx{.header = {.cqe_type = CqeType::tx_vlan_tagging_violation},
                                .tx_data_offset = 0xFFFFFFFF,
                                .tx_sgl_offset = 0x1F,
                                .tx_wqe_offset = 0x7FFFFFF};
    EXPECT_EQ(decode_tx_completion(encode_tx_completion(tx)), tx);

    const CqeTrailerFields t{.wq_num = 0xFFFFFF, .is_sq = true, .owner_bits = 7};
    EXPECT_EQ(decode_cqe_trailer(encode_cqe_trailer(t)), t);
}

TEST(FormatRoundTrip, TxErrorTypesAreExactlyThoseAfterTxOk)
{
    EXPECT_FALSE(is_tx_error(CqeType::tx_ok));
    EXPECT_FALSE(is_tx_error(CqeType::rx_ok));
    for (int t = 33; t <= 41; ++t)
        EXPECT_TRUE(is_tx_error(static_cast<CqeType>(t))) << t;
    EXPECT_FALSE(is_tx_error(static_cast<CqeType>(42)));
}

} // namespace
} // namespace mana::gdma
