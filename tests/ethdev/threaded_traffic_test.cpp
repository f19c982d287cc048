/* SPDX-License-Identifier: BSD-3-Clause */
// Several lcores bursting on queues of the same ports over the threaded emulator, with
// and without the control path running beside them: every packet is accounted for.
#include "ethdev_harness.h"
#include "traffic_worker.h"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace ethdev_test
{
namespace
{

// Threaded emulator, two lcores each owning one TX queue of port 0 and one RX queue of
// port 1, with their own never-registered mempools (so both register on demand at the
// same time), each sending for half a second.
std::array<LcoreTraffic, 2> two_queues_for(uint16_t tx_port, uint16_t rx_port,
                                           std::array<rte_mempool *, 2> pools)
{
    using namespace std::chrono_literals;
    return {
        LcoreTraffic{.tx_port = tx_port,
                     .rx_port = rx_port,
                     .queue = 0,
                     .pool = pools[0],
                     .duration = 500ms},
        LcoreTraffic{.tx_port = tx_port,
                     .rx_port = rx_port,
                     .queue = 1,
                     .pool = pools[1],
                     .duration = 500ms},
    };
}

// What the two lcores of two_queues_for came to, and what the device and the ports
// counted meanwhile.
struct TrafficTotals {
    uint64_t sent = 0;     // taken by tx_burst
    uint64_t received = 0; // returned by rx_burst, on the lcores or in the drain
    mana_emu_counters_t device{};
    rte_eth_stats tx{};
    rte_eth_stats rx{};
};

// Once the lcores have stopped: lets the device finish and drains both RX queues, then
// expects every packet to be accounted for. The device sent every packet tx_burst took
// and received, or dropped (for want of a buffer, or while the RSS object was rebuilt),
// every one it sent; both lcores received some; the ports counted the same, without
// errors.
TrafficTotals expect_every_packet_accounted(uint16_t tx_port, uint16_t rx_port,
                                            const std::array<LcoreTraffic, 2> &work)
{
    const auto drained = drain_after_traffic(tx_port, rx_port, 2);
    TrafficTotals totals;
    totals.sent = work[0].sent + work[1].sent;
    totals.received = work[0].received + work[1].received + drained[0] + drained[1];
    EXPECT_EQ(mana_emu_counters(&totals.device), 0);
    EXPECT_GT(work[0].received, 0U);
    EXPECT_GT(work[1].received, 0U);
    EXPECT_EQ(totals.device.tx_frames, totals.sent);
    EXPECT_EQ(totals.device.rx_frames, totals.received);
    EXPECT_EQ(totals.device.tx_frames, totals.device.rx_frames + totals.device.rx_drops_no_buffer +
                                           totals.device.rx_drops_other);
    // As EthdevTest::stats: reaped first, so that the counters are current.
    reap_tx(tx_port);
    reap_tx(rx_port);
    EXPECT_EQ(rte_eth_stats_get(tx_port, &totals.tx), 0);
    EXPECT_EQ(rte_eth_stats_get(rx_port, &totals.rx), 0);
    EXPECT_EQ(totals.tx.opackets, totals.sent);
    EXPECT_EQ(totals.rx.ipackets, totals.received);
    EXPECT_EQ(totals.tx.oerrors, 0U);
    EXPECT_EQ(totals.rx.ierrors, 0U);
    return totals;
}

// Run with MANA_EMU_MODE=threaded MANA_TEST_LCORES=0-1.
TEST_F(EthdevTest, ThreadedTwoLcoresConserveEveryPacket)
{
    if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 2)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=0-1";
    const PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_TCP, 2);
    start_ports(config, config, 4096);
    auto work = two_queues_for(port0_, port1_, {make_pool(1024), make_pool(1024)});
    // Queue 1 on the worker lcore, queue 0 on this one.
    TrafficLcores lcores;
    ASSERT_TRUE(lcores.launch(std::span(work).subspan(1)));
    run_lcore_traffic(&work[0]);
    ASSERT_TRUE(lcores.wait());
    const TrafficTotals totals = expect_every_packet_accounted(port0_, port1_, work);
    std::printf("sent %lu (ring full %lu), received %lu, device dropped %lu for want of buffers\n",
                static_cast<unsigned long>(totals.sent),
                static_cast<unsigned long>(work[0].tx_refused + work[1].tx_refused),
                static_cast<unsigned long>(totals.received),
                static_cast<unsigned long>(totals.device.rx_drops_no_buffer));
    EXPECT_GT(totals.sent, 1000U);
}

