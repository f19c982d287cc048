/* SPDX-License-Identifier: BSD-3-Clause */
// Owner-bit arithmetic of a completion queue and the driver's cursor over it.
//
// The driver's head is a free-running counter starting at `count`. The entry for head
// sits at index head mod count; it is new when its owner bits equal (head / count) mod 8,
// the queue is empty when they equal (head / count - 1) mod 8, and any other value means
// the device lapped the driver. The device writes ((n / count) + 1) mod 8 for its n-th
// completion, so a zeroed ring reads as empty.
#pragma once

#include "cqe.h"

#include <bit>
#include <cstdint>

namespace mana::gdma
{

// Owner bits the device writes for its n-th completion (n from 0).
constexpr uint8_t device_owner_bits(uint64_t n, uint32_t count)
{
    return static_cast<uint8_t>((n / count + 1) & kOwnerBitsMask);
}

// Owner bits the driver expects at `head` for a new entry.
constexpr uint8_t expected_owner_bits(uint32_t head, uint32_t count)
{
    return static_cast<uint8_t>((head / count) & kOwnerBitsMask);
}

// Owner bits that mean "nothing new yet" at `head`.
constexpr uint8_t empty_owner_bits(uint32_t head, uint32_t count)
{
    return static_cast<uint8_t>((head / count - 1) & kOwnerBitsMask);
}

enum class CqSlot { ready, empty, overflow };

constexpr CqSlot classify_owner_bits(uint8_t owner, uint32_t head, uint32_t count)
{
    if (owner == expected_owner_bits(head, count))
        return CqSlot::ready;
    if (owner == empty_owner_bits(head, count))
        return CqSlot::empty;
    return CqSlot::overflow;
}

// The driver side of a CQ whose entry count is a power of two (the driver chooses the
// count, so the hot path can shift and mask instead of dividing).
class CqCursor
{
  public:
    CqCursor() = default;
    CqCursor(const Cqe *ring, uint32_t count)
        : ring_(ring), count_(count), mask_(count - 1),
          shift_(static_cast<uint32_t>(std::countr_zero(count))),
          owner_shift_(kOwnerBitsShift - shift_), head_(count)
    {
    }

    static constexpr bool valid_count(uint32_t count)
    {
        // ready() shifts the head's owner period onto trailer bit 29.
        return count != 0 && std::has_single_bit(count) && count <= (1U << 29);
    }

    uint32_t head() const { return head_; }
    uint32_t count() const { return count_; }
    const Cqe &current() const { return ring_[head_ & mask_]; }

    // State of the entry at the head. On `ready` the caller may read current() and
    // then advance().
    CqSlot peek() const
    {
        // An acquire load of the trailer: the entry's payload must not be read before its
        // owner bits (a plain load plus a fence orders the same on x86, but a race
        // detector cannot see that ordering).
        const uint32_t trailer = __atomic_load_n(&current().trailer, __ATOMIC_ACQUIRE);
        // How many owner periods the entry is ahead of the head, modulo 8: the head's
        // own period (0) is new, one period behind (7) is empty, anything else means
        // the device lapped the driver.
        const uint32_t ahead = ((trailer >> kOwnerBitsShift) - (head_ >> shift_)) & kOwnerBitsMask;
        if (ahead == 0) [[likely]]
            return CqSlot::ready;
        if (ahead == kOwnerBitsMask)
            return CqSlot::empty;
        return CqSlot::overflow;
    }

    // peek() == ready, in the fewest instructions: the head shifted so that its owner-bit
    // period lands on the trailer's owner bits, compared with one XOR (the hot path's
    // test; peek() tells empty from overflow when this says no).
    bool ready() const
    {
        const uint32_t trailer = __atomic_load_n(&current().trailer, __ATOMIC_ACQUIRE);
        return ((trailer ^ (head_ << owner_shift_)) >> kOwnerBitsShift) == 0;
    }

    void advance(uint32_t n = 1) { head_ += n; }
    // A cursor over the same ring at `head` (for a reader that must not touch head_,
    // which the polling thread writes).
    CqCursor moved_to(uint32_t head) const
    {
        CqCursor moved(ring_, count_);
        moved.head_ = head;
        return moved;
    }

    // For loops that walk the ring with a pointer: entries from the head up to the end of
    // the ring, and the owner bits a new one carries there, in trailer position (the same
    // for all of them, as the owner period changes only at the end of the ring).
    uint32_t until_wrap() const { return count_ - (head_ & mask_); }
    uint32_t expected_owner() const
    {
        return ((head_ >> shift_) & kOwnerBitsMask) << kOwnerBitsShift;
    }
    // ready() for an entry of that walk: `owner` from expected_owner().
    static bool ready_at(const Cqe &cqe, uint32_t owner)
    {
        const uint32_t trailer = __atomic_load_n(&cqe.trailer, __ATOMIC_ACQUIRE);
        return (trailer ^ owner) < (1U << kOwnerBitsShift);
    }

    // The entry `ahead` places after the head and its state, for queries that look at
    // completions without consuming them (queue counts, descriptor status). Entries past
    // the first one that is not ready say nothing.
    const Cqe &at(uint32_t ahead) const { return ring_[(head_ + ahead) & mask_]; }
    CqSlot peek_at(uint32_t ahead) const
    {
        const uint32_t trailer = __atomic_load_n(&at(ahead).trailer, __ATOMIC_ACQUIRE);
        return classify_owner_bits(static_cast<uint8_t>(trailer >> 29), head_ + ahead, count_);
    }
    // Owner bits the head entry holds while nothing new has arrived.
    uint8_t empty_owner_bits_at_head() const { return empty_owner_bits(head_, count_); }

  private:
    const Cqe *ring_ = nullptr;
    uint32_t count_ = 0;
    uint32_t mask_ = 0;
    static constexpr uint32_t kOwnerBitsShift = 29; // owner bits are trailer bits 29-31

    uint32_t shift_ = 0;
    uint32_t owner_shift_ = 0; // kOwnerBitsShift - shift_
    uint32_t head_ = 0;
};

} // namespace mana::gdma
