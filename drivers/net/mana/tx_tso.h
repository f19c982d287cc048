/* SPDX-License-Identifier: BSD-3-Clause */
// TCP segmentation offload: which packets the device can segment, what tx_prepare writes
// into their headers, and the shape of their LSO WQE (spec §3 "TSO").
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace mana
{

struct TxQueueConfig;

// MSS bounds. client_data_unit has 14 bits; every segment must also be a frame the device
// sends (headers + MSS within the largest frame), checked per packet. The lower bound
// keeps a single WQE from turning into thousands of wire frames.
inline constexpr uint16_t kMinTsoSegmentSize = 64;
inline constexpr uint16_t kMaxTsoSegmentSize = (1U << 14) - 1;
// last_v_bytes, the size of the header SGE, has 8 bits.
inline constexpr uint32_t kMaxTsoHeaderBytes = 255;
// The unsegmented IP datagram must fit IP's 16-bit length field, as a GSO packet does.
inline constexpr uint32_t kMaxTsoDatagramBytes = 0xFFFF;

// L2 + L3 + L4 header bytes of a packet flagged RTE_MBUF_F_TX_TCP_SEG.
inline uint32_t tso_header_bytes(const rte_mbuf *mbuf)
{
    return static_cast<uint32_t>(mbuf->l2_len) + mbuf->l3_len + mbuf->l4_len;
}

// A TSO packet whose payload fits one segment (none at all included: SYN, FIN, pure
// ACK, which TCP stacks and virtio hosts flag too) goes out as it is, with IP and TCP
// checksum offload: an LSO WQE needs payload after the header SGE, and there is nothing
// to cut.
inline bool tso_single_frame(const rte_mbuf *mbuf)
{
    return mbuf->pkt_len <= tso_header_bytes(mbuf) + mbuf->tso_segsz;
}

// SGEs of the packet's WQE. LSO: the headers alone in SGE 0, the rest of the first
// segment (if any) in SGE 1, then one per further segment; a single frame: one per
// segment. 0 when the queue cannot send the packet (lengths missing or out of bounds,
// headers not in the first segment, too many SGEs); tx_burst drops and counts it.
uint32_t tso_sge_count(const rte_mbuf *mbuf, const TxQueueConfig &config);

// tx_prepare for one TSO packet: checks it as tso_sge_count does, then writes what the
// device expects. LSO: IPv4 total length and header checksum 0, IPv6 payload length 0,
// TCP checksum seeded with the pseudo-header sum of length 0. A single frame: the IPv4
// header checksum 0 and the usual pseudo-header seed (with length). 0 or a positive errno.
int tso_prepare(rte_mbuf *mbuf, const TxQueueConfig &config);

} // namespace mana