// Two worker lcores burst on their own queues of the same ports while the main lcore
// runs the control path DPDK allows concurrently with the data path (stats, xstats,
// link, MAC, RSS key and RETA queries, and RETA updates that rebuild the port's RSS
// object). What a user sees: every control call succeeds and reports the configuration,
// counters never run backwards, and at the end every packet is accounted for. Under
// ThreadSanitizer (devtools/sanitize tsan) this is the race check for the counters the
// lcores write and stats_get reads. Needs three lcores: MANA_TEST_LCORES=(0-2)@(0,1).
TEST_F(EthdevTest, ThreadedControlPathRacesTheDataPath)
{
    if (mana_emu_get_mode() != MANA_EMU_THREADED || rte_lcore_count() < 3)
        GTEST_SKIP() << "needs MANA_EMU_MODE=threaded and MANA_TEST_LCORES=(0-2)@(0,1)";
    const PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_TCP, 2);
    start_ports(config, config, 4096);
    std::array<rte_eth_rss_reta_entry64, 1> reta{};
    reta[0].mask = ~0ULL;
    ASSERT_EQ(rte_eth_dev_rss_reta_query(port1_, reta.data(), 64), 0);
    const std::array<uint8_t, 6> mac = port_mac(port1_);
    const int xstats_count = rte_eth_xstats_get(port1_, nullptr, 0);
    ASSERT_GT(xstats_count, 0);

    auto work = two_queues_for(port0_, port1_, {make_pool(1024), make_pool(1024)});
    TrafficLcores lcores;
    ASSERT_TRUE(lcores.launch(work));

    uint64_t rounds = 0;
    uint64_t last_opackets = 0;
    uint64_t last_ipackets = 0;
    std::vector<rte_eth_xstat> xstats(static_cast<std::size_t>(xstats_count));
    while (!lcores.all_finished()) {
        ++rounds;
        rte_eth_stats tx{}, rx{};
        ASSERT_EQ(rte_eth_stats_get(port0_, &tx), 0);
        ASSERT_EQ(rte_eth_stats_get(port1_, &rx), 0);
        EXPECT_GE(tx.opackets, last_opackets);
        EXPECT_GE(rx.ipackets, last_ipackets);
        last_opackets = tx.opackets;
        last_ipackets = rx.ipackets;
        EXPECT_EQ(rte_eth_xstats_get(port1_, xstats.data(), xstats.size()), xstats_count);
        rte_eth_link link{};
        EXPECT_EQ(rte_eth_link_get_nowait(port0_, &link), 0);
        EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);
        EXPECT_EQ(port_mac(port1_), mac);
        const RssHashConf rss = rss_hash_conf(port1_);
        EXPECT_EQ(rss.rc, 0);
        EXPECT_EQ(rss.key, std::to_array(kDefaultRssKey));
        EXPECT_EQ(rss.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_TCP);
        std::array<rte_eth_rss_reta_entry64, 1> query{};
        query[0].mask = ~0ULL;
        EXPECT_EQ(rte_eth_dev_rss_reta_query(port1_, query.data(), 64), 0);
        EXPECT_EQ(std::memcmp(query[0].reta, reta[0].reta, sizeof(reta[0].reta)), 0);
        if (rounds % 16 == 0) {
            EXPECT_EQ(rte_eth_dev_rss_reta_update(port1_, reta.data(), 64), 0);
        }
        rte_delay_us_sleep(200);
    }
    ASSERT_TRUE(lcores.wait());
    const TrafficTotals totals = expect_every_packet_accounted(port0_, port1_, work);
    std::printf("%lu control rounds; sent %lu, received %lu, device dropped %lu (no buffer) "
                "and %lu (RSS object being rebuilt)\n",
                static_cast<unsigned long>(rounds), static_cast<unsigned long>(totals.sent),
                static_cast<unsigned long>(totals.received),
                static_cast<unsigned long>(totals.device.rx_drops_no_buffer),
                static_cast<unsigned long>(totals.device.rx_drops_other));
    EXPECT_GT(rounds, 16U);
    EXPECT_GE(totals.tx.opackets, last_opackets);
    EXPECT_GE(totals.rx.ipackets, last_ipackets);
}

} // namespace
} // namespace ethdev_test
