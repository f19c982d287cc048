/* SPDX-License-Identifier: BSD-3-Clause */
// A TX queue's life and its posting side: setup, start and stop of the QP and CQ, and
// tx_burst (the one-segment loop; other packets through tx_wqe.cpp, TSO through
// tx_tso.cpp). What completions do is in tx_completions.cpp, tx_prepare in tx_prepare.cpp.
#include "txq.h"

#include "tx_ring_entry.h"

#include "log.h"
#include "mbuf_cache.h"
#include "mr_registration.h"
#include "tx_oob_requests.h"
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

// Where the first word of the client OOB sits in a WQE, and its suppress-CQE bit.
constexpr uint32_t kOobOffset = sizeof(gdma::DmaHeader);
constexpr uint32_t kSuppressCqeBit = 1U << 7;

// The first 8 bytes of a one-segment WQE: the DMA header of a short OOB and one SGE.
constexpr uint64_t simple_wqe_header()
{
    const gdma::DmaHeader header = gdma::DmaHeader::encode(
        {.num_sgl_entries = 1, .inline_oob_dwords = gdma::kSmallInlineOobBytes / 4});
    return header.word0 | (static_cast<uint64_t>(header.word1) << 32);
}
constexpr uint64_t kSimpleWqeHeader = simple_wqe_header();

// A CQE every this many WQEs at most bounds how long a completed packet waits to be freed.
// Half a ring at most, so a full ring has two on their way; every burst's last WQE asks
// for one as well.
constexpr uint32_t kMaxCqeInterval = 32;

uint64_t oob_bits(const gdma::TxShortOobFields &fields)
{
    const gdma::TxShortOob oob = gdma::TxShortOob::encode(fields);
    return oob.word[0] | (static_cast<uint64_t>(oob.word[1]) << 32);
}

// refcnt and nb_segs sit side by side: one 32-bit load tells "one segment that nobody
// else references" (both 1).
static_assert(offsetof(rte_mbuf, nb_segs) == offsetof(rte_mbuf, refcnt) + 2 &&
                  sizeof(rte_mbuf::refcnt) == 2 && sizeof(rte_mbuf::nb_segs) == 2 &&
                  std::endian::native == std::endian::little,
              "refcnt and nb_segs must be adjacent 16-bit fields");
constexpr uint32_t kSoleOneSegment = 1U | (1U << 16);

uint32_t refcnt_and_segments(const rte_mbuf *mbuf)
{
    uint32_t value;
    std::memcpy(&value, reinterpret_cast<const std::byte *>(mbuf) + offsetof(rte_mbuf, refcnt),
                sizeof(value));
    return value;
}

// An mbuf that does not own its data buffer (attached to another mbuf or to an external
// buffer): freeing it is more than putting it back into its pool.
constexpr uint64_t kNotDirectFlags = RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;

} // namespace

TxQueue::TxQueue(const TxQueueConfig &config, MrTable &mr_table)
    : config_(config), mr_table_(mr_table), mr_cache_(&mr_table)
{
    config_.max_sges = std::min(config_.max_sges, kMaxTxSegments);
}

TxQueue::~TxQueue()
{
    stop();
}

int TxQueue::setup()
{
    if (!mbufs_.allocate("mana_tx_ring", config_.descriptors, config_.socket) ||
        !large_wqes_.allocate("mana_tx_ring", config_.descriptors, config_.socket) ||
        !cqe_requests_.allocate("mana_tx_ring", config_.descriptors, config_.socket) ||
        !posted_bytes_.allocate("mana_tx_ring", config_.descriptors, config_.socket)) {
        MANA_DRV_LOG(ERR, "port %u TX queue %u: out of DPDK memory for %u descriptors",
                     config_.port_id, config_.queue_id, config_.descriptors);
        return -ENOMEM;
    }
    slot_mask_ = config_.descriptors - 1;
    const uint32_t interval = std::min(kMaxCqeInterval, std::max(1U, config_.descriptors >> 1));
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
    gdma::TxShortOobFields suppressed = oob_template_;
    suppressed.suppress_cqe = true;
    for (uint64_t index = 0; index < oob_words_.size(); ++index) {
        const uint64_t ol = index << kChecksumFlagsShift;
        oob_words_[index] = oob_bits(with_checksum_requests(suppressed, ol, 0));
        transport_offset_scales_[index] =
            oob_bits(with_checksum_requests(suppressed, ol, 1)) ^ oob_words_[index];
    }
    // TSO packets take an LSO WQE (on a queue without TSO, post() sends them as they
    // are, as before the flag is looked at).
    not_simple_flags_ =
        kNotDirectFlags | RTE_MBUF_F_TX_TCP_SEG | (config_.vlan_insert ? RTE_MBUF_F_TX_VLAN : 0);
    empty_ring();
    in_flight_counted_ = false;
    headers_in_place_from_bu_ = sq_.capacity_bu();
    tagged_in_flight_ = 0;
    range_.forget();
    overflow_logged_ = false;
    halted_.store(false, std::memory_order_release);
    return 0;
}

