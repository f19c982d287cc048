/* SPDX-License-Identifier: BSD-3-Clause */
// net_mana through rte_eth_* only, over the emulator in step mode.
#include "ethdev_harness.h"
#include "traffic_worker.h"

#include <rte_cycles.h>
#include <rte_epoll.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_net.h>
#include <rte_udp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unistd.h>

namespace ethdev_test
{
namespace
{

constexpr uint8_t kDefaultKey[40] = {
    0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2, 0x83, 0x19, 0xdb, 0x1a,
    0x3e, 0x94, 0x6b, 0x9e, 0x38, 0xd9, 0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7,
    0xd9, 0x56, 0x3d, 0x59, 0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a,
};

std::string port_name(uint16_t port)
{
    char name[RTE_ETH_NAME_MAX_LEN];
    EXPECT_EQ(rte_eth_dev_get_name_by_port(port, name), 0);
    return name;
}

std::array<uint8_t, 6> port_mac(uint16_t port)
{
    rte_ether_addr mac{};
    EXPECT_EQ(rte_eth_macaddr_get(port, &mac), 0);
    std::array<uint8_t, 6> out;
    std::memcpy(out.data(), mac.addr_bytes, 6);
    return out;
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
    rte_mempool *pool = make_pool(1024);
    setup_and_start(port0_, {}, pool);
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
    rte_mempool *pool = make_pool(4096);
    PortConfig config;
    config.rx_queues = 3;
    config.tx_queues = 5;
    config.rss = true;
    config.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6;
    setup_and_start(port0_, config, pool);
    setup_and_start(port1_, config, pool);
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

using Traffic = EthdevTest;

TEST_F(Traffic, LoopbackIsByteExactBothWays)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    for (const auto [from, to, emu_from, emu_to] :
         {std::array<uint16_t, 4>{port0_, port1_, 0, 1}, {port1_, port0_, 1, 0}}) {
        ASSERT_EQ(rte_eth_stats_reset(from), 0);
        ASSERT_EQ(rte_eth_stats_reset(to), 0);
        std::vector<Frame> frames;
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < 300; ++i) {
            FlowSpec flow;
            flow.tcp = i % 2 == 0;
            flow.src = ipv4(192, 168, 0, static_cast<uint8_t>(i));
            flow.dst = ipv4(192, 168, 1, 1);
            flow.payload = 18 + (i * 37) % 1400;
            flow.fill = static_cast<uint8_t>(i);
            frames.push_back(make_frame(flow, mac_of(emu_to), mac_of(emu_from)));
            bytes += frames.back().size();
        }
        // In chunks the 256-entry RX ring can hold.
        std::vector<rte_mbuf *> got;
        for (std::size_t at = 0; at < frames.size(); at += 100) {
            send(from, 0,
                 std::vector<Frame>(frames.begin() + static_cast<long>(at),
                                    frames.begin() +
                                        static_cast<long>(std::min(at + 100, frames.size()))));
            auto part = receive_all(to, 1);
            got.insert(got.end(), part.begin(), part.end());
        }
        EXPECT_EQ(got.size(), frames.size());
        if (got.size() != frames.size()) {
            free_all(got);
            return;
        }
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
            EXPECT_EQ(got[i]->port, to);
            EXPECT_EQ(got[i]->nb_segs, 1);
        }
        free_all(got);
        const auto tx = stats(from);
        const auto rx = stats(to);
        EXPECT_EQ(tx.opackets, frames.size());
        EXPECT_EQ(tx.obytes, bytes);
        EXPECT_EQ(tx.oerrors, 0U);
        EXPECT_EQ(rx.ipackets, frames.size());
        EXPECT_EQ(rx.ibytes, bytes);
        EXPECT_EQ(rx.q_ipackets[0], frames.size());
        EXPECT_EQ(tx.q_opackets[0], frames.size());
        EXPECT_EQ(rx.ierrors, 0U);
        EXPECT_EQ(rx.rx_nombuf, 0U);
    }
}

