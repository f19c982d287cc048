/* SPDX-License-Identifier: BSD-3-Clause */
// Fuzz target: the WQE parser the emulator's device model uses on rings a driver wrote
// (gdma::parse_wqe / read_sge). Input: 4 bytes head BU, 4 bytes posted BUs, 1 byte ring
// size exponent, then the ring bytes. Whatever the bytes say, nothing may be read outside
// the ring (ASan), and what parses must be self-consistent.
#include "gdma/gdma.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace mana::gdma;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    constexpr size_t kPrefix = 9;
    if (size < kPrefix)
        return 0;
    uint32_t head_bu;
    uint32_t posted_bu;
    std::memcpy(&head_bu, data, 4);
    std::memcpy(&posted_bu, data + 4, 4);
    // Ring of 32 B .. 64 KiB; an exactly sized heap buffer, so ASan sees any overrun.
    const uint32_t ring_bytes = 32U << (data[8] % 12);
    std::vector<std::byte> storage(ring_bytes);
    const size_t payload = std::min<size_t>(size - kPrefix, ring_bytes);
    std::memcpy(storage.data(), data + kPrefix, payload);
    const WqeRing ring(storage.data(), ring_bytes);
    if (!ring.valid())
        std::abort();

    // Walk WQEs from head as a device would, until one fails to parse.
    uint32_t at = head_bu;
    uint32_t left = posted_bu % (ring.capacity_bu() + 1);
    for (int wqes = 0; wqes < 64 && left != 0; ++wqes) {
        ParsedWqe wqe;
        if (parse_wqe(ring, at, left, wqe) != WqeParseError::none)
            break;
        if (wqe.size_bu == 0 || wqe.size_bu > left || wqe.size_bu > ring.capacity_bu())
            std::abort();
        if (wqe.oob_bytes() != kSmallInlineOobBytes && wqe.oob_bytes() != kLargeInlineOobBytes)
            std::abort();
        if (wqe.sgl_offset >= ring.size_bytes())
            std::abort();
        uint64_t total = 0;
        for (uint32_t i = 0; i < wqe.header.num_sgl_entries; ++i)
            total += read_sge(ring, wqe, i).size;
        // Keep the sum observable so the reads are not optimised away.
        if (total == UINT64_MAX)
            std::abort();
        at += wqe.size_bu;
        left -= wqe.size_bu;
    }
    // Also parse at the raw (unreduced) posted count: the parser must bound itself.
    ParsedWqe wqe;
    static_cast<void>(parse_wqe(ring, head_bu, posted_bu, wqe));
    return 0;
}
