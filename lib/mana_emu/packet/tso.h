// SPDX-License-Identifier: BSD-3-Clause
// TCP segmentation offload as the device performs it (spec §3 "TSO", §6).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mana_emu::packet
{

// Splits a TCP frame posted for TSO into wire segments carrying at most `mss` payload
// bytes each. Input as the driver posts it: IPv4 total length and header checksum zero
// (IPv6 payload length zero) and the TCP checksum field seeded with the pseudo-header sum
// computed with length 0. Non-zero IP length fields are accepted too: when consistent
// with the frame they bound the payload, otherwise the frame end does.
// Each segment: the original L2-L4 headers with
//  - IPv4 total length, identification + i, header checksum computed from scratch;
//  - IPv6 payload length;
//  - TCP sequence number + i * mss; PSH and FIN kept only on the last segment, CWR only
//    on the first;
//  - TCP checksum as hardware completes it: seed (as posted) + the segment's TCP length +
//    sum of the segment's TCP header and payload, folded and inverted.
// A frame without payload gives one segment with its headers fixed up.
// Returns an empty vector for invalid input: mss 0, not TCP over IPv4/IPv6, an IP fragment,
// or segments too long for the IP length field.
std::vector<std::vector<uint8_t>> segment_tcp(std::span<const uint8_t> frame, uint16_t mss);

} // namespace mana_emu::packet
