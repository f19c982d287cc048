/* SPDX-License-Identifier: BSD-3-Clause */
// The WQE of any packet the one-segment loop does not take (several segments, a VLAN tag
// to insert, TSO): its SGEs gathered from the chain, its OOB short or long, and its place
// in the ring recorded. Plain packets (post) and TSO (tx_tso.cpp) share all of it.
#include "txq.h"

#include "mr_registration.h"
#include "tx_oob_requests.h"

#include <array>

namespace mana
{

// Fills `room` with the packet's SGEs, the first segment cut after `split` bytes when
// `split` is not 0 (TSO headers in an SGE of their own), and sets `count`. An empty
// segment takes no SGE (rte_pktmbuf_trim can leave the last one so). The chain is checked
// against its first segment as it is walked: more segments than nb_segs (which also ends
// the walk of a chain that loops), fewer, or data_len summing to other than pkt_len make
// it malformed, so a corrupt chain never writes past `room` (sized from nb_segs) nor sends
// other bytes than the packet says.
TxQueue::PostResult TxQueue::gather(const rte_mbuf *mbuf, uint32_t split, std::span<gdma::Sge> room,
                                    uint32_t &count)
{
    uint32_t segments = 0;
    uint64_t bytes = 0;
    count = 0;
    for (const rte_mbuf *segment = mbuf; segment != nullptr; segment = segment->next) {
        if (++segments > mbuf->nb_segs) [[unlikely]]
            return PostResult::malformed_chain;
        const uint32_t len = segment->data_len;
        bytes += len;
        if (len == 0)
            continue;
        const bool cut = segment == mbuf && split != 0;
        const uint32_t pieces = cut && len > split ? 2 : 1;
        if (room.size() - count < pieces) [[unlikely]]
            return PostResult::malformed_chain;
        const uintptr_t address = rte_pktmbuf_mtod(segment, uintptr_t);
        auto lkey = mr_cache_.cached(address, len);
        if (!lkey) [[unlikely]] {
            lkey = lookup_segment_lkey(mr_cache_, mr_table_, segment);
            if (!lkey)
                return PostResult::unregistered_memory;
        }
        if (cut) {
            room[count++] = gdma::Sge{.address = address, .memory_key = *lkey, .size = split};
            if (pieces == 2)
                room[count++] =
                    gdma::Sge{.address = address + split, .memory_key = *lkey, .size = len - split};
        } else {
            room[count++] = gdma::Sge{.address = address, .memory_key = *lkey, .size = len};
        }
    }
    // Callers refuse pkt_len 0 (and TSO headers are never empty), so a chain that passes
    // has at least one SGE.
    if (segments != mbuf->nb_segs || bytes != mbuf->pkt_len) [[unlikely]]
        return PostResult::malformed_chain;
    return PostResult::posted;
}

// Writes the WQE of a gathered packet, with a long OOB when it has a VLAN tag to insert,
// and records it.
void TxQueue::finish_wqe(rte_mbuf *mbuf, const gdma::DmaHeaderFields &header,
                         const gdma::TxShortOobFields &fields, std::span<const gdma::Sge> sgl,
                         bool request_cqe)
{
    uint32_t size_bu;
    if (config_.vlan_insert && (mbuf->ol_flags & RTE_MBUF_F_TX_VLAN)) [[unlikely]] {
        const uint16_t tci = mbuf->vlan_tci;
        const auto oob =
            gdma::TxLongOob::encode(fields, {.inject_vlan = true,
                                             .pcp = static_cast<uint8_t>(tci >> 13),
                                             .dei = ((tci >> 12) & 1) != 0,
                                             .vlan_id = static_cast<uint16_t>(tci & 0xFFF)});
        size_bu = gdma::write_wqe(sq_, head_bu_, header, std::as_bytes(std::span(&oob, 1)), sgl);
    } else {
        const auto oob = gdma::TxShortOob::encode(fields);
        size_bu = gdma::write_wqe(sq_, head_bu_, header, std::as_bytes(std::span(&oob, 1)), sgl);
    }
    record(mbuf, size_bu, request_cqe);
}

// Any packet but TSO: several segments, a VLAN tag to insert, a packet the one-segment
// loop in burst() does not take. `sge_count` is its nb_segs.
TxQueue::PostResult TxQueue::post(rte_mbuf *mbuf, bool request_cqe, uint32_t sge_count)
{
    std::array<gdma::Sge, kMaxTxSegments> sges;
    uint32_t count = 0;
    const PostResult gathered =
        gather(mbuf, 0, std::span<gdma::Sge>(sges.data(), sge_count), count);
    if (gathered != PostResult::posted) [[unlikely]]
        return gathered;
    const std::span<const gdma::Sge> sgl(sges.data(), count);
    gdma::TxShortOobFields fields = oob_template_;
    fields.suppress_cqe = !request_cqe;
    fields = with_checksum_requests(fields, mbuf->ol_flags,
                                    static_cast<uint16_t>(transport_offset_of(mbuf)));
    finish_wqe(mbuf, {}, fields, sgl, request_cqe);
    return PostResult::posted;
}

} // namespace mana
