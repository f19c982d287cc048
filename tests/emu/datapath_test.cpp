/* SPDX-License-Identifier: BSD-3-Clause */
// Hand-posted WQEs through the device model: TX to the wire, RX through RSS, offloads,
// completions and their owner bits, error completions for bad WQEs and bad DMA.
#include "emu_harness.h"

#include "checksum.h"
#include "toeplitz.h"

#include <poll.h>

#include <cstring>

using namespace emu_test;

namespace
{

constexpr uint64_t kIpv4Udp = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                              IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
constexpr size_t kRxArea = 512 * 1024; // RX buffers live in the upper half of dev.memory

std::vector<uint8_t> captured(unsigned port)
{
    std::vector<uint8_t> buf(65536);
    const ssize_t n = mana_emu_capture(port, buf.data(), buf.size());
    EXPECT_GE(n, 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
}

struct mana_emu_counters counters()
{
    struct mana_emu_counters c {
    };
    EXPECT_EQ(mana_emu_counters(&c), 0);
    return c;
}

uint32_t rx_flags(const Completion &c)
{
    return c.oob[gdma::rx_oob_word::flags];
}

class DatapathTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
};

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

TEST_F(DatapathTest, LoopbackRssPicksTheQueueOfTheToeplitzHash)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = dev.make_tx();
    std::vector<RxQueue> rx(4);
    std::vector<RxQueue *> list;
    for (unsigned i = 0; i < rx.size(); ++i) {
        rx[i] = dev.make_rx(32);
        dev.post_rx(rx[i], 32, 2048, kRxArea + i * 32 * 2048);
        dev.ring_rq(rx[i]);
        list.push_back(&rx[i]);
    }
    ibv_rwq_ind_table *table = nullptr;
    ibv_qp *rss = dev.make_rss(list, kIpv4Udp, &table);
    for (uint16_t flow = 0; flow < 24; ++flow) {
        const auto frame = make_udp_frame(0xc0a80001 + flow, 0xc0a80101, 4000 + flow, 53, 64);
        const gdma::Sge sge = dev.stage(frame, 0);
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        dev.ring_sq(tx);
        mana_emu_poll();
        ASSERT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
        // Reference: Toeplitz over src ip, dst ip, src port, dst port.
        std::array<uint8_t, 12> input{};
        std::memcpy(input.data(), &frame[26], 8);
        std::memcpy(input.data() + 8, &frame[34], 4);
        const uint32_t hash =
            mana_emu::packet::toeplitz_hash(mana_emu::packet::kDefaultRssKey, input);
        const unsigned expected_queue = (hash % 64) % 4;
        for (unsigned q = 0; q < rx.size(); ++q) {
            auto cqe = Device::next_cqe(rx[q].cq, rx[q].cqinfo, rx[q].cq_head);
            if (q != expected_queue) {
                EXPECT_FALSE(cqe) << "flow " << flow << " landed on queue " << q;
                continue;
            }
            ASSERT_TRUE(cqe) << "flow " << flow << " expected on queue " << q;
            EXPECT_EQ(cqe->type, gdma::CqeType::rx_ok);
            EXPECT_EQ(cqe->trailer.wq_num, rx[q].rq.wq_id);
            EXPECT_FALSE(cqe->trailer.is_sq);
            const auto fields = gdma::decode_rx_completion(cqe->oob);
            EXPECT_EQ(fields.packets[0].length, frame.size());
            EXPECT_EQ(fields.packets[0].hash, hash);
            EXPECT_EQ(fields.hash_type, gdma::rx_hash_type::udp_ipv4);
            EXPECT_TRUE(fields.ip_csum_ok);
            EXPECT_TRUE(fields.udp_csum_ok);
            EXPECT_FALSE(fields.vlan_present);
            // The frame is in the buffer of the WQE the CQE names.
            const size_t slot = fields.received_wqe_offset / gdma::kBasicUnitBytes;
            EXPECT_EQ(0, std::memcmp(dev.memory.data() + kRxArea + (q * 32 + slot) * 2048,
                                     frame.data(), frame.size()));
        }
    }
    EXPECT_EQ(counters().rx_frames, 24u);
    EXPECT_EQ(ibv_destroy_qp(rss), 0);
    EXPECT_EQ(ibv_destroy_rwq_ind_table(table), 0);
    for (auto &q : rx)
        dev.destroy(q);
    dev.destroy(tx);
}

