/* SPDX-License-Identifier: BSD-3-Clause */
// Frames between the two ports through rte_eth_* over the emulator: byte-exact
// loopback both ways, checksum offloads completed on the wire, bad checksums flagged.
#include "ethdev_harness.h"

#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <algorithm>
#include <vector>

namespace ethdev_test
{
namespace
{

using Traffic = EthdevTest;

TEST_F(Traffic, LoopbackIsByteExactBothWays)
{
    start_ports({}, {}, 2048);
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
    PortConfig config;
    config.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM;
    config.tx_offloads =
        RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    start_ports(config, config, 2048);
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
    start_ports({}, {.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM}, 2048);
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

} // namespace
} // namespace ethdev_test
