/* SPDX-License-Identifier: BSD-3-Clause */
// Probing and setting up a port through rte_eth_* over the emulator: which ports a
// function gets and their names and MACs, the devargs, dev_info and the link, the
// configurations refused, start/stop/start, and a function that is not MANA's.
#include "ethdev_harness.h"

#include <rte_dev.h>
#include <rte_ether.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace ethdev_test
{
namespace
{

std::string port_name(uint16_t port)
{
    char name[RTE_ETH_NAME_MAX_LEN];
    EXPECT_EQ(rte_eth_dev_get_name_by_port(port, name), 0);
    return name;
}

using Probe = EthdevTest;

TEST_F(Probe, OnePortPerIbPortWithNamesAndMacs)
{
    EXPECT_EQ(rte_eth_dev_count_avail(), 2U);
    EXPECT_EQ(port_name(port0_), kPort0Name);
    EXPECT_EQ(port_name(port1_), kPort1Name);
    EXPECT_EQ(port_mac(port0_), mac_of(0));
    EXPECT_EQ(port_mac(port1_), mac_of(1));
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_STREQ(info.driver_name, "net_mana");
}

TEST_F(Probe, MacDevargsSelectPorts)
{
    ASSERT_EQ(remove(), 0);
    ASSERT_EQ(probe("mac=00:15:5d:78:70:01"), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 1U);
    uint16_t port;
    EXPECT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port), 0);
    EXPECT_NE(rte_eth_dev_get_port_by_name(kPort0Name, &port), 0);

    // A MAC of no port is only warned about.
    ASSERT_EQ(remove(), 0);
    ASSERT_EQ(probe("mac=00:15:5d:78:70:00,mac=02:00:00:00:00:99"), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 1U);
    EXPECT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port), 0);

    // Both MACs: both ports.
    ASSERT_EQ(remove(), 0);
    ASSERT_EQ(probe("mac=00:15:5d:78:70:00,mac=00:15:5d:78:70:01"), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 2U);

    // No MAC matches: no port, probe fails.
    ASSERT_EQ(remove(), 0);
    EXPECT_NE(probe("mac=02:00:00:00:00:99"), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 0U);
    ASSERT_EQ(probe(""), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 2U);
}

TEST_F(Probe, MalformedDevargsFail)
{
    for (const char *bad : {"mac=00:15:5d:78:70", "mac=zz:15:5d:78:70:00", "color=blue",
                            "mac=1:2:3:4:5:6:7:8:9,mac=,"}) {
        ASSERT_EQ(remove(), 0);
        EXPECT_NE(probe(bad), 0) << bad;
        EXPECT_EQ(rte_eth_dev_count_avail(), 0U) << bad;
    }
    ASSERT_EQ(probe(""), 0);
}

using DevInfo = EthdevTest;

TEST_F(DevInfo, ReportsWhatTheDriverDoes)
{
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_EQ(info.max_rx_queues, 64);
    EXPECT_EQ(info.max_tx_queues, 256);
    EXPECT_EQ(info.rx_desc_lim.nb_max, 256);
    EXPECT_EQ(info.rx_desc_lim.nb_min, 32);
    EXPECT_EQ(info.tx_desc_lim.nb_max, 256);
    EXPECT_EQ(info.tx_desc_lim.nb_seg_max, 30);
    EXPECT_EQ(info.reta_size, 64);
    EXPECT_EQ(info.hash_key_size, 40);
    EXPECT_EQ(info.min_rx_bufsize, 1024U);
    EXPECT_EQ(info.min_mtu, RTE_ETHER_MIN_MTU);
    EXPECT_EQ(info.max_mtu, 9000);
    EXPECT_GE(info.max_rx_pktlen, 9000U + RTE_ETHER_HDR_LEN);
    EXPECT_EQ(info.default_rxportconf.ring_size, 256);
    EXPECT_EQ(info.default_txportconf.burst_size, 32);
    EXPECT_EQ(info.rx_offload_capa, RTE_ETH_RX_OFFLOAD_CHECKSUM | RTE_ETH_RX_OFFLOAD_RSS_HASH |
                                        RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_SCATTER);
    EXPECT_EQ(info.tx_offload_capa,
              RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                  RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
                  RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE |
                  RTE_ETH_TX_OFFLOAD_TCP_TSO);
    EXPECT_TRUE(info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV6_TCP);
    EXPECT_TRUE(info.flow_type_rss_offloads & RTE_ETH_RSS_IPV4);

    uint32_t ptypes[16];
    const int n = rte_eth_dev_get_supported_ptypes(port0_, RTE_PTYPE_ALL_MASK, ptypes, 16);
    EXPECT_EQ(n, 6);
}

