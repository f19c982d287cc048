/* SPDX-License-Identifier: BSD-3-Clause */
// Scatter-gather element: one buffer of a work queue entry.
#pragma once

#include <cstdint>

namespace mana::gdma
{

struct Sge {
    uint64_t address;    // virtual address; IOVA equals VA for MANA
    uint32_t memory_key; // lkey of the memory region holding the buffer
    uint32_t size;       // bytes
};
static_assert(sizeof(Sge) == 16);
static_assert(alignof(Sge) == 8);

// The device requires at least one SGE per WQE; a WQE with nothing to transfer carries
// this placeholder instead.
inline constexpr Sge kDummySge{.address = 1, .memory_key = 0, .size = 0};

} // namespace mana::gdma
