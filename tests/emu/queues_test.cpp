/* SPDX-License-Identifier: BSD-3-Clause */
// Queue verbs as rdma-core 44 behaves: buffer sizes and allocators, ids and doorbell
// pages, errno values for invalid arguments, the secondary-process doorbell mapping.
#include "emu_harness.h"

#include <sys/mman.h>

#include <chrono>
#include <set>
#include <thread>

using namespace emu_test;

namespace
{

class QueuesTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
};

TEST_F(QueuesTest, BuffersComeFromTheAllocatorSizedLikeRdmaCore)
{
    Device dev;
    auto tx = dev.make_tx(100, 3);
    auto rx = dev.make_rx(200);
    EXPECT_EQ(tx.sq.sq_count, 100u);
    EXPECT_EQ(tx.sq.sq_size, gdma::sq_buffer_bytes(100, 3));
    EXPECT_EQ(tx.cqinfo.count, 100u);
    EXPECT_EQ(rx.rq.count, 200u);
    EXPECT_EQ(rx.rq.size, gdma::rq_buffer_bytes(200, 1));
    ASSERT_EQ(dev.allocator.live.size(), 4u);
    EXPECT_EQ(dev.allocator.live.at(tx.sq.sq_buf), gdma::sq_buffer_bytes(100, 3));
    EXPECT_EQ(dev.allocator.live.at(tx.cqinfo.buf), gdma::cq_buffer_bytes(100));
    EXPECT_EQ(dev.allocator.live.at(rx.rq.buf), gdma::rq_buffer_bytes(200, 1));
    // Every QP and WQ has its own doorbell page; ids are distinct.
    EXPECT_NE(tx.sq.db_page, nullptr);
    EXPECT_NE(tx.sq.db_page, rx.rq.db_page);
    const std::set<uint32_t> ids{tx.sq.sq_id, tx.cqinfo.cq_id, rx.rq.wq_id, rx.cqinfo.cq_id};
    EXPECT_EQ(ids.size(), 4u);
    EXPECT_EQ(tx.qp->qp_num, tx.sq.sq_id);
    EXPECT_EQ(rx.wq->wq_num, rx.rq.wq_id);
    // Queues are listed per port.
    uint32_t listed[4] = {};
    EXPECT_EQ(mana_emu_port_queues(0, MANA_EMU_QUEUE_SQ, listed, 4), 1);
    EXPECT_EQ(listed[0], tx.sq.sq_id);
    EXPECT_EQ(mana_emu_port_queues(0, MANA_EMU_QUEUE_CQ, listed, 4), 2);
    EXPECT_EQ(mana_emu_port_queues(1, MANA_EMU_QUEUE_RQ, listed, 4), 0);
    dev.destroy(tx);
    dev.destroy(rx);
    EXPECT_TRUE(dev.allocator.live.empty());
}

TEST_F(QueuesTest, QueuesNeedTheContextAllocators)
{
    Device dev(1, 0, false);
    errno = 0;
    EXPECT_EQ(ibv_create_cq(dev.ctx, 16, nullptr, nullptr, 0), nullptr);
    EXPECT_EQ(errno, EINVAL);
    manadv_ctx_allocators incomplete{};
    EXPECT_EQ(manadv_set_context_attr(dev.ctx, MANADV_CTX_ATTR_BUF_ALLOCATORS, &incomplete),
              EINVAL);
    EXPECT_EQ(manadv_set_context_attr(dev.ctx, MANADV_CTX_ATTR_BUF_ALLOCATORS, nullptr), EINVAL);
}

