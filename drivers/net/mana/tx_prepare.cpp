/* SPDX-License-Identifier: BSD-3-Clause */
// tx_prepare: checks each packet against what tx_burst can do (the offload requests, the
// segment count and length, a chain that is what its header says, TSO bounds) and seeds
// the checksum fields the device completes.
#include "txq.h"

#include "tx_tso.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_net.h>

namespace mana
{
namespace
{

// Offload requests tx_burst acts on; tx_prepare refuses anything else.
constexpr uint64_t kTxAcceptedFlags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 |
                                      RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK |
                                      RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_TCP_SEG;

// Whether the chain is what its first segment says: nb_segs segments whose data_len add
// up to pkt_len (tx_burst drops the same chains as it gathers them, see gather()).
bool chain_matches_header(const rte_mbuf *mbuf)
{
    uint32_t segments = 0;
    uint64_t bytes = 0;
    for (const rte_mbuf *segment = mbuf; segment != nullptr; segment = segment->next) {
        if (++segments > mbuf->nb_segs)
            return false;
        bytes += segment->data_len;
    }
    return segments == mbuf->nb_segs && bytes == mbuf->pkt_len;
}

} // namespace

// Checks each packet against what tx_burst can do and seeds the L4 checksum field with
// the pseudo-header sum the device expects (spec §3).
uint16_t tx_prepare(void *queue, rte_mbuf **packets, uint16_t count)
{
    const TxQueueConfig &config = static_cast<TxQueue *>(queue)->config();
    for (uint16_t i = 0; i < count; ++i) {
        rte_mbuf *mbuf = packets[i];
        const uint64_t ol = mbuf->ol_flags;
        if ((ol & RTE_MBUF_F_TX_OFFLOAD_MASK & ~kTxAcceptedFlags) != 0 ||
            (ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_SCTP_CKSUM ||
            ((ol & RTE_MBUF_F_TX_VLAN) && !config.vlan_insert) ||
            ((ol & RTE_MBUF_F_TX_TCP_SEG) && !config.tso)) {
            rte_errno = ENOTSUP;
            return i;
        }
        if (ol & RTE_MBUF_F_TX_TCP_SEG) {
            // rte_validate_tx_offload first: it names what is missing (an IP type, an
            // IPv4 checksum request, the MSS) before the TSO bounds are checked.
            int ret = rte_validate_tx_offload(mbuf);
            if (ret == 0)
                ret = -tso_prepare(mbuf, config);
            if (ret != 0) {
                rte_errno = -ret;
                return i;
            }
            continue;
        }
        if (mbuf->nb_segs > config.max_sges || mbuf->pkt_len > config.max_frame ||
            mbuf->pkt_len == 0 || !chain_matches_header(mbuf)) {
            rte_errno = EINVAL;
            return i;
        }
        int ret = rte_validate_tx_offload(mbuf);
        if (ret != 0) {
            rte_errno = -ret;
            return i;
        }
        if (ol & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) {
            // The headers the checksum seed is written into must be in the first segment.
            const uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
            const uint32_t needed = mbuf->l2_len + mbuf->l3_len +
                                    (l4 == RTE_MBUF_F_TX_TCP_CKSUM   ? sizeof(rte_tcp_hdr)
                                     : l4 == RTE_MBUF_F_TX_UDP_CKSUM ? sizeof(rte_udp_hdr)
                                                                     : 0);
            if (mbuf->data_len < needed || mbuf->l3_len == 0) {
                rte_errno = EINVAL;
                return i;
            }
            ret = rte_net_intel_cksum_prepare(mbuf);
            if (ret != 0) {
                rte_errno = -ret;
                return i;
            }
        }
    }
    return count;
}

} // namespace mana