// A device of its own with one 64-entry RX queue: `buffers` buffers of `buffer` bytes.
struct RxFixture {
    Device dev;
    RssRxQueue queue;
    RxQueue &rx = queue.q;
    explicit RxFixture(uint32_t buffer = 2048, unsigned buffers = 16, unsigned ib_port = 1)
        : dev(ib_port), queue(dev, kIpv4Udp, 64, buffers, buffer, kRxArea)
    {
    }
    std::optional<Completion> next() { return queue.next(); }
};

TEST_F(DatapathTest, ReceivedChecksumsAreValidated)
{
    RxFixture f;
    auto good = make_udp_frame(1, 2, 3, 4, 50);
    auto bad_ip = good;
    bad_ip[14 + 10] ^= 0xff;
    auto bad_udp = good;
    bad_udp.back() ^= 0x55;
    auto tcp = make_udp_frame(1, 2, 3, 4, 50, true);
    for (const auto *frame : {&good, &bad_ip, &bad_udp, &tcp})
        ASSERT_EQ(mana_emu_inject(0, frame->data(), frame->size()), 0);
    EXPECT_EQ(mana_emu_poll(), 4u);
    auto c = f.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(rx_flags(*c) & (gdma::rx_flag::ip_csum_ok | gdma::rx_flag::udp_csum_ok),
              gdma::rx_flag::ip_csum_ok | gdma::rx_flag::udp_csum_ok);
    c = f.next();
    ASSERT_TRUE(c);
    EXPECT_TRUE(rx_flags(*c) & gdma::rx_flag::ip_csum_failed);
    c = f.next();
    ASSERT_TRUE(c);
    EXPECT_TRUE(rx_flags(*c) & gdma::rx_flag::ip_csum_ok);
    EXPECT_TRUE(rx_flags(*c) & gdma::rx_flag::udp_csum_failed);
    c = f.next();
    ASSERT_TRUE(c);
    EXPECT_TRUE(rx_flags(*c) & gdma::rx_flag::tcp_csum_ok);
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

TEST_F(DatapathTest, VlanIsInsertedOnTxAndStrippedOnRx)
{
    RxFixture f;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = f.dev.make_tx();
    const auto frame = make_udp_frame(5, 6, 7, 8, 40);
    const gdma::Sge sge = f.dev.stage(frame, 0);
    gdma::TxLongOobFields vlan{};
    vlan.inject_vlan = true;
    vlan.pcp = 5;
    vlan.dei = false;
    vlan.vlan_id = 0x123;
    f.dev.post_tx(tx, std::span(&sge, 1), f.dev.default_oob(tx), vlan);
    f.dev.ring_sq(tx);
    mana_emu_poll();
    auto tx_cqe = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
    ASSERT_TRUE(tx_cqe);
    EXPECT_EQ(tx_cqe->type, gdma::CqeType::tx_ok);
    auto c = f.next();
    ASSERT_TRUE(c);
    const auto fields = gdma::decode_rx_completion(c->oob);
    EXPECT_TRUE(fields.vlan_present);
    EXPECT_EQ(fields.vlan_id, 0x123);
    EXPECT_EQ(fields.packets[0].length, frame.size());
    EXPECT_EQ(0, std::memcmp(f.dev.memory.data() + kRxArea, frame.data(), frame.size()));

    // On the wire the tag is there.
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    f.dev.post_tx(tx, std::span(&sge, 1), f.dev.default_oob(tx), vlan);
    f.dev.ring_sq(tx);
    mana_emu_poll();
    const auto wire = captured(0);
    ASSERT_EQ(wire.size(), frame.size() + 4);
    EXPECT_EQ(wire[12], 0x81);
    EXPECT_EQ(wire[13], 0x00);
    EXPECT_EQ(wire[14], 0xa1); // PCP 5, DEI 0, VID 0x123
    EXPECT_EQ(wire[15], 0x23);
    f.dev.destroy(tx);
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

TEST_F(DatapathTest, LongFramesAreTruncatedAndMissingBuffersDrop)
{
    RxFixture f(256, 2);
    const auto big = make_udp_frame(1, 2, 3, 4, 600);
    const auto small = make_udp_frame(1, 2, 3, 4, 10);
    ASSERT_EQ(mana_emu_inject(0, big.data(), big.size()), 0);
    ASSERT_EQ(mana_emu_inject(0, small.data(), small.size()), 0);
    ASSERT_EQ(mana_emu_inject(0, small.data(), small.size()), 0); // no buffer left
    mana_emu_poll();
    auto c = f.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_truncated);
    c = f.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_ok);
    EXPECT_FALSE(f.next());
    const auto k = counters();
    EXPECT_EQ(k.rx_truncated, 1u);
    EXPECT_EQ(k.rx_frames, 1u);
    EXPECT_EQ(k.rx_drops_no_buffer, 1u);
    struct mana_emu_counters q {
    };
    ASSERT_EQ(mana_emu_queue_counters(MANA_EMU_QUEUE_RQ, f.rx.rq.wq_id, &q), 0);
    EXPECT_EQ(q.rx_drops_no_buffer, 1u);
}

