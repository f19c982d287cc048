/* SPDX-License-Identifier: BSD-3-Clause */
// Fuzz target: the PMD's RX and TX completion handling fed arbitrary CQE bytes, through
// the real plugin under EAL over the step-mode emulator (mana_emu_write_cqe writes the
// bytes with the owner bits the device would use).
//
// One EAL for the whole process (LLVMFuzzerInitialize): port 0 sends (one TX queue),
// port 1 receives (one RX queue), wired together. An input is a list of 65-byte records:
// an operation byte and 64 bytes of CQE (or of parameters):
//   op % 4 == 0  write the bytes as the next CQE of port 1's RX CQ
//   op % 4 == 1  write the bytes as the next CQE of port 0's TX CQ
//   op % 4 == 2  send bytes[0] % 8 real frames and let the device run
//   op % 4 == 3  let the device run
// After each record RX and TX are polled. Invariants checked (abort = crash found):
//   every delivered mbuf lies inside its buffer and is single-segment;
//   no mbuf is delivered while the application still holds it;
//   after the ports are stopped at the end of the input, every mempool is full
//   (no mbuf lost, none freed twice); the ports restart for the next input.
#include "fuzz_eal.h"

#include <rte_mempool.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

namespace
{

constexpr uint16_t kDescriptors = 64;
constexpr std::size_t kRecord = 65;
constexpr std::size_t kMaxRecords = 64;
constexpr std::size_t kHeld = 96; // delivered mbufs the "application" keeps per input

uint16_t g_tx_port = 0;
uint16_t g_rx_port = 0;
rte_mempool *g_rx_pool = nullptr;
rte_mempool *g_tx_pool = nullptr;
uint32_t g_rx_cq = 0;
uint32_t g_tx_cq = 0;

[[noreturn]] void fail(const char *what)
{
    fuzz::fail("fuzz_completions", what);
}

uint32_t only_cq(unsigned emu_port)
{
    uint32_t ids[4];
    if (mana_emu_port_queues(emu_port, MANA_EMU_QUEUE_CQ, ids, 4) != 1)
        fail("expected exactly one CQ per port");
    return ids[0];
}

void start_ports()
{
    if (rte_eth_dev_start(g_tx_port) != 0 || rte_eth_dev_start(g_rx_port) != 0)
        fail("port start");
    g_tx_cq = only_cq(0);
    g_rx_cq = only_cq(1);
}

std::vector<uint8_t> frame(uint8_t fill, uint16_t length)
{
    mana_emu_port_info_t rx{}, tx{};
    mana_emu_port_info(1, &rx);
    mana_emu_port_info(0, &tx);
    std::vector<uint8_t> bytes(length, fill);
    std::memcpy(bytes.data(), rx.mac, 6);
    std::memcpy(bytes.data() + 6, tx.mac, 6);
    bytes[12] = 0x88; // local experimental ethertype: no L3 parsing
    bytes[13] = 0xb5;
    return bytes;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    const fuzz::Ports ports = fuzz::start_eal("fuzz_completions", *argv);
    g_tx_port = ports.tx;
    g_rx_port = ports.rx;
    g_rx_pool = rte_pktmbuf_pool_create("fuzz_rx", kDescriptors + kHeld + 64, 0, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    g_tx_pool = rte_pktmbuf_pool_create("fuzz_tx", 2 * kDescriptors + 64, 0, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_rx_pool == nullptr || g_tx_pool == nullptr)
        fail("mempools");
    const rte_eth_conf conf{};
    if (rte_eth_dev_configure(g_tx_port, 0, 1, &conf) != 0 ||
        rte_eth_tx_queue_setup(g_tx_port, 0, kDescriptors, SOCKET_ID_ANY, nullptr) != 0 ||
        rte_eth_dev_configure(g_rx_port, 1, 0, &conf) != 0 ||
        rte_eth_rx_queue_setup(g_rx_port, 0, kDescriptors, SOCKET_ID_ANY, nullptr, g_rx_pool) != 0)
        fail("port setup");
    start_ports();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::vector<rte_mbuf *> held;
    std::unordered_set<rte_mbuf *> holding;
    auto poll_rx = [&] {
        std::array<rte_mbuf *, 32> burst;
        uint16_t n;
        while ((n = rte_eth_rx_burst(g_rx_port, 0, burst.data(), burst.size())) != 0) {
            for (uint16_t i = 0; i < n; ++i) {
                rte_mbuf *m = burst[i];
                fuzz::check_received("fuzz_completions", m);
                if (!holding.insert(m).second)
                    fail("RX delivered an mbuf the application holds");
                // Touch every byte: a bad address or length faults here.
                volatile uint8_t sum = 0;
                for (uint16_t b = 0; b < m->data_len; ++b)
                    sum = sum + rte_pktmbuf_mtod(m, const uint8_t *)[b];
                if (held.size() < kHeld) {
                    held.push_back(m);
                } else {
                    holding.erase(m);
                    rte_pktmbuf_free(m);
                }
            }
        }
    };
    const std::size_t records = std::min(size / kRecord, kMaxRecords);
    for (std::size_t r = 0; r < records; ++r) {
        const uint8_t op = data[r * kRecord];
        std::array<uint8_t, 64> bytes;
        std::memcpy(bytes.data(), data + r * kRecord + 1, bytes.size());
        switch (op % 4) {
        case 0:
            if (mana_emu_write_cqe(g_rx_cq, bytes.data()) != 0)
                fail("write RX CQE");
            break;
        case 1:
            if (mana_emu_write_cqe(g_tx_cq, bytes.data()) != 0)
                fail("write TX CQE");
            break;
        case 2: {
            std::array<rte_mbuf *, 8> tx;
            const unsigned count = bytes[0] % 8;
            unsigned built = 0;
            for (; built < count; ++built) {
                const auto f =
                    frame(bytes[1 + built], static_cast<uint16_t>(60 + bytes[9 + built]));
                tx[built] = rte_pktmbuf_alloc(g_tx_pool);
                if (tx[built] == nullptr)
                    break;
                std::memcpy(rte_pktmbuf_append(tx[built], static_cast<uint16_t>(f.size())),
                            f.data(), f.size());
            }
            const uint16_t sent = rte_eth_tx_burst(g_tx_port, 0, tx.data(), built);
            for (unsigned i = sent; i < built; ++i)
                rte_pktmbuf_free(tx[i]);
            mana_emu_poll();
            break;
        }
        default:
            mana_emu_poll();
            break;
        }
        poll_rx();
        rte_eth_tx_burst(g_tx_port, 0, nullptr, 0); // reap TX completions
    }
    for (rte_mbuf *m : held)
        rte_pktmbuf_free(m);
    // Stop returns every posted and in-flight mbuf: the pools must be exactly full.
    if (rte_eth_dev_stop(g_tx_port) != 0 || rte_eth_dev_stop(g_rx_port) != 0)
        fail("port stop");
    mana_emu_poll();
    if (rte_mempool_avail_count(g_rx_pool) != g_rx_pool->size)
        fail("RX mempool not full after stop (mbuf lost or freed twice)");
    if (rte_mempool_avail_count(g_tx_pool) != g_tx_pool->size)
        fail("TX mempool not full after stop (mbuf lost or freed twice)");
    rte_eth_stats_reset(g_tx_port);
    rte_eth_stats_reset(g_rx_port);
    start_ports();
    return 0;
}