TEST_F(Traffic, ChecksumOffloadsAreCompletedOnTheWire)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig config;
    config.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM;
    config.tx_offloads =
        RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    setup_and_start(port0_, config, pool);
    setup_and_start(port1_, config, pool);
    rte_mempool *tx_pool = make_pool(64);
    std::vector<rte_mbuf *> mbufs;
    std::vector<bool> is_v6;
    for (int i = 0; i < 8; ++i) {
        FlowSpec flow;
        flow.ipv6 = i >= 4;
        flow.tcp = i % 2 == 0;
        flow.src =
            flow.ipv6
                ? std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0, 0, 0, static_cast<uint8_t>(i)}
                : ipv4(172, 16, 0, static_cast<uint8_t>(i));
        flow.dst = flow.ipv6 ? std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                                       0,    0,    0,    0,    0, 0, 0, 0x99}
                             : ipv4(172, 16, 1, 1);
        flow.payload = 100 + static_cast<std::size_t>(i) * 50;
        flow.zero_checksums = true;
        rte_mbuf *mbuf = to_mbuf(tx_pool, make_frame(flow, mac_of(1), mac_of(0)));
        ASSERT_NE(mbuf, nullptr);
        mbuf->l2_len = RTE_ETHER_HDR_LEN;
        mbuf->l3_len = flow.ipv6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
        mbuf->ol_flags =
            (flow.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM) |
            (flow.tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
        mbufs.push_back(mbuf);
        is_v6.push_back(flow.ipv6);
    }
    ASSERT_EQ(rte_eth_tx_prepare(port0_, 0, mbufs.data(), static_cast<uint16_t>(mbufs.size())),
              mbufs.size());
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), static_cast<uint16_t>(mbufs.size())),
              mbufs.size());
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), mbufs.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const Frame frame = from_mbuf(got[i]);
        EXPECT_TRUE(frame_checksums_valid(frame.data(), frame.size())) << "frame " << i;
        EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
        if (!is_v6[i]) {
            EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
            EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_L3_MASK, RTE_PTYPE_L3_IPV4_EXT_UNKNOWN);
        } else {
            EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_L3_MASK, RTE_PTYPE_L3_IPV6_EXT_UNKNOWN);
        }
        EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_L4_MASK,
                  i % 2 == 0 ? RTE_PTYPE_L4_TCP : RTE_PTYPE_L4_UDP);
        EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_L2_MASK, RTE_PTYPE_L2_ETHER);
    }
    free_all(got);

    // A packet asking for an offload the port does not do is refused by tx_prepare.
    rte_mbuf *sctp = to_mbuf(tx_pool, ipv4_flow_frame(1, false));
    sctp->l2_len = RTE_ETHER_HDR_LEN;
    sctp->l3_len = sizeof(rte_ipv4_hdr);
    sctp->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_SCTP_CKSUM;
    EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &sctp, 1), 0);
    EXPECT_EQ(rte_errno, ENOTSUP);
    rte_pktmbuf_free(sctp);
}

