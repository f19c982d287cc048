/* SPDX-License-Identifier: BSD-3-Clause */
// Work queue entry geometry and the writer/reader of WQEs in a ring of basic units.
//
// A WQE is: DMA header (8 B) + inline client OOB (8 or 24 B) + SGL (16 B per SGE, at
// least one), rounded up to 32-byte basic units (BUs). Header and OOB always fit in the
// first BU; only the SGL can run past the ring end, and then continues at the ring start.
#pragma once

#include "bits.h"
#include "dma_header.h"
#include "sge.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace mana::gdma
{

inline constexpr uint32_t kBasicUnitBytes = 32;
inline constexpr uint32_t kBasicUnitShift = 5;
inline constexpr uint32_t kSmallInlineOobBytes = 8;
inline constexpr uint32_t kLargeInlineOobBytes = 24;
inline constexpr uint32_t kMaxSgesPerWqe = 255; // num_sgl_entries is 8 bits

constexpr uint32_t align_up(uint32_t value, uint32_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

// The inline OOB slot a client OOB of `client_oob_bytes` occupies.
constexpr uint32_t inline_oob_bytes(uint32_t client_oob_bytes)
{
    return client_oob_bytes <= kSmallInlineOobBytes ? kSmallInlineOobBytes : kLargeInlineOobBytes;
}

// Bytes a WQE occupies in the ring; `num_sges` of 0 is counted as the dummy SGE.
constexpr uint32_t wqe_size_bytes(uint32_t inline_oob, uint32_t num_sges)
{
    const uint32_t sges = num_sges == 0 ? 1 : num_sges;
    return align_up(static_cast<uint32_t>(sizeof(DmaHeader)) + inline_oob +
                        sges * static_cast<uint32_t>(sizeof(Sge)),
                    kBasicUnitBytes);
}

constexpr uint32_t wqe_size_bu(uint32_t inline_oob, uint32_t num_sges)
{
    return wqe_size_bytes(inline_oob, num_sges) >> kBasicUnitShift;
}

// The most SGEs a WQE of `max_bytes` can carry with the given inline OOB.
constexpr uint32_t max_sges_in(uint32_t max_bytes, uint32_t inline_oob)
{
    const uint32_t fixed = static_cast<uint32_t>(sizeof(DmaHeader)) + inline_oob;
    return max_bytes <= fixed ? 0 : (max_bytes - fixed) / static_cast<uint32_t>(sizeof(Sge));
}

// A work queue ring: power-of-two bytes, addressed by free-running BU indices.
class WqeRing
{
  public:
    constexpr WqeRing() = default;
    WqeRing(std::byte *base, uint32_t size_bytes)
        : base_(base), size_bytes_(size_bytes), mask_(size_bytes - 1)
    {
    }

    std::byte *base() const { return base_; }
    uint32_t size_bytes() const { return size_bytes_; }
    uint32_t capacity_bu() const { return size_bytes_ >> kBasicUnitShift; }
    bool valid() const
    {
        return base_ != nullptr && std::has_single_bit(size_bytes_) &&
               size_bytes_ >= kBasicUnitBytes;
    }

    // Byte offset of a free-running BU index inside the ring.
    uint32_t offset_of(uint32_t head_bu) const { return (head_bu << kBasicUnitShift) & mask_; }

    // Copies `len` bytes to the ring starting at byte `offset`, wrapping at the end.
    void copy_in(uint32_t offset, const void *src, uint32_t len) const
    {
        const uint32_t first = std::min(len, size_bytes_ - offset);
        std::memcpy(base_ + offset, src, first);
        if (first < len)
            std::memcpy(base_, static_cast<const std::byte *>(src) + first, len - first);
    }

    void copy_out(uint32_t offset, void *dst, uint32_t len) const
    {
        const uint32_t first = std::min(len, size_bytes_ - offset);
        std::memcpy(dst, base_ + offset, first);
        if (first < len)
            std::memcpy(static_cast<std::byte *>(dst) + first, base_, len - first);
    }

  private:
    std::byte *base_ = nullptr;
    uint32_t size_bytes_ = 0;
    uint32_t mask_ = 0;
};

// BUs free for posting: capacity minus what the device still owns. head/tail are
// free-running BU counters, so the subtraction is correct across 32-bit wrap.
constexpr uint32_t free_bu(uint32_t capacity_bu, uint32_t head_bu, uint32_t tail_bu)
{
    return capacity_bu - (head_bu - tail_bu);
}

// Writes a complete WQE at `head_bu` and returns its size in BUs. The caller has checked
// free space. `client_oob` is up to 24 bytes (8 or fewer use the small inline slot).
// Header fields num_sgl_entries and inline_oob_dwords are derived here so a caller cannot
// get them inconsistent with what is written. An empty `sges` still occupies one SGE slot
// holding the dummy SGE, while the header counts the SGEs the caller gave (0): that is
// what the device expects (pinned by the golden vectors).
inline uint32_t write_wqe(const WqeRing &ring, uint32_t head_bu, DmaHeaderFields header,
                          std::span<const std::byte> client_oob, std::span<const Sge> sges)
{
    const auto oob_bytes = inline_oob_bytes(static_cast<uint32_t>(client_oob.size()));
    header.num_sgl_entries = static_cast<uint8_t>(sges.size());
    header.inline_oob_dwords = static_cast<uint8_t>(oob_bytes / 4);
    if (sges.empty())
        sges = std::span<const Sge>(&kDummySge, 1);

    const uint32_t offset = ring.offset_of(head_bu);
    std::array<std::byte, sizeof(DmaHeader) + kLargeInlineOobBytes> first{};
    const DmaHeader encoded = DmaHeader::encode(header);
    std::memcpy(first.data(), &encoded, sizeof(encoded));
    std::memcpy(first.data() + sizeof(DmaHeader), client_oob.data(), client_oob.size());
    const uint32_t head_bytes = static_cast<uint32_t>(sizeof(DmaHeader)) + oob_bytes;
    ring.copy_in(offset, first.data(), head_bytes);

    // Header and OOB never straddle the end; if they end exactly there the SGL starts
    // at the ring start, which the masked offset gives.
    const uint32_t sgl_offset = (offset + head_bytes) & (ring.size_bytes() - 1);
    ring.copy_in(sgl_offset, sges.data(), static_cast<uint32_t>(sges.size_bytes()));
    return wqe_size_bu(oob_bytes, static_cast<uint32_t>(sges.size()));
}

// What a device (or a test) reads back from a posted WQE.
struct ParsedWqe {
    DmaHeaderFields header;
    std::array<std::byte, kLargeInlineOobBytes> client_oob{}; // oob_bytes() valid
    uint32_t size_bu = 0;
    uint32_t sgl_offset = 0; // byte offset of SGE 0 in the ring

    uint32_t oob_bytes() const { return header.inline_oob_dwords * 4U; }
};

enum class WqeParseError {
    none,
    bad_oob_size,   // inline OOB size other than 8 or 24 bytes
    exceeds_posted, // the WQE extends past the posted tail
    reserved_bits,  // reserved header bits set
};

// Reads the WQE at `head_bu`; `posted_bu` is how many BUs the driver has made valid
// from there. Never reads outside the ring whatever the header says.
inline WqeParseError parse_wqe(const WqeRing &ring, uint32_t head_bu, uint32_t posted_bu,
                               ParsedWqe &out)
{
    const uint32_t offset = ring.offset_of(head_bu);
    DmaHeader raw;
    ring.copy_out(offset, &raw, sizeof(raw));
    out.header = raw.decode();
    if (!raw.reserved_bits_clear())
        return WqeParseError::reserved_bits;
    const uint32_t oob = out.oob_bytes();
    if (oob != kSmallInlineOobBytes && oob != kLargeInlineOobBytes)
        return WqeParseError::bad_oob_size;
    out.size_bu = wqe_size_bu(oob, out.header.num_sgl_entries);
    if (out.size_bu > posted_bu || out.size_bu > ring.capacity_bu())
        return WqeParseError::exceeds_posted;
    ring.copy_out((offset + static_cast<uint32_t>(sizeof(DmaHeader))) & (ring.size_bytes() - 1),
                  out.client_oob.data(), oob);
    out.sgl_offset =
        (offset + static_cast<uint32_t>(sizeof(DmaHeader)) + oob) & (ring.size_bytes() - 1);
    return WqeParseError::none;
}

// SGE `index` of a parsed WQE (index < header.num_sgl_entries; a WQE with 0 entries
// carries only the dummy SGE, which describes no data).
inline Sge read_sge(const WqeRing &ring, const ParsedWqe &wqe, uint32_t index)
{
    Sge sge;
    ring.copy_out((wqe.sgl_offset + index * static_cast<uint32_t>(sizeof(Sge))) &
                      (ring.size_bytes() - 1),
                  &sge, sizeof(sge));
    return sge;
}

} // namespace mana::gdma