TEST_F(QueuesTest, InvalidArgumentsGiveRdmaCoreErrnos)
{
    Device dev;
    auto expect_null = [](auto *object, int error) {
        EXPECT_EQ(object, nullptr);
        EXPECT_EQ(errno, error);
        errno = 0;
    };
    expect_null(ibv_create_cq(dev.ctx, 0, nullptr, nullptr, 0), EINVAL);
    expect_null(ibv_create_cq(dev.ctx, 257, nullptr, nullptr, 0), EINVAL);
    expect_null(ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 1), EINVAL);
    ibv_cq *cq = ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 0);
    ASSERT_NE(cq, nullptr);

    ibv_qp_init_attr qp_attr{};
    qp_attr.send_cq = cq;
    qp_attr.recv_cq = cq;
    qp_attr.cap.max_send_wr = 8;
    qp_attr.cap.max_send_sge = 1;
    qp_attr.qp_type = IBV_QPT_UD;
    expect_null(ibv_create_qp(dev.parent, &qp_attr), EOPNOTSUPP);
    qp_attr.qp_type = IBV_QPT_RAW_PACKET;
    qp_attr.cap.max_send_wr = 0;
    expect_null(ibv_create_qp(dev.parent, &qp_attr), EINVAL);
    qp_attr.cap.max_send_wr = 257;
    expect_null(ibv_create_qp(dev.parent, &qp_attr), EINVAL);
    qp_attr.cap.max_send_wr = 8;
    qp_attr.cap.max_send_sge = 31;
    expect_null(ibv_create_qp(dev.parent, &qp_attr), EINVAL);
    qp_attr.cap.max_send_sge = 1;
    qp_attr.send_cq = nullptr;
    expect_null(ibv_create_qp(dev.parent, &qp_attr), EINVAL);
    qp_attr.send_cq = cq;
    expect_null(ibv_create_qp(nullptr, &qp_attr), EINVAL);
    ibv_qp *qp = ibv_create_qp(dev.parent, &qp_attr);
    ASSERT_NE(qp, nullptr);
    EXPECT_EQ(ibv_destroy_cq(cq), EBUSY);

    ibv_wq_init_attr wq_attr{};
    wq_attr.wq_type = IBV_WQT_RQ;
    wq_attr.max_wr = 8;
    wq_attr.max_sge = 0;
    wq_attr.pd = dev.parent;
    wq_attr.cq = cq;
    expect_null(ibv_create_wq(dev.ctx, &wq_attr), EINVAL);
    wq_attr.max_sge = 1;
    wq_attr.max_wr = 1000;
    expect_null(ibv_create_wq(dev.ctx, &wq_attr), EINVAL);
    wq_attr.max_wr = 8;
    ibv_wq *wq = ibv_create_wq(dev.ctx, &wq_attr);
    ASSERT_NE(wq, nullptr);
    ibv_wq_attr modify{};
    modify.attr_mask = IBV_WQ_ATTR_STATE;
    modify.wq_state = IBV_WQS_RDY;
    EXPECT_EQ(ibv_modify_wq(wq, &modify), 0);
    EXPECT_EQ(wq->state, IBV_WQS_RDY);

    ibv_wq *list[1] = {wq};
    ibv_rwq_ind_table_init_attr table_attr{};
    table_attr.log_ind_tbl_size = 7;
    table_attr.ind_tbl = list;
    expect_null(ibv_create_rwq_ind_table(dev.ctx, &table_attr), EINVAL);
    table_attr.log_ind_tbl_size = 0;
    ibv_rwq_ind_table *table = ibv_create_rwq_ind_table(dev.ctx, &table_attr);
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(ibv_destroy_wq(wq), EBUSY);

    uint8_t key[40] = {};
    ibv_qp_init_attr_ex rss{};
    rss.qp_type = IBV_QPT_RAW_PACKET;
    rss.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_IND_TABLE | IBV_QP_INIT_ATTR_RX_HASH;
    rss.pd = dev.parent;
    rss.rwq_ind_tbl = table;
    rss.rx_hash_conf.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
    rss.rx_hash_conf.rx_hash_key_len = 20;
    rss.rx_hash_conf.rx_hash_key = key;
    rss.rx_hash_conf.rx_hash_fields_mask = IBV_RX_HASH_SRC_IPV4;
    expect_null(ibv_create_qp_ex(dev.ctx, &rss), EINVAL);
    rss.rx_hash_conf.rx_hash_key_len = 40;
    rss.rx_hash_conf.rx_hash_fields_mask = IBV_RX_HASH_INNER;
    expect_null(ibv_create_qp_ex(dev.ctx, &rss), EINVAL);
    rss.rx_hash_conf.rx_hash_fields_mask = IBV_RX_HASH_SRC_IPV4;
    ibv_qp *rss_qp = ibv_create_qp_ex(dev.ctx, &rss);
    ASSERT_NE(rss_qp, nullptr);
    EXPECT_EQ(ibv_destroy_rwq_ind_table(table), EBUSY);

    manadv_qp out{};
    manadv_obj obj{};
    obj.qp.in = rss_qp;
    obj.qp.out = &out;
    EXPECT_EQ(manadv_init_obj(&obj, MANADV_OBJ_QP), EINVAL);
    EXPECT_EQ(manadv_init_obj(&obj, 1 << 5), EINVAL);
    obj.qp.in = qp;
    obj.qp.out = nullptr;
    EXPECT_EQ(manadv_init_obj(&obj, MANADV_OBJ_QP), EINVAL);

    expect_null(ibv_reg_mr(dev.pd, dev.memory.data(), 0, IBV_ACCESS_LOCAL_WRITE), EINVAL);
    expect_null(ibv_reg_mr(dev.pd, nullptr, 64, IBV_ACCESS_LOCAL_WRITE), EINVAL);
    EXPECT_EQ(ibv_dealloc_pd(dev.pd), EBUSY);

    dev.destroy_rss(rss_qp, table);
    EXPECT_EQ(ibv_destroy_wq(wq), 0);
    EXPECT_EQ(ibv_destroy_qp(qp), 0);
    EXPECT_EQ(ibv_destroy_cq(cq), 0);
    EXPECT_EQ(ibv_destroy_cq(cq), EINVAL); // stale handle: no crash
}