// No WQE in flight, every index at 0, and the same for a reader of the published state.
void TxQueue::empty_ring()
{
    const uint32_t opened = open_reap_sequence();
    head_ = tail_ = head_bu_ = tail_bu_ = 0;
    requests_head_ = requests_tail_ = 0;
    large_head_ = large_tail_ = 0;
    posted_total_ = completed_bytes_ = 0;
    publish_reap_state();
    published_.requests_head.store(0, std::memory_order_relaxed);
    close_reap_sequence(opened);
}

void TxQueue::stop()
{
    halted_.store(true, std::memory_order_relaxed);
    qp_.reset();
    // The QP is gone, so the device completes nothing more: what it completed was sent,
    // the rest is dropped with the queue, and counted (unless a reset counted it already).
    // (db_page_: the queue started, so the CQ cursor is valid.)
    if (cq_ && db_page_ != nullptr && !in_flight_counted_) {
        reap_all();
        counters_.errors += head_ - tail_;
        events_.tx_discarded_at_stop += head_ - tail_;
    }
    cq_.reset();
    // After the QP is gone the device reads none of these buffers any more.
    if (mbufs_.data() != nullptr) {
        for (uint32_t i = tail_; i != head_; ++i)
            rte_pktmbuf_free(untagged(mbufs_[i & slot_mask_]));
    }
    tagged_in_flight_ = 0;
    empty_ring();
    db_page_ = nullptr;
    sq_ = {};
}

// Clears the suppress bit of posted WQE `index` (starting at `start_bu`) and queues it as
// the next CQE the device will produce.
void TxQueue::request_completion(uint32_t index, uint32_t start_bu)
{
    std::byte *word0 = sq_.base() + sq_.offset_of(start_bu) + kOobOffset;
    gdma::store_le32(word0, gdma::load_le32(word0) & ~kSuppressCqeBit);
    push_cqe_request(index);
}

// Whether the sent packet can go straight back into plain_pool_: one direct segment,
// referenced by nobody else (so nothing changes that until the driver frees it), from
// plain_pool_. The pool is the first one seen, and changes to the packet's when no
// untagged packet is in flight (an application that moves to another pool).
bool TxQueue::plain(const rte_mbuf *mbuf)
{
    if (refcnt_and_segments(mbuf) != kSoleOneSegment || mbuf->next != nullptr ||
        (mbuf->ol_flags & kNotDirectFlags) != 0)
        return false;
    if (mbuf->pool != plain_pool_ && head_ - tail_ == tagged_in_flight_)
        plain_pool_ = mbuf->pool;
    return mbuf->pool == plain_pool_;
}

void TxQueue::record(rte_mbuf *mbuf, uint32_t size_bu, bool request_cqe)
{
    if (plain(mbuf)) {
        mbufs_[head_ & slot_mask_] = mbuf;
    } else {
        mbufs_[head_ & slot_mask_] =
            reinterpret_cast<rte_mbuf *>(reinterpret_cast<uintptr_t>(mbuf) | kSlowFreeTag);
        ++tagged_in_flight_;
    }
    if (size_bu != 1)
        large_wqes_[large_head_++ & slot_mask_] = {.index = head_, .size_bu = size_bu};
    posted_total_ += mbuf->pkt_len;
    record_posted_bytes(head_, posted_total_);
    head_bu_ += size_bu;
    // Its BUs hold other words now: a lap of one-segment WQEs puts the headers back.
    headers_in_place_from_bu_ = head_bu_ + sq_.capacity_bu();
    if (request_cqe)
        push_cqe_request(head_);
    ++head_;
}

