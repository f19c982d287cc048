// SPDX-License-Identifier: BSD-3-Clause
// The checksum offloads a TX short OOB requests (spec §3), applied as the device does.
#pragma once

#include <cstdint>
#include <span>

namespace mana_emu::packet
{

// The checksum-related fields of the TX OOB.
// Members default to "not requested" so that designated initializers name only what is set.
struct TxChecksumRequest {
    bool outer_ipv4 = false;       // "outer is IPv4"
    bool outer_ipv6 = false;       // "outer is IPv6"
    bool ip = false;               // compute the IPv4 header checksum
    bool tcp = false;              // compute the TCP checksum
    bool udp = false;              // compute the UDP checksum
    uint16_t transport_offset = 0; // l2_len + l3_len
};

// Applies the requested checksums in place, as the device does before sending:
//  - IPv4 header checksum: computed from scratch over the header (IHL * 4 bytes);
//  - TCP/UDP: software has seeded the checksum field with the folded, non-inverted
//    pseudo-header sum (length included); the device sums the L4 header and payload,
//    seed included as-is, and stores the inverted fold. The payload ends where the IP
//    length fields say (excluding Ethernet padding), or at the end of the frame when they
//    are zero. A UDP result of 0 is sent as 0xffff.
// A wrongly seeded field gives a wrong checksum, exactly as on hardware.
// Returns false, leaving the frame unchanged, when the request cannot apply: IP checksum
// on a non-IPv4 frame, TCP and UDP both requested, an L4 request on a frame whose parsed
// transport header is not that protocol or does not start at transport_offset, an
// outer_ipv4/outer_ipv6 flag contradicting the frame, offsets beyond the frame, or an IP
// length that ends inside the transport header.
bool apply_tx_checksums(std::span<uint8_t> frame, const TxChecksumRequest &request);

} // namespace mana_emu::packet
