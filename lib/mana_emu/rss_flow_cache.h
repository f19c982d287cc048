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

    // The hash of `frame` (hash 0, type 0 when the frame has none). Returned in registers
    // rather than as an optional assembled on the stack: reading such a struct back as a
    // whole fails store forwarding and waits for every pending store, which in threaded
    // mode includes the previous completion's write to a line the driver is polling.
    frame_ops::RssHash lookup(std::span<const uint8_t> frame, uint64_t fields,
                              std::span<const uint8_t> key)
    {
        Key k;
        if (!make_key(frame, k)) [[unlikely]]
            return frame_ops::rss_hash(frame, fields, key).value_or(frame_ops::RssHash{});
        Entry &entry = entries_[slot_of(k)];
        if (entry.valid && entry.key == k) [[likely]]
            return entry.result;
        const auto result = frame_ops::rss_hash(frame, fields, key);
        entry.valid = true;
        entry.key = k;
        entry.result = result.value_or(frame_ops::RssHash{});
        return entry.result;
    }

    void clear() { entries_ = {}; }

  private:
    static constexpr size_t kWords = kKeyBytes / 8;
    struct Key {
        uint64_t length = 0; // frame length
        uint64_t words[kWords] = {};
        bool operator==(const Key &other) const
        {
            uint64_t diff = length ^ other.length;
            for (size_t i = 0; i < kWords; ++i)
                diff |= words[i] ^ other.words[i];
            return diff == 0;
        }
    };
    struct Entry {
        bool valid = false;
        frame_ops::RssHash result{}; // {0, 0}: no hash
        Key key;
    };

    // A word mask clearing bytes [first, last] of a little-endian 64-bit word.
    static constexpr uint64_t clear_bytes(unsigned first, unsigned last)
    {
        uint64_t mask = ~uint64_t{0};
        for (unsigned b = first; b <= last; ++b)
            mask &= ~(uint64_t{0xff} << (8 * b));
        return mask;
    }

    static uint64_t load_word(const uint8_t *bytes)
    {
        uint64_t word;
        std::memcpy(&word, bytes, sizeof(word));
        return word;
    }

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
        // The usual frame: one 8-byte load per key word, straight into registers. (A block
        // copy into the key and word loads back from it stall on store forwarding, which
        // measured as the most expensive instruction of the threaded model's RX path.)
        if (window == 36 && frame.size() >= 48) {
            for (size_t w = 0; w < 4; ++w)
                k.words[w] = load_word(frame.data() + 12 + 8 * w);
            uint32_t last;
            std::memcpy(&last, frame.data() + 44, sizeof(last));
            k.words[4] = last;
        } else if (window == 56 && frame.size() >= 68) {
            for (size_t w = 0; w < kWords; ++w)
                k.words[w] = load_word(frame.data() + 12 + 8 * w);
        } else {
            std::memcpy(k.words, frame.data() + 12, std::min(window, frame.size() - 12));
        }
        k.length = frame.size();
        // Key word w holds frame bytes 12 + 8w .. 19 + 8w.
        if (ethertype == 0x0800) {
            k.words[0] &= clear_bytes(6, 7);                     // identification (18-19)
            k.words[1] &= clear_bytes(2, 2) & clear_bytes(4, 5); // TTL (22), checksum (24-25)
            if (frame.size() > 23 && frame[23] == 6) {
                k.words[3] &= clear_bytes(2, 7); // TCP sequence / ack (38-45)
                k.words[4] &= clear_bytes(0, 1);
            }
        } else if (ethertype == 0x86dd && frame[20] == 6) {
            k.words[5] &= clear_bytes(6, 7); // TCP sequence / ack (58-65)
            k.words[6] &= clear_bytes(0, 5);
        }
        return true;
    }

    static size_t slot_of(const Key &k)
    {
        // Mix in parallel, not as one long multiply chain.
        const uint64_t a = (k.words[0] ^ k.words[3] ^ k.words[6]) * 0x9e3779b97f4a7c15ULL;
        const uint64_t b = (k.words[1] ^ k.words[4] ^ k.length) * 0xc2b2ae3d27d4eb4fULL;
        const uint64_t c = (k.words[2] ^ k.words[5]) * 0x165667b19e3779f9ULL;
        return static_cast<size_t>((a ^ b ^ c) >> 58); // 64 slots
    }

    std::array<Entry, 64> entries_{};
};

} // namespace mana_emu
