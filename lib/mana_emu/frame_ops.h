/* SPDX-License-Identifier: BSD-3-Clause */
// The frame-level operations the device model applies (checksums, RSS, VLAN, TSO), as
// thin adapters over mana_emu::packet. Each says when it could not do its job, so the
// model can report an error completion rather than put a wrong frame on the wire.
#pragma once

#include "gdma/gdma.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mana_emu::frame_ops
{

struct RssHash {
    uint32_t hash = 0;
    uint16_t type = 0; // NDIS hash-type bit
};

// Completes the checksums a TX OOB asks for, in place. False if unsupported.
bool apply_tx_checksums(std::span<uint8_t> frame, const mana::gdma::TxShortOobFields &oob);
// Validates the frame's checksums into the RX completion's ok/failed flags.
void validate_checksums(std::span<const uint8_t> frame, mana::gdma::RxCompletionFields &fields);
std::optional<RssHash> rss_hash(std::span<const uint8_t> frame, uint64_t fields_mask,
                                std::span<const uint8_t> key);
// The frame with an 802.1Q tag after the source MAC; false if unsupported.
bool insert_vlan(std::span<const uint8_t> frame, uint8_t pcp, bool dei, uint16_t vid,
                 std::vector<uint8_t> &out);
// Removes an 802.1Q tag in place and returns its TCI; nullopt when untagged.
std::optional<uint16_t> strip_vlan(std::vector<uint8_t> &frame);
// Where the TCP header of a TCP/IP frame starts and where the headers end (L2-L4);
// nullopt for anything else.
struct TcpHeaders {
    uint16_t transport_offset = 0;
    uint16_t headers_len = 0;
};
std::optional<TcpHeaders> tcp_headers(std::span<const uint8_t> frame);
// TSO: the MSS-sized segments of a TCP super-frame; false if unsupported or not TCP.
bool segment_tcp(std::span<const uint8_t> frame, uint16_t mss,
                 std::vector<std::vector<uint8_t>> &segments);

} // namespace mana_emu::frame_ops
