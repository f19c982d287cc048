/* SPDX-License-Identifier: BSD-3-Clause */
// VLAN offloads through rte_eth_* over the emulator: insertion on TX, stripping on RX,
// and rte_eth_dev_set_vlan_offload switching stripping while the port is stopped.
#include "ethdev_harness.h"

namespace ethdev_test
{
namespace
{

using Vlan = EthdevTest;

TEST_F(Vlan, InsertOnTxStripOnRx)
{
    start_ports({.tx_offloads = RTE_ETH_TX_OFFLOAD_VLAN_INSERT},
                {.rx_offloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP}, 2048);
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
    start_ports({}, {}, 2048);
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
    start_ports({}, {}, 2048);
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

} // namespace
} // namespace ethdev_test