TEST_F(Traffic, BadChecksumsAreFlagged)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig config;
    config.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM;
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, config, pool);
    FlowSpec flow;
    flow.tcp = true;
    flow.src = ipv4(10, 9, 8, 7);
    flow.dst = ipv4(10, 9, 8, 6);
    flow.valid_checksums = false;
    const Frame bad = make_frame(flow, mac_of(1), mac_of(0));
    flow.valid_checksums = true;
    const Frame good = make_frame(flow, mac_of(1), mac_of(0));
    send(port0_, 0, {bad, good});
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD);
    EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
    EXPECT_EQ(got[1]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
    EXPECT_EQ(got[1]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    EXPECT_EQ(from_mbuf(got[0]), bad);
    free_all(got);
}

class Rss : public EthdevTest
{
  protected:
    // Port 0 sends through one queue; port 1 spreads what it gets over `queues` RX queues.
    void start_rss(uint16_t queues, uint64_t rss_hf)
    {
        rte_mempool *pool = make_pool(4096);
        setup_and_start(port0_, {}, pool);
        setup_and_start(port1_, rss_config(queues, rss_hf), pool);
    }

    void check_spread(uint16_t queues, bool ipv6, bool tcp, bool l4_hash, const uint8_t *key,
                      const std::array<uint16_t, 64> &reta)
    {
        std::vector<FlowSpec> flows;
        std::vector<Frame> frames;
        for (uint32_t i = 0; i < 128; ++i) {
            FlowSpec flow;
            flow.ipv6 = ipv6;
            flow.tcp = tcp;
            if (ipv6) {
                flow.src = {0xfd,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(i >> 3),
                            static_cast<uint8_t>(i * 11)};
                flow.dst = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            } else {
                flow.src = ipv4(10, static_cast<uint8_t>(i), static_cast<uint8_t>(i * 3), 1);
                flow.dst = ipv4(10, 255, 0, 1);
            }
            flow.sport = static_cast<uint16_t>(5000 + i * 7);
            flow.dport = static_cast<uint16_t>(443 + (i & 3));
            flow.fill = static_cast<uint8_t>(i);
            flows.push_back(flow);
            frames.push_back(make_frame(flow, mac_of(1), mac_of(0)));
        }
        send(port0_, 0, frames);
        auto per_queue = receive(port1_, queues);
        std::size_t total = 0;
        std::set<uint16_t> used;
        for (uint16_t q = 0; q < queues; ++q) {
            for (rte_mbuf *mbuf : per_queue[q]) {
                ++total;
                const Frame frame = from_mbuf(mbuf);
                const auto it = std::find(frames.begin(), frames.end(), frame);
                ASSERT_NE(it, frames.end());
                const FlowSpec &flow = flows[static_cast<std::size_t>(it - frames.begin())];
                const auto input = rss_input(flow, l4_hash);
                const uint32_t hash = toeplitz(key, input.data(), input.size());
                EXPECT_EQ(q, reta[hash % 64]) << "flow " << (it - frames.begin());
                EXPECT_TRUE(mbuf->ol_flags & RTE_MBUF_F_RX_RSS_HASH);
                EXPECT_EQ(mbuf->hash.rss, hash);
                used.insert(q);
            }
            free_all(per_queue[q]);
        }
        EXPECT_EQ(total, frames.size());
        std::set<uint16_t> expected(reta.begin(), reta.end());
        EXPECT_EQ(used, expected) << "128 flows should reach every queue in the RETA";
    }
};

std::array<uint16_t, 64> round_robin(uint16_t queues)
{
    std::array<uint16_t, 64> reta;
    for (uint16_t i = 0; i < 64; ++i)
        reta[i] = i % queues;
    return reta;
}

TEST_F(Rss, QueueIsToeplitzThroughTheRetaIpv4Tcp)
{
    start_rss(3, RTE_ETH_RSS_NONFRAG_IPV4_TCP);
    check_spread(3, false, true, true, kDefaultKey, round_robin(3));
}

TEST_F(Rss, QueueIsToeplitzThroughTheRetaIpv6Udp)
{
    start_rss(5, RTE_ETH_RSS_NONFRAG_IPV6_UDP);
    check_spread(5, true, false, true, kDefaultKey, round_robin(5));
}

TEST_F(Rss, AddressOnlyHashForIpv6)
{
    start_rss(4, RTE_ETH_RSS_IPV6);
    check_spread(4, true, true, false, kDefaultKey, round_robin(4));
}

TEST_F(Rss, RetaAndKeyUpdatesApplyWhileRunning)
{
    start_rss(4, RTE_ETH_RSS_NONFRAG_IPV4_UDP);

    std::array<rte_eth_rss_reta_entry64, 1> conf{};
    conf[0].mask = ~0ULL;
    std::array<uint16_t, 64> reta;
    for (uint16_t i = 0; i < 64; ++i)
        reta[i] = conf[0].reta[i] = (i % 2 == 0) ? 3 : 1;
    ASSERT_EQ(rte_eth_dev_rss_reta_update(port1_, conf.data(), 64), 0);
    std::array<rte_eth_rss_reta_entry64, 1> query{};
    query[0].mask = ~0ULL;
    ASSERT_EQ(rte_eth_dev_rss_reta_query(port1_, query.data(), 64), 0);
    for (uint16_t i = 0; i < 64; ++i)
        EXPECT_EQ(query[0].reta[i], reta[i]);
    check_spread(4, false, false, true, kDefaultKey, reta);

    uint8_t key[40];
    for (uint8_t i = 0; i < 40; ++i)
        key[i] = static_cast<uint8_t>(i * 29 + 3);
    rte_eth_rss_conf rss{};
    rss.rss_key = key;
    rss.rss_key_len = 40;
    rss.rss_hf = RTE_ETH_RSS_NONFRAG_IPV4_UDP;
    ASSERT_EQ(rte_eth_dev_rss_hash_update(port1_, &rss), 0);
    const RssHashConf got = rss_hash_conf(port1_);
    ASSERT_EQ(got.rc, 0);
    EXPECT_EQ(got.key, std::to_array(key));
    EXPECT_EQ(got.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_UDP);
    check_spread(4, false, false, true, key, reta);

    conf[0].reta[5] = 4; // no such queue
    EXPECT_NE(rte_eth_dev_rss_reta_update(port1_, conf.data(), 64), 0);
    check_spread(4, false, false, true, key, reta);
}

using Vlan = EthdevTest;

TEST_F(Vlan, InsertOnTxStripOnRx)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx;
    tx.tx_offloads = RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
    PortConfig rx;
    rx.rx_offloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    setup_and_start(port0_, tx, pool);
    setup_and_start(port1_, rx, pool);
    rte_mempool *tx_pool = make_pool(64);
    const Frame frame = ipv4_flow_frame(3, false, 200);
    rte_mbuf *mbuf = to_mbuf(tx_pool, frame);
    mbuf->ol_flags = RTE_MBUF_F_TX_VLAN;
    mbuf->vlan_tci = (5 << 13) | 100;
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 1);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), frame);
    EXPECT_EQ(got[0]->ol_flags & (RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED),
              RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
    EXPECT_EQ(got[0]->vlan_tci & 0xFFF, 100);
    free_all(got);
}

TEST_F(Vlan, TagStaysInTheFrameWithoutStrip)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    Frame frame = ipv4_flow_frame(4, true, 100);
    Frame tagged(frame.begin(), frame.begin() + 12);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x2a}; // VLAN 42, priority 0
    tagged.insert(tagged.end(), tag, tag + 4);
    tagged.insert(tagged.end(), frame.begin() + 12, frame.end());
    send(port0_, 0, {tagged});
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), tagged);
    EXPECT_FALSE(got[0]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED);
    EXPECT_EQ(got[0]->packet_type & RTE_PTYPE_L2_MASK, RTE_PTYPE_L2_ETHER_VLAN);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ibytes, tagged.size());
    free_all(got);
}

