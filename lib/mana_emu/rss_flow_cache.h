/* SPDX-License-Identifier: BSD-3-Clause */
// A memo in front of packet::rss_hash for the RX hot path. Hashing dominates the cost of
// receiving a small frame, while traffic is usually a handful of flows: remembering the
// last result per flow slot skips the frame parse and the bitwise Toeplitz for repeats.
//
// The memo is exact: its key holds every byte rss_hash can look at for the frames it
// accepts (Ethernet type, IPv4 without options or IPv6 without extension headers, the
// transport header up to TCP's data offset) and the frame length (which decides whether
// a header counts as truncated); bytes that cannot change the hash but change per packet
// (IPv4 id, TTL, checksum; TCP sequence and acknowledgement numbers) are blanked so that a
// flow keeps hitting. Frames outside those shapes bypass the memo.
#pragma once

#include "frame_ops.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace mana_emu
{

class RssFlowCache
{
  public:
    static constexpr size_t kKeyBytes = 56; // bytes 12..67: IPv6 + TCP data offset

    std::optional<frame_ops::RssHash> lookup(std::span<const uint8_t> frame, uint64_t fields,
                                             std::span<const uint8_t> key)
    {
        Key k;
        if (!make_key(frame, k))
            return frame_ops::rss_hash(frame, fields, key);
        Entry &entry = entries_[slot_of(k)];
        if (entry.valid && entry.key.length == k.length && entry.key.bytes == k.bytes) [[likely]]
            return entry.has_hash ? std::optional(entry.result) : std::nullopt;
        const auto result = frame_ops::rss_hash(frame, fields, key);
        entry.valid = true;
        entry.key = k;
        entry.has_hash = result.has_value();
        entry.result = result.value_or(frame_ops::RssHash{});
        return result;
    }

    void clear() { entries_ = {}; }

  private:
    struct Key {
        uint16_t length = 0; // frame length, capped
        std::array<uint8_t, kKeyBytes> bytes{};
    };
    struct Entry {
        bool valid = false;
        bool has_hash = false;
        frame_ops::RssHash result{};
        Key key;
    };

    static bool make_key(std::span<const uint8_t> frame, Key &k)
    {
        if (frame.size() < 14)
            return false;
        const uint16_t ethertype = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
        size_t window = 2; // non-IP: only the ethertype matters
        if (ethertype == 0x0800) {
            if (frame.size() < 15 || (frame[14] & 0x0f) != 5)
                return false; // IPv4 options move the transport header
            window = 36;      // up to and including the TCP data offset (byte 46)
        } else if (ethertype == 0x86dd) {
            if (frame.size() < 21 || (frame[20] != 6 && frame[20] != 17))
                return false; // extension headers
            window = 56;
        } else if (ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100) {
            return false; // a tag left after stripping: let the parser handle it
        }
        const size_t n = std::min(window, frame.size() - 12);
        std::memcpy(k.bytes.data(), frame.data() + 12, n);
        k.length = static_cast<uint16_t>(std::min<size_t>(frame.size(), 0xffff));
        auto blank = [&](size_t from, size_t to) { // frame offsets [from, to)
            for (size_t offset = from; offset < to && offset - 12 < n; ++offset)
                k.bytes[offset - 12] = 0;
        };
        if (ethertype == 0x0800) {
            blank(18, 20); // identification
            blank(22, 23); // TTL
            blank(24, 26); // header checksum
            if (frame.size() > 23 && frame[23] == 6)
                blank(38, 46); // TCP sequence and acknowledgement numbers
        } else if (ethertype == 0x86dd && frame[20] == 6) {
            blank(58, 66);
        }
        return true;
    }

    static size_t slot_of(const Key &k)
    {
        uint64_t words[7];
        std::memcpy(words, k.bytes.data(), sizeof(words));
        uint64_t h = k.length;
        for (uint64_t w : words)
            h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        return static_cast<size_t>(h >> 58); // 64 slots
    }

    std::array<Entry, 64> entries_{};
};

} // namespace mana_emu