TEST_F(QueuesTest, MemoryRegionWithIovaTranslates)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const uint64_t iova = 0x7000'0000'0000ULL;
    ibv_mr *mr =
        ibv_reg_mr_iova2(dev.pd, dev.memory.data() + 65536, 65536, iova, IBV_ACCESS_LOCAL_WRITE);
    ASSERT_NE(mr, nullptr);
    const auto frame = make_udp_frame(1, 2, 3, 4, 20);
    std::memcpy(dev.memory.data() + 65536 + 100, frame.data(), frame.size());
    const gdma::Sge sge{iova + 100, mr->lkey, static_cast<uint32_t>(frame.size())};
    dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    dev.ring_sq(tx);
    mana_emu_poll();
    std::vector<uint8_t> wire(2048);
    EXPECT_EQ(mana_emu_capture(0, wire.data(), wire.size()), static_cast<ssize_t>(frame.size()));
    wire.resize(frame.size());
    EXPECT_EQ(wire, frame);
    EXPECT_EQ(ibv_dereg_mr(mr), 0);
    dev.destroy(tx);
}

TEST_F(QueuesTest, DoorbellsThroughTheCommandFdMappingWork)
{
    // What a secondary process does: map the primary's cmd_fd and ring every queue on that
    // one page. The model decodes doorbells by queue id on any page of the context.
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    void *page = mmap(nullptr, 4096, PROT_WRITE, MAP_SHARED, dev.ctx->cmd_fd, 0);
    ASSERT_NE(page, MAP_FAILED);
    const auto frame = make_udp_frame(1, 2, 3, 4, 20);
    const gdma::Sge sge = dev.stage(frame, 0);
    dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    std::atomic_thread_fence(std::memory_order_release);
    gdma::store_le64(static_cast<std::byte *>(page) + gdma::doorbell_offset::sq,
                     gdma::sq_doorbell(tx.sq.sq_id, tx.head_bu * 32));
    mana_emu_poll();
    std::vector<uint8_t> wire(2048);
    EXPECT_EQ(mana_emu_capture(0, wire.data(), wire.size()), static_cast<ssize_t>(frame.size()));
    EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    struct mana_emu_counters before {
    };
    ASSERT_EQ(mana_emu_counters(&before), 0);
    EXPECT_EQ(before.wqe_violations, 0u);
    // A doorbell naming a queue that does not exist is ignored.
    gdma::store_le64(static_cast<std::byte *>(page) + gdma::doorbell_offset::sq,
                     gdma::sq_doorbell(0xabcdef, 4096));
    mana_emu_poll();
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.wqe_violations, 1u);
    munmap(page, 4096);
    dev.destroy(tx);
}

