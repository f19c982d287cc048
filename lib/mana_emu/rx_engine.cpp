/* SPDX-License-Identifier: BSD-3-Clause */
// Receive path: a frame arriving at a port is steered by the port's RSS QP (Toeplitz hash
// through the 64-entry table), has its VLAN tag stripped and its checksums checked, and is
// copied into the next posted buffer of the chosen WQ; then the RX completion.
#include "emulator.h"
#include "frame_ops.h"
#include "log.h"

#include <cstring>

namespace mana_emu
{
namespace
{

constexpr size_t kMaxQueuedInbound = 65536;

bool same_flags(const gdma::RxCompletionFields &a, const gdma::RxCompletionFields &b)
{
    return a.vlan_id == b.vlan_id && a.vlan_present == b.vlan_present &&
           a.hash_type == b.hash_type && a.ip_csum_ok == b.ip_csum_ok &&
           a.ip_csum_failed == b.ip_csum_failed && a.tcp_csum_ok == b.tcp_csum_ok &&
           a.tcp_csum_failed == b.tcp_csum_failed && a.udp_csum_ok == b.udp_csum_ok &&
           a.udp_csum_failed == b.udp_csum_failed;
}

} // namespace

bool Emulator::receive(Port &port, std::span<const uint8_t> frame, NoBuffer no_buffer)
{
    const Tally port_tally = tally(&port, nullptr);
    if (port.vf->removed) [[unlikely]] {
        port_tally.add(&Counters::rx_drops_other);
        return true;
    }
    if (port.stalled) [[unlikely]] {
        // Held at the port like the doorbells; delivered when it resumes.
        if (port.inbound.size() < kMaxQueuedInbound)
            port.inbound.emplace_back(frame.begin(), frame.end());
        else
            port_tally.add(&Counters::rx_drops_other);
        return true;
    }
    Qp *qp = port.rss_qp;
    if (qp == nullptr || qp->ctx->dead_errno != 0 || frame.size() < 14 ||
        frame.size() > kMaxWireFrameBytes) [[unlikely]] {
        port_tally.add(&Counters::rx_drops_other);
        return true;
    }

    gdma::RxCompletionFields fields{};
    std::span<const uint8_t> data = frame;
    if (frame[12] == 0x81 && frame[13] == 0x00) {
        rx_frame_.assign(frame.begin(), frame.end());
        if (const auto tci = frame_ops::strip_vlan(rx_frame_)) {
            fields.vlan_present = true;
            fields.vlan_id = *tci & 0xfff;
            data = rx_frame_;
        }
    }
    const frame_ops::RssHash rss = qp->rss_cache.lookup(data, qp->hash_fields, qp->key);
    const uint32_t hash = rss.hash;
    fields.hash_type = rss.type;
    Wq &wq = *qp->reta[hash % qp->reta.size()];
    frame_ops::validate_checksums(data, fields);
    return deliver(wq, port, data, hash, fields, no_buffer);
}

bool Emulator::deliver(Wq &wq, Port &port, std::span<const uint8_t> data, uint32_t hash,
                       gdma::RxCompletionFields &fields, NoBuffer no_buffer)
{
    const Tally t = tally(&port, &wq.counters);
    if (wq.consumed_bu == wq.posted_bu) {
        if (no_buffer == NoBuffer::wait)
            return false;
        t.add(&Counters::rx_drops_no_buffer);
        return true;
    }
    gdma::ParsedWqe wqe;
    const uint32_t wqe_offset = wq.ring.offset_of(wq.consumed_bu);
    if (gdma::parse_wqe(wq.ring, wq.consumed_bu, wq.posted_bu - wq.consumed_bu, wqe) !=
        gdma::WqeParseError::none) [[unlikely]] {
        t.add(&Counters::wqe_violations);
        t.add(&Counters::rx_drops_other);
        wq.consumed_bu = wq.posted_bu; // cannot find the next WQE boundary
        return true;
    }
    if (wqe.header.num_sgl_entries > wq.max_sge) [[unlikely]] {
        t.add(&Counters::wqe_violations); // more SGEs than the WQ was created for
        t.add(&Counters::rx_drops_other);
        wq.consumed_bu += wqe.size_bu;
        return true;
    }
    wq.consumed_bu += wqe.size_bu;
    t.add(&Counters::wqes);

    // Scatter into the WQE's buffers, checking each against the registered regions.
    const Pd *domain = wq.pd->protection_domain();
    size_t copied = 0;
    bool dma_fault = false;
    for (uint32_t i = 0; i < wqe.header.num_sgl_entries && copied < data.size(); ++i) {
        const gdma::Sge sge = gdma::read_sge(wq.ring, wqe, i);
        if (sge.size == 0)
            continue;
        const Mr *mr = find_mr(sge.memory_key, wq.mr_cache);
        std::byte *host = nullptr;
        if (mr != nullptr && mr->pd == domain)
            host = mr->translate(sge.address, sge.size);
        if (host == nullptr) [[unlikely]] {
            dma_fault = true;
            break;
        }
        const size_t n = std::min<size_t>(sge.size, data.size() - copied);
        std::memcpy(host, data.data() + copied, n);
        copied += n;
    }
    bool truncated = copied < data.size();
    if (dma_fault) [[unlikely]] {
        t.add(&Counters::dma_violations);
        EMU_LOG(debug, "RQ %#x: RX buffer outside every MR", wq.id);
        copied = 0;
        truncated = true;
    } else if (port.rx_truncate_count > 0) [[unlikely]] {
        --port.rx_truncate_count;
        truncated = true;
    }
    fields.received_wqe_offset = wqe_offset;
    if (truncated) [[unlikely]] {
        t.add(&Counters::rx_truncated);
        flush_pending(wq);
        fields.header.cqe_type = gdma::CqeType::rx_truncated;
        fields.packets[0] = {static_cast<uint16_t>(copied), hash};
        write_cqe(*wq.cq, gdma::encode_rx_completion(fields), wq.id, false, &port, &wq.counters);
        return true;
    }
    t.add(&Counters::rx_frames);
    t.add(&Counters::rx_bytes, data.size());
    const gdma::RxPacketInfo packet{static_cast<uint16_t>(data.size()), hash};
    if (!wq.coalesce) {
        fields.header.cqe_type = gdma::CqeType::rx_ok;
        fields.packets[0] = packet;
        write_cqe(*wq.cq, gdma::encode_rx_completion(fields), wq.id, false, &port, &wq.counters);
        return true;
    }
    PendingRxCqe &pending = wq.pending;
    if (pending.packets > 0 && !same_flags(pending.fields, fields))
        flush_pending(wq);
    if (pending.packets == 0) {
        pending.fields = fields;
        note_coalescing(&wq);
    }
    pending.fields.packets[pending.packets++] = packet;
    if (pending.packets == gdma::kRxPacketsPerCqe)
        flush_pending(wq);
    return true;
}

void Emulator::flush_pending(Wq &wq)
{
    PendingRxCqe &pending = wq.pending;
    if (pending.packets == 0)
        return;
    pending.fields.header.cqe_type =
        pending.packets == 1 ? gdma::CqeType::rx_ok : gdma::CqeType::rx_coalesced;
    write_cqe(*wq.cq, gdma::encode_rx_completion(pending.fields), wq.id, false, port_ptr(wq.port),
              &wq.counters);
    pending = PendingRxCqe{};
}

void Emulator::flush_coalesced()
{
    if (coalescing_.empty()) [[likely]]
        return;
    for (Wq *wq : coalescing_)
        flush_pending(*wq);
    coalescing_.clear();
}

} // namespace mana_emu