void TxQueue::count_drop(PostResult why)
{
    switch (why) {
    case PostResult::malformed_chain:
        ++events_.tx_malformed_chains;
        break;
    case PostResult::unregistered_memory:
        ++events_.tx_unregistered_memory;
        break;
    case PostResult::unsendable:
        ++events_.tx_unsendable;
        break;
    case PostResult::posted:
        break;
    }
}

// The WQE of a one-segment packet: DMA header, short OOB (CQE suppressed), one SGE.
template <bool kWriteHeader>
inline void TxQueue::write_simple_wqe(std::byte *wqe, const rte_mbuf *mbuf, uintptr_t address,
                                      uint32_t len, uint32_t lkey) const
{
    // 64 bits: a 32-bit index would cost a zero-extending move per packet.
    const uint64_t checksum = (mbuf->ol_flags >> kChecksumFlagsShift) & 31;
    uint64_t oob = oob_words_[checksum];
    // l2_len and l3_len are in the mbuf's second cache line: read only for a checksum
    // request (forwarded packets usually have none).
    if (checksum != 0)
        oob |= transport_offset_of(mbuf) * transport_offset_scales_[checksum];
    if constexpr (kWriteHeader)
        gdma::store_le64(wqe, kSimpleWqeHeader);
    gdma::store_le64(wqe + 8, oob);
    gdma::store_le64(wqe + 16, address);
    gdma::store_le32(wqe + 24, lkey);
    gdma::store_le32(wqe + 28, len);
}

// The one-segment loop proper: writes the WQEs of entries[0..count) into consecutive
// BUs from `wqe` until a packet needs anything else or its buffer is outside `range`. A
// function of its own so that the loop has the registers to itself; it calls nothing.
template <bool kWriteHeader>
TxQueue::SimpleRun TxQueue::write_simple_wqes(rte_mbuf *const *entries, uint32_t count,
                                              std::byte *wqe, const RangeCheck &range) const
{
    // A copy: stores into the ring could alias the caller's, and it must stay in
    // registers.
    const RangeCheck check = range;
    const rte_mempool *const pool = plain_pool_;
    SimpleRun run;
    // 32 bits: a stretch is at most a ring (32768 WQEs) of at most 9018-byte frames.
    uint32_t bytes = 0;
    rte_mbuf *const *entry = entries;
    for (rte_mbuf *const *const end = entries + count; entry != end; ++entry) {
        const rte_mbuf *mbuf = *entry;
        // One segment: pkt_len is data_len and nothing hangs from next (post() sorts out
        // mbufs that say otherwise: it drops a chain whose nb_segs says 1, which this
        // loop would send in part and whose other segments it would leak at completion).
        const uint32_t len = mbuf->data_len;
        // not_simple_flags_ and max_frame stay in memory: the loop needs its registers more.
        if (refcnt_and_segments(mbuf) != kSoleOneSegment ||
            (mbuf->ol_flags & not_simple_flags_) != 0 || len - 1 >= config_.max_frame ||
            mbuf->pkt_len != len || mbuf->pool != pool || mbuf->next != nullptr) [[unlikely]]
            break;
        const uintptr_t address = rte_pktmbuf_mtod(mbuf, uintptr_t);
        if (!check.contains(address)) [[unlikely]] {
            run.outside_range = true;
            break;
        }
        write_simple_wqe<kWriteHeader>(wqe, mbuf, address, len, check.lkey);
        wqe += gdma::kBasicUnitBytes;
        bytes += len;
    }
    run.bytes = bytes;
    run.written = static_cast<uint32_t>(entry - entries);
    return run;
}