TEST_F(QueuesTest, ShortDoorbellsCarryIncrements)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = dev.make_tx();
    auto rx = dev.make_rx(64);
    ibv_rwq_ind_table *table = nullptr;
    ibv_qp *rss = dev.make_rss({&rx}, IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4, &table);
    auto ring_short = [](void *page, uint32_t offset, uint32_t value) {
        std::atomic_thread_fence(std::memory_order_release);
        __atomic_store_n(reinterpret_cast<uint32_t *>(static_cast<std::byte *>(page) + offset),
                         value, __ATOMIC_RELAXED);
    };
    dev.post_rx(rx, 4, 2048, 512 * 1024);
    ring_short(rx.rq.db_page, gdma::doorbell_offset::rq_short,
               gdma::short_doorbell(rx.rq.wq_id & 0xfff, 4 * 32));
    const auto frame = make_udp_frame(1, 2, 3, 4, 20);
    const gdma::Sge sge = dev.stage(frame, 0);
    for (int burst = 0; burst < 2; ++burst) {
        const uint32_t before = tx.head_bu;
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        ring_short(tx.sq.db_page, gdma::doorbell_offset::sq_short,
                   gdma::short_doorbell(tx.sq.sq_id & 0xfff, (tx.head_bu - before) * 32));
        mana_emu_poll();
        EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
        EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    }
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE(Device::next_cqe(rx.cq, rx.cqinfo, rx.cq_head)) << i;
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.rx_frames, 4u);
    EXPECT_EQ(k.doorbells, 3u);
    dev.destroy_rss(rss, table, std::span(&rx, 1));
    dev.destroy(tx);
}

// The device sees every write to a doorbell page, however fast they follow each other: a
// short doorbell carries an increment, so two rung before the model looks are both taken.
TEST_F(QueuesTest, ShortDoorbellsRungBackToBackAreEachTaken)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 20);
    const gdma::Sge sge = dev.stage(frame, 0);
    for (int wqe = 0; wqe < 2; ++wqe) {
        const uint32_t before = tx.head_bu;
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        std::atomic_thread_fence(std::memory_order_release);
        __atomic_store_n(reinterpret_cast<uint32_t *>(static_cast<std::byte *>(tx.sq.db_page) +
                                                      gdma::doorbell_offset::sq_short),
                         gdma::short_doorbell(tx.sq.sq_id & 0xfff, (tx.head_bu - before) * 32),
                         __ATOMIC_RELAXED);
    }
    mana_emu_poll();
    EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.doorbells, 2u);
    EXPECT_EQ(k.tx_frames, 2u);
    EXPECT_EQ(k.wqe_violations, 0u);
    dev.destroy(tx);
}

