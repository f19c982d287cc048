/* SPDX-License-Identifier: BSD-3-Clause */
// Send queues: parse each posted WQE, check its OOB and every SGE, gather the frame, apply
// the requested offloads (checksums, VLAN insertion, TSO) and put the result on the wire.
// Anything wrong ends in an error completion and a counter, never in an access outside
// the ring or a registered region.
#include "emulator.h"
#include "frame_ops.h"
#include "log.h"

#include <cstring>

namespace mana_emu
{
namespace
{

using gdma::CqeType;

struct TxVerdict {
    CqeType type = CqeType::tx_ok;
    bool suppress = false;
};

} // namespace

unsigned Emulator::process_sq(Qp &qp, unsigned budget)
{
    Port *port = port_ptr(qp.port);
    const Tally t = tally(port, &qp.counters);
    unsigned done = 0;
    while (qp.consumed_bu != qp.posted_bu && done < budget) {
        const uint32_t wqe_offset = qp.ring.offset_of(qp.consumed_bu);
        gdma::ParsedWqe wqe;
        const auto parse_error =
            gdma::parse_wqe(qp.ring, qp.consumed_bu, qp.posted_bu - qp.consumed_bu, wqe);
        ++done;
        t.add(&Counters::wqes);
        TxVerdict verdict;
        if (parse_error != gdma::WqeParseError::none) [[unlikely]] {
            // The WQE's extent is unknown: the queue cannot be parsed past it, so everything
            // the driver posted is consumed with this one error completion.
            t.add(&Counters::wqe_violations);
            EMU_LOG(debug, "SQ %#x: malformed WQE at offset %#x (error %d)", qp.sq_id, wqe_offset,
                    static_cast<int>(parse_error));
            qp.consumed_bu = qp.posted_bu;
            verdict.type = CqeType::tx_invalid_oob;
        } else {
            qp.consumed_bu += wqe.size_bu;
            verdict.type = transmit_wqe(qp, port, wqe, verdict.suppress);
        }
        if (verdict.type != CqeType::tx_ok) [[unlikely]]
            t.add(&Counters::tx_errors);
        if (verdict.type != CqeType::tx_ok || !verdict.suppress) {
            gdma::TxCompletionFields fields{};
            fields.header.cqe_type = verdict.type;
            fields.tx_wqe_offset = wqe_offset >> gdma::kBasicUnitShift;
            write_cqe(*qp.send_cq, gdma::encode_tx_completion(fields), qp.sq_id, true, port,
                      &qp.counters);
        }
    }
    return done;
}

CqeType Emulator::transmit_wqe(Qp &qp, Port *port, const gdma::ParsedWqe &wqe, bool &suppress)
{
    const Tally t = tally(port, &qp.counters);
    gdma::TxShortOob short_oob;
    std::memcpy(&short_oob, wqe.client_oob.data(), sizeof(short_oob));
    const auto oob = short_oob.decode();
    suppress = oob.suppress_cqe;
    const bool long_format = oob.packet_format == gdma::TxPacketFormat::long_oob;
    gdma::TxLongOobFields long_oob{};
    if (long_format) {
        if (wqe.oob_bytes() != gdma::kLargeInlineOobBytes) {
            t.add(&Counters::wqe_violations);
            return CqeType::tx_invalid_oob;
        }
        gdma::TxLongOob raw;
        std::memcpy(&raw, wqe.client_oob.data(), sizeof(raw));
        long_oob = raw.decode_long();
    }
    if (static_cast<unsigned>(oob.packet_format) > 1 || (oob.outer_ipv4 && oob.outer_ipv6) ||
        oob.vcq_number != qp.send_cq->id || oob.vsq_frame != gdma::vsq_frame_of(qp.sq_id))
        [[unlikely]] {
        t.add(&Counters::wqe_violations);
        EMU_LOG(debug, "SQ %#x: OOB names CQ %#x / VSQ frame %#x", qp.sq_id, oob.vcq_number,
                oob.vsq_frame);
        return CqeType::tx_invalid_oob;
    }
    if (wqe.header.num_sgl_entries > qp.max_sge) [[unlikely]] {
        // More SGEs than the QP was created for (max_send_sge): its ring was not sized
        // for such WQEs.
        t.add(&Counters::wqe_violations);
        return CqeType::tx_invalid_oob;
    }
    const bool vport_ok = oob.short_vport_offset == qp.tx_vp_offset ||
                          (long_format && long_oob.long_vport_offset == qp.tx_vp_offset);
    if (!vport_ok) [[unlikely]] {
        t.add(&Counters::wqe_violations);
        return CqeType::tx_vport_index_out_of_range;
    }
    if (port != nullptr && port->tx_error_count > 0) [[unlikely]] {
        --port->tx_error_count;
        return port->tx_error_type;
    }

    // Gather.
    const Pd *domain = qp.pd->protection_domain();
    size_t length = 0;
    uint32_t first_sge_bytes = 0;
    for (uint32_t i = 0; i < wqe.header.num_sgl_entries; ++i) {
        const gdma::Sge sge = gdma::read_sge(qp.ring, wqe, i);
        if (i == 0)
            first_sge_bytes = sge.size;
        if (sge.size == 0)
            continue; // the dummy SGE, or an empty buffer
        const Mr *mr = find_mr(sge.memory_key, qp.mr_cache);
        const std::byte *host = nullptr;
        if (mr != nullptr && mr->pd == domain)
            host = mr->translate(sge.address, sge.size);
        if (host == nullptr) [[unlikely]] {
            t.add(&Counters::dma_violations);
            EMU_LOG(debug, "SQ %#x: SGE %u (addr %#llx key %#x size %u) outside every MR", qp.sq_id,
                    i, static_cast<unsigned long long>(sge.address), sge.memory_key, sge.size);
            return CqeType::tx_header_processing_error;
        }
        if (length + sge.size > tx_frame_.size()) [[unlikely]]
            return CqeType::tx_mtu_drop;
        std::memcpy(tx_frame_.data() + length, host, sge.size);
        length += sge.size;
    }
    std::span<uint8_t> frame(tx_frame_.data(), length);
    if (length < 14) [[unlikely]]
        return CqeType::tx_header_processing_error;
    const uint16_t mss = wqe.header.client_data_unit;
    if (mss == 0 && length > kMaxWireFrameBytes) [[unlikely]]
        return CqeType::tx_mtu_drop;

    const bool wants_checksum = oob.compute_ip_csum || oob.compute_tcp_csum || oob.compute_udp_csum;
    const bool wants_vlan = long_format && long_oob.inject_vlan;
    if (wants_vlan && frame[12] == 0x81 && frame[13] == 0x00) [[unlikely]]
        return CqeType::tx_vlan_tagging_violation; // already tagged

    if (mss != 0) {
        // The LSO WQE shape the device relies on (spec §3): the headers alone in SGE 0,
        // their size in last_v_bytes, client_oob_in_sgl, IP and TCP checksums requested
        // at the TCP header's offset.
        const auto tcp = frame_ops::tcp_headers(frame);
        if (!tcp || !wqe.header.client_oob_in_sgl || wqe.header.num_sgl_entries < 2 ||
            wqe.header.last_v_bytes != first_sge_bytes || tcp->headers_len != first_sge_bytes ||
            !oob.compute_ip_csum || !oob.compute_tcp_csum ||
            oob.transport_offset != tcp->transport_offset) [[unlikely]] {
            t.add(&Counters::wqe_violations);
            EMU_LOG(debug, "SQ %#x: malformed LSO WQE (SGE 0 %u bytes, last_v_bytes %u)", qp.sq_id,
                    first_sge_bytes, wqe.header.last_v_bytes);
            return CqeType::tx_invalid_oob;
        }
        std::vector<std::vector<uint8_t>> segments;
        if (!frame_ops::segment_tcp(frame, mss, segments)) {
            EMU_LOG(warning, "SQ %#x: TSO of a %zu-byte frame failed or is unsupported", qp.sq_id,
                    length);
            return CqeType::tx_header_processing_error;
        }
        for (auto &segment : segments) {
            if (wants_vlan) {
                std::vector<uint8_t> tagged;
                if (!frame_ops::insert_vlan(segment, long_oob.pcp, long_oob.dei, long_oob.vlan_id,
                                            tagged))
                    return CqeType::tx_header_processing_error;
                segment = std::move(tagged);
            }
            if (segment.size() > kMaxWireFrameBytes) [[unlikely]]
                return CqeType::tx_mtu_drop; // the MSS makes frames longer than the MTU
        }
        for (const auto &segment : segments)
            if (port != nullptr)
                transmit(*port, segment, &qp.counters);
        return CqeType::tx_ok;
    }
    if (wants_checksum && !frame_ops::apply_tx_checksums(frame, oob)) [[unlikely]] {
        EMU_LOG(warning, "SQ %#x: checksum offload failed or is unsupported", qp.sq_id);
        return CqeType::tx_header_processing_error;
    }
    if (wants_vlan) {
        std::vector<uint8_t> tagged;
        if (!frame_ops::insert_vlan(frame, long_oob.pcp, long_oob.dei, long_oob.vlan_id, tagged))
            return CqeType::tx_header_processing_error;
        if (port != nullptr)
            transmit(*port, tagged, &qp.counters);
        return CqeType::tx_ok;
    }
    if (port != nullptr)
        transmit(*port, frame, &qp.counters);
    return CqeType::tx_ok;
}

} // namespace mana_emu
