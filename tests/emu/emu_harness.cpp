/* SPDX-License-Identifier: BSD-3-Clause */
#include "emu_harness.h"

#include "checksum.h"

#include <array>
#include <cstring>

namespace emu_test
{

void *TrackingAllocator::alloc(size_t size, void *self)
{
    auto *tracker = static_cast<TrackingAllocator *>(self);
    void *ptr = std::aligned_alloc(4096, (size + 4095) & ~size_t{4095});
    if (ptr != nullptr) {
        tracker->live[ptr] = size;
        ++tracker->allocations;
    }
    return ptr;
}

void TrackingAllocator::free(void *ptr, void *self)
{
    auto *tracker = static_cast<TrackingAllocator *>(self);
    tracker->live.erase(ptr);
    std::free(ptr);
}

manadv_ctx_allocators TrackingAllocator::callbacks()
{
    return manadv_ctx_allocators{
        .alloc = &TrackingAllocator::alloc, .free = &TrackingAllocator::free, .data = this};
}

void reset_emulator(const char *config)
{
    ASSERT_EQ(mana_emu_set_mode(MANA_EMU_STEP), 0);
    ASSERT_EQ(mana_emu_configure(config ? config : ""), 0);
    mana_emu_clear_faults();
    mana_emu_reset_counters();
}

Device::Device(unsigned ib_port, unsigned device_index, bool set_allocators)
{
    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    EXPECT_NE(list, nullptr);
    if (list == nullptr || static_cast<int>(device_index) >= n) {
        ibv_free_device_list(list);
        ADD_FAILURE() << "no emulated device " << device_index;
        return;
    }
    ctx = ibv_open_device(list[device_index]);
    ibv_free_device_list(list);
    EXPECT_NE(ctx, nullptr);
    pd = ibv_alloc_pd(ctx);
    EXPECT_NE(pd, nullptr);
    ibv_parent_domain_init_attr attr{};
    attr.pd = pd;
    attr.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
    attr.pd_context = reinterpret_cast<void *>(uintptr_t{ib_port});
    parent = ibv_alloc_parent_domain(ctx, &attr);
    EXPECT_NE(parent, nullptr);
    if (set_allocators) {
        auto callbacks = allocator.callbacks();
        EXPECT_EQ(manadv_set_context_attr(ctx, MANADV_CTX_ATTR_BUF_ALLOCATORS, &callbacks), 0);
    }
    memory.resize(1 << 20);
    mr = ibv_reg_mr(pd, memory.data(), memory.size(), IBV_ACCESS_LOCAL_WRITE);
    EXPECT_NE(mr, nullptr);
}

Device::~Device()
{
    if (mr) {
        EXPECT_EQ(ibv_dereg_mr(mr), 0);
    }
    if (parent) {
        EXPECT_EQ(ibv_dealloc_pd(parent), 0);
    }
    if (pd) {
        EXPECT_EQ(ibv_dealloc_pd(pd), 0);
    }
    if (ctx) {
        EXPECT_EQ(ibv_close_device(ctx), 0);
    }
    EXPECT_TRUE(allocator.live.empty()) << "queue buffers not freed: " << allocator.live.size();
}

TxQueue Device::make_tx(uint32_t depth, uint32_t max_sge)
{
    TxQueue q;
    q.cq = ibv_create_cq(ctx, static_cast<int>(depth), nullptr, nullptr, 0);
    EXPECT_NE(q.cq, nullptr);
    ibv_qp_init_attr attr{};
    attr.send_cq = q.cq;
    attr.recv_cq = q.cq;
    attr.cap.max_send_wr = depth;
    attr.cap.max_send_sge = max_sge;
    attr.qp_type = IBV_QPT_RAW_PACKET;
    q.qp = ibv_create_qp(parent, &attr);
    EXPECT_NE(q.qp, nullptr);
    manadv_obj obj{};
    obj.qp.in = q.qp;
    obj.qp.out = &q.sq;
    obj.cq.in = q.cq;
    obj.cq.out = &q.cqinfo;
    EXPECT_EQ(manadv_init_obj(&obj, MANADV_OBJ_QP | MANADV_OBJ_CQ), 0);
    q.ring = gdma::WqeRing(static_cast<std::byte *>(q.sq.sq_buf), q.sq.sq_size);
    q.cq_head = q.cqinfo.count;
    return q;
}

RxQueue Device::make_rx(uint32_t depth, ibv_comp_channel *channel, void *cq_context)
{
    RxQueue q;
    q.cq = ibv_create_cq(ctx, static_cast<int>(depth), cq_context, channel, 0);
    EXPECT_NE(q.cq, nullptr);
    ibv_wq_init_attr attr{};
    attr.wq_type = IBV_WQT_RQ;
    attr.max_wr = depth;
    attr.max_sge = 1;
    attr.pd = parent;
    attr.cq = q.cq;
    q.wq = ibv_create_wq(ctx, &attr);
    EXPECT_NE(q.wq, nullptr);
    manadv_obj obj{};
    obj.rwq.in = q.wq;
    obj.rwq.out = &q.rq;
    obj.cq.in = q.cq;
    obj.cq.out = &q.cqinfo;
    EXPECT_EQ(manadv_init_obj(&obj, MANADV_OBJ_RWQ | MANADV_OBJ_CQ), 0);
    q.ring = gdma::WqeRing(static_cast<std::byte *>(q.rq.buf), q.rq.size);
    q.cq_head = q.cqinfo.count;
    return q;
}

void Device::destroy(TxQueue &q)
{
    EXPECT_EQ(ibv_destroy_qp(q.qp), 0);
    EXPECT_EQ(ibv_destroy_cq(q.cq), 0);
    q = TxQueue{};
}

void Device::destroy(RxQueue &q)
{
    EXPECT_EQ(ibv_destroy_wq(q.wq), 0);
    EXPECT_EQ(ibv_destroy_cq(q.cq), 0);
    q = RxQueue{};
}

void Device::destroy_rss(ibv_qp *rss, ibv_rwq_ind_table *table, std::span<RxQueue> queues)
{
    EXPECT_EQ(ibv_destroy_qp(rss), 0);
    EXPECT_EQ(ibv_destroy_rwq_ind_table(table), 0);
    for (RxQueue &q : queues)
        destroy(q);
}

ibv_qp *Device::make_rss(std::vector<RxQueue *> queues, uint64_t fields, ibv_rwq_ind_table **table)
{
    std::vector<ibv_wq *> wqs;
    for (auto *q : queues)
        wqs.push_back(q->wq);
    uint32_t log = 0;
    while ((1U << log) < wqs.size())
        ++log;
    ibv_rwq_ind_table_init_attr table_attr{};
    table_attr.log_ind_tbl_size = log;
    table_attr.ind_tbl = wqs.data();
    *table = ibv_create_rwq_ind_table(ctx, &table_attr);
    EXPECT_NE(*table, nullptr);
    // The key the driver programs by default (rx_hash_key is not const in verbs).
    static auto key = std::to_array(mana::gdma::kDefaultRssKey);
    ibv_qp_init_attr_ex attr{};
    attr.qp_type = IBV_QPT_RAW_PACKET;
    attr.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_IND_TABLE | IBV_QP_INIT_ATTR_RX_HASH;
    attr.pd = parent;
    attr.rwq_ind_tbl = *table;
    attr.rx_hash_conf.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
    attr.rx_hash_conf.rx_hash_key_len = key.size();
    attr.rx_hash_conf.rx_hash_key = key.data();
    attr.rx_hash_conf.rx_hash_fields_mask = fields;
    ibv_qp *qp = ibv_create_qp_ex(ctx, &attr);
    EXPECT_NE(qp, nullptr);
    return qp;
}

gdma::TxShortOobFields Device::default_oob(const TxQueue &q, bool suppress) const
{
    gdma::TxShortOobFields oob{};
    oob.suppress_cqe = suppress;
    oob.vcq_number = q.cqinfo.cq_id;
    oob.vsq_frame = gdma::vsq_frame_of(q.sq.sq_id);
    oob.short_vport_offset = static_cast<uint8_t>(q.sq.tx_vp_offset);
    return oob;
}

uint32_t Device::post_tx(TxQueue &q, std::span<const gdma::Sge> sges, gdma::TxShortOobFields oob,
                         std::optional<gdma::TxLongOobFields> long_oob,
                         gdma::DmaHeaderFields header)
{
    std::array<std::byte, 24> bytes{};
    size_t len = 8;
    if (long_oob) {
        const auto encoded = gdma::TxLongOob::encode(oob, *long_oob);
        std::memcpy(bytes.data(), &encoded, sizeof(encoded));
        len = 24;
    } else {
        const auto encoded = gdma::TxShortOob::encode(oob);
        std::memcpy(bytes.data(), &encoded, sizeof(encoded));
    }
    const uint32_t size =
        gdma::write_wqe(q.ring, q.head_bu, header, std::span(bytes.data(), len), sges);
    q.head_bu += size;
    return size;
}

gdma::Sge Device::stage(std::span<const uint8_t> frame, size_t offset)
{
    std::memcpy(memory.data() + offset, frame.data(), frame.size());
    return gdma::Sge{.address = reinterpret_cast<uintptr_t>(memory.data() + offset),
                     .memory_key = mr->lkey,
                     .size = static_cast<uint32_t>(frame.size())};
}

void Device::ring_sq(TxQueue &q)
{
    std::atomic_thread_fence(std::memory_order_release);
    gdma::store_le64(static_cast<std::byte *>(q.sq.db_page) + gdma::doorbell_offset::sq,
                     gdma::sq_doorbell(q.sq.sq_id, q.head_bu * gdma::kBasicUnitBytes));
}

void Device::post_rx(RxQueue &q, unsigned count, uint32_t size, size_t offset)
{
    const std::array<std::byte, 8> oob{};
    for (unsigned i = 0; i < count; ++i) {
        const gdma::Sge sge{.address =
                                reinterpret_cast<uintptr_t>(memory.data() + offset + i * size),
                            .memory_key = mr->lkey,
                            .size = size};
        q.head_bu += gdma::write_wqe(q.ring, q.head_bu, {}, oob, std::span(&sge, 1));
    }
}

void Device::ring_rq(RxQueue &q)
{
    std::atomic_thread_fence(std::memory_order_release);
    gdma::store_le64(static_cast<std::byte *>(q.rq.db_page) + gdma::doorbell_offset::rq,
                     gdma::rq_doorbell(q.rq.wq_id, q.head_bu * gdma::kBasicUnitBytes));
}

std::optional<Completion> Device::next_cqe(ibv_cq *, const manadv_cq &info, uint32_t &head)
{
    const auto *ring = static_cast<const gdma::Cqe *>(info.buf);
    const gdma::Cqe &entry = ring[head % info.count];
    const uint32_t trailer = __atomic_load_n(&entry.trailer, __ATOMIC_ACQUIRE);
    const auto owner = static_cast<uint8_t>(trailer >> 29);
    if (gdma::classify_owner_bits(owner, head, info.count) != gdma::CqSlot::ready)
        return std::nullopt;
    Completion c{entry.type(), gdma::decode_cqe_trailer(trailer), entry.oob};
    ++head;
    return c;
}

std::vector<uint8_t> make_udp_frame(uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
                                    uint16_t dport, size_t payload_len, bool tcp)
{
    namespace packet = mana_emu::packet;
    const size_t l4_header = tcp ? 20 : 8;
    std::vector<uint8_t> f(14 + 20 + l4_header + payload_len, 0);
    const uint8_t dst_mac[6] = {0x00, 0x15, 0x5d, 0x78, 0x70, 0x01};
    const uint8_t src_mac[6] = {0x00, 0x15, 0x5d, 0x78, 0x70, 0x00};
    std::memcpy(&f[0], dst_mac, 6);
    std::memcpy(&f[6], src_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = &f[14];
    const size_t ip_len = 20 + l4_header + payload_len;
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(ip_len >> 8);
    ip[3] = static_cast<uint8_t>(ip_len);
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<uint8_t>(src_ip >> (24 - 8 * i));
        ip[16 + i] = static_cast<uint8_t>(dst_ip >> (24 - 8 * i));
    }
    const uint16_t ip_sum = packet::internet_checksum(std::span<const uint8_t>(ip, 20));
    ip[10] = static_cast<uint8_t>(ip_sum >> 8);
    ip[11] = static_cast<uint8_t>(ip_sum);
    uint8_t *l4 = ip + 20;
    l4[0] = static_cast<uint8_t>(sport >> 8);
    l4[1] = static_cast<uint8_t>(sport);
    l4[2] = static_cast<uint8_t>(dport >> 8);
    l4[3] = static_cast<uint8_t>(dport);
    const size_t l4_len = l4_header + payload_len;
    if (tcp) {
        l4[4] = 0x01;  // seq
        l4[12] = 0x50; // data offset 5
        l4[13] = 0x18; // PSH ACK
        l4[14] = 0xff;
        l4[15] = 0xff;
    } else {
        l4[4] = static_cast<uint8_t>(l4_len >> 8);
        l4[5] = static_cast<uint8_t>(l4_len);
    }
    for (size_t i = 0; i < payload_len; ++i)
        l4[l4_header + i] = static_cast<uint8_t>(i * 7 + 3);
    const uint16_t pseudo = packet::ipv4_pseudo_header_sum(
        std::span<const uint8_t, 4>(ip + 12, 4), std::span<const uint8_t, 4>(ip + 16, 4),
        tcp ? 6 : 17, static_cast<uint32_t>(l4_len));
    uint16_t l4_sum = packet::internet_checksum(std::span<const uint8_t>(l4, l4_len), pseudo);
    if (!tcp && l4_sum == 0)
        l4_sum = 0xffff;
    const size_t csum_at = tcp ? 16 : 6;
    l4[csum_at] = static_cast<uint8_t>(l4_sum >> 8);
    l4[csum_at + 1] = static_cast<uint8_t>(l4_sum);
    return f;
}

RssRxQueue::RssRxQueue(Device &dev, uint64_t hash_fields, uint32_t depth, unsigned buffers,
                       uint32_t buffer_size, size_t offset)
    : dev_(dev)
{
    q = dev_.make_rx(depth);
    dev_.post_rx(q, buffers, buffer_size, offset);
    dev_.ring_rq(q);
    rss_ = dev_.make_rss({&q}, hash_fields, &table_);
}

RssRxQueue::~RssRxQueue()
{
    dev_.destroy_rss(rss_, table_, std::span(&q, 1));
}

std::optional<Completion> RssRxQueue::next()
{
    return Device::next_cqe(q.cq, q.cqinfo, q.cq_head);
}

std::optional<gdma::RxCompletionFields> RssRxQueue::next_rx()
{
    const auto c = next();
    if (!c)
        return std::nullopt;
    return gdma::decode_rx_completion(c->oob);
}

} // namespace emu_test
