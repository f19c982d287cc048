/* SPDX-License-Identifier: BSD-3-Clause */
// Hand-posted TX WQEs through the device model: frames to the capture wire, completion
// suppression and ring wrap, checksum offload and TSO, and the error completions of
// frames beyond the largest wire frame, misshapen LSO WQEs, bad DMA and malformed WQEs.
// (RX, RSS and the completion queue's own behaviour: datapath_rx_test.cpp.)
#include "datapath.h"

#include "checksum.h"

#include <cstring>

using namespace emu_test;

namespace
{

TEST_F(DatapathTest, TxFrameReachesTheCaptureWireByteExact)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(0x0a000001, 0x0a000002, 1000, 2000, 100);
    // Two SGEs: header and payload in different places.
    const gdma::Sge sges[2] = {dev.stage(std::span(frame).first(42), 0),
                               dev.stage(std::span(frame).subspan(42), 4096)};
    dev.post_tx(tx, sges, dev.default_oob(tx));
    dev.ring_sq(tx);
    EXPECT_GE(mana_emu_poll(), 1u);
    EXPECT_EQ(captured(0), frame);
    EXPECT_TRUE(captured(0).empty());
    const auto cqe = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
    ASSERT_TRUE(cqe);
    EXPECT_EQ(cqe->type, gdma::CqeType::tx_ok);
    EXPECT_EQ(cqe->trailer.wq_num, tx.sq.sq_id);
    EXPECT_TRUE(cqe->trailer.is_sq);
    EXPECT_FALSE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    const auto c = counters();
    EXPECT_EQ(c.tx_frames, 1u);
    EXPECT_EQ(c.tx_bytes, frame.size());
    EXPECT_EQ(c.wqes, 1u);
    EXPECT_EQ(c.doorbells, 1u);
    EXPECT_EQ(c.cqes, 1u);
    dev.destroy(tx);
}

// The device's limit is its largest wire frame (9000-byte MTU + Ethernet header, VLAN tag
// and FCS room = 9022 bytes), whatever MTU the kernel netdev has: one byte more without
// TSO is a TX MTU drop, and nothing reaches the wire.
TEST_F(DatapathTest, TxFramesBeyondTheLargestWireFrameAreMtuDrops)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto largest = make_udp_frame(1, 2, 3, 4, 9022 - 42);
    const auto too_long = make_udp_frame(1, 2, 3, 4, 9023 - 42);
    ASSERT_EQ(largest.size(), 9022u);
    const gdma::Sge largest_sge = dev.stage(largest, 0);
    const gdma::Sge too_long_sge = dev.stage(too_long, 16384);
    dev.post_tx(tx, std::span(&largest_sge, 1), dev.default_oob(tx));
    dev.post_tx(tx, std::span(&too_long_sge, 1), dev.default_oob(tx));
    dev.ring_sq(tx);
    mana_emu_poll();
    auto c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::tx_ok);
    c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::tx_mtu_drop);
    EXPECT_EQ(captured(0), largest);
    EXPECT_TRUE(captured(0).empty());
    EXPECT_EQ(counters().tx_errors, 1u);
    dev.destroy(tx);
}

TEST_F(DatapathTest, SuppressedSuccessesWriteNoCompletionAndRingsWrap)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx(16, 4);
    const auto frame = make_udp_frame(1, 2, 3, 4, 30);
    const gdma::Sge sge = dev.stage(frame, 0);
    // Many WQEs of 3 SGEs (2 BUs each): the SGLs wrap around the ring end many times.
    const gdma::Sge sges[3] = {{sge.address, sge.memory_key, 20},
                               {sge.address + 20, sge.memory_key, 30},
                               {sge.address + 50, sge.memory_key, sge.size - 50}};
    unsigned expected_cqes = 0;
    for (int round = 0; round < 40; ++round) {
        for (int i = 0; i < 4; ++i) {
            const bool suppress = i != 3;
            dev.post_tx(tx, sges, dev.default_oob(tx, suppress));
            expected_cqes += suppress ? 0 : 1;
        }
        dev.ring_sq(tx);
        mana_emu_poll();
        for (int i = 0; i < 4; ++i)
            ASSERT_EQ(captured(0), frame) << "round " << round;
        const auto cqe = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
        ASSERT_TRUE(cqe);
        EXPECT_EQ(cqe->type, gdma::CqeType::tx_ok);
        EXPECT_FALSE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    }
    EXPECT_EQ(counters().cqes, expected_cqes);
    dev.destroy(tx);
}