// On hardware every queue of a context shares one doorbell page, and a driver may ring all
// its RQs through one queue's pointer (upstream net_mana 22.11 does, at start): each
// doorbell counts, even when the next one overwrites the slot at once.
TEST_F(QueuesTest, RqDoorbellsOfManyQueuesOnOnePageAreEachTaken)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = dev.make_tx();
    std::vector<RxQueue> rx;
    for (int i = 0; i < 4; ++i)
        rx.push_back(dev.make_rx(64));
    ibv_rwq_ind_table *table = nullptr;
    ibv_qp *rss = dev.make_rss({&rx[0], &rx[1], &rx[2], &rx[3]},
                               IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                                   IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP,
                               &table);
    ASSERT_NE(rss, nullptr);
    constexpr unsigned kFrames = 16;
    for (unsigned i = 0; i < 4; ++i) {
        dev.post_rx(rx[i], kFrames, 2048, 512 * 1024 + i * kFrames * 2048);
        std::atomic_thread_fence(std::memory_order_release);
        gdma::store_le64(static_cast<std::byte *>(rx[3].rq.db_page) + gdma::doorbell_offset::rq,
                         gdma::rq_doorbell(rx[i].rq.wq_id, rx[i].head_bu * 32));
    }
    mana_emu_poll();
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.doorbells, 4u);
    // Frames of many flows spread over the four queues; each queue has room for them all.
    for (unsigned i = 0; i < kFrames; ++i) {
        const auto frame = make_udp_frame(0x0a000001 + i, 0x0a000002, 1000 + i, 2000, 20);
        const gdma::Sge sge = dev.stage(frame, i * 128);
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    }
    dev.ring_sq(tx);
    mana_emu_poll();
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.rx_frames, kFrames);
    EXPECT_EQ(k.rx_drops_no_buffer, 0u);
    std::set<unsigned> used;
    for (unsigned i = 0; i < 4; ++i)
        while (Device::next_cqe(rx[i].cq, rx[i].cqinfo, rx[i].cq_head))
            used.insert(i);
    EXPECT_GT(used.size(), 1u) << "RSS put every flow on one queue";
    dev.destroy_rss(rss, table, rx);
    dev.destroy(tx);
}

TEST_F(QueuesTest, ThreadedModeMovesFramesWithoutPolling)
{
    Device dev;
    auto tx = dev.make_tx();
    {
        RssRxQueue rx(dev, IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4, 64, 64, 2048, 512 * 1024);
        ASSERT_EQ(mana_emu_wire_loopback(0), 0);
        ASSERT_EQ(mana_emu_set_mode(MANA_EMU_THREADED), 0);
        EXPECT_EQ(mana_emu_get_mode(), MANA_EMU_THREADED);
        const auto frame = make_udp_frame(1, 2, 3, 4, 20);
        const gdma::Sge sge = dev.stage(frame, 0);
        for (int i = 0; i < 32; ++i)
            dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx, i != 31));
        dev.ring_sq(tx);
        // The model thread may be descheduled for a while on a loaded machine: wait by the
        // clock (a generous bound that only a stuck device reaches), not by a spin count.
        int received = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (received < 32 && std::chrono::steady_clock::now() < deadline) {
            if (rx.next())
                ++received;
            else
                std::this_thread::yield();
        }
        EXPECT_EQ(received, 32);
        ASSERT_EQ(mana_emu_set_mode(MANA_EMU_STEP), 0);
        EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    }
    dev.destroy(tx);
}

TEST_F(QueuesTest, ThreadedModeSurvivesQueueChurnUnderTraffic)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    ASSERT_EQ(mana_emu_set_mode(MANA_EMU_THREADED), 0);
    const auto frame = make_udp_frame(1, 2, 3, 4, 20);
    const gdma::Sge sge = dev.stage(frame, 0);
    for (int round = 0; round < 20; ++round) {
        auto tx = dev.make_tx(32, 1);
        {
            RssRxQueue rx(dev, IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4, 32, 32, 2048,
                          512 * 1024);
            for (int i = 0; i < 16; ++i)
                dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx, true));
            dev.ring_sq(tx);
            // Destroyed (RSS QP, table, queue, then the TX queue) while the model may still
            // be working on them.
        }
        dev.destroy(tx);
    }
    ASSERT_EQ(mana_emu_set_mode(MANA_EMU_STEP), 0);
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.dma_violations, 0u);
    EXPECT_EQ(k.wqe_violations, 0u);
}

} // namespace
