/* SPDX-License-Identifier: BSD-3-Clause */
// Raw completions written straight into a port's CQ (mana_emu_write_cqe), shared by the
// RX and TX tests: completions no packet of the driver's asked for, or corrupt ones, that
// must be counted and must not disturb the queue.
#pragma once

#include <mana_emu.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace ethdev_test
{

// A raw completion of the given type; for the RX type, with the given packet lengths.
inline std::array<uint8_t, 64> raw_completion(unsigned type,
                                              std::initializer_list<uint16_t> lengths)
{
    std::array<uint32_t, 16> words{};
    words[0] = type;
    unsigned i = 0;
    for (const uint16_t length : lengths)
        words[2 + 3 * i++] = length;
    std::array<uint8_t, 64> bytes;
    std::memcpy(bytes.data(), words.data(), bytes.size());
    return bytes;
}

// The id of the one CQ emulator port `emu_port` has (a test failure when it has more).
inline uint32_t only_cq_of(unsigned emu_port)
{
    std::array<uint32_t, 8> ids{};
    EXPECT_EQ(mana_emu_port_queues(emu_port, MANA_EMU_QUEUE_CQ, ids.data(), ids.size()), 1);
    return ids[0];
}

} // namespace ethdev_test