// One-segment plain() packets without a tag to insert, the common case, in a loop of
// their own: each takes one descriptor and one basic unit (DMA header, short OOB, one
// SGE), written from templates, so the room for the whole run is
// known up front and nothing per packet is recorded but its mbuf. The loop runs over
// stretches that wrap neither the slot ring nor the SQ, so it advances pointers without
// wrap tests. Every WQE gets its CQE suppressed; a CQE request every interval (and the
// burst's last WQE in burst()) clears it again. Stops at the first packet that needs
// anything else (post() takes that one).
[[gnu::always_inline]] inline uint32_t TxQueue::post_simple(rte_mbuf **packets, uint32_t taken,
                                                            uint32_t count, bool &lkey_failed)
{
    const uint32_t head = head_;
    const uint32_t head_bu = head_bu_;
    const uint32_t capacity_bu = sq_.capacity_bu();
    const uint32_t room = std::min({count - taken, config_.descriptors - (head - tail_),
                                    gdma::free_bu(capacity_bu, head_bu, tail_bu_)});
    RangeCheck &range = range_.current(mr_table_);
    const uint32_t interval = cqe_interval_mask_;
    rte_mbuf **const in = packets + taken;
    uint64_t posted_total = posted_total_;
    uint32_t n = 0;
    while (n < room) {
        const uint32_t slot = (head + n) & slot_mask_;
        const uint32_t bu = (head_bu + n) & (capacity_bu - 1);
        // A stretch also ends at the next WQE that asks for a completion, so that the bytes
        // posted through it are known (posted_bytes_).
        const uint32_t to_request = ((interval - (head + n)) & interval) + 1;
        const uint32_t stretch =
            std::min({room - n, config_.descriptors - slot, capacity_bu - bu, to_request});
        std::byte *const wqe = sq_.base() + (static_cast<std::size_t>(bu) << gdma::kBasicUnitShift);
        // The packets go into their ring slots first, in one copy; slots past where the
        // loop stops are not in flight and get overwritten later.
        rte_mbuf **const entries = &mbufs_[slot];
        std::copy_n(in + n, stretch, entries);
        const bool headers_in_place =
            static_cast<int32_t>(head_bu + n - headers_in_place_from_bu_) >= 0;
        const SimpleRun run = headers_in_place
                                  ? write_simple_wqes<false>(entries, stretch, wqe, range)
                                  : write_simple_wqes<true>(entries, stretch, wqe, range);
        const uint32_t i = run.written;
        n += i;
        posted_total += run.bytes;
        if (i != 0)
            record_posted_bytes(head + n - 1, posted_total);
        if (run.outside_range) {
            // The range lookup takes this packet: the buffer may lie too close to the
            // range's end for the check, so it takes the key it was given.
            rte_mbuf *mbuf = entries[i];
            const auto lkey = lookup_segment_lkey(mr_cache_, mr_table_, mbuf);
            if (!lkey) {
                lkey_failed = true; // burst() drops and counts it (no second attempt)
                break;
            }
            range = RangeCheck(mr_cache_.last_hit(), config_.max_frame);
            write_simple_wqe(wqe + (static_cast<std::size_t>(i) << gdma::kBasicUnitShift), mbuf,
                             rte_pktmbuf_mtod(mbuf, uintptr_t), mbuf->data_len, *lkey);
            posted_total += mbuf->data_len;
            record_posted_bytes(head + n, posted_total);
            ++n;
            continue;
        }
        if (i != stretch)
            break;
    }
    for (uint32_t index = head + ((interval - head) & interval); index - head < n;
         index += interval + 1)
        request_completion(index, head_bu + (index - head));
    head_ = head + n;
    head_bu_ = head_bu + n;
    posted_total_ = posted_total;
    return taken + n;
}

// Whether the ring has a slot and the basic units for this packet's WQE of `sges` SGEs.
bool TxQueue::has_room(const rte_mbuf *mbuf, uint32_t sges) const
{
    const bool long_oob = config_.vlan_insert && (mbuf->ol_flags & RTE_MBUF_F_TX_VLAN);
    const uint32_t size_bu =
        gdma::wqe_size_bu(long_oob ? gdma::kLargeInlineOobBytes : gdma::kSmallInlineOobBytes, sges);
    return head_ - tail_ != config_.descriptors &&
           gdma::free_bu(sq_.capacity_bu(), head_bu_, tail_bu_) >= size_bu;
}

