/* SPDX-License-Identifier: BSD-3-Clause */
// What a packet's offload requests (ol_flags, l2_len, l3_len) make of its TX OOB: the
// checksum requests and where the transport header starts. Shared by the one-segment
// loop's OOB table (txq.cpp) and the general WQE writer (tx_wqe.cpp).
#pragma once

#include "gdma/gdma.h"

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

namespace mana
{

// The TX checksum request bits of ol_flags, as an index into TxQueue::oob_words_.
constexpr unsigned kChecksumFlagsShift = 52;
static_assert(RTE_MBUF_F_TX_L4_MASK == 3ULL << kChecksumFlagsShift &&
                  RTE_MBUF_F_TX_IP_CKSUM == 1ULL << (kChecksumFlagsShift + 2) &&
                  RTE_MBUF_F_TX_IPV4 == 1ULL << (kChecksumFlagsShift + 3) &&
                  RTE_MBUF_F_TX_IPV6 == 1ULL << (kChecksumFlagsShift + 4),
              "the checksum request bits must be ol_flags bits 52-56");

// The OOB fields of a packet with offload requests `ol`: the checksum requests and, with
// any of them, where the transport header starts.
constexpr gdma::TxShortOobFields with_checksum_requests(gdma::TxShortOobFields fields, uint64_t ol,
                                                        uint16_t transport_offset)
{
    if (!(ol & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)))
        return fields;
    const uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
    fields.outer_ipv4 = (ol & RTE_MBUF_F_TX_IPV4) != 0;
    fields.outer_ipv6 = (ol & RTE_MBUF_F_TX_IPV6) != 0;
    fields.compute_ip_csum = (ol & RTE_MBUF_F_TX_IP_CKSUM) != 0;
    fields.compute_tcp_csum = l4 == RTE_MBUF_F_TX_TCP_CKSUM;
    fields.compute_udp_csum = l4 == RTE_MBUF_F_TX_UDP_CKSUM;
    fields.transport_offset = transport_offset;
    return fields;
}

// l2_len + l3_len: where the transport header starts. They are the low 16 bits of
// tx_offload, read as such.
static_assert(RTE_MBUF_L2_LEN_OFS == 0 && RTE_MBUF_L2_LEN_BITS == 7 && RTE_MBUF_L3_LEN_OFS == 7 &&
                  RTE_MBUF_L3_LEN_BITS == 9,
              "l2_len and l3_len must be the low 16 bits of tx_offload");
inline uint32_t transport_offset_of(const rte_mbuf *mbuf)
{
    uint16_t lengths;
    std::memcpy(&lengths, &mbuf->tx_offload, sizeof(lengths));
    // In 64 bits: GCC then shifts in 32 rather than 16 bits and does not mask the sum.
    const uint64_t both = lengths;
    return static_cast<uint32_t>((both & 0x7FU) + (both >> 7));
}

} // namespace mana