// rte_eth_dev_set_vlan_offload (testpmd's `vlan set strip`): refused while the port runs,
// so that no burst sees the setting change under it; applied to every RX queue while it is
// stopped, and what the queues report and do follows.
TEST_F(Vlan, StripSwitchedWhileStoppedAppliesAtStart)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    Frame frame = ipv4_flow_frame(5, false, 80);
    Frame tagged(frame.begin(), frame.begin() + 12);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x2a}; // VLAN 42, priority 0
    tagged.insert(tagged.end(), tag, tag + 4);
    tagged.insert(tagged.end(), frame.begin() + 12, frame.end());

    EXPECT_EQ(rte_eth_dev_set_vlan_offload(port1_, RTE_ETH_VLAN_STRIP_OFFLOAD), -EBUSY);
    EXPECT_EQ(rte_eth_dev_get_vlan_offload(port1_) & RTE_ETH_VLAN_STRIP_OFFLOAD, 0);
    for (const bool strip : {true, false}) {
        ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
        ASSERT_EQ(rte_eth_dev_set_vlan_offload(port1_, strip ? RTE_ETH_VLAN_STRIP_OFFLOAD : 0), 0);
        ASSERT_EQ(rte_eth_dev_start(port1_), 0);
        rte_eth_rxq_info info{};
        ASSERT_EQ(rte_eth_rx_queue_info_get(port1_, 0, &info), 0);
        EXPECT_EQ((info.conf.offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) != 0, strip);
        send(port0_, 0, {tagged});
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), 1U) << "strip " << strip;
        EXPECT_EQ(from_mbuf(got[0]), strip ? frame : tagged) << "strip " << strip;
        EXPECT_EQ((got[0]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0, strip);
        if (strip) {
            EXPECT_EQ(got[0]->vlan_tci, 42);
        }
        free_all(got);
    }
}

class Tx : public EthdevTest
{
  protected:
    // Port 0 sends with MULTI_SEGS (with `descriptors` TX descriptors, 0: the default),
    // port 1 receives; returns a pool of `mbufs` mbufs to build the packets in.
    rte_mempool *start_multi_segment_sender(uint16_t descriptors = 0, unsigned mbufs = 256)
    {
        rte_mempool *pool = make_pool(2048);
        PortConfig tx;
        tx.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        if (descriptors != 0)
            tx.tx_descriptors = descriptors;
        setup_and_start(port0_, tx, pool);
        setup_and_start(port1_, {}, pool);
        return make_pool(mbufs);
    }
};

TEST_F(Tx, MultiSegmentFramesArriveWhole)
{
    rte_mempool *tx_pool = start_multi_segment_sender();
    std::vector<Frame> frames;
    std::vector<rte_mbuf *> chains;
    for (uint32_t i = 0; i < 10; ++i) {
        const Frame frame = ipv4_flow_frame(i, i % 2 == 1, 300 + i * 100);
        frames.push_back(frame);
        // Split into 1 + (i % 5) + 1 segments of varied sizes.
        const std::size_t pieces = 2 + i % 5;
        rte_mbuf *head = nullptr;
        std::size_t offset = 0;
        for (std::size_t p = 0; p < pieces; ++p) {
            const std::size_t len = p + 1 == pieces
                                        ? frame.size() - offset
                                        : std::min<std::size_t>(60 + p * 13, frame.size() - offset);
            Frame part(frame.begin() + static_cast<long>(offset),
                       frame.begin() + static_cast<long>(offset + len));
            rte_mbuf *segment = to_mbuf(tx_pool, part);
            ASSERT_NE(segment, nullptr);
            if (head == nullptr)
                head = segment;
            else
                ASSERT_EQ(rte_pktmbuf_chain(head, segment), 0);
            offset += len;
        }
        chains.push_back(head);
    }
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, chains.data(), static_cast<uint16_t>(chains.size())),
              chains.size());
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
    free_all(got);
}

// After a lap of one-segment WQEs every BU of the SQ holds their header, and the
// one-segment loop stops rewriting it; a WQE of any other shape puts other words there,
// and the one-segment WQEs written over it afterwards must carry their header again.
TEST_F(Tx, OneSegmentWqesAfterOtherShapesCarryTheirHeader)
{
    rte_mempool *tx_pool = start_multi_segment_sender(64, 512);
    uint32_t next_flow = 0;
    uint64_t sent = 0;
    // `count` packets in bursts of 16, chains of `pieces` segments; all arrive intact.
    const auto send_and_check = [&](unsigned count, unsigned pieces) {
        for (unsigned done = 0; done < count; done += 16) {
            std::vector<Frame> frames;
            std::vector<rte_mbuf *> burst;
            for (unsigned i = 0; i < 16; ++i) {
                const Frame frame = ipv4_flow_frame(next_flow++, i % 2 == 0, 100 + i * 8);
                rte_mbuf *packet = to_chain(tx_pool, frame, pieces);
                ASSERT_NE(packet, nullptr);
                frames.push_back(frame);
                burst.push_back(packet);
            }
            ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), 16), 16);
            auto got = receive_all(port1_, 1);
            ASSERT_EQ(got.size(), frames.size()) << "packet " << sent;
            for (std::size_t i = 0; i < got.size(); ++i)
                EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "packet " << sent + i;
            free_all(got);
            sent += frames.size();
        }
    };
    // The SQ has more BUs than the 64 descriptors (a lap of BUs is what counts): 512
    // one-segment packets go round it whatever its size.
    send_and_check(512, 1); // laps of one-segment WQEs: their headers stay in place
    for (unsigned round = 0; round < 3; ++round) {
        send_and_check(16, 2 + round % 2); // larger WQEs over some of those BUs
        send_and_check(512, 1);
    }
    ASSERT_EQ(reap_tx(port0_), 0);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 0U);
    EXPECT_EQ(s.opackets, sent);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// WQEs of one basic unit (one-segment packets) and larger ones (chains) mixed, many