// The rest of a burst from packets[taken], the first packet the one-segment loop did not
// take (lkey_failed: because its buffer could not be registered): packets of any shape,
// and runs of one-segment packets again through post_simple(). Out of line, so that the
// common burst, which post_simple() takes whole, keeps its registers. Returns how many of
// the burst's packets are now the driver's.
template <bool kTso>
uint32_t TxQueue::post_others(rte_mbuf **packets, uint32_t taken, uint32_t count, bool lkey_failed,
                              uint32_t &dropped)
{
    for (;;) {
        rte_mbuf *mbuf = packets[taken];
        // A packet the device cannot take is freed (its whole chain, as `next` links it)
        // and counted by why, never skipped.
        const auto drop = [&](PostResult why) {
            count_drop(why);
            rte_pktmbuf_free(mbuf);
            ++dropped;
            ++taken;
        };
        bool tso = false;
        if constexpr (kTso)
            tso = (mbuf->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
        // SGEs of the packet's WQE; 0 when the device cannot take it or its buffer could
        // not be registered.
        uint32_t sges = 0;
        if (!lkey_failed) {
            if (tso)
                sges = tso_sge_count(mbuf, config_);
            else if (mbuf->nb_segs <= config_.max_sges && mbuf->pkt_len <= config_.max_frame &&
                     mbuf->pkt_len != 0)
                sges = mbuf->nb_segs;
        }
        if (sges == 0) {
            drop(lkey_failed ? PostResult::unregistered_memory : PostResult::unsendable);
        } else {
            if (!has_room(mbuf, sges))
                return taken;
            const bool request_cqe = (head_ & cqe_interval_mask_) == cqe_interval_mask_;
            const PostResult result =
                tso ? post_tso(mbuf, request_cqe, sges) : post(mbuf, request_cqe, sges);
            if (result == PostResult::posted) {
                ++taken;
            } else {
                drop(result);
            }
        }
        if (taken == count)
            return taken;
        lkey_failed = false;
        taken = post_simple(packets, taken, count, lkey_failed);
        if (taken == count)
            return taken;
    }
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
    if (!rings_readable(halted_, local)) [[unlikely]]
        return 0; // the device is gone (or, in a secondary, the port stopped)
    reap();
    const uint32_t first = head_;
    uint32_t dropped = 0;
    // The one-segment loop takes the whole burst in the common case (TSO packets are never
    // simple: they take an LSO WQE); post_others() takes whatever it leaves.
    bool lkey_failed = false;
    uint32_t taken = post_simple(packets, 0, count, lkey_failed);
    if (taken != count) [[unlikely]]
        taken = post_others<kTso>(packets, taken, count, lkey_failed, dropped);
    const uint32_t posted = head_ - first;
    if (posted != 0) [[likely]] {
        // The last WQE of a burst always asks for a CQE, so everything posted is
        // eventually completed even if no further burst comes.
        const uint32_t last = head_ - 1;
        if (requests_head_ == requests_tail_ ||
            cqe_requests_[(requests_head_ - 1) & slot_mask_] != last)
            request_completion(last, newest_start_bu());
        // (posted_bytes_ holds `last`'s total: it ends a one-segment stretch or took a WQE
        // of its own.) Before the doorbell: a completion for any of these requests comes after it.
        published_.requests_head.store(requests_head_, std::memory_order_release);
        ring_doorbell(doorbell_page(local, db_page_), gdma::doorbell_offset::sq,
                      gdma::sq_doorbell(sq_id_, head_bu_ << gdma::kBasicUnitShift));
        ++counters_.doorbells;
    }
    counters_.wqes += posted;
    counters_.errors += dropped;
    return static_cast<uint16_t>(taken);
}

uint16_t tx_burst(void *queue, rte_mbuf **packets, uint16_t count)
{
    return static_cast<TxQueue *>(queue)->burst<false>(packets, count);
}

uint16_t tx_burst_tso(void *queue, rte_mbuf **packets, uint16_t count)
{
    return static_cast<TxQueue *>(queue)->burst<true>(packets, count);
}

} // namespace mana