TEST_F(DatapathTest, FramesWithoutAReceivePathAreCountedDrops)
{
    Device dev;
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    ASSERT_EQ(mana_emu_inject(1, frame.data(), frame.size()), 0);
    mana_emu_poll();
    struct mana_emu_counters port {
    };
    ASSERT_EQ(mana_emu_port_counters(1, &port), 0);
    EXPECT_EQ(port.rx_drops_other, 1u);
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

TEST_F(DatapathTest, CoalescedCompletionsCarryUpToFourPackets)
{
    reset_emulator("coalesce=1");
    RxFixture f(2048, 16);
    const auto frame = make_udp_frame(9, 9, 9, 9, 20);
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(mana_emu_inject(0, frame.data(), frame.size()), 0);
    mana_emu_poll();
    auto c = f.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_coalesced);
    auto fields = gdma::decode_rx_completion(c->oob);
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(fields.packets[i].length, frame.size());
    c = f.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_coalesced);
    fields = gdma::decode_rx_completion(c->oob);
    EXPECT_EQ(fields.packets[1].length, frame.size());
    EXPECT_EQ(fields.packets[2].length, 0);
    EXPECT_FALSE(f.next());
    EXPECT_EQ(counters().rx_frames, 6u);
}

TEST_F(DatapathTest, OwnerBitsFollowTheLapsAndOverflowIsVisible)
{
    RxFixture f(128, 0);
    const auto frame = make_udp_frame(1, 1, 1, 1, 10);
    // 3 laps of a 64-entry CQ, consuming as we go.
    for (int lap = 0; lap < 3; ++lap) {
        f.dev.post_rx(f.rx, 64, 128, kRxArea);
        f.dev.ring_rq(f.rx);
        for (int i = 0; i < 64; ++i)
            mana_emu_inject(0, frame.data(), frame.size());
        mana_emu_poll();
        for (int i = 0; i < 64; ++i)
            ASSERT_TRUE(f.next()) << "lap " << lap << " entry " << i;
        EXPECT_FALSE(f.next());
    }
    EXPECT_EQ(counters().cq_overflows, 0u);
    // Forced overflow: the next entry is a lap ahead of the driver.
    ASSERT_EQ(mana_emu_force_cq_overflow(0), 0);
    f.dev.post_rx(f.rx, 1, 128, kRxArea);
    f.dev.ring_rq(f.rx);
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    const auto *ring = static_cast<const gdma::Cqe *>(f.rx.cqinfo.buf);
    const auto &entry = ring[f.rx.cq_head % f.rx.cqinfo.count];
    EXPECT_EQ(gdma::classify_owner_bits(entry.owner_bits(), f.rx.cq_head, f.rx.cqinfo.count),
              gdma::CqSlot::overflow);
    EXPECT_EQ(counters().cq_overflows, 1u);
}

TEST_F(DatapathTest, CqDoorbellHeadRevealsRealOverflow)
{
    RxFixture f(128, 0);
    const auto frame = make_udp_frame(1, 1, 1, 1, 10);
    // The driver tells the device its head once, then stops consuming.
    gdma::store_le64(static_cast<std::byte *>(f.rx.rq.db_page) + gdma::doorbell_offset::cq,
                     gdma::cq_doorbell(f.rx.cqinfo.cq_id, f.rx.cq_head, f.rx.cqinfo.count, false));
    for (int round = 0; round < 2; ++round) {
        f.dev.post_rx(f.rx, 40, 128, kRxArea);
        f.dev.ring_rq(f.rx);
        for (int i = 0; i < 40; ++i)
            mana_emu_inject(0, frame.data(), frame.size());
        mana_emu_poll();
    }
    EXPECT_EQ(counters().cq_overflows, 80u - 64u);
}