// times around a small ring, with the first WQEs the device processes in every other
// round failing: the driver must know where each in-flight WQE starts and ends to match
// error completions to packets and to reuse the ring, so every round delivers exactly
// the packets that did not fail, and nothing is lost or overwritten.
TEST_F(Tx, MixedWqeSizesAroundTheRingWithErrorsLoseNothing)
{
    rte_mempool *tx_pool = start_multi_segment_sender(64, 512);
    uint64_t failed = 0;
    uint64_t sent = 0;
    uint32_t next_flow = 0;
    for (int round = 0; round < 40; ++round) {
        const unsigned errors = round % 2 == 1 ? 2 : 0;
        if (errors != 0) {
            ASSERT_EQ(mana_emu_fault_tx_error(0, 34, errors), 0);
        }
        std::vector<Frame> frames;
        std::vector<rte_mbuf *> burst;
        // Chains of 2 to 4 segments first (the failing WQEs are large ones in some
        // rounds), then one-segment packets, then another chain.
        for (int i = 0; i < 11; ++i) {
            const Frame frame = ipv4_flow_frame(next_flow++, i % 2 == 0, 200 + i * 40);
            const unsigned pieces = i < 3 ? 2 + (round + i) % 3 : i == 10 ? 3 : 1;
            rte_mbuf *packet = to_chain(tx_pool, frame, pieces);
            ASSERT_NE(packet, nullptr);
            frames.push_back(frame);
            burst.push_back(packet);
        }
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), static_cast<uint16_t>(burst.size())),
                  burst.size())
            << "round " << round;
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), frames.size() - errors) << "round " << round;
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(from_mbuf(got[i]), frames[i + errors]) << "round " << round << " frame " << i;
        free_all(got);
        failed += errors;
        sent += frames.size() - errors;
    }
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, failed);
    EXPECT_EQ(s.opackets, sent);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

TEST_F(Tx, PacketsTheDeviceCannotTakeAreConsumedAndCounted)
{
    rte_mempool *tx_pool = start_multi_segment_sender();
    std::vector<rte_mbuf *> burst;
    burst.push_back(to_mbuf(tx_pool, ipv4_flow_frame(1, true)));
    // 31 segments: one more than the device gathers.
    rte_mbuf *chain = to_mbuf(tx_pool, Frame(20, 0xab));
    for (int i = 0; i < 30; ++i)
        ASSERT_EQ(rte_pktmbuf_chain(chain, to_mbuf(tx_pool, Frame(20, 0xcd))), 0);
    burst.push_back(chain);
    burst.push_back(to_mbuf(tx_pool, ipv4_flow_frame(2, true)));
    const unsigned before = rte_mempool_avail_count(tx_pool);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), 3), 3);
    // The oversized chain went straight back to its pool.
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), before + 31);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(1, true));
    EXPECT_EQ(from_mbuf(got[1]), ipv4_flow_frame(2, true));
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 2U);
    EXPECT_EQ(s.oerrors, 1U);
}

// A chain whose nb_segs is not its length is corrupt: sized by nb_segs, its WQE would
// miss segments or (longer than the SGE array) overrun it. tx_burst drops and counts it
// and returns every segment of it to the pool; the packets around it are sent.
TEST_F(Tx, ChainsWhoseSegmentCountLiesAreDroppedAndCounted)
{
    rte_mempool *tx_pool = start_multi_segment_sender();
    const auto chain_of = [&](unsigned segments) {
        rte_mbuf *chain = to_mbuf(tx_pool, Frame(20, 0xab));
        for (unsigned i = 1; i < segments; ++i)
            EXPECT_EQ(rte_pktmbuf_chain(chain, to_mbuf(tx_pool, Frame(20, 0xcd))), 0);
        return chain;
    };
    // 40 segments claiming 2: more than a WQE's SGE array holds.
    rte_mbuf *longer = chain_of(40);
    longer->nb_segs = 2;
    // 3 segments claiming 5.
    rte_mbuf *shorter = chain_of(3);
    shorter->nb_segs = 5;
    // 2 segments claiming 1 (a one-segment packet as far as nb_segs goes).
    rte_mbuf *single = chain_of(2);
    single->nb_segs = 1;
    std::vector<rte_mbuf *> burst = {to_mbuf(tx_pool, ipv4_flow_frame(1, true)),
                                     longer,
                                     to_mbuf(tx_pool, ipv4_flow_frame(2, false)),
                                     shorter,
                                     single,
                                     to_mbuf(tx_pool, ipv4_flow_frame(3, true))};
    const unsigned before = rte_mempool_avail_count(tx_pool);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), 6), 6);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), before + 40 + 3 + 2);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(1, true));
    EXPECT_EQ(from_mbuf(got[1]), ipv4_flow_frame(2, false));
    EXPECT_EQ(from_mbuf(got[2]), ipv4_flow_frame(3, true));
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 3U);
    EXPECT_EQ(s.oerrors, 3U);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

