/* SPDX-License-Identifier: BSD-3-Clause */
// What the datapath tests share (datapath_tx_test.cpp, datapath_rx_test.cpp): their
// fixture, the RSS hash fields and RX buffer area they use, an RX queue on a device of its
// own, and readers for the capture wire, the device counters and RX completion flags.
#pragma once

#include "emu_harness.h"

#include <optional>
#include <vector>

namespace emu_test
{

inline constexpr uint64_t kIpv4Udp = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                                     IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
inline constexpr size_t kRxArea = 512 * 1024; // RX buffers live in the upper half of dev.memory

// The next frame the capture wire of `port` holds (empty when there is none).
inline std::vector<uint8_t> captured(unsigned port)
{
    std::vector<uint8_t> buf(65536);
    const ssize_t n = mana_emu_capture(port, buf.data(), buf.size());
    EXPECT_GE(n, 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
}

inline struct mana_emu_counters counters()
{
    struct mana_emu_counters c {
    };
    EXPECT_EQ(mana_emu_counters(&c), 0);
    return c;
}

inline uint32_t rx_flags(const Completion &c)
{
    return c.oob[gdma::rx_oob_word::flags];
}

// One fixture type for the DatapathTest tests of both files.
class DatapathTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
};

// A device of its own with one 64-entry RX queue: `buffers` buffers of `buffer` bytes.
struct RxFixture {
    Device dev;
    RssRxQueue queue;
    RxQueue &rx = queue.q;
    explicit RxFixture(uint32_t buffer = 2048, unsigned buffers = 16, unsigned ib_port = 1)
        : dev(ib_port), queue(dev, kIpv4Udp, 64, buffers, buffer, kRxArea)
    {
    }
    std::optional<Completion> next() { return queue.next(); }
};

} // namespace emu_test
