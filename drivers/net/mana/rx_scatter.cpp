/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter: WQEs of several buffers, so a frame longer than one mbuf arrives as a chain.
// The device fills a WQE's SGEs in order (spec §6, RX); the completion gives the frame
// length, which says how many of the WQE's buffers hold data. The buffers a frame does
// not fill stay in their WQE's slots and are posted again with it, so a short frame costs
// one mbuf, as on a queue of one buffer per WQE, and leaves the slots as they were (the
// refill knows from refill_counts_slots_ which WQEs need more than their first buffer
// replaced). Where the WQEs are a power of two BUs and the WQ holds exactly the ring's
// (open()), each slot's WQE stays at one place and is written whole once, so a short
// frame's repost writes one SGE, as on such a queue.
#include "rxq.h"

#include "mbuf_cache.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace mana
{

// Only the SGEs of the buffers that are new in the WQE, buffers[0, fresh), are made from
// their mbufs. Where the WQEs stay in place (open()) the rest of the WQE is as it was and
// the SGE sizes are the template's; elsewhere the other SGEs are copied from where the
// same slot's WQE was posted last time, `descriptors` WQEs back (no WQE posted since
// reaches that far round the WQ, which holds more than `descriptors` WQEs), and the header
// and OOB are written. Offsets are masked per SGE, so a WQE that wraps the WQ's end needs
// no other path.
inline bool RxQueue::post_chain(rte_mbuf *const *buffers, uint32_t fresh, RangeCheck &range)
{
    const uint32_t mask = wq_bytes_mask_;
    const uint32_t buffer_offset = inline_buffer_offset_;
    const uint32_t offset = chain_wqe_offset(head_);
    const uint32_t sgl = offset + chain_sge_offset_;
    const bool in_place = chain_in_place_;
    RangeCheck check = range;
    for (uint32_t i = 0; i < fresh; ++i) {
        const uintptr_t address = buffer_address(buffers[i], buffer_offset);
        if (!check.contains(address)) [[unlikely]] {
            const auto covering = find_range(address);
            if (!covering)
                return false; // what was written lies beyond the posted WQEs
            check = *covering;
        }
        std::byte *sge = wq_base_ + ((sgl + i * sizeof(gdma::Sge)) & mask);
        write_sge_buffer(sge, address, check.lkey);
        if (!in_place)
            gdma::store_le32(sge + offsetof(gdma::Sge, size), buffer_bytes_);
    }
    range = check;
    if (in_place)
        return true;
    copy_sges(offset, chain_wqe_offset(head_ - config_.descriptors), fresh, config_.sges);
    // Header and OOB never straddle the WQ's end: a WQE starts at a basic unit.
    std::byte *wqe = wq_base_ + offset;
    gdma::store_le64(wqe, chain_wqe_header_);
    for (uint32_t oob = sizeof(gdma::DmaHeader); oob < chain_sge_offset_; oob += sizeof(uint64_t))
        gdma::store_le64(wqe + oob, 0);
    return true;
}

// SGEs [from, count) of the WQE at `source` to the one at `target` (two different
// places): one copy where neither SGL wraps.
void RxQueue::copy_sges(uint32_t target, uint32_t source, uint32_t from, uint32_t count)
{
    const uint32_t mask = wq_bytes_mask_;
    const uint32_t begin = chain_sge_offset_ + from * static_cast<uint32_t>(sizeof(gdma::Sge));
    const uint32_t end = chain_sge_offset_ + count * static_cast<uint32_t>(sizeof(gdma::Sge));
    if (target + end > mask + 1 || source + end > mask + 1) [[unlikely]] {
        for (uint32_t sge = begin; sge < end; sge += sizeof(gdma::Sge))
            std::memcpy(wq_base_ + ((target + sge) & mask), wq_base_ + ((source + sge) & mask),
                        sizeof(gdma::Sge));
        return;
    }
    std::memcpy(wq_base_ + target + begin, wq_base_ + source + begin, end - begin);
}

// Every WQE of a queue whose WQEs stay in place, written once at open: header, zero OOB
// and the SGE sizes, the buffers' addresses and keys left for the refills.
void RxQueue::write_chain_template()
{
    const gdma::WqeRing ring(wq_base_, wq_bytes_mask_ + 1);
    const std::array<std::byte, gdma::kLargeInlineOobBytes> oob{};
    std::array<gdma::Sge, kMaxRxSegments> sges{};
    for (gdma::Sge &sge : sges)
        sge.size = buffer_bytes_;
    for (uint32_t wqe = 0; wqe < config_.descriptors; ++wqe)
        gdma::write_wqe(ring, wqe * wqe_bu_, {},
                        {oob.data(), chain_sge_offset_ - sizeof(gdma::DmaHeader)},
                        {sges.data(), config_.sges});
}

// The refill's common case on a queue whose WQEs stay in place: WQEs whose first buffer
// alone was delivered (a frame that fit it: clear in refill_counts_slots_), each given the
// batch's top fresh mbuf and reposted by writing that one SGE's address and key, with slots
// and SGEs walked by pointer in a span that wraps neither the ring nor the WQ. Stops at any
// other WQE, at a buffer outside `range`, or when the batch or the `want` WQEs run out;
// returns how many it posted.
template <bool kInlineBuffers>
inline uint32_t RxQueue::post_short_frames(ChainRefillBatch &batch, uint32_t want,
                                           const RangeCheck &range)
{
    const uint32_t count = config_.sges;
    const uint32_t slot = head_ & ring_mask_;
    uint32_t &left = batch.left();
    const uint32_t span =
        std::min({want, left, config_.descriptors - slot, refill_counts_slots_.clear_run(slot)});
    rte_mbuf **slots = &ring_[slot * count];
    rte_mbuf **const end = slots + span * count;
    rte_mbuf *const *const top = batch.fresh() + left;
    rte_mbuf *const *next = top;
    const uint32_t stride = wqe_bu_ << gdma::kBasicUnitShift;
    std::byte *sge = wq_base_ + chain_wqe_offset(head_) + chain_sge_offset_;
    const uint32_t buffer_offset = inline_buffer_offset_;
    const RangeCheck check = range; // in registers: the stores below could alias `range`
    for (; slots != end; slots += count, sge += stride) {
        rte_mbuf *mbuf = next[-1];
        const uintptr_t address = buffer_address<kInlineBuffers>(mbuf, buffer_offset);
        if (!check.contains(address)) [[unlikely]]
            break;
        --next;
        slots[0] = mbuf;
        write_sge_buffer(sge, address, check.lkey);
    }
    const auto posted = static_cast<uint32_t>(top - next);
    left -= posted;
    head_ += posted;
    return posted;
}

inline uint32_t RxQueue::post_short_frames(ChainRefillBatch &batch, uint32_t want,
                                           const RangeCheck &range)
{
    return inline_buffer_offset_ != 0 ? post_short_frames<true>(batch, want, range)
                                      : post_short_frames<false>(batch, want, range);
}

// A WQE is posted whole or not at all: when the pool runs dry or a buffer's memory has no
// registration, that WQE and the ones after it keep only what they held, the fresh mbufs
// go back to the pool, and later bursts retry. rx_nombuf counts the buffers of the WQEs
// left unposted, as on every retry. Fresh mbufs are taken for many WQEs at once. The
// common case (in-place WQEs of short frames, one batch) is all this function does; the
// rest is refill_wqes(), out of line.
uint32_t RxQueue::refill_chains()
{
    const uint32_t want = config_.descriptors - (head_ - tail_);
    RangeCheck &range = refill_range_.current(mr_table_);
    ChainRefillBatch batch(config_.pool);
    uint32_t posted = 0;
    if (chain_in_place_ && !refill_counts_slots_.test(head_ & ring_mask_)) [[likely]] {
        batch.retake(std::min(want, kChainRefillBatch));
        while (batch.left() != 0) {
            const uint32_t done = post_short_frames(batch, want - posted, range);
            posted += done;
            if (done == 0 || posted == want || refill_counts_slots_.test(head_ & ring_mask_))
                break;
        }
    }
    if (posted < want) [[unlikely]]
        posted += refill_wqes(batch, want - posted, range);
    counters_.no_mbuf += static_cast<uint64_t>(want - posted) * config_.sges;
    return posted;
}

// WQE by WQE, with fresh mbufs for as many of the `want` WQEs as the first that needs some
// (a short frame: one), taken again when a WQE needs more than the batch has left.
uint32_t RxQueue::refill_wqes(ChainRefillBatch &batch, uint32_t want, RangeCheck &range)
{
    const uint32_t count = config_.sges;
    uint32_t posted = 0;
    while (posted < want) {
        const uint32_t slot = head_ & ring_mask_;
        rte_mbuf **slots = &ring_[slot * count];
        // A short frame's WQE lacks its first buffer only. Elsewhere the delivered buffers
        // are the WQE's first ones (the device fills SGEs in order), so its empty slots are
        // the first ones; none after an error completion.
        const bool counted = refill_counts_slots_.test(slot);
        uint32_t empty = 1;
        if (counted) {
            empty = 0;
            while (empty < count && slots[empty] == nullptr)
                ++empty;
        }
        if (empty > batch.left()) {
            // A nearly dry pool halves a request it cannot meet: then ask for this WQE's.
            if (batch.retake(std::min((want - posted) * empty, kChainRefillBatch)) < empty &&
                batch.retake(empty) < empty)
                break; // the pool is dry
        }
        if (!counted && chain_in_place_) {
            const uint32_t done = post_short_frames(batch, want - posted, range);
            posted += done;
            if (done != 0)
                continue;
            // Its buffer is outside the range: the general path finds the registration.
        }
        uint32_t &left = batch.left();
        left -= empty;
        rte_mbuf *const *fresh = batch.fresh() + left;
        // Usually one mbuf (a short frame): no library call for it.
        if (empty == 1)
            slots[0] = fresh[0];
        else
            std::copy_n(fresh, empty, slots);
        // The other buffers' SGEs are in place or where this slot was posted last, unless
        // the WQ's size lets a later WQE overwrite that (see open()).
        if (!post_chain(slots, reuse_sges_ ? empty : count, range)) [[unlikely]] {
            std::fill_n(slots, empty, nullptr);
            left += empty;
            report_unregistered();
            break;
        }
        if (counted)
            refill_counts_slots_.clear(slot);
        ++head_;
        ++posted;
    }
    return posted;
}

// The buffers come from the pool in their free state (one segment, no next) and were
// written by nobody since, so a segment needs only what rte_pktmbuf_reset would give it
// and its length; the head gets a packet's fields as on a queue of single buffers.
rte_mbuf *RxQueue::take_chain(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                              uint32_t packet)
{
    const uint32_t slot = tail_ & ring_mask_;
    rte_mbuf **slots = &ring_[slot * config_.sges];
    ++tail_;
    if (length > config_.sges * buffer_bytes_) [[unlikely]] {
        refill_counts_slots_.set(slot);
        return nullptr;
    }
    rte_mbuf *head = slots[0];
    mbuf_writer(decoded).write(head, cqe, packet);
    if (length <= buffer_bytes_)
        return head; // a short frame's: the slots stay as they are
    refill_counts_slots_.set(slot);
    slots[0] = nullptr;
    const uint32_t first = buffer_bytes_;
    head->data_len = static_cast<uint16_t>(first);
    uint16_t used = 1;
    rte_mbuf *last = head;
    for (uint32_t remaining = length - first; remaining != 0; ++used) {
        rte_mbuf *segment = slots[used];
        slots[used] = nullptr;
        const uint32_t bytes = std::min(remaining, buffer_bytes_);
        std::memcpy(&segment->rearm_data, &rearm_, sizeof(rearm_));
        segment->ol_flags = ol_flags_base_;
        segment->data_len = static_cast<uint16_t>(bytes);
        last->next = segment;
        last = segment;
        remaining -= bytes;
    }
    head->nb_segs = used;
    return head;
}

void RxQueue::free_ring()
{
    if (ring_.data() == nullptr)
        return;
    if (config_.sges == 1) {
        // Slots outside the posted range hold stale pointers.
        for (uint32_t i = tail_; i != head_; ++i)
            rte_pktmbuf_free(ring_[i & ring_mask_]);
    } else {
        const uint32_t count = config_.sges;
        for (uint32_t slot = 0; slot < config_.descriptors; ++slot) {
            rte_mbuf **slots = &ring_[slot * count];
            // An unposted WQE that only its first buffer left still names that buffer.
            const bool posted = ((slot - tail_) & ring_mask_) < head_ - tail_;
            const uint32_t first = posted || refill_counts_slots_.test(slot) ? 0 : 1;
            for (uint32_t i = first; i < count; ++i)
                rte_pktmbuf_free(slots[i]); // null-safe: other delivered buffers' slots are empty
        }
        refill_counts_slots_.set_all();
    }
    // Empty slots for the next start, which may post WQEs of another size.
    std::fill_n(ring_.data(), ring_.size(), nullptr);
}

} // namespace mana
