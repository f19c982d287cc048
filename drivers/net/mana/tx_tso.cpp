/* SPDX-License-Identifier: BSD-3-Clause */
#include "tx_tso.h"

#include "txq.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>

#include <array>
#include <cerrno>

namespace mana
{

uint32_t tso_sge_count(const rte_mbuf *mbuf, const TxQueueConfig &config)
{
    const uint64_t ol = mbuf->ol_flags;
    const uint32_t headers = tso_header_bytes(mbuf);
    const bool ipv4 = (ol & RTE_MBUF_F_TX_IPV4) != 0;
    // IPv4 needs the header checksum request (rte_validate_tx_offload's rule): without
    // it the application has not prepared the header for the device.
    if (!config.tso || ipv4 == ((ol & RTE_MBUF_F_TX_IPV6) != 0) ||
        (ipv4 && !(ol & RTE_MBUF_F_TX_IP_CKSUM)) || mbuf->l2_len < RTE_ETHER_HDR_LEN ||
        mbuf->l3_len < (ipv4 ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr)) ||
        mbuf->l4_len < sizeof(rte_tcp_hdr) || headers > kMaxTsoHeaderBytes ||
        mbuf->data_len < headers || mbuf->pkt_len - mbuf->l2_len > kMaxTsoDatagramBytes ||
        mbuf->tso_segsz < kMinTsoSegmentSize || mbuf->tso_segsz > kMaxTsoSegmentSize ||
        headers + mbuf->tso_segsz > config.max_frame)
        return 0;
    const uint32_t sges =
        mbuf->nb_segs + (!tso_single_frame(mbuf) && mbuf->data_len > headers ? 1U : 0U);
    return sges <= config.max_sges ? sges : 0;
}

int tso_prepare(rte_mbuf *mbuf, const TxQueueConfig &config)
{
    const uint64_t ol = mbuf->ol_flags;
    const uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
    if (tso_sge_count(mbuf, config) == 0 || (l4 != 0 && l4 != RTE_MBUF_F_TX_TCP_CKSUM))
        return EINVAL;
    const bool ipv4 = (ol & RTE_MBUF_F_TX_IPV4) != 0;
    auto *l3 = rte_pktmbuf_mtod_offset(mbuf, uint8_t *, mbuf->l2_len);
    auto *tcp = rte_pktmbuf_mtod_offset(mbuf, const rte_tcp_hdr *, mbuf->l2_len + mbuf->l3_len);
    // The lengths must describe a TCP header where they say: the device segments by them.
    if ((tcp->data_off >> 4) * 4U != mbuf->l4_len)
        return EINVAL;
    if (ipv4) {
        const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(l3);
        if (ip->next_proto_id != IPPROTO_TCP || rte_ipv4_hdr_len(ip) != mbuf->l3_len)
            return EINVAL;
    } else {
        const auto *ip = reinterpret_cast<const rte_ipv6_hdr *>(l3);
        // With extension headers the last one names TCP; l3_len says where it ends.
        if (mbuf->l3_len == sizeof(rte_ipv6_hdr) && ip->proto != IPPROTO_TCP)
            return EINVAL;
    }
    if (tso_single_frame(mbuf)) {
        const uint64_t flags = (ol & ~RTE_MBUF_F_TX_TCP_SEG) | RTE_MBUF_F_TX_TCP_CKSUM;
        const int ret = rte_net_intel_cksum_flags_prepare(mbuf, flags);
        return ret != 0 ? -ret : 0;
    }
    const int ret = rte_net_intel_cksum_prepare(mbuf);
    if (ret != 0)
        return -ret;
    if (ipv4)
        reinterpret_cast<rte_ipv4_hdr *>(l3)->total_length = 0;
    else
        reinterpret_cast<rte_ipv6_hdr *>(l3)->payload_len = 0;
    return 0;
}

// An LSO WQE (spec §3): SGE 0 holds exactly the L2-L4 headers and its size is repeated in
// last_v_bytes; client_oob_in_sgl set; client_data_unit = MSS; IP and TCP checksums
// requested with the transport offset. The device rewrites lengths, IPv4 ids, sequence
// numbers, flags and checksums of every segment. A single frame is an ordinary WQE with
// the same checksum requests.
TxQueue::PostResult TxQueue::post_tso(rte_mbuf *mbuf, bool request_cqe, uint32_t sge_count)
{
    std::array<gdma::Sge, kMaxTxSegments> sges;
    const bool lso = !tso_single_frame(mbuf);
    const uint32_t headers = lso ? tso_header_bytes(mbuf) : 0;
    uint32_t count = 0;
    const PostResult gathered =
        gather(mbuf, headers, std::span<gdma::Sge>(sges.data(), sge_count), count);
    if (gathered != PostResult::posted) [[unlikely]]
        return gathered;
    const std::span<const gdma::Sge> sgl(sges.data(), count);
    const uint64_t ol = mbuf->ol_flags;
    gdma::TxShortOobFields fields = oob_template_;
    fields.suppress_cqe = !request_cqe;
    fields.outer_ipv4 = (ol & RTE_MBUF_F_TX_IPV4) != 0;
    fields.outer_ipv6 = (ol & RTE_MBUF_F_TX_IPV6) != 0;
    // LSO asks for both checksums whatever the IP version (spec §3); a single frame asks
    // for what an ordinary checksum offload would (IPv6 has no header checksum).
    fields.compute_ip_csum = lso || fields.outer_ipv4;
    fields.compute_tcp_csum = true;
    fields.transport_offset = static_cast<uint16_t>(mbuf->l2_len + mbuf->l3_len);
    gdma::DmaHeaderFields header{};
    if (lso)
        header = {.last_v_bytes = static_cast<uint8_t>(headers),
                  .client_oob_in_sgl = true,
                  .client_data_unit = static_cast<uint16_t>(mbuf->tso_segsz)};
    finish_wqe(mbuf, header, fields, sgl, request_cqe);
    return PostResult::posted;
}

} // namespace mana
