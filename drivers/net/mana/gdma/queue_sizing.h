/* SPDX-License-Identifier: BSD-3-Clause */
// How rdma-core 44's mana provider sizes queue buffers. The driver needs this to know a
// ring's capacity in BUs before it has the buffer; the emulator sizes the allocations
// it requests through the application's allocator the same way.
#pragma once

#include "cqe.h"
#include "wqe.h"

#include <bit>
#include <cstdint>

namespace mana::gdma
{

inline constexpr uint32_t kQueueBufferAlignment = 4096;
inline constexpr uint32_t kRdmaCoreMaxQueueEntries = 256;

// Bytes of an RQ WQE with `max_sge` SGEs and the small inline OOB.
constexpr uint32_t rq_wqe_bytes(uint32_t max_sge)
{
    return align_up(16U * max_sge + 8U + 8U, kBasicUnitBytes);
}

// Bytes of an SQ WQE with `max_sge` SGEs and the large inline OOB.
constexpr uint32_t sq_wqe_bytes(uint32_t max_sge)
{
    return align_up(16U * max_sge + 8U + 24U, kBasicUnitBytes);
}

constexpr uint32_t queue_buffer_bytes(uint32_t entries, uint32_t entry_bytes)
{
    return align_up(std::bit_ceil(entries * entry_bytes), kQueueBufferAlignment);
}

constexpr uint32_t cq_buffer_bytes(uint32_t count)
{
    return queue_buffer_bytes(count, kCqeBytes);
}
constexpr uint32_t rq_buffer_bytes(uint32_t max_wr, uint32_t max_sge)
{
    return queue_buffer_bytes(max_wr, rq_wqe_bytes(max_sge));
}
constexpr uint32_t sq_buffer_bytes(uint32_t max_wr, uint32_t max_sge)
{
    return queue_buffer_bytes(max_wr, sq_wqe_bytes(max_sge));
}

static_assert(cq_buffer_bytes(256) == 16384);
static_assert(cq_buffer_bytes(1) == 4096);
static_assert(rq_buffer_bytes(256, 1) == 8192);
static_assert(sq_buffer_bytes(256, 2) == 16384);

} // namespace mana::gdma
