/* SPDX-License-Identifier: BSD-3-Clause */
// A bit per slot of a power-of-two ring, in DPDK memory (secondaries burst the same
// queues), read a word at a time: a refill learns from one load how many slots in a row
// need nothing but the common case.
#pragma once

#include "dpdk_memory.h"

#include <algorithm>
#include <bit>
#include <cstdint>

namespace mana
{

class RingBits
{
  public:
    // False when DPDK memory is exhausted. The bits start set.
    bool allocate(const char *type, uint32_t slots, int socket)
    {
        if (!words_.allocate(type, (slots + kWordBits - 1) / kWordBits, socket))
            return false;
        set_all();
        return true;
    }
    void set_all() { std::fill_n(words_.data(), words_.size(), ~uint64_t{0}); }
    bool test(uint32_t slot) const { return (word(slot) & bit(slot)) != 0; }
    void set(uint32_t slot) { word(slot) |= bit(slot); }
    void clear(uint32_t slot) { word(slot) &= ~bit(slot); }
    // How many slots from `slot` on are clear, at most up to the end of its word.
    uint32_t clear_run(uint32_t slot) const
    {
        const uint32_t shift = slot % kWordBits;
        const uint64_t rest = word(slot) >> shift;
        return rest == 0 ? kWordBits - shift : static_cast<uint32_t>(std::countr_zero(rest));
    }

  private:
    static constexpr uint32_t kWordBits = 64;
    static uint64_t bit(uint32_t slot) { return uint64_t{1} << (slot % kWordBits); }
    uint64_t &word(uint32_t slot) { return words_.data()[slot / kWordBits]; }
    const uint64_t &word(uint32_t slot) const { return words_.data()[slot / kWordBits]; }

    DpdkArray<uint64_t> words_;
};

} // namespace mana
