/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter: WQEs of several buffers, so a frame longer than one mbuf arrives as a chain.
// The device fills a WQE's SGEs in order (spec §6, RX); the completion gives the frame
// length, which says how many of the WQE's buffers hold data.
#include "log.h"
#include "rxq.h"

#include <rte_ether.h>

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

rte_mbuf *RxQueue::take_chain(uint32_t length, uint32_t &reposted)
{
    const uint32_t count = config_.sges;
    std::array<rte_mbuf *, kMaxRxSegments> buffers;
    std::copy_n(wqe_mbufs(tail_), count, buffers.begin());
    ++tail_;
    if (length > count * buffer_bytes_) [[unlikely]] {
        reposted += repost_chain(buffers.data());
        return nullptr;
    }
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
    return head;
}

// The burst of a scattering queue: every packet is a chain taken from the WQE at tail_.
// Slower than the single-buffer loops (rxq.cpp) and kept simple: one CQE at a time.
uint32_t RxQueue::receive_chains(rte_mbuf **packets, uint32_t max)
{
    using gdma::CqeType;
    uint32_t received = 0;
    uint32_t reposted = 0;
    while (received < max) {
        const gdma::CqSlot slot = cq_cursor_.peek();
        if (slot != gdma::CqSlot::ready) [[unlikely]] {
            if (slot == gdma::CqSlot::overflow && !overflow_logged_) {
                overflow_logged_ = true;
                ++counters_.errors;
                MANA_DRV_LOG(ERR,
                             "port %u RX queue %u: completion queue overflow; restart the port",
                             config_.port_id, config_.queue_id);
            }
            break;
        }
        const gdma::Cqe &cqe = cq_cursor_.current();
        const CqeType type = cqe.type();
        if (type == CqeType::rx_coalesced || type == CqeType::rx_ok) [[likely]] {
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
                if (tail_ == head_) [[unlikely]] {
                    ++counters_.errors; // a packet in no posted buffer: a corrupt completion
                    i = limit;
                    break;
                }
                rte_mbuf *mbuf = take_chain(length, reposted);
                if (mbuf == nullptr) [[unlikely]] {
                    ++counters_.errors; // longer than the buffers it claims to be in
                    continue;
                }
                mbuf->pkt_len = length;
                mbuf->port = config_.port_id;
                mbuf->ol_flags = decoded.ol_flags;
                mbuf->packet_type = decoded.packet_type;
                mbuf->vlan_tci = decoded.vlan_tci;
                mbuf->hash.rss = cqe.oob[gdma::rx_oob_word::packet_hash(i)];
                // The device always strips the tag; without the offload the application
                // expects it in the frame. Only the VLAN id is reported, so the restored
                // tag has priority 0.
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
                break;
            }
            cqe_packet_ = 0;
        } else if (type == CqeType::rx_truncated) {
            // The frame did not fit: its buffers go straight back to the device.
            ++counters_.errors;
            ++events_.rx_truncated;
            if (tail_ != head_) [[likely]] {
                std::array<rte_mbuf *, kMaxRxSegments> buffers;
                std::copy_n(wqe_mbufs(tail_), config_.sges, buffers.begin());
                ++tail_;
                repost_chain(buffers.data());
            }
        } else if (type != CqeType::rx_object_fence) {
            ++counters_.errors; // a completion type RX queues never get; no buffer was consumed
            MANA_DP_LOG(ERR, "port %u RX queue %u: unexpected CQE type %u", config_.port_id,
                        config_.queue_id, static_cast<unsigned>(type));
        }
        cq_cursor_.advance();
    }
    return received;
}

} // namespace mana
