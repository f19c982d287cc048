/* SPDX-License-Identifier: BSD-3-Clause */
// RSS through rte_eth_* over the emulator: the RX queue of every flow is the Toeplitz
// hash through the RETA, for the hash types configured; RETA and key updates while the
// port runs.
#include "ethdev_harness.h"

#include <algorithm>
#include <array>
#include <set>
#include <vector>

namespace ethdev_test
{
namespace
{

class Rss : public EthdevTest
{
  protected:
    // Port 0 sends through one queue; port 1 spreads what it gets over `queues` RX queues.
    void start_rss(uint16_t queues, uint64_t rss_hf)
    {
        start_ports({}, rss_config(queues, rss_hf), 4096);
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
    check_spread(3, false, true, true, kDefaultRssKey, round_robin(3));
}

TEST_F(Rss, QueueIsToeplitzThroughTheRetaIpv6Udp)
{
    start_rss(5, RTE_ETH_RSS_NONFRAG_IPV6_UDP);
    check_spread(5, true, false, true, kDefaultRssKey, round_robin(5));
}

TEST_F(Rss, AddressOnlyHashForIpv6)
{
    start_rss(4, RTE_ETH_RSS_IPV6);
    check_spread(4, true, true, false, kDefaultRssKey, round_robin(4));
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
    check_spread(4, false, false, true, kDefaultRssKey, reta);

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

} // namespace
} // namespace ethdev_test
