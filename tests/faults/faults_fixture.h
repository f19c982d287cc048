/* SPDX-License-Identifier: BSD-3-Clause */
// The fault matrix's fixture and helpers: every fault the emulator can inject, under
// traffic, through rte_eth_* only. Each case asserts what the driver does about the fault,
// that every frame offered is either received or counted as dropped (conservation), and
// -- in the harness's TearDown -- that every mempool is full again, no verbs object or
// emulator fd outlives close and the device saw no DMA or WQE violation. The cases are in
// fault_*_test.cpp by the kind of fault. (A named namespace: GoogleTest needs one fixture
// type for the tests of a suite across files.)
#pragma once

#include "ethdev_harness.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace ethdev_test
{

inline mana_emu_counters_t emu_counters()
{
    mana_emu_counters_t counters{};
    EXPECT_EQ(mana_emu_counters(&counters), 0);
    return counters;
}

inline std::vector<Frame> numbered_frames(uint32_t first, uint32_t count, std::size_t payload = 64)
{
    std::vector<Frame> frames;
    for (uint32_t i = first; i < first + count; ++i)
        frames.push_back(ipv4_flow_frame(i, i % 2 == 0, payload));
    return frames;
}

// The completion queue ids of an emulated port, in creation order.
inline std::vector<uint32_t> cq_ids(unsigned emu_port)
{
    std::array<uint32_t, 16> ids{};
    const int n = mana_emu_port_queues(emu_port, MANA_EMU_QUEUE_CQ, ids.data(), ids.size());
    EXPECT_GE(n, 0);
    return {ids.begin(), ids.begin() + std::clamp(n, 0, static_cast<int>(ids.size()))};
}

// A raw CQE whose first OOB dword carries `type`, with packet lengths for RX types.
inline std::array<uint8_t, 64> raw_cqe(uint8_t type, std::array<uint16_t, 4> lengths = {})
{
    std::array<uint8_t, 64> cqe{};
    cqe[0] = type & 0x3f;
    // RX OOB: packet i's length in the low 16 bits of dword 2 + 3 * i (gdma/rx_completion.h).
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        cqe[(2 + 3 * i) * 4] = static_cast<uint8_t>(lengths[i]);
        cqe[(2 + 3 * i) * 4 + 1] = static_cast<uint8_t>(lengths[i] >> 8);
    }
    return cqe;
}

class Faults : public EthdevTest
{
  protected:
    // Port 0 sends only, port 1 receives only: each has exactly one CQ, so the emulator's
    // CQ list of a port names the queue a raw CQE goes to without guessing creation order.
    void start_one_way(rte_mempool *rx_pool, PortConfig tx = {}, PortConfig rx = {})
    {
        tx.rx_queues = 0;
        rx.tx_queues = 0;
        setup_and_start(port0_, tx, rx_pool);
        setup_and_start(port1_, rx, rx_pool);
    }

    // Receives everything the device has delivered to port 1 and checks each frame
    // against what was offered (in order, skipping frames the device dropped).
    std::vector<rte_mbuf *> drain(uint16_t queues = 1) { return receive_all(port1_, queues); }

    // A CQ of emulated port `emu_port` lapped (mana_emu_force_cq_overflow) while port 0
    // sends 20 frames to port 1; whatever port 1 delivers is drained and freed.
    void overflow_cq_under_traffic(unsigned emu_port)
    {
        ASSERT_EQ(mana_emu_force_cq_overflow(emu_port), 0);
        send(port0_, 0, numbered_frames(0, 20));
        auto got = drain();
        free_all(got);
    }

    // The recovery the driver documents for a queue it can no longer use: stop and start
    // `port` again.
    void restart(uint16_t port)
    {
        ASSERT_EQ(rte_eth_dev_stop(port), 0);
        ASSERT_EQ(rte_eth_dev_start(port), 0);
    }

    // restart(port), then 50 new frames from port 0 must all arrive at port 1, in order.
    void expect_restart_recovers(uint16_t port)
    {
        ASSERT_NO_FATAL_FAILURE(restart(port));
        const auto frames = numbered_frames(100, 50);
        send(port0_, 0, frames);
        expect_delivered(frames);
    }

    void check_rx_registration_failure(bool scatter);

    // Receives what the device delivered to port 1 and checks it is exactly `frames`, in
    // order and byte for byte; frees it.
    void expect_delivered(const std::vector<Frame> &frames)
    {
        auto got = drain();
        EXPECT_EQ(got.size(), frames.size());
        for (std::size_t i = 0; i < std::min(got.size(), frames.size()); ++i)
            EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
        free_all(got);
    }

    // sent = received + counted drops, over the emulator's device-side drops and the
    // driver's counters.
    void expect_conservation(uint64_t offered, uint64_t received, const char *what)
    {
        const auto tx = stats(port0_);
        const auto rx = stats(port1_);
        const auto emu = emu_counters();
        EXPECT_EQ(offered, tx.opackets + tx.oerrors) << what << ": TX side lost packets";
        EXPECT_EQ(received, rx.ipackets) << what;
        EXPECT_EQ(tx.opackets, received + emu.rx_drops_no_buffer + emu.rx_drops_other + rx.ierrors)
            << what << ": frames on the wire neither received nor counted";
    }
};

} // namespace ethdev_test
