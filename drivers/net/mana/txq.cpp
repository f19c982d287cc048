/* SPDX-License-Identifier: BSD-3-Clause */
#include "txq.h"

#include "log.h"
#include "mr_registration.h"
#include "tx_tso.h"

#include <infiniband/manadv.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_net.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

namespace mana
{
namespace
{

// Offload requests tx_burst acts on; tx_prepare refuses anything else.
constexpr uint64_t kTxAcceptedFlags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 |
                                      RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK |
                                      RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_TCP_SEG;

// Where the first word of the client OOB sits in a WQE, and its suppress-CQE bit.
constexpr uint32_t kOobOffset = sizeof(gdma::DmaHeader);
constexpr uint32_t kSuppressCqeBit = 1U << 7;

// A CQE every this many WQEs at most bounds how long a completed packet waits to be freed.
constexpr uint32_t kMaxCqeInterval = 32;

} // namespace

TxQueue::TxQueue(const TxQueueConfig &config, MrTable &mr_table)
    : mr_cache_(&mr_table), config_(config), mr_table_(mr_table)
{
    config_.max_sges = std::min(config_.max_sges, kMaxTxSegments);
}

TxQueue::~TxQueue()
{
    stop();
}

int TxQueue::setup()
{
    if (!slots_.allocate("mana_tx_ring", config_.descriptors, config_.socket)) {
        MANA_DRV_LOG(ERR, "port %u TX queue %u: out of DPDK memory for %u descriptors",
                     config_.port_id, config_.queue_id, config_.descriptors);
        return -ENOMEM;
    }
    slot_mask_ = config_.descriptors - 1;
    const uint32_t interval = std::min(kMaxCqeInterval, std::max(1U, config_.descriptors >> 2));
    cqe_interval_mask_ = std::bit_floor(interval) - 1;
    return 0;
}

int TxQueue::start(const QueueVerbs &verbs)
{
    const uint32_t n = config_.descriptors;
    *verbs.allocator_socket = config_.socket;
    cq_.reset(ibv_create_cq(verbs.context, static_cast<int>(n), nullptr, nullptr, 0));
    if (!cq_) {
        const int error = errno != 0 ? errno : ENOMEM;
        MANA_DRV_LOG(ERR, "port %u TX queue %u: ibv_create_cq(%u) failed: %s", config_.port_id,
                     config_.queue_id, n, strerror(error));
        return -error;
    }
    ibv_qp_init_attr qp_attr{};
    qp_attr.send_cq = cq_.get();
    qp_attr.recv_cq = cq_.get();
    qp_attr.cap.max_send_wr = n;
    qp_attr.cap.max_send_sge = config_.max_sges;
    qp_attr.qp_type = IBV_QPT_RAW_PACKET;
    qp_attr.sq_sig_all = 0;
    qp_.reset(ibv_create_qp(verbs.parent_domain, &qp_attr));
    if (!qp_) {
        const int error = errno != 0 ? errno : ENOMEM;
        MANA_DRV_LOG(ERR, "port %u TX queue %u: ibv_create_qp(%u WQEs, %u SGEs) failed: %s",
                     config_.port_id, config_.queue_id, n, config_.max_sges, strerror(error));
        stop();
        return -error;
    }
    manadv_qp qp_out{};
    manadv_cq cq_out{};
    manadv_obj obj{};
    obj.qp.in = qp_.get();
    obj.qp.out = &qp_out;
    obj.cq.in = cq_.get();
    obj.cq.out = &cq_out;
    const int ret = manadv_init_obj(&obj, MANADV_OBJ_QP | MANADV_OBJ_CQ);
    if (ret != 0) {
        MANA_DRV_LOG(ERR, "port %u TX queue %u: manadv_init_obj failed: %s", config_.port_id,
                     config_.queue_id, strerror(ret < 0 ? -ret : ret));
        stop();
        return ret < 0 ? ret : -ret;
    }
    sq_ = gdma::WqeRing(static_cast<std::byte *>(qp_out.sq_buf), qp_out.sq_size);
    const uint32_t largest_wqe = gdma::wqe_size_bu(gdma::kLargeInlineOobBytes, config_.max_sges);
    if (!gdma::CqCursor::valid_count(cq_out.count) || cq_out.count < n || !sq_.valid() ||
        sq_.capacity_bu() < largest_wqe || qp_out.db_page == nullptr || cq_out.buf == nullptr) {
        MANA_DRV_LOG(ERR,
                     "port %u TX queue %u: unexpected queue geometry from rdma-core (CQ %u "
                     "entries, SQ %u bytes); rdma-core 44 is required",
                     config_.port_id, config_.queue_id, cq_out.count, qp_out.sq_size);
        stop();
        return -EPROTO;
    }
    cq_cursor_ = gdma::CqCursor(static_cast<const gdma::Cqe *>(cq_out.buf), cq_out.count);
    sq_id_ = qp_out.sq_id;
    db_page_ = qp_out.db_page;
    oob_template_ = {};
    oob_template_.vcq_number = cq_out.cq_id;
    oob_template_.vsq_frame = gdma::vsq_frame_of(qp_out.sq_id);
    oob_template_.short_vport_offset = static_cast<uint8_t>(qp_out.tx_vp_offset);
    head_ = tail_ = head_bu_ = tail_bu_ = 0;
    overflow_logged_ = false;
    halted_ = false;
    return 0;
}

void TxQueue::stop()
{
    halted_ = true;
    qp_.reset();
    cq_.reset();
    // After the QP is gone the device reads none of these buffers any more.
    if (slots_.data() != nullptr) {
        for (uint32_t i = tail_; i != head_; ++i)
            rte_pktmbuf_free(slots_[i & slot_mask_].mbuf);
    }
    head_ = tail_ = head_bu_ = tail_bu_ = 0;
    db_page_ = nullptr;
    sq_ = {};
}

uint32_t TxQueue::abandon_in_flight()
{
    if (slots_.data() == nullptr || cq_ == nullptr)
        return 0;
    reap();
    uint64_t bytes = 0;
    for (uint32_t i = tail_; i != head_; ++i)
        bytes += slots_[i & slot_mask_].mbuf->pkt_len;
    const uint32_t lost = head_ - tail_;
    counters_.packets -= std::min<uint64_t>(counters_.packets, lost);
    counters_.bytes -= std::min<uint64_t>(counters_.bytes, bytes);
    counters_.errors += lost;
    return lost;
}

void TxQueue::complete_through(uint32_t last, rte_mbuf **to_free, uint32_t &freed)
{
    for (uint32_t i = tail_; i != last + 1; ++i)
        to_free[freed++] = slots_[i & slot_mask_].mbuf;
    const Slot &final = slots_[last & slot_mask_];
    tail_bu_ = final.start_bu + final.size_bu;
    tail_ = last + 1;
}

// Completions arrive in WQE order; a CQE for WQE k completes every earlier WQE
// (spec §4). Successful WQEs posted with the suppress bit produce no CQE, so a success
// CQE belongs to the oldest WQE that asked for one. A failed WQE always produces one,
// suppressed or not; its WQE offset (in basic units) says which WQE failed. A CQE that
// fits none of this (nothing in flight, a type TX queues never get) is counted and
// ignored: completing WQEs on its word could free buffers the device still reads.
uint32_t TxQueue::reap(uint32_t limit)
{
    std::array<rte_mbuf *, kMaxQueueDescriptors> to_free;
    uint32_t freed = 0;
    uint64_t errors = 0;
    uint64_t failed_packets = 0;
    uint64_t failed_bytes = 0;
    const uint32_t capacity_mask = sq_.capacity_bu() - 1;
    const uint32_t first_cqe = cq_cursor_.head();
    for (;;) {
        const gdma::CqSlot state = cq_cursor_.peek();
        if (state != gdma::CqSlot::ready) {
            if (state == gdma::CqSlot::overflow && !overflow_logged_) [[unlikely]] {
                // Completions were lost: in-flight packets can no longer be matched to
                // them. They are freed when the port stops.
                overflow_logged_ = true;
                ++errors;
                MANA_DRV_LOG(ERR,
                             "port %u TX queue %u: completion queue overflow; restart the port",
                             config_.port_id, config_.queue_id);
            }
            break;
        }
        const gdma::Cqe &cqe = cq_cursor_.current();
        const gdma::CqeType type = cqe.type();
        const bool failed = gdma::is_tx_error(type);
        if (tail_ == head_ || (type != gdma::CqeType::tx_ok && !failed)) [[unlikely]] {
            cq_cursor_.advance();
            ++errors;
            continue;
        }
        uint32_t requested = tail_;
        while (requested != head_ - 1 && !slots_[requested & slot_mask_].cqe_requested)
            ++requested;
        uint32_t last = requested;
        if (failed) [[unlikely]] {
            const uint32_t failed_bu = gdma::decode_tx_completion(cqe.oob).tx_wqe_offset;
            for (uint32_t i = tail_; i != requested + 1; ++i) {
                if ((slots_[i & slot_mask_].start_bu & capacity_mask) ==
                    (failed_bu & capacity_mask)) {
                    last = i;
                    break;
                }
            }
        }
        if (last - tail_ >= limit - freed) [[unlikely]] {
            // More than may be freed now: free the oldest ones and leave the completion
            // unread; read again, it completes the rest (tail_ moved, `last` did not).
            if (limit != freed)
                complete_through(tail_ + (limit - freed) - 1, to_free.data(), freed);
            break;
        }
        cq_cursor_.advance();
        if (failed) [[unlikely]] {
            ++errors;
            ++failed_packets;
            ++events_.tx_error_cqes[static_cast<uint32_t>(type) - kFirstTxErrorCqe];
            failed_bytes += slots_[last & slot_mask_].mbuf->pkt_len;
            MANA_DP_LOG(ERR, "port %u TX queue %u: TX error CQE type %u", config_.port_id,
                        config_.queue_id, static_cast<unsigned>(type));
        }
        complete_through(last, to_free.data(), freed);
    }
    counters_.completions += cq_cursor_.head() - first_cqe;
    if (freed != 0)
        release(to_free.data(), freed);
    if (errors != 0) [[unlikely]] {
        counters_.errors += errors;
        // Failed packets were counted as sent when posted; they were not.
        counters_.packets -= std::min<uint64_t>(counters_.packets, failed_packets);
        counters_.bytes -= std::min<uint64_t>(counters_.bytes, failed_bytes);
    }
    return freed;
}

// With MBUF_FAST_FREE the application promises one pool and reference count 1 per queue,
// so single-segment packets go straight back to the pool; chains still need walking.
void TxQueue::release(rte_mbuf **mbufs, uint32_t count) const
{
    if (config_.fast_free) [[likely]] {
        bool single = true;
        for (uint32_t i = 0; i < count; ++i)
            single &= mbufs[i]->nb_segs == 1;
        if (single) [[likely]] {
            rte_mempool_put_bulk(mbufs[0]->pool, reinterpret_cast<void **>(mbufs), count);
            return;
        }
    }
    rte_pktmbuf_free_bulk(mbufs, count);
}

bool TxQueue::post(rte_mbuf *mbuf, bool request_cqe)
{
    std::array<gdma::Sge, kMaxTxSegments> sges;
    uint32_t count = 0;
    for (const rte_mbuf *segment = mbuf; segment != nullptr; segment = segment->next) {
        const uintptr_t address = rte_pktmbuf_mtod(segment, uintptr_t);
        auto lkey = mr_cache_.cached(address, segment->data_len);
        if (!lkey) [[unlikely]] {
            lkey = lookup_segment_lkey(mr_cache_, mr_table_, segment);
            if (!lkey)
                return false;
        }
        sges[count++] =
            gdma::Sge{.address = address, .memory_key = *lkey, .size = segment->data_len};
    }
    const uint64_t ol = mbuf->ol_flags;
    gdma::TxShortOobFields fields = oob_template_;
    fields.suppress_cqe = !request_cqe;
    if (ol & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) {
        fields.outer_ipv4 = (ol & RTE_MBUF_F_TX_IPV4) != 0;
        fields.outer_ipv6 = (ol & RTE_MBUF_F_TX_IPV6) != 0;
        fields.compute_ip_csum = (ol & RTE_MBUF_F_TX_IP_CKSUM) != 0;
        const uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
        fields.compute_tcp_csum = l4 == RTE_MBUF_F_TX_TCP_CKSUM;
        fields.compute_udp_csum = l4 == RTE_MBUF_F_TX_UDP_CKSUM;
        fields.transport_offset = static_cast<uint16_t>(mbuf->l2_len + mbuf->l3_len);
    }
    const std::span<const gdma::Sge> sgl(sges.data(), count);
    uint32_t size_bu;
    if (config_.vlan_insert && (ol & RTE_MBUF_F_TX_VLAN)) [[unlikely]] {
        const uint16_t tci = mbuf->vlan_tci;
        const auto oob =
            gdma::TxLongOob::encode(fields, {.inject_vlan = true,
                                             .pcp = static_cast<uint8_t>(tci >> 13),
                                             .dei = ((tci >> 12) & 1) != 0,
                                             .vlan_id = static_cast<uint16_t>(tci & 0xFFF)});
        size_bu = gdma::write_wqe(sq_, head_bu_, {}, std::as_bytes(std::span(&oob, 1)), sgl);
    } else {
        const auto oob = gdma::TxShortOob::encode(fields);
        size_bu = gdma::write_wqe(sq_, head_bu_, {}, std::as_bytes(std::span(&oob, 1)), sgl);
    }
    slots_[head_ & slot_mask_] = Slot{.mbuf = mbuf,
                                      .start_bu = head_bu_,
                                      .size_bu = static_cast<uint16_t>(size_bu),
                                      .cqe_requested = request_cqe};
    ++head_;
    head_bu_ += size_bu;
    return true;
}

// The tx_burst contract: the return value n means tx_pkts[0..n-1] now belong to the
// driver, in order, and nothing after them was touched. Each of those packets was either
// posted to the device or, when the device cannot take it (more segments than it
// gathers, longer than the largest frame, memory that cannot be registered), freed and
// counted in oerrors. A packet is never skipped: the burst stops at the first packet
// that does not fit in the ring, and the caller keeps that one and the rest. After the
// device is removed or has failed, it takes nothing (returns 0).
template <bool kTso>
uint16_t TxQueue::burst(rte_mbuf **packets, uint16_t count)
{
    const ProcessPort &local = process_ports[config_.port_id];
    const BurstSection section(burst_gate_);
    if (halted_ || local.stop_bursts->load(std::memory_order_acquire)) [[unlikely]]
        return 0; // the device is gone (or, in a secondary, the port stopped)
    reap();
    const uint32_t first = head_;
    const uint32_t capacity_bu = sq_.capacity_bu();
    const uint32_t descriptors = config_.descriptors;
    uint64_t bytes = 0;
    uint32_t dropped = 0;
    uint16_t taken = 0;
    for (; taken < count; ++taken) {
        rte_mbuf *mbuf = packets[taken];
        if constexpr (kTso) {
            if (mbuf->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
                const uint32_t sges = tso_sge_count(mbuf, config_);
                if (sges == 0) [[unlikely]] {
                    rte_pktmbuf_free(mbuf);
                    ++dropped;
                    continue;
                }
                const bool long_oob = config_.vlan_insert && (mbuf->ol_flags & RTE_MBUF_F_TX_VLAN);
                const uint32_t size_bu = gdma::wqe_size_bu(
                    long_oob ? gdma::kLargeInlineOobBytes : gdma::kSmallInlineOobBytes, sges);
                if (head_ - tail_ == descriptors ||
                    gdma::free_bu(capacity_bu, head_bu_, tail_bu_) < size_bu) [[unlikely]]
                    break;
                const uint32_t pkt_len = mbuf->pkt_len;
                if (!post_tso(mbuf, (head_ & cqe_interval_mask_) == cqe_interval_mask_, sges))
                    [[unlikely]] {
                    rte_pktmbuf_free(mbuf);
                    ++dropped;
                    continue;
                }
                bytes += pkt_len;
                continue;
            }
        }
        const uint32_t segments = mbuf->nb_segs;
        if (segments > config_.max_sges || mbuf->pkt_len > config_.max_frame || mbuf->pkt_len == 0)
            [[unlikely]] {
            rte_pktmbuf_free(mbuf);
            ++dropped;
            continue;
        }
        const bool long_oob = config_.vlan_insert && (mbuf->ol_flags & RTE_MBUF_F_TX_VLAN);
        const uint32_t size_bu = gdma::wqe_size_bu(
            long_oob ? gdma::kLargeInlineOobBytes : gdma::kSmallInlineOobBytes, segments);
        if (head_ - tail_ == descriptors ||
            gdma::free_bu(capacity_bu, head_bu_, tail_bu_) < size_bu) [[unlikely]]
            break;
        const uint32_t pkt_len = mbuf->pkt_len;
        if (!post(mbuf, (head_ & cqe_interval_mask_) == cqe_interval_mask_)) [[unlikely]] {
            rte_pktmbuf_free(mbuf);
            ++dropped;
            continue;
        }
        bytes += pkt_len;
    }
    const uint32_t posted = head_ - first;
    if (posted != 0) [[likely]] {
        // The last WQE of a burst always asks for a CQE, so everything posted is
        // eventually completed even if no further burst comes.
        Slot &last = slots_[(head_ - 1) & slot_mask_];
        if (!last.cqe_requested) {
            std::byte *word0 = sq_.base() + sq_.offset_of(last.start_bu) + kOobOffset;
            gdma::store_le32(word0, gdma::load_le32(word0) & ~kSuppressCqeBit);
            last.cqe_requested = true;
        }
        ring_doorbell(doorbell_page(local, db_page_), gdma::doorbell_offset::sq,
                      gdma::sq_doorbell(sq_id_, head_bu_ << gdma::kBasicUnitShift));
        ++counters_.doorbells;
    }
    counters_.wqes += posted;
    counters_.packets += posted;
    counters_.bytes += bytes;
    counters_.errors += dropped;
    return taken;
}

uint16_t tx_burst(void *queue, rte_mbuf **packets, uint16_t count)
{
    return static_cast<TxQueue *>(queue)->burst<false>(packets, count);
}

uint16_t tx_burst_tso(void *queue, rte_mbuf **packets, uint16_t count)
{
    return static_cast<TxQueue *>(queue)->burst<true>(packets, count);
}

// Checks each packet against what tx_burst can do and seeds the L4 checksum field with
// the pseudo-header sum the device expects (spec §3).
uint16_t tx_prepare(void *queue, rte_mbuf **packets, uint16_t count)
{
    const TxQueueConfig &config = static_cast<TxQueue *>(queue)->config();
    for (uint16_t i = 0; i < count; ++i) {
        rte_mbuf *mbuf = packets[i];
        const uint64_t ol = mbuf->ol_flags;
        if ((ol & RTE_MBUF_F_TX_OFFLOAD_MASK & ~kTxAcceptedFlags) != 0 ||
            (ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_SCTP_CKSUM ||
            ((ol & RTE_MBUF_F_TX_VLAN) && !config.vlan_insert) ||
            ((ol & RTE_MBUF_F_TX_TCP_SEG) && !config.tso)) {
            rte_errno = ENOTSUP;
            return i;
        }
        if (ol & RTE_MBUF_F_TX_TCP_SEG) {
            // rte_validate_tx_offload first: it names what is missing (an IP type, an
            // IPv4 checksum request, the MSS) before the TSO bounds are checked.
            int ret = rte_validate_tx_offload(mbuf);
            if (ret == 0)
                ret = -tso_prepare(mbuf, config);
            if (ret != 0) {
                rte_errno = -ret;
                return i;
            }
            continue;
        }
        if (mbuf->nb_segs > config.max_sges || mbuf->pkt_len > config.max_frame ||
            mbuf->pkt_len == 0) {
            rte_errno = EINVAL;
            return i;
        }
        int ret = rte_validate_tx_offload(mbuf);
        if (ret != 0) {
            rte_errno = -ret;
            return i;
        }
        if (ol & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) {
            // The headers the checksum seed is written into must be in the first segment.
            const uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
            const uint32_t needed = mbuf->l2_len + mbuf->l3_len +
                                    (l4 == RTE_MBUF_F_TX_TCP_CKSUM   ? sizeof(rte_tcp_hdr)
                                     : l4 == RTE_MBUF_F_TX_UDP_CKSUM ? sizeof(rte_udp_hdr)
                                                                     : 0);
            if (mbuf->data_len < needed || mbuf->l3_len == 0) {
                rte_errno = EINVAL;
                return i;
            }
            ret = rte_net_intel_cksum_prepare(mbuf);
            if (ret != 0) {
                rte_errno = -ret;
                return i;
            }
        }
    }
    return count;
}

} // namespace mana