TEST_F(DatapathTest, TxChecksumOffloadCompletesSeededChecksums)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto reference = make_udp_frame(0x0a000001, 0x0a000002, 1111, 2222, 77, true);
    auto posted = reference;
    // What a driver posts: IP checksum 0, TCP checksum seeded with the pseudo-header sum.
    posted[24] = posted[25] = 0;
    const uint16_t seed = mana_emu::packet::ipv4_pseudo_header_checksum(
        std::span<const uint8_t>(posted).subspan(14, 20));
    posted[50] = static_cast<uint8_t>(seed >> 8);
    posted[51] = static_cast<uint8_t>(seed);
    const gdma::Sge sge = dev.stage(posted, 0);
    auto oob = dev.default_oob(tx);
    oob.outer_ipv4 = true;
    oob.compute_ip_csum = true;
    oob.compute_tcp_csum = true;
    oob.transport_offset = 34;
    dev.post_tx(tx, std::span(&sge, 1), oob);
    dev.ring_sq(tx);
    mana_emu_poll();
    EXPECT_EQ(captured(0), reference);
    dev.destroy(tx);
}

TEST_F(DatapathTest, TsoSplitsIntoMssSegments)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    auto frame = make_udp_frame(0x0a000001, 0x0a000002, 80, 8080, 3000, true);
    // Posted for TSO: IP total length and checksum zero, TCP checksum seeded (length 0).
    frame[16] = frame[17] = 0;
    frame[24] = frame[25] = 0;
    const uint16_t seed = mana_emu::packet::ipv4_pseudo_header_checksum(
        std::span<const uint8_t>(frame).subspan(14, 20), false);
    frame[50] = static_cast<uint8_t>(seed >> 8);
    frame[51] = static_cast<uint8_t>(seed);
    const gdma::Sge sges[2] = {dev.stage(std::span(frame).first(54), 0),
                               dev.stage(std::span(frame).subspan(54), 4096)};
    auto oob = dev.default_oob(tx);
    oob.outer_ipv4 = true;
    oob.compute_ip_csum = true;
    oob.compute_tcp_csum = true;
    oob.transport_offset = 34;
    gdma::DmaHeaderFields header{};
    header.client_oob_in_sgl = true;
    header.last_v_bytes = 54;
    header.client_data_unit = 1000;
    dev.post_tx(tx, sges, oob, std::nullopt, header);
    dev.ring_sq(tx);
    mana_emu_poll();
    size_t payload = 0;
    for (int i = 0; i < 3; ++i) {
        const auto segment = captured(0);
        ASSERT_EQ(segment.size(), 54u + 1000u) << "segment " << i;
        payload += segment.size() - 54;
        const auto checks = mana_emu::packet::validate_checksums(segment);
        EXPECT_TRUE(checks.ip_ok);
        EXPECT_TRUE(checks.tcp_ok);
    }
    EXPECT_TRUE(captured(0).empty());
    EXPECT_EQ(payload, 3000u);
    EXPECT_EQ(counters().tx_frames, 3u);
    dev.destroy(tx);
}

// An LSO WQE that is not shaped as spec §3 says is refused (the device would segment from
// the wrong header), and counted as a violation so driver bugs cannot pass unnoticed;
// segments longer than the largest frame are an MTU drop.
TEST_F(DatapathTest, MisshapenLsoWqesAreRefused)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    auto frame = make_udp_frame(0x0a000001, 0x0a000002, 80, 8080, 10000, true);
    frame[16] = frame[17] = 0;
    frame[24] = frame[25] = 0;
    struct Case {
        const char *what;
        uint32_t sge0;      // bytes in SGE 0
        uint32_t sge_count; // 1 or 2
        uint8_t last_v_bytes;
        bool oob_in_sgl;
        bool tcp_csum;
        uint16_t transport_offset;
        uint16_t mss;
        gdma::CqeType expected;
        uint64_t violations;
    };
    const Case cases[] = {
        {"well formed", 54, 2, 54, true, true, 34, 1000, gdma::CqeType::tx_ok, 0},
        {"payload in SGE 0", 100, 2, 100, true, true, 34, 1000, gdma::CqeType::tx_invalid_oob, 1},
        {"last_v_bytes wrong", 54, 2, 60, true, true, 34, 1000, gdma::CqeType::tx_invalid_oob, 1},
        {"client_oob_in_sgl clear", 54, 2, 54, false, true, 34, 1000, gdma::CqeType::tx_invalid_oob,
         1},
        {"one SGE", 10054, 1, 54, true, true, 34, 1000, gdma::CqeType::tx_invalid_oob, 1},
        {"no TCP checksum", 54, 2, 54, true, false, 34, 1000, gdma::CqeType::tx_invalid_oob, 1},
        {"transport offset wrong", 54, 2, 54, true, true, 14, 1000, gdma::CqeType::tx_invalid_oob,
         1},
        {"segments beyond 9022 bytes", 54, 2, 54, true, true, 34, 9000, gdma::CqeType::tx_mtu_drop,
         0},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.what);
        mana_emu_reset_counters();
        std::vector<gdma::Sge> sges = {dev.stage(std::span(frame).first(c.sge0), 0)};
        if (c.sge_count == 2)
            sges.push_back(dev.stage(std::span(frame).subspan(c.sge0), 16384));
        else
            sges[0] = dev.stage(frame, 0);
        auto oob = dev.default_oob(tx);
        oob.outer_ipv4 = true;
        oob.compute_ip_csum = true;
        oob.compute_tcp_csum = c.tcp_csum;
        oob.transport_offset = c.transport_offset;
        gdma::DmaHeaderFields header{};
        header.client_oob_in_sgl = c.oob_in_sgl;
        header.last_v_bytes = c.last_v_bytes;
        header.client_data_unit = c.mss;
        oob.suppress_cqe = false;
        dev.post_tx(tx, sges, oob, std::nullopt, header);
        dev.ring_sq(tx);
        mana_emu_poll();
        auto cqe = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
        ASSERT_TRUE(cqe);
        EXPECT_EQ(cqe->type, c.expected);
        EXPECT_EQ(counters().wqe_violations, c.violations);
        if (c.expected == gdma::CqeType::tx_ok) {
            EXPECT_EQ(counters().tx_frames, 10u);
            while (!captured(0).empty()) {
            }
        } else {
            EXPECT_EQ(counters().tx_frames, 0u);
            EXPECT_TRUE(captured(0).empty());
        }
    }
    mana_emu_reset_counters(); // the violations above were the point
    dev.destroy(tx);
}

