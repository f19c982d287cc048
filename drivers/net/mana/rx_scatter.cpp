/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter: WQEs of several buffers, so a frame longer than one mbuf arrives as a chain.
// The device fills a WQE's SGEs in order (spec §6, RX); the completion gives the frame
// length, which says how many of the WQE's buffers hold data. The buffers a frame does
// not fill stay in their WQE's slots and are posted again with it, so a short frame costs
// one mbuf, as on a queue of one buffer per WQE.
#include "rxq.h"

#include "mbuf_cache.h"

#include <algorithm>
#include <cstring>

namespace mana
{

// Only the SGEs of the buffers that are new in the WQE, buffers[0, fresh), are made from
// their mbufs: the others are copied from where the same slot's WQE was posted last time,
// `descriptors` WQEs back. No WQE posted since reaches that far round the WQ (it holds at
// least `descriptors` WQEs), so its SGEs are still there; when the WQ holds exactly that
// many the two places are the same and the copies are no-ops. Offsets are masked per SGE,
// so a WQE that wraps the WQ's end needs no other path.
inline bool RxQueue::post_chain(rte_mbuf *const *buffers, uint32_t fresh, RangeCheck &range)
{
    const uint32_t count = config_.sges;
    const uint32_t mask = wq_bytes_mask_;
    const uint32_t buffer_offset = inline_buffer_offset_;
    const uint32_t offset = chain_wqe_offset(head_);
    RangeCheck check = range;
    for (uint32_t i = 0; i < fresh; ++i) {
        const rte_mbuf *mbuf = buffers[i];
        const uintptr_t address =
            buffer_offset != 0 ? reinterpret_cast<uintptr_t>(mbuf) + buffer_offset
                               : reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
        if (!check.contains(address)) [[unlikely]] {
            const auto covering = find_range(address);
            if (!covering)
                return false; // what was written lies beyond the posted WQEs
            check = *covering;
        }
        std::byte *sge = wq_base_ + ((offset + kSgeOffset + i * sizeof(gdma::Sge)) & mask);
        gdma::store_le64(sge + offsetof(gdma::Sge, address), address);
        gdma::store_le32(sge + offsetof(gdma::Sge, memory_key), check.lkey);
        gdma::store_le32(sge + offsetof(gdma::Sge, size), buffer_bytes_);
    }
    range = check;
    const uint32_t previous = chain_wqe_offset(head_ - config_.descriptors);
    if (previous != offset) // else the WQ holds exactly n WQEs and they are in place
        copy_sges(offset, previous, fresh, count);
    // Header and OOB never straddle the WQ's end: a WQE starts at a basic unit.
    std::byte *wqe = wq_base_ + offset;
    gdma::store_le64(wqe, chain_wqe_header_);
    gdma::store_le64(wqe + sizeof(gdma::DmaHeader), 0); // the zero inline OOB
    return true;
}

// SGEs [from, count) of the WQE at `source` to the one at `target` (two different
// places): one copy where neither SGL wraps.
void RxQueue::copy_sges(uint32_t target, uint32_t source, uint32_t from, uint32_t count)
{
    const uint32_t mask = wq_bytes_mask_;
    const uint32_t begin = kSgeOffset + from * static_cast<uint32_t>(sizeof(gdma::Sge));
    const uint32_t end = kSgeOffset + count * static_cast<uint32_t>(sizeof(gdma::Sge));
    if (target + end > mask + 1 || source + end > mask + 1) [[unlikely]] {
        for (uint32_t sge = begin; sge < end; sge += sizeof(gdma::Sge))
            std::memcpy(wq_base_ + ((target + sge) & mask), wq_base_ + ((source + sge) & mask),
                        sizeof(gdma::Sge));
        return;
    }
    std::memcpy(wq_base_ + target + begin, wq_base_ + source + begin, end - begin);
}

// A WQE is posted whole or not at all: when the pool runs dry or a buffer's memory has no
// registration, that WQE and the ones after it keep only what they held, the fresh mbufs
// go back to the pool, and later bursts retry. rx_nombuf counts the buffers of the WQEs
// left unposted, as on every retry.
uint32_t RxQueue::refill_chains()
{
    const uint32_t count = config_.sges;
    const uint32_t want = config_.descriptors - (head_ - tail_);
    rte_mempool *const pool = config_.pool;
    rte_mempool_cache *const cache = rte_mempool_default_cache(pool, rte_lcore_id());
    RangeCheck &range = refill_range_.current(mr_table_);
    for (uint32_t posted = 0; posted < want; ++posted) {
        rte_mbuf **slots = wqe_mbufs(head_);
        // The delivered buffers are the WQE's first ones (the device fills SGEs in order),
        // so its empty slots are the first ones; none after an error completion.
        uint32_t empty = 0;
        while (empty < count && slots[empty] == nullptr)
            ++empty;
        uint32_t got = empty;
        if (empty != 0) {
            rte_mbuf *const *fresh = take_mbufs(pool, cache, slots, got);
            if (fresh != slots) {
                // Usually one mbuf (a short frame): no library call for it.
                if (got == 1)
                    slots[0] = fresh[0];
                else
                    std::copy_n(fresh, got, slots);
            }
        }
        const bool dry = got < empty;
        // The other buffers' SGEs are where this slot was posted last, unless the WQ's
        // size lets a later WQE overwrite that (see open()).
        const uint32_t fresh = reuse_sges_ ? empty : count;
        if (dry || !post_chain(slots, fresh, range)) [[unlikely]] {
            give_back_mbufs(pool, cache, slots, got);
            std::fill_n(slots, got, nullptr);
            counters_.no_mbuf += static_cast<uint64_t>(want - posted) * count;
            if (!dry)
                report_unregistered();
            return posted;
        }
        ++head_;
    }
    return want;
}

// The buffers come from the pool in their free state (one segment, no next) and were
// written by nobody since, so a segment needs only what rte_pktmbuf_reset would give it
// and its length; the head gets a packet's fields as on a queue of single buffers.
rte_mbuf *RxQueue::take_chain(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                              uint32_t packet)
{
    rte_mbuf **slots = wqe_mbufs(tail_);
    ++tail_;
    if (length > config_.sges * buffer_bytes_) [[unlikely]]
        return nullptr;
    rte_mbuf *head = slots[0];
    slots[0] = nullptr;
    mbuf_writer(decoded).write(head, cqe, packet);
    const uint32_t first = std::min(length, buffer_bytes_);
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
        for (uint32_t i = 0; i < config_.descriptors * config_.sges; ++i)
            rte_pktmbuf_free(ring_[i]); // null-safe: delivered buffers' slots are empty
    }
    // Empty slots for the next start, which may post WQEs of another size.
    std::fill_n(ring_.data(), ring_.size(), nullptr);
}

} // namespace mana