TEST_F(Tx, FullRingStopsTheBurstWithoutSkipping)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx;
    tx.tx_descriptors = 64;
    setup_and_start(port0_, tx, pool);
    setup_and_start(port1_, {}, pool);
    rte_mempool *tx_pool = make_pool(512);
    std::vector<rte_mbuf *> mbufs;
    for (uint32_t i = 0; i < 100; ++i)
        mbufs.push_back(to_mbuf(tx_pool, ipv4_flow_frame(i, false)));
    const uint16_t first = rte_eth_tx_burst(port0_, 0, mbufs.data(), 100);
    EXPECT_EQ(first, 64);
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data() + first, 100 - first), 0);
    mana_emu_poll();
    auto got = receive_all(port1_, 1);
    const uint16_t second = rte_eth_tx_burst(port0_, 0, mbufs.data() + first, 100 - first);
    EXPECT_EQ(second, 100 - first);
    mana_emu_poll();
    auto more = receive_all(port1_, 1);
    got.insert(got.end(), more.begin(), more.end());
    ASSERT_EQ(got.size(), 100U);
    for (uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(from_mbuf(got[i]), ipv4_flow_frame(i, false)) << "order broken at " << i;
    free_all(got);
}

TEST_F(Tx, ErrorCompletionsAreCountedAndNoMbufIsLost)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 34, 3), 0);
    const auto frames = ipv4_flow_frames(10, true);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 7U);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i + 3]);
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 3U);
    EXPECT_EQ(s.opackets, 7U);
    // Another burst after the errors still flows.
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);
    struct mana_emu_counters counters = {};
    mana_emu_counters(&counters);
    EXPECT_EQ(counters.tx_errors, 3U);
}

TEST_F(Tx, FastFreeReturnsMbufsToTheirPool)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx;
    tx.tx_offloads = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    setup_and_start(port0_, tx, pool);
    setup_and_start(port1_, {}, pool);
    rte_mempool *tx_pool = make_pool(300);
    for (int round = 0; round < 3; ++round) {
        std::vector<rte_mbuf *> mbufs;
        for (uint32_t i = 0; i < 200; ++i)
            mbufs.push_back(to_mbuf(tx_pool, ipv4_flow_frame(i, true)));
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 200), 200);
        auto got = receive_all(port1_, 1);
        EXPECT_EQ(got.size(), 200U);
        free_all(got);
        rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap
        EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
    }
}

TEST_F(Tx, ExternalBuffersAreRegisteredOnDemand)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    rte_mempool *tx_pool = make_pool(64);
    // Application memory outside DPDK, attached as external buffers.
    std::vector<uint8_t> heap(3 * 4096 + 100);
    const Frame frame = ipv4_flow_frame(9, false, 500);
    uint8_t *buffer = heap.data() + 4000; // straddles a page boundary
    std::memcpy(buffer, frame.data(), frame.size());
    rte_mbuf_ext_shared_info shinfo{};
    shinfo.free_cb = [](void *, void *) {};
    rte_mbuf_ext_refcnt_set(&shinfo, 1);
    rte_mbuf *mbuf = rte_pktmbuf_alloc(tx_pool);
    rte_pktmbuf_attach_extbuf(mbuf, buffer, reinterpret_cast<rte_iova_t>(buffer),
                              static_cast<uint16_t>(frame.size()), &shinfo);
    mbuf->data_len = static_cast<uint16_t>(frame.size());
    mbuf->pkt_len = static_cast<uint32_t>(frame.size());
    mbuf->data_off = 0;
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 1);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), frame);
    free_all(got);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap, detaching the external buffer
    EXPECT_EQ(stats(port0_).oerrors, 0U);
}

TEST_F(Tx, RegistrationFailureDropsAndCountsThePacket)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    rte_mempool *tx_pool = make_pool(64); // never registered yet
    std::array<rte_mbuf *, 2> mbufs = {to_mbuf(tx_pool, ipv4_flow_frame(1, true)),
                                       to_mbuf(tx_pool, ipv4_flow_frame(2, true))};
    // The pool's chunks and then the buffer's own segment both fail to register.
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 0, 2, ENOMEM), 0);
    // Both consumed: the first dropped, the second sent (failures are not remembered).
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 2), 2);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(2, true));
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 1U);
    EXPECT_EQ(s.opackets, 1U);
}

TEST_F(Tx, RegistrationsOfADestroyedPoolAreReleased)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    for (int round = 0; round < 3; ++round) {
        // Not through make_pool: this one is destroyed while the port runs.
        rte_mempool *transient = rte_pktmbuf_pool_create("transient", 128, 0, 0,
                                                         RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        ASSERT_NE(transient, nullptr);
        struct mana_emu_counters before = {};
        mana_emu_counters(&before);
        rte_mbuf *mbuf = to_mbuf(transient, ipv4_flow_frame(static_cast<uint32_t>(round), true));
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 1);
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), 1U);
        free_all(got);
        rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap: the mbuf is back in its pool
        struct mana_emu_counters registered = {};
        mana_emu_counters(&registered);
        EXPECT_GT(registered.live_objects, before.live_objects) << "pool registered on demand";
        rte_mempool_free(transient);
        struct mana_emu_counters after = {};
        mana_emu_counters(&after);
        EXPECT_EQ(after.live_objects, before.live_objects) << "MRs of the destroyed pool kept";
    }
}

using Rx = EthdevTest;

