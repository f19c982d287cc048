/* SPDX-License-Identifier: BSD-3-Clause */
// The RX fast path: reading completions and handing packets out (rx_burst), and refilling
// the ring. One completion walker serves both kinds of queue; they differ only in how a
// packet is delivered (one buffer, or the WQE's buffers as a chain: rx_scatter.cpp) and
// how the ring is refilled.
#include "rxq.h"

#include "log.h"
#include "mbuf_cache.h"
#include "mr_registration.h"

#include <rte_ether.h>

#include <algorithm>

namespace mana
{
namespace
{

using gdma::CqeType;

} // namespace

bool RxQueue::repost(rte_mbuf *mbuf)
{
    const uintptr_t address = reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
    const auto lkey = mr_cache_.lkey(address, buffer_bytes_);
    if (!lkey) [[unlikely]] {
        rte_pktmbuf_free(mbuf);
        return false;
    }
    ring_[head_ & ring_mask_] = mbuf;
    post_buffer(head_, address, *lkey);
    ++head_;
    return true;
}

std::optional<MrRange> RxQueue::register_buffer(uintptr_t address)
{
    // The pool's memory whole when the table has none of it (setup's warm-up failed);
    // then the cache, whose miss registers the buffer's own memory segment as a last try.
    // A secondary cannot use the table: its misses go to the primary.
    if (remote_mr_lookup == nullptr && !mr_table_.find(address, buffer_bytes_))
        static_cast<void>(register_mempool(mr_table_, config_.pool));
    return mr_cache_.range(address, buffer_bytes_);
}

void RxQueue::report_unregistered()
{
    if (unregistered_logged_)
        return;
    unregistered_logged_ = true;
    MANA_DRV_LOG(WARNING,
                 "port %u RX queue %u: buffers of mempool %s cannot be registered with the "
                 "device; their slots stay empty (counted in rx_nombuf) and every burst retries",
                 config_.port_id, config_.queue_id, config_.pool->name);
}

std::optional<RangeCheck> RxQueue::find_range(uintptr_t address)
{
    auto covering = mr_cache_.range(address, buffer_bytes_);
    if (!covering)
        covering = register_buffer(address);
    if (!covering)
        return std::nullopt;
    return RangeCheck(*covering, buffer_bytes_);
}

// The mbufs' buffers go into the slots' template WQEs, walked with a pointer: slots from
// head_ up to the end of the ring are consecutive in the WQ too (its size is a multiple of
// the ring's). kInlineBuffers: the buffer address follows from the mbuf's, so the mbuf
// itself is not touched until a packet arrives in it.
template <bool kInlineBuffers>
uint32_t RxQueue::post_fresh(rte_mbuf *const *mbufs, uint32_t count, RangeCheck &range)
{
    rte_mbuf **const slots = &ring_[head_ & ring_mask_];
    std::byte *sge = wq_base_ + ((head_ << gdma::kBasicUnitShift) & wq_bytes_mask_) + kSgeOffset;
    const uint32_t buffer_offset = inline_buffer_offset_;
    RangeCheck check = range;
    uint32_t i = 0;
    for (; i < count; ++i, sge += gdma::kBasicUnitBytes) {
        rte_mbuf *mbuf = mbufs[i];
        const uintptr_t address = buffer_address<kInlineBuffers>(mbuf, buffer_offset);
        if (!check.contains(address)) [[unlikely]] {
            const auto covering = find_range(address);
            if (!covering)
                break;
            check = *covering;
        }
        slots[i] = mbuf;
        write_sge_buffer(sge, address, check.lkey);
    }
    range = check;
    head_ += i;
    return i;
}

// Fills the free slots with fresh mbufs from the pool, in two batches where the ring wraps
// (more only when the pool is nearly dry). Mbufs come from the pool in their free state (refcnt 1,
// one segment, no next); the fields a packet needs are written when it is delivered, so a refill
// only reads the mbuf pointers. One registered-range lookup usually covers the whole batch.
uint32_t RxQueue::refill()
{
    uint32_t want = config_.descriptors - (head_ - tail_);
    if (want == 0)
        return 0;
    rte_mempool *const pool = config_.pool;
    rte_mempool_cache *const cache = rte_mempool_default_cache(pool, rte_lcore_id());
    RangeCheck &range = refill_range_.current(mr_table_);
    uint32_t posted = 0;
    while (want != 0) {
        const uint32_t slot = head_ & ring_mask_;
        const uint32_t chunk = std::min(want, config_.descriptors - slot);
        uint32_t got = chunk;
        rte_mbuf *const *fresh = take_mbufs(pool, cache, &ring_[slot], got);
        const uint32_t done = inline_buffer_offset_ != 0 ? post_fresh<true>(fresh, got, range)
                                                         : post_fresh<false>(fresh, got, range);
        posted += done;
        if (done < got) [[unlikely]] {
            // Never post a bad key: the rest of the batch goes back to the pool (from the
            // unposted slots, as `fresh` may be the cache it goes into), its slots stay
            // empty, and the next burst tries again.
            rte_mbuf **rest = &ring_[slot + done];
            if (fresh != &ring_[slot])
                std::copy(fresh + done, fresh + got, rest);
            put_into_pool(pool, rest, got - done);
            counters_.no_mbuf += want - done;
            report_unregistered();
            return posted;
        }
        want -= got;
        // A nearly dry pool gave a power-of-two share of the request (take_mbufs halves
        // it): ask again for the rest, so that no mbuf stays in the pool while slots are
        // empty. Only a pool that gives nothing ends the refill early.
        if (got == 0) [[unlikely]]
            break;
    }
    counters_.no_mbuf += want;
    return posted;
}

// The common case, in a loop of its own so that its state stays in registers: CQEs with
// one packet that fits one buffer, the same flags as the previous CQE's and no tag to put
// back. It stops at the first CQE that is anything else (receive_any() takes that one) or
// when the burst is full, the CQ is empty or no posted buffer is left. CQEs and ring slots
// are walked with pointers, in spans that wrap neither ring. A scattering queue's packet
// is its WQE's first buffer; its slot keeps naming it, which tells the refill (its WQE is
// clear in refill_counts_slots_) to replace that buffer alone and post the WQE again with
// the others.
template <bool kScatter>
inline uint32_t RxQueue::receive_simple(rte_mbuf **packets, uint32_t received, uint32_t max)
{
    gdma::CqCursor &cursor = cq_cursor_;
    rte_mbuf **const ring = ring_.data();
    const uint32_t stride = kScatter ? config_.sges : 1;
    const uint32_t ring_mask = ring_mask_;
    const uint32_t buffer_bytes = buffer_bytes_;
    const RxMbufWriter writer = mbuf_writer(decoded_);
    // The first two OOB words of a simple CQE: the header (type rx_ok, no vendor error)
    // and the flags of the previous decode; one 64-bit comparison tests both.
    const uint64_t simple_head =
        static_cast<uint64_t>(CqeType::rx_ok) | (static_cast<uint64_t>(decoded_.flags) << 32);
    uint32_t tail = tail_;
    rte_mbuf **out = packets + received;
    // Each simple CQE consumes one posted WQE: the burst ends at whichever runs out.
    uint32_t room = std::min(max - received, head_ - tail);
    uint64_t bytes = 0;
    while (room != 0) {
        const uint32_t slot = tail & ring_mask;
        const uint32_t span = std::min({room, cursor.until_wrap(), ring_mask + 1 - slot});
        const gdma::Cqe *cqe = &cursor.current();
        const uint32_t owner = cursor.expected_owner();
        rte_mbuf **buffer = ring + slot * stride;
        uint32_t n = 0;
        for (; n < span; ++n, ++cqe, buffer += stride) {
            if (!gdma::CqCursor::ready_at(*cqe, owner))
                break;
            const uint32_t length = cqe->oob[gdma::rx_oob_word::packet_length(0)] & 0xFFFF;
            if (gdma::load_le64(cqe->oob.data()) != simple_head || length - 1 >= buffer_bytes)
                [[unlikely]]
                break;
            rte_mbuf *mbuf = *buffer;
            writer.write(mbuf, *cqe, 0);
            out[n] = mbuf;
            bytes += length;
        }
        cursor.advance(n);
        tail += n;
        out += n;
        room -= n;
        if (n < span)
            break;
    }
    const uint32_t taken = tail - tail_;
    tail_ = tail;
    counters_.bytes += bytes;
    return received + taken;
}

// The packet of `length` bytes in the buffer at tail_, its fields written; nullptr (the
// buffer reposted) if the length cannot be in it.
rte_mbuf *RxQueue::take_buffer(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                               uint32_t packet)
{
    rte_mbuf *mbuf = ring_[tail_ & ring_mask_];
    ++tail_;
    if (length > buffer_bytes_) {
        repost(mbuf);
        return nullptr;
    }
    mbuf_writer(decoded).write(mbuf, cqe, packet);
    return mbuf;
}

// Any CQE at the head that receive_simple() leaves: coalesced ones (resuming one a full
// burst left in the middle), new flags, tags to restore, frames longer than a buffer (a
// chain on a scattering queue, rx_scatter.cpp), truncated frames and corrupt completions.
// Returns false when the burst ends here (CQ empty or overflowed, or the burst full
// mid-CQE).
template <bool kScatter>
bool RxQueue::receive_any(rte_mbuf **packets, uint32_t &received, uint32_t max)
{
    const gdma::CqSlot slot = cq_cursor_.peek();
    if (slot != gdma::CqSlot::ready) {
        if (slot == gdma::CqSlot::overflow && !overflow_logged_) {
            overflow_logged_ = true;
            ++counters_.errors;
            MANA_DRV_LOG(ERR, "port %u RX queue %u: completion queue overflow; restart the port",
                         config_.port_id, config_.queue_id);
        }
        return false;
    }
    const gdma::Cqe &cqe = cq_cursor_.current();
    const CqeType type = cqe.type();
    if (type == CqeType::rx_coalesced || type == CqeType::rx_ok) {
        const uint32_t flags = cqe.oob[gdma::rx_oob_word::flags];
        if (flags != decoded_.flags)
            decoded_ = decode(flags);
        const DecodedFlags &decoded = decoded_;
        const uint32_t limit = type == CqeType::rx_ok ? 1 : gdma::kRxPacketsPerCqe;
        uint32_t i = cqe_packet_;
        for (; i < limit; ++i) {
            uint32_t length = cqe.oob[gdma::rx_oob_word::packet_length(i)] & 0xFFFF;
            if (length == 0) {
                counters_.errors += i == 0; // a completion without a packet
                i = limit;
                break;
            }
            if (received == max)
                break;
            if (tail_ == head_) {
                ++counters_.errors; // a packet in no posted buffer: a corrupt completion
                i = limit;
                break;
            }
            rte_mbuf *mbuf = kScatter ? take_chain(length, decoded, cqe, i)
                                      : take_buffer(length, decoded, cqe, i);
            if (mbuf == nullptr) {
                ++counters_.errors; // longer than the buffers it claims to be in
                continue;
            }
            // The device always strips the tag; without the offload the application
            // expects it in the frame. Only the VLAN id is reported, so the restored tag
            // has priority 0.
            if (decoded.restore_tag && rte_vlan_insert(&mbuf) == 0) {
                mbuf->packet_type =
                    (decoded.packet_type & ~RTE_PTYPE_L2_MASK) | RTE_PTYPE_L2_ETHER_VLAN;
                length += RTE_VLAN_HLEN;
            }
            packets[received++] = mbuf;
            counters_.bytes += length;
        }
        if (i < limit) {
            cqe_packet_ = i; // out of room in the middle of a coalesced CQE
            return false;
        }
        cqe_packet_ = 0;
    } else if (type == CqeType::rx_truncated) {
        // The frame did not fit: its buffers go straight back to the device.
        ++counters_.errors;
        ++events_.rx_truncated;
        if (tail_ != head_) {
            if constexpr (kScatter) {
                // Its buffers stay in their slots: the refill posts them again.
                refill_counts_slots_.set(tail_ & ring_mask_);
                ++tail_;
            } else {
                rte_mbuf *mbuf = ring_[tail_ & ring_mask_];
                ++tail_;
                repost(mbuf);
            }
        }
    } else if (type != CqeType::rx_object_fence) {
        ++counters_.errors; // a completion type RX queues never get; no buffer was consumed
        MANA_DP_LOG(ERR, "port %u RX queue %u: unexpected CQE type %u", config_.port_id,
                    config_.queue_id, static_cast<unsigned>(type));
    }
    cq_cursor_.advance();
    return true;
}

template <bool kScatter>
uint16_t RxQueue::burst(rte_mbuf **packets, uint16_t max)
{
    const ProcessPort &local = process_ports[config_.port_id];
    const BurstSection section(burst_gate_);
    if (!rings_readable(halted_, local)) [[unlikely]]
        return 0;
    const uint32_t first_cqe = cq_cursor_.head();
    const uint32_t head_before = head_;
    uint32_t received = 0;
    for (;;) {
        // An empty CQ (the last burst of every busy period) goes straight to
        // receive_any(), which tells empty from overflowed.
        if (!decoded_.restore_tag && cq_cursor_.ready()) [[likely]]
            received = receive_simple<kScatter>(packets, received, max);
        if (received == max || !receive_any<kScatter>(packets, received, max))
            break;
    }
    if (refill_due()) {
        if constexpr (kScatter)
            refill_chains();
        else
            refill();
    }
    // Reposted and refilled buffers are announced together.
    if (head_ != head_before) {
        const uint32_t head_bu = kScatter ? head_ * wqe_bu_ : head_;
        ring_doorbell(doorbell_page(local, db_page_), gdma::doorbell_offset::rq,
                      gdma::rq_doorbell(wq_id_, head_bu << gdma::kBasicUnitShift));
        ++counters_.doorbells;
    }
    counters_.completions += cq_cursor_.head() - first_cqe;
    counters_.packets += received;
    return static_cast<uint16_t>(received);
}

uint16_t rx_burst(void *queue, rte_mbuf **packets, uint16_t max)
{
    return static_cast<RxQueue *>(queue)->burst<false>(packets, max);
}

uint16_t rx_burst_scatter(void *queue, rte_mbuf **packets, uint16_t max)
{
    // The port's other queues may take single buffers (no scatter, or an MTU that fits).
    auto *rx = static_cast<RxQueue *>(queue);
    return rx->config().sges > 1 ? rx->burst<true>(packets, max) : rx->burst<false>(packets, max);
}

} // namespace mana
