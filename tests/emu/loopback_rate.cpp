/* SPDX-License-Identifier: BSD-3-Clause */
// Throughput of the threaded device model: 64-byte frames through a loopback wire, with a
// minimal driver loop on the test thread (batches of 32 TX WQEs, one CQE per batch; RX
// buffers reposted as they complete). Prints the received rate; not part of suite 'emu'
// (run: meson test -C build --suite emu-perf -v). On a shared machine, run it under
// `chrt -f 10` so that other processes do not take the two threads' cores.
#include "emu_harness.h"

#include <chrono>
#include <cstdio>

using namespace emu_test;

namespace
{

TEST(LoopbackRate, ThreadedLoopbackOf64ByteFrames)
{
    reset_emulator();
    Device dev;
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = dev.make_tx(256, 1);
    auto rx = dev.make_rx(256);
    constexpr uint32_t kBuffer = 2048;
    constexpr size_t kRxArea = 256 * 1024;
    dev.post_rx(rx, 256, kBuffer, kRxArea);
    dev.ring_rq(rx);
    ibv_rwq_ind_table *table = nullptr;
    ibv_qp *rss = dev.make_rss({&rx},
                               IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                                   IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP,
                               &table);
    auto frame = make_udp_frame(0x0a000001, 0x0a000002, 1234, 5678, 18); // 60 B + FCS = 64
    const gdma::Sge sge = dev.stage(frame, 0);
    const bool step = getenv("EMU_RATE_STEP") != nullptr;
    if (!step) {
        ASSERT_EQ(mana_emu_set_mode(MANA_EMU_THREADED), 0);
    }

    constexpr unsigned kBatch = 32;
    unsigned batches_in_flight = 0;
    uint64_t received = 0;
    const std::array<std::byte, 8> rx_oob{};
    uint32_t rx_slot = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::seconds(2);
    uint64_t iterations = 0;
    while (true) {
        if ((++iterations & 1023) == 0 && std::chrono::steady_clock::now() >= end)
            break;
        // Reap TX: one CQE per batch.
        while (Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head))
            --batches_in_flight;
        // Reap RX and repost the same slots.
        unsigned got = 0;
        while (auto c = Device::next_cqe(rx.cq, rx.cqinfo, rx.cq_head)) {
            (void)c;
            ++got;
        }
        if (got > 0) {
            received += got;
            for (unsigned i = 0; i < got; ++i, ++rx_slot) {
                const gdma::Sge buf{.address = reinterpret_cast<uintptr_t>(
                                        dev.memory.data() + kRxArea + (rx_slot % 256) * kBuffer),
                                    .memory_key = dev.mr->lkey,
                                    .size = kBuffer};
                rx.head_bu += gdma::write_wqe(rx.ring, rx.head_bu, {}, rx_oob, std::span(&buf, 1));
            }
            dev.ring_rq(rx);
        }
        // Keep up to 4 batches in flight.
        if (batches_in_flight < 4) {
            for (unsigned i = 0; i < kBatch; ++i)
                dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx, i != kBatch - 1));
            dev.ring_sq(tx);
            ++batches_in_flight;
        }
        if (step)
            mana_emu_poll();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(mana_emu_set_mode(MANA_EMU_STEP), 0);
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    std::printf("%s loopback: %.2f Mpps received (%.2f Mpps sent), drops %llu\n",
                step ? "step (one thread)" : "threaded",
                static_cast<double>(received) / seconds / 1e6,
                static_cast<double>(k.tx_frames) / seconds / 1e6,
                static_cast<unsigned long long>(k.rx_drops_no_buffer));
    EXPECT_GT(received, 0u);
    dev.destroy_rss(rss, table, std::span(&rx, 1));
    dev.destroy(tx);
}

} // namespace
