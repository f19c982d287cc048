/* SPDX-License-Identifier: BSD-3-Clause */
// Hand-posted RX WQEs through the device model: RSS picking the queue of the Toeplitz
// hash, RX checksum validation, VLAN insert and strip, truncation and drops, coalesced
// completions, and the completion queue itself: owner bits over the laps, overflow the
// CQ doorbell head reveals, arming and completion events.
// (The TX side: datapath_tx_test.cpp.)
#include "datapath.h"

#include "toeplitz.h"

#include <poll.h>

#include <cstring>

using namespace emu_test;

namespace
{

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
    dev.destroy_rss(rss, table, rx);
    dev.destroy(tx);
}

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
    RxQueue rx = dev.make_rx(64, channel, &marker);
    ASSERT_NE(rx.cq, nullptr);
    ASSERT_NE(rx.wq, nullptr);
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

    dev.destroy_rss(rss, table);
    EXPECT_EQ(ibv_destroy_comp_channel(channel), EBUSY);
    dev.destroy(rx);
    EXPECT_EQ(ibv_destroy_comp_channel(channel), 0);
}

} // namespace