TEST_F(DatapathTest, ArmingForAnEventIsNotAHeadReport)
{
    // A driver arms when its CQ is empty, then busy-polls after the event without ringing:
    // the arming head must not make its later progress look like an overflow.
    RxFixture f(128, 0);
    const auto frame = make_udp_frame(1, 1, 1, 1, 10);
    gdma::store_le64(static_cast<std::byte *>(f.rx.rq.db_page) + gdma::doorbell_offset::cq,
                     gdma::cq_doorbell(f.rx.cqinfo.cq_id, f.rx.cq_head, f.rx.cqinfo.count, true));
    for (int round = 0; round < 4; ++round) {
        f.dev.post_rx(f.rx, 40, 128, kRxArea);
        f.dev.ring_rq(f.rx);
        for (int i = 0; i < 40; ++i)
            mana_emu_inject(0, frame.data(), frame.size());
        mana_emu_poll();
        while (f.next()) {
        }
    }
    EXPECT_EQ(counters().rx_frames, 160u);
    EXPECT_EQ(counters().cq_overflows, 0u);
}

TEST_F(DatapathTest, ArmedCqRaisesACompletionEvent)
{
    Device dev;
    ibv_comp_channel *channel = ibv_create_comp_channel(dev.ctx);
    ASSERT_NE(channel, nullptr);
    int marker = 42;
    RxQueue rx;
    rx.cq = ibv_create_cq(dev.ctx, 64, &marker, channel, 0);
    ASSERT_NE(rx.cq, nullptr);
    ibv_wq_init_attr attr{};
    attr.wq_type = IBV_WQT_RQ;
    attr.max_wr = 64;
    attr.max_sge = 1;
    attr.pd = dev.parent;
    attr.cq = rx.cq;
    rx.wq = ibv_create_wq(dev.ctx, &attr);
    ASSERT_NE(rx.wq, nullptr);
    manadv_obj obj{};
    obj.rwq.in = rx.wq;
    obj.rwq.out = &rx.rq;
    obj.cq.in = rx.cq;
    obj.cq.out = &rx.cqinfo;
    ASSERT_EQ(manadv_init_obj(&obj, MANADV_OBJ_RWQ | MANADV_OBJ_CQ), 0);
    rx.ring = gdma::WqeRing(static_cast<std::byte *>(rx.rq.buf), rx.rq.size);
    rx.cq_head = rx.cqinfo.count;
    dev.post_rx(rx, 8, 2048, kRxArea);
    dev.ring_rq(rx);
    ibv_rwq_ind_table *table = nullptr;
    ibv_qp *rss = dev.make_rss({&rx}, kIpv4Udp, &table);
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);

    pollfd pfd{channel->fd, POLLIN, 0};
    // Not armed: a completion raises no event.
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    ASSERT_TRUE(Device::next_cqe(rx.cq, rx.cqinfo, rx.cq_head));
    // Armed through the CQ doorbell (bit 63), as a driver does.
    gdma::store_le64(static_cast<std::byte *>(rx.rq.db_page) + gdma::doorbell_offset::cq,
                     gdma::cq_doorbell(rx.cqinfo.cq_id, rx.cq_head, rx.cqinfo.count, true));
    mana_emu_poll();
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    ASSERT_EQ(poll(&pfd, 1, 0), 1);
    ibv_cq *event_cq = nullptr;
    void *event_ctx = nullptr;
    ASSERT_EQ(ibv_get_cq_event(channel, &event_cq, &event_ctx), 0);
    EXPECT_EQ(event_cq, rx.cq);
    EXPECT_EQ(event_ctx, &marker);
    ibv_ack_cq_events(rx.cq, 1);
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
    // One event per arm; the same doorbell value written again re-arms.
    gdma::store_le64(static_cast<std::byte *>(rx.rq.db_page) + gdma::doorbell_offset::cq,
                     gdma::cq_doorbell(rx.cqinfo.cq_id, rx.cq_head, rx.cqinfo.count, true));
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
    ASSERT_EQ(ibv_get_cq_event(channel, &event_cq, &event_ctx), 0);
    ibv_ack_cq_events(rx.cq, 1);
    // ibv_req_notify_cq arms too.
    ASSERT_EQ(ibv_req_notify_cq(rx.cq, 0), 0);
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
    ASSERT_EQ(ibv_get_cq_event(channel, &event_cq, &event_ctx), 0);
    ibv_ack_cq_events(rx.cq, 1);

    EXPECT_EQ(ibv_destroy_qp(rss), 0);
    EXPECT_EQ(ibv_destroy_rwq_ind_table(table), 0);
    EXPECT_EQ(ibv_destroy_comp_channel(channel), EBUSY);
    dev.destroy(rx);
    EXPECT_EQ(ibv_destroy_comp_channel(channel), 0);
}

} // namespace
