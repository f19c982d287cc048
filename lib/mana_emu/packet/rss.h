// SPDX-License-Identifier: BSD-3-Clause
// Receive-side scaling: which fields of a frame the device hashes, and the hash it reports.
#pragma once

#include "gdma/rx_completion.h"

#include <cstdint>
#include <optional>
#include <span>

namespace mana_emu::packet
{

// The bits of rdma-core's ibv_rx_hash_conf.rx_hash_fields_mask (same values as
// IBV_RX_HASH_*), restated so that this library does not depend on verbs.h.
inline constexpr uint64_t kRxHashSrcIpv4 = 1u << 0;
inline constexpr uint64_t kRxHashDstIpv4 = 1u << 1;
inline constexpr uint64_t kRxHashSrcIpv6 = 1u << 2;
inline constexpr uint64_t kRxHashDstIpv6 = 1u << 3;
inline constexpr uint64_t kRxHashSrcPortTcp = 1u << 4;
inline constexpr uint64_t kRxHashDstPortTcp = 1u << 5;
inline constexpr uint64_t kRxHashSrcPortUdp = 1u << 6;
inline constexpr uint64_t kRxHashDstPortUdp = 1u << 7;

inline constexpr uint64_t kRxHashIpv4 = kRxHashSrcIpv4 | kRxHashDstIpv4;
inline constexpr uint64_t kRxHashIpv6 = kRxHashSrcIpv6 | kRxHashDstIpv6;
inline constexpr uint64_t kRxHashTcpPorts = kRxHashSrcPortTcp | kRxHashDstPortTcp;
inline constexpr uint64_t kRxHashUdpPorts = kRxHashSrcPortUdp | kRxHashDstPortUdp;

// NDIS hash-type bits as the RX completion OOB reports them (spec §4), by the names this
// library's users know them by.
inline constexpr uint16_t kHashTypeIpv4 = mana::gdma::rx_hash_type::ipv4;
inline constexpr uint16_t kHashTypeTcpIpv4 = mana::gdma::rx_hash_type::tcp_ipv4;
inline constexpr uint16_t kHashTypeUdpIpv4 = mana::gdma::rx_hash_type::udp_ipv4;
inline constexpr uint16_t kHashTypeIpv6 = mana::gdma::rx_hash_type::ipv6;
inline constexpr uint16_t kHashTypeTcpIpv6 = mana::gdma::rx_hash_type::tcp_ipv6;
inline constexpr uint16_t kHashTypeUdpIpv6 = mana::gdma::rx_hash_type::udp_ipv6;

struct RssResult {
    uint32_t hash;      // the 32-bit Toeplitz result
    uint16_t hash_type; // exactly one kHashType* bit
};

// Hash of a frame as the device computes it for RSS. Input: source address, destination
// address, then source port, destination port, all in network order, of the (inner, after
// any VLAN tag) IPv4 or IPv6 header.
//  - a TCP (UDP) packet that is not a fragment, with either TCP (UDP) port bit in
//    `fields_mask`, gets the 4-tuple hash (NDIS hashes both addresses and both ports; the
//    kernel maps each field pair to one NDIS type, so one bit of a pair enables it);
//  - otherwise, with either address bit of the packet's family, the 2-tuple hash;
//  - otherwise (or for non-IP frames) nullopt: the device reports no hash.
std::optional<RssResult> rss_hash(std::span<const uint8_t> frame, uint64_t fields_mask,
                                  std::span<const uint8_t> key);

} // namespace mana_emu::packet