TEST_F(DevInfo, LinkFollowsStartAndStop)
{
    start_port(port0_, {}, 1024);
    rte_eth_link link{};
    ASSERT_EQ(rte_eth_link_get_nowait(port0_, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);
    EXPECT_EQ(link.link_speed, RTE_ETH_SPEED_NUM_100G);
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_link_get_nowait(port0_, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_DOWN);
    // The MTU (a kernel netdev's property) is covered in mtu_test.cpp.
    rte_ether_addr other{{0x02, 0, 0, 0, 0, 1}};
    EXPECT_EQ(rte_eth_dev_default_mac_addr_set(port0_, &other), -ENOTSUP);
}

using Configure = EthdevTest;

TEST_F(Configure, RejectsWhatTheDeviceCannotDo)
{
    rte_mempool *pool = make_pool(1024);
    rte_eth_conf conf{};
    EXPECT_NE(rte_eth_dev_configure(port0_, 65, 1, &conf), 0);
    EXPECT_NE(rte_eth_dev_configure(port0_, 1, 257, &conf), 0);
    conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    EXPECT_NE(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    conf.rxmode.offloads = 0;
    conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_UDP_TSO;
    EXPECT_NE(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    conf.txmode.offloads = 0;
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_VMDQ_ONLY;
    EXPECT_NE(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    uint8_t short_key[20] = {};
    conf.rx_adv_conf.rss_conf.rss_key = short_key;
    conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(short_key);
    EXPECT_NE(rte_eth_dev_configure(port0_, 2, 1, &conf), 0);
    conf.rx_adv_conf.rss_conf = {};
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_L2_PAYLOAD;
    EXPECT_NE(rte_eth_dev_configure(port0_, 2, 1, &conf), 0);

    conf = {};
    ASSERT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    EXPECT_NE(rte_eth_rx_queue_setup(port0_, 0, 512, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_NE(rte_eth_rx_queue_setup(port0_, 0, 8, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_NE(rte_eth_tx_queue_setup(port0_, 0, 4096, SOCKET_ID_ANY, nullptr), 0);
    rte_mempool *tiny = make_pool(512, RTE_PKTMBUF_HEADROOM + 512);
    EXPECT_NE(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr, tiny), 0);
    // Not set up: start refuses.
    EXPECT_NE(rte_eth_dev_start(port0_), 0);
    // A descriptor count that is not a power of two is rounded up.
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 100, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, 33, SOCKET_ID_ANY, nullptr), 0);
    EXPECT_EQ(rte_eth_dev_start(port0_), 0);
}

using Lifecycle = EthdevTest;

TEST_F(Lifecycle, StartStopStartReturnsEveryMbuf)
{
    PortConfig config;
    config.rx_queues = 3;
    config.tx_queues = 5;
    config.rss = true;
    config.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6;
    rte_mempool *pool = start_ports(config, config, 4096);
    EXPECT_EQ(rte_mempool_avail_count(pool), pool->size - 6 * 256);
    for (int round = 0; round < 3; ++round) {
        ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
        ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
        EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
        ASSERT_EQ(rte_eth_dev_start(port0_), 0);
        ASSERT_EQ(rte_eth_dev_start(port1_), 0);
        const auto frames = ipv4_flow_frames(20, true);
        send(port0_, static_cast<uint16_t>(round), frames);
        auto got = receive_all(port1_, 3);
        EXPECT_EQ(got.size(), 20U);
        free_all(got);
    }
    // Reconfigure with other queue counts while stopped.
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    config.rx_queues = 2;
    config.tx_queues = 1;
    ASSERT_EQ(configure(port0_, config, pool), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
}

// Run with MANA_EMU_CONFIG giving the function a vendor_part_id that is not MANA's.
TEST(PartId, UnknownVendorPartIsRefused)
{
    const char *config = std::getenv("MANA_EMU_CONFIG");
    if (config == nullptr || std::strstr(config, "part_id=") == nullptr)
        GTEST_SKIP() << "needs MANA_EMU_CONFIG with part_id=";
    EXPECT_EQ(rte_eth_dev_count_avail(), 0U);
    EXPECT_NE(rte_eal_hotplug_add("pci", kBdf, ""), 0);
    EXPECT_EQ(rte_eth_dev_count_avail(), 0U);
    struct mana_emu_counters counters = {};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.live_objects, 0U);
}

} // namespace
} // namespace ethdev_test