TEST_F(Rx, PoolExhaustionIsCountedAndRecovers)
{
    rte_mempool *tx_side = make_pool(2048);
    setup_and_start(port0_, {}, tx_side);
    rte_mempool *rx_pool = make_pool(512);
    setup_and_start(port1_, {}, rx_pool);
    // Take every spare mbuf so refills fail.
    std::vector<rte_mbuf *> hoard = take_all(rx_pool);
    const auto frames = ipv4_flow_frames(200, false);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 200U);
    auto s = stats(port1_);
    EXPECT_GT(s.rx_nombuf, 0U);
    // Only 56 buffers are posted now: most of the next 100 frames are dropped.
    send(port0_, 0, std::vector<Frame>(frames.begin(), frames.begin() + 100));
    auto partial = receive_all(port1_, 1);
    EXPECT_EQ(partial.size(), 56U);
    free_all(partial);
    free_all(got);
    free_all(hoard);
    // The pool is back: the next burst refills the ring and traffic flows again.
    auto none = receive_all(port1_, 1);
    EXPECT_TRUE(none.empty());
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 200U);
    free_all(got);
}

TEST_F(Rx, SmallBurstsSplitCompletionsInOrder)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < 23; ++i)
        frames.push_back(ipv4_flow_frame(i, i % 3 == 0, 40 + i));
    send(port0_, 0, frames);
    // Bursts of 1 and 3 end in the middle of coalesced completions (up to 4 packets).
    std::vector<rte_mbuf *> got;
    for (uint16_t max : {1, 3, 1, 3, 3, 1, 3, 3, 3, 3, 3, 3}) {
        std::array<rte_mbuf *, 3> burst;
        const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), max);
        EXPECT_LE(n, max);
        got.insert(got.end(), burst.begin(), burst.begin() + n);
    }
    auto rest = receive_all(port1_, 1);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i]) << "frame " << i;
    free_all(got);
    EXPECT_EQ(stats(port1_).ipackets, frames.size());
    const char *config = std::getenv("MANA_EMU_CONFIG");
    if (config != nullptr && std::strstr(config, "coalesce=1") != nullptr) {
        struct mana_emu_counters counters = {};
        ASSERT_EQ(mana_emu_counters(&counters), 0);
        // One TX completion (CQE suppression) and fewer RX CQEs than packets (packets
        // with the same flags share a CQE).
        EXPECT_LT(counters.cqes, frames.size()) << "the emulator did not coalesce";
    }
}

TEST_F(Rx, InterruptWakesTheLcoreOnArrival)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig rx;
    rx.rx_queues = 2;
    rx.rx_interrupts = true;
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, rx, pool);
    for (uint16_t q = 0; q < 2; ++q) {
        ASSERT_EQ(rte_eth_dev_rx_intr_ctl_q(port1_, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
                                            reinterpret_cast<void *>(uintptr_t{q})),
                  0);
        ASSERT_EQ(rte_eth_dev_rx_intr_enable(port1_, q), 0);
    }
    rte_epoll_event events[2];
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 0), 0) << "woken with nothing";
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    const int woken = rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 1000);
    ASSERT_EQ(woken, 1);
    EXPECT_EQ(events[0].epdata.data, reinterpret_cast<void *>(uintptr_t{0}));
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(port1_, 0), 0);
    auto got = receive_all(port1_, 2);
    ASSERT_EQ(got.size(), 1U);
    free_all(got);
    // Drained: no further wake-up until re-armed and a new packet comes.
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 0), 0);
    ASSERT_EQ(rte_eth_dev_rx_intr_enable(port1_, 0), 0);
    send(port0_, 0, {ipv4_flow_frame(2, true)});
    EXPECT_EQ(rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, 2, 1000), 1);
    ASSERT_EQ(rte_eth_dev_rx_intr_disable(port1_, 0), 0);
    got = receive_all(port1_, 2);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);
    for (uint16_t q = 0; q < 2; ++q)
        EXPECT_EQ(
            rte_eth_dev_rx_intr_ctl_q(port1_, q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr),
            0);
}

TEST_F(Rx, InterruptsNeedTheConfiguration)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port1_, {}, pool);
    EXPECT_NE(rte_eth_dev_rx_intr_enable(port1_, 0), 0);
}

// A raw completion for queue `cq_id`: RX type with the given packet lengths, or any type.
std::array<uint8_t, 64> raw_completion(unsigned type, std::initializer_list<uint16_t> lengths)
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

uint32_t only_cq_of(unsigned emu_port)
{
    std::array<uint32_t, 8> ids{};
    EXPECT_EQ(mana_emu_port_queues(emu_port, MANA_EMU_QUEUE_CQ, ids.data(), ids.size()), 1);
    return ids[0];
}

TEST_F(Rx, CorruptCompletionsAreCountedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    PortConfig rx_only;
    rx_only.tx_queues = 0;
    setup_and_start(port1_, rx_only, pool);
    const uint32_t cq = only_cq_of(1);
    // Longer than any buffer; no packet at all; a type RX queues never get.
    for (const auto &cqe : {raw_completion(1, {0xffff}), raw_completion(2, {100, 60000}),
                            raw_completion(1, {0}), raw_completion(33, {64})})
        ASSERT_EQ(mana_emu_write_cqe(cq, cqe.data()), 0);
    std::array<rte_mbuf *, 8> burst;
    const uint16_t n = rte_eth_rx_burst(port1_, 0, burst.data(), burst.size());
    ASSERT_EQ(n, 1); // only the 100-byte packet of the coalesced CQE
    EXPECT_EQ(burst[0]->data_len, 100);
    rte_pktmbuf_free(burst[0]);
    EXPECT_EQ(stats(port1_).ierrors, 4U);
    // Restarted, the ring matches the device again and traffic flows.
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(1, true));
    free_all(got);
}

