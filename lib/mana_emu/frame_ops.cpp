/* SPDX-License-Identifier: BSD-3-Clause */
// Adapters over mana_emu::packet (lib/mana_emu/packet): the device model's vocabulary
// (gdma OOB fields, completion flags) translated to the packet library's.
#include "frame_ops.h"

#include "packet/checksum.h"
#include "packet/frame_layout.h"
#include "packet/rss.h"
#include "packet/tso.h"
#include "packet/tx_offload.h"
#include "packet/vlan.h"

namespace mana_emu::frame_ops
{

bool apply_tx_checksums(std::span<uint8_t> frame, const mana::gdma::TxShortOobFields &oob)
{
    packet::TxChecksumRequest request{};
    request.outer_ipv4 = oob.outer_ipv4;
    request.outer_ipv6 = oob.outer_ipv6;
    request.ip = oob.compute_ip_csum;
    request.tcp = oob.compute_tcp_csum;
    request.udp = oob.compute_udp_csum;
    request.transport_offset = oob.transport_offset;
    return packet::apply_tx_checksums(frame, request);
}

void validate_checksums(std::span<const uint8_t> frame, mana::gdma::RxCompletionFields &fields)
{
    const auto status = packet::validate_checksums(frame);
    fields.ip_csum_ok = status.ip_ok;
    fields.ip_csum_failed = status.ip_failed;
    fields.tcp_csum_ok = status.tcp_ok;
    fields.tcp_csum_failed = status.tcp_failed;
    fields.udp_csum_ok = status.udp_ok;
    fields.udp_csum_failed = status.udp_failed;
}

std::optional<RssHash> rss_hash(std::span<const uint8_t> frame, uint64_t fields_mask,
                                std::span<const uint8_t> key)
{
    const auto result = packet::rss_hash(frame, fields_mask, key);
    if (!result)
        return std::nullopt;
    return RssHash{result->hash, result->hash_type};
}

bool insert_vlan(std::span<const uint8_t> frame, uint8_t pcp, bool dei, uint16_t vid,
                 std::vector<uint8_t> &out)
{
    out = packet::insert_vlan(frame, pcp, dei, vid);
    return !out.empty();
}

std::optional<uint16_t> strip_vlan(std::vector<uint8_t> &frame)
{
    return packet::strip_vlan(frame);
}

std::optional<TcpHeaders> tcp_headers(std::span<const uint8_t> frame)
{
    const auto layout = packet::parse_frame(frame);
    if (!layout || layout->l3 == packet::FrameLayout::L3::none ||
        layout->l4 != packet::FrameLayout::L4::tcp)
        return std::nullopt;
    return TcpHeaders{layout->l4_offset, static_cast<uint16_t>(layout->l4_offset + layout->l4_len)};
}

bool segment_tcp(std::span<const uint8_t> frame, uint16_t mss,
                 std::vector<std::vector<uint8_t>> &segments)
{
    segments = packet::segment_tcp(frame, mss);
    return !segments.empty();
}

} // namespace mana_emu::frame_ops
