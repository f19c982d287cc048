/* SPDX-License-Identifier: BSD-3-Clause */
// Shared pieces of the ethdev tests: EAL + emulator (step mode) setup, port setup
// through rte_eth_* only, frame builders, a Toeplitz reference, send/receive helpers.
#pragma once

// The device's RSS facts, by path: the ethdev tests see the driver only through rte_eth_*.
#include "gdma/rss_hash.h"

#include <mana_emu.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ethdev_test
{

inline constexpr const char *kBdf = "7870:00:00.0";
inline constexpr const char *kPort0Name = "7870:00:00.0_port1";
inline constexpr const char *kPort1Name = "7870:00:00.0_port2";

using Frame = std::vector<uint8_t>;

struct PortConfig {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t rx_descriptors = 256;
    uint16_t tx_descriptors = 256;
    uint64_t rx_offloads = 0;
    uint64_t tx_offloads = 0;
    bool rss = false;
    uint64_t rss_hf = 0;
    const uint8_t *rss_key = nullptr;
    bool rx_interrupts = false;
    uint16_t rx_free_thresh = 0; // 0: the queues are set up with the port's default_rxconf
    uint16_t mtu = 0;            // rxmode.mtu; 0: the default
};

struct FlowSpec {
    bool ipv6 = false;
    bool tcp = false; // else UDP
    std::array<uint8_t, 16> src{};
    std::array<uint8_t, 16> dst{};
    uint16_t sport = 1000;
    uint16_t dport = 2000;
    std::size_t payload = 64;
    uint8_t fill = 0;
    bool valid_checksums = true;
    bool zero_checksums = false; // leave IP/L4 checksums 0 (for TX offload)
};

std::array<uint8_t, 6> mac_of(unsigned emu_port);
// The MAC address `port` reports (rte_eth_macaddr_get).
std::array<uint8_t, 6> port_mac(uint16_t port);
Frame make_frame(const FlowSpec &flow, const std::array<uint8_t, 6> &dst_mac,
                 const std::array<uint8_t, 6> &src_mac);
Frame ipv4_flow_frame(uint32_t index, bool tcp, std::size_t payload = 64);
// ipv4_flow_frame(first + i, tcp) for i in [0, count): as many distinct flows.
std::vector<Frame> ipv4_flow_frames(uint32_t count, bool tcp, uint32_t first = 0);
std::array<uint8_t, 16> ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

uint32_t toeplitz(const uint8_t *key, const uint8_t *data, std::size_t len);
// The RSS input the device hashes for a frame built by make_frame.
std::vector<uint8_t> rss_input(const FlowSpec &flow, bool with_ports);

bool frame_checksums_valid(const uint8_t *frame, std::size_t len);

rte_mbuf *to_mbuf(rte_mempool *pool, const Frame &frame);
// The frame as a chain of `pieces` segments of equal length (the last takes the rest);
// nullptr (nothing left allocated) when the pool runs dry.
rte_mbuf *to_chain(rte_mempool *pool, const Frame &frame, unsigned pieces);
Frame from_mbuf(const rte_mbuf *mbuf);
// Allocates every mbuf `pool` has left, so that the next allocation (an RX refill) fails.
std::vector<rte_mbuf *> take_all(rte_mempool *pool);

// A port config with RSS over `rx_queues` queues for the flow types in `rss_hf`.
PortConfig rss_config(uint16_t rx_queues, uint64_t rss_hf, uint16_t tx_queues = 1);
// The RSS hash key and hash types a port reports (rte_eth_dev_rss_hash_conf_get, whose
// return value is rc).
struct RssHashConf {
    int rc = 0;
    std::array<uint8_t, 40> key{};
    uint64_t rss_hf = 0;
};
RssHashConf rss_hash_conf(uint16_t port);
// The RSS hash key a port hashes with until one is configured (the driver's default,
// gdma/rss_hash.h; tests/unit/packet checks it against the spec's bytes).
inline constexpr const auto &kDefaultRssKey = mana::gdma::kDefaultRssKey;

// tx_burst reaps completions: a zero-length burst on every TX queue of `port` frees what
// the device has sent and brings the counters up to date. Returns what
// rte_eth_dev_info_get returned (non-zero: nothing reaped).
int reap_tx(uint16_t port);

// The value of the extended statistic `name` of `port` (a test failure, and 0, when the
// port has no such statistic).
uint64_t xstat(uint16_t port, const char *name);

class EthdevTest : public ::testing::Test
{
  protected:
    void SetUp() override;
    void TearDown() override;

    // Probes the function if no port exists (devargs as for -a).
    static int probe(const std::string &devargs = "");
    // Closes all ports of the function (PCI remove).
    static int remove();

    rte_mempool *make_pool(unsigned mbufs, uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE);
    // rte_eth_dev_configure with `config`, then its RX queues (mbufs from `pool`) and TX
    // queues set up; the first non-zero return value, else 0.
    int configure(uint16_t port, const PortConfig &config, rte_mempool *pool);
    // configure, then rte_eth_dev_start (each asserted).
    void setup_and_start(uint16_t port, const PortConfig &config, rte_mempool *pool);
    // The whole set-up of one port: a pool of `mbufs` mbufs (make_pool), then
    // setup_and_start with it. Returns the pool.
    rte_mempool *start_port(uint16_t port, const PortConfig &config, unsigned mbufs,
                            uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE);
    // The same for both ports, which share one pool of `mbufs` mbufs: port0_ is set up and
    // started with `port0`, then port1_ with `port1`. Returns the pool.
    rte_mempool *start_ports(const PortConfig &port0, const PortConfig &port1, unsigned mbufs);

    // tx_burst everything (asserting all is taken), then let the device run.
    void send(uint16_t port, uint16_t queue, const std::vector<Frame> &frames,
              uint64_t ol_flags = 0);
    // The same with mbufs from `pool`, `burst` packets per tx_burst.
    static void send_from(rte_mempool *pool, uint16_t port, uint16_t queue,
                          const std::vector<Frame> &frames, uint16_t burst, uint64_t ol_flags = 0);
    // Drains every RX queue of a port; result[q] is what queue q returned.
    std::vector<std::vector<rte_mbuf *>> receive(uint16_t port, uint16_t queues);
    std::vector<rte_mbuf *> receive_all(uint16_t port, uint16_t queues);
    // receive_all as frames (from_mbuf), in the order received; the mbufs are freed.
    std::vector<Frame> received_frames(uint16_t port, uint16_t queues);
    static void free_all(std::vector<rte_mbuf *> &mbufs);
    rte_eth_stats stats(uint16_t port);

    uint16_t port0_ = 0;
    uint16_t port1_ = 0;
    std::vector<rte_mempool *> pools_;
    bool check_on_teardown_ = true;
};

} // namespace ethdev_test