TEST_F(Tx, SpuriousCompletionsAreCountedWithoutUncountingSentPackets)
{
    rte_mempool *pool = make_pool(2048);
    PortConfig tx_only;
    tx_only.rx_queues = 0;
    setup_and_start(port0_, tx_only, pool);
    setup_and_start(port1_, {}, pool);
    const auto frames = ipv4_flow_frames(10, false);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);
    const uint32_t cq = only_cq_of(0);
    for (const auto &cqe :
         {raw_completion(32, {}), raw_completion(34, {}), raw_completion(1, {64})})
        ASSERT_EQ(mana_emu_write_cqe(cq, cqe.data()), 0);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 10U);
    EXPECT_EQ(s.oerrors, 3U);
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);
}

TEST_F(Rx, TruncatedFramesAreCountedAndTheirBuffersReused)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 2), 0);
    const auto frames = ipv4_flow_frames(5, true);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(from_mbuf(got[0]), frames[2]);
    free_all(got);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ierrors, 2U);
    EXPECT_EQ(s.ipackets, 3U);
    EXPECT_EQ(s.rx_nombuf, 0U);
}

TEST_F(Rx, OversizedFrameIsTruncatedNotDelivered)
{
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    rte_mempool *small = make_pool(512, RTE_PKTMBUF_HEADROOM + 1024);
    setup_and_start(port1_, {}, small);
    // Larger than the 1024-byte buffers of the RX pool.
    send(port0_, 0, {ipv4_flow_frame(1, false, 1400), ipv4_flow_frame(2, false, 100)});
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(from_mbuf(got[0]), ipv4_flow_frame(2, false, 100));
    free_all(got);
    EXPECT_EQ(stats(port1_).ierrors, 1U);
}

} // namespace
} // namespace ethdev_test

namespace ethdev_test
{
namespace
{

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

namespace ethdev_test
{
namespace
{

// Hot removal of the VF: every port gets RTE_ETH_EVENT_INTR_RMV from the interrupt
// thread, and closing afterwards still releases everything. Run alone
// (MANA_TEST_REMOVAL=1): the function does not come back in this process.
class Removal : public EthdevTest
{
  protected:
    static int on_event(uint16_t port, rte_eth_event_type type, void *arg, void *)
    {
        if (type == RTE_ETH_EVENT_INTR_RMV)
            static_cast<std::atomic<uint32_t> *>(arg)->fetch_or(1U << port);
        return 0;
    }
};

TEST_F(Removal, HotRemoveRaisesRmvOnEveryPort)
{
    if (std::getenv("MANA_TEST_REMOVAL") == nullptr)
        GTEST_SKIP() << "run with MANA_TEST_REMOVAL=1 in a process of its own";
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_TRUE(*info.dev_flags & RTE_ETH_DEV_INTR_RMV);
    rte_mempool *pool = make_pool(2048);
    setup_and_start(port0_, {}, pool);
    setup_and_start(port1_, {}, pool);
    std::atomic<uint32_t> removed{0};
    for (uint16_t port : {port0_, port1_})
        ASSERT_EQ(rte_eth_dev_callback_register(port, RTE_ETH_EVENT_INTR_RMV, on_event, &removed),
                  0);
    send(port0_, 0, {ipv4_flow_frame(1, true)});
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 1U);
    free_all(got);

    ASSERT_EQ(mana_emu_remove_device(kBdf), 0);
    const uint32_t both = (1U << port0_) | (1U << port1_);
    for (int i = 0; i < 200 && removed.load() != both; ++i)
        usleep(10000);
    EXPECT_EQ(removed.load(), both);
    for (uint16_t port : {port0_, port1_})
        EXPECT_EQ(rte_eth_dev_callback_unregister(port, RTE_ETH_EVENT_INTR_RMV, on_event, &removed),
                  0);
    // The data path stops cleanly: nothing received, nothing taken for sending.
    std::array<rte_mbuf *, 8> burst;
    EXPECT_EQ(rte_eth_rx_burst(port1_, 0, burst.data(), burst.size()), 0);
    rte_mempool *tx_pool = make_pool(64);
    rte_mbuf *mbuf = to_mbuf(tx_pool, ipv4_flow_frame(2, true));
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 0);
    rte_pktmbuf_free(mbuf);
}

} // namespace
} // namespace ethdev_test

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
    rte_mempool *pool = make_pool(4096);
    const PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_TCP, 2);
    setup_and_start(port0_, config, pool);
    setup_and_start(port1_, config, pool);
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
    rte_mempool *pool = make_pool(4096);
    const PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_TCP, 2);
    setup_and_start(port0_, config, pool);
    setup_and_start(port1_, config, pool);
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
        EXPECT_EQ(rss.key, std::to_array(kDefaultKey));
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
