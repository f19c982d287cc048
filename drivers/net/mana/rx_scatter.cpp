/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter: WQEs of several buffers, so a frame longer than one mbuf arrives as a chain.
// The device fills a WQE's SGEs in order (spec §6, RX); the completion gives the frame
// length, which says how many of the WQE's buffers hold data.
#include "rxq.h"

#include <algorithm>
#include <array>

namespace mana
{

bool RxQueue::post_chain(rte_mbuf *const *mbufs)
{
    const uint32_t count = config_.sges;
    std::array<gdma::Sge, kMaxRxSegments> sges;
    for (uint32_t i = 0; i < count; ++i) {
        rte_mbuf *mbuf = mbufs[i];
        const uintptr_t address =
            reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
        auto covering = mr_cache_.range(address, buffer_bytes_);
        if (!covering) [[unlikely]]
            covering = register_buffer(address);
        if (!covering) [[unlikely]]
            return false;
        sges[i] =
            gdma::Sge{.address = address, .memory_key = covering->lkey, .size = buffer_bytes_};
    }
    const std::array<std::byte, gdma::kSmallInlineOobBytes> oob{};
    gdma::write_wqe(gdma::WqeRing(wq_base_, wq_bytes_mask_ + 1), head_ * wqe_bu_, {}, oob,
                    std::span<const gdma::Sge>(sges.data(), count));
    rte_mbuf **slots = wqe_mbufs(head_);
    for (uint32_t i = 0; i < count; ++i) {
        // A reposted buffer may have been linked into a chain.
        mbufs[i]->next = nullptr;
        mbufs[i]->nb_segs = 1;
        slots[i] = mbufs[i];
    }
    return true;
}

bool RxQueue::repost_chain(rte_mbuf **mbufs)
{
    if (post_chain(mbufs)) [[likely]] {
        ++head_;
        return true;
    }
    rte_pktmbuf_free_bulk(mbufs, config_.sges);
    return false;
}

// One bulk allocation per WQE: a WQE is posted whole or not at all, so a pool that runs
// dry mid-refill leaves no half-filled WQE and loses no mbuf.
uint32_t RxQueue::refill_chains()
{
    const uint32_t count = config_.sges;
    const uint32_t want = config_.descriptors - (head_ - tail_);
    std::array<rte_mbuf *, kMaxRxSegments> fresh;
    for (uint32_t posted = 0; posted < want; ++posted) {
        if (rte_pktmbuf_alloc_bulk(config_.pool, fresh.data(), count) != 0) [[unlikely]] {
            counters_.no_mbuf += static_cast<uint64_t>(want - posted) * count;
            return posted;
        }
        if (!post_chain(fresh.data())) [[unlikely]] {
            // Memory the device cannot reach: the WQE stays empty and later bursts retry.
            rte_pktmbuf_free_bulk(fresh.data(), count);
            counters_.no_mbuf += static_cast<uint64_t>(want - posted) * count;
            report_unregistered();
            return posted;
        }
        ++head_;
    }
    return want;
}

void RxQueue::repost_tail_chain()
{
    std::array<rte_mbuf *, kMaxRxSegments> buffers;
    std::copy_n(wqe_mbufs(tail_), config_.sges, buffers.begin());
    ++tail_;
    repost_chain(buffers.data());
}

rte_mbuf *RxQueue::take_chain(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                              uint32_t packet)
{
    const uint32_t count = config_.sges;
    if (length > count * buffer_bytes_) [[unlikely]] {
        repost_tail_chain();
        return nullptr;
    }
    // The slots keep their stale pointers until a refill posts the WQE again.
    rte_mbuf **buffers = wqe_mbufs(tail_);
    ++tail_;
    uint32_t used = 0;
    for (uint32_t remaining = length; remaining != 0; ++used) {
        rte_mbuf *segment = buffers[used];
        const uint32_t bytes = std::min(remaining, buffer_bytes_);
        segment->data_len = static_cast<uint16_t>(bytes);
        remaining -= bytes;
        segment->next = remaining != 0 ? buffers[used + 1] : nullptr;
    }
    rte_mbuf *head = buffers[0];
    head->nb_segs = static_cast<uint16_t>(used);
    if (used < count)
        rte_pktmbuf_free_bulk(&buffers[used], count - used);
    head->pkt_len = length;
    head->port = config_.port_id;
    head->ol_flags = decoded.ol_flags;
    head->packet_type = decoded.packet_type;
    head->vlan_tci = decoded.vlan_tci;
    head->hash.rss = cqe.oob[gdma::rx_oob_word::packet_hash(packet)];
    return head;
}

} // namespace mana