TEST_F(DatapathTest, BadDmaGivesAnErrorCompletionNotACrash)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    gdma::Sge sge = dev.stage(frame, 0);
    gdma::Sge bad_key = sge;
    bad_key.memory_key ^= 0x5a5a;
    gdma::Sge out_of_range = sge;
    out_of_range.address = reinterpret_cast<uintptr_t>(dev.memory.data()) + dev.memory.size() - 8;
    gdma::Sge wild = sge;
    wild.address = 0xdead0000;
    for (const auto &s : {bad_key, out_of_range, wild}) {
        dev.post_tx(tx, std::span(&s, 1), dev.default_oob(tx, true));
        dev.ring_sq(tx);
        mana_emu_poll();
        auto c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
        ASSERT_TRUE(c);
        EXPECT_TRUE(gdma::is_tx_error(c->type));
    }
    EXPECT_TRUE(captured(0).empty());
    const auto k = counters();
    EXPECT_EQ(k.dma_violations, 3u);
    EXPECT_EQ(k.tx_errors, 3u);
    dev.destroy(tx);
}

TEST_F(DatapathTest, MalformedWqesAndWrongOobFieldsAreRejected)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    const gdma::Sge sge = dev.stage(frame, 0);
    auto expect_error = [&](gdma::CqeType type) {
        dev.ring_sq(tx);
        mana_emu_poll();
        auto c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->type, type);
    };
    auto oob = dev.default_oob(tx);
    oob.vcq_number ^= 1;
    dev.post_tx(tx, std::span(&sge, 1), oob);
    expect_error(gdma::CqeType::tx_invalid_oob);
    oob = dev.default_oob(tx);
    oob.vsq_frame ^= 1;
    dev.post_tx(tx, std::span(&sge, 1), oob);
    expect_error(gdma::CqeType::tx_invalid_oob);
    oob = dev.default_oob(tx);
    oob.short_vport_offset ^= 1;
    dev.post_tx(tx, std::span(&sge, 1), oob);
    expect_error(gdma::CqeType::tx_vport_index_out_of_range);
    // More SGEs than the QP's max_send_sge (4).
    const gdma::Sge five[5] = {sge, sge, sge, sge, sge};
    dev.post_tx(tx, five, dev.default_oob(tx));
    expect_error(gdma::CqeType::tx_invalid_oob);
    // A header with an OOB size the device does not know.
    const uint32_t offset = tx.ring.offset_of(tx.head_bu);
    dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    auto *raw = reinterpret_cast<uint32_t *>(tx.ring.base() + offset);
    raw[1] = (raw[1] & ~(7U << 8)) | (3U << 8);
    expect_error(gdma::CqeType::tx_invalid_oob);
    // The queue still works afterwards.
    dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    expect_error(gdma::CqeType::tx_ok);
    EXPECT_EQ(captured(0), frame);
    EXPECT_EQ(counters().wqe_violations, 5u);
    // A doorbell claiming more than the ring holds is ignored and counted.
    tx.head_bu += tx.ring.capacity_bu() + 1;
    dev.ring_sq(tx);
    mana_emu_poll();
    EXPECT_EQ(counters().wqe_violations, 6u);
    dev.destroy(tx);
}

} // namespace
