/* SPDX-License-Identifier: BSD-3-Clause */
// TCP segmentation offload through rte_eth_* over the emulator: what arrives on the wire
// is, byte for byte, what a TCP sender would have sent segment by segment; packets the
// device cannot segment are refused by tx_prepare and dropped, counted and freed by
// tx_burst.
#include "ethdev_harness.h"

#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <cstring>
#include <functional>

namespace ethdev_test
{
namespace
{

constexpr uint64_t kTsoOffloads = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
                                  RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
constexpr std::size_t kL2 = sizeof(rte_ether_hdr);
constexpr std::size_t kTcp = sizeof(rte_tcp_hdr);
constexpr uint32_t kFirstSeq = 0xFFFFF000; // wraps within the larger packets
constexpr uint16_t kFirstId = 0xFFFE;      // IPv4 ids wrap too

std::size_t l3_len(bool ipv6)
{
    return ipv6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
}

std::size_t headers_len(bool ipv6)
{
    return kL2 + l3_len(ipv6) + kTcp;
}

// A TCP frame as an application holds it before TSO: one large segment with valid
// lengths and checksums, PSH and FIN set (they belong on the last wire segment only).
Frame tso_frame(bool ipv6, std::size_t payload, uint8_t fill = 0)
{
    FlowSpec flow;
    flow.ipv6 = ipv6;
    flow.tcp = true;
    flow.src =
        ipv6 ? std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
             : ipv4(192, 0, 2, 1);
    flow.dst =
        ipv6 ? std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
             : ipv4(192, 0, 2, 2);
    flow.payload = payload;
    flow.fill = fill;
    flow.zero_checksums = true;
    Frame frame = make_frame(flow, mac_of(1), mac_of(0));
    uint8_t *ip = frame.data() + kL2;
    auto *tcp = reinterpret_cast<rte_tcp_hdr *>(ip + l3_len(ipv6));
    tcp->sent_seq = rte_cpu_to_be_32(kFirstSeq);
    tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
    if (!ipv6) {
        auto *h = reinterpret_cast<rte_ipv4_hdr *>(ip);
        h->packet_id = rte_cpu_to_be_16(kFirstId);
        h->hdr_checksum = rte_ipv4_cksum(h);
        tcp->cksum = rte_ipv4_udptcp_cksum(h, tcp);
    } else {
        tcp->cksum = rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr *>(ip), tcp);
    }
    return frame;
}

// What a TCP sender puts on the wire for `frame` with this MSS, computed here from the
// protocol rules alone: lengths, IPv4 id + i, sequence + i * mss, FIN/PSH on the last
// segment only, checksums over each segment.
std::vector<Frame> expected_segments(const Frame &frame, bool ipv6, uint16_t mss)
{
    const std::size_t headers = headers_len(ipv6);
    const std::size_t payload = frame.size() - headers;
    std::vector<Frame> segments;
    // No payload: one frame, as it is.
    for (std::size_t offset = 0; offset < std::max<std::size_t>(payload, 1); offset += mss) {
        const std::size_t chunk = std::min<std::size_t>(mss, payload - offset);
        Frame segment(frame.begin(), frame.begin() + static_cast<long>(headers));
        segment.insert(segment.end(), frame.begin() + static_cast<long>(headers + offset),
                       frame.begin() + static_cast<long>(headers + offset + chunk));
        uint8_t *ip = segment.data() + kL2;
        auto *tcp = reinterpret_cast<rte_tcp_hdr *>(ip + l3_len(ipv6));
        const uint32_t index = static_cast<uint32_t>(offset / mss);
        tcp->sent_seq = rte_cpu_to_be_32(kFirstSeq + static_cast<uint32_t>(offset));
        if (offset + chunk < payload)
            tcp->tcp_flags &= static_cast<uint8_t>(~(RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG));
        tcp->cksum = 0;
        if (!ipv6) {
            auto *h = reinterpret_cast<rte_ipv4_hdr *>(ip);
            h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + kTcp + chunk));
            h->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(kFirstId + index));
            h->hdr_checksum = 0;
            h->hdr_checksum = rte_ipv4_cksum(h);
            tcp->cksum = rte_ipv4_udptcp_cksum(h, tcp);
        } else {
            auto *h = reinterpret_cast<rte_ipv6_hdr *>(ip);
            h->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(kTcp + chunk));
            tcp->cksum = rte_ipv6_udptcp_cksum(h, tcp);
        }
        segments.push_back(std::move(segment));
    }
    return segments;
}

// The frame as an mbuf chain cut at `cuts` (ascending offsets), flagged for TSO.
rte_mbuf *tso_mbuf(rte_mempool *pool, const Frame &frame, bool ipv6, uint16_t mss,
                   const std::vector<std::size_t> &cuts = {})
{
    rte_mbuf *head = nullptr;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t end = i < cuts.size() ? cuts[i] : frame.size();
        rte_mbuf *segment = to_mbuf(pool, Frame(frame.begin() + static_cast<long>(start),
                                                frame.begin() + static_cast<long>(end)));
        if (segment == nullptr)
            return nullptr;
        if (head == nullptr)
            head = segment;
        else if (rte_pktmbuf_chain(head, segment) != 0)
            return nullptr;
        start = end;
    }
    head->l2_len = kL2;
    head->l3_len = l3_len(ipv6);
    head->l4_len = kTcp;
    head->tso_segsz = mss;
    head->ol_flags = RTE_MBUF_F_TX_TCP_SEG |
                     (ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
    return head;
}

class Tso : public EthdevTest
{
  protected:
    void start_tso_ports(uint16_t rx_data_room = RTE_MBUF_DEFAULT_BUF_SIZE)
    {
        start_port(port0_, {.tx_offloads = kTsoOffloads}, 1024);
        start_port(port1_, {.rx_offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM}, 2048, rx_data_room);
        tx_pool_ = make_pool(256, RTE_PKTMBUF_HEADROOM + 24000); // whole 20000-byte payloads
    }

    // Prepares and sends the packets (all must be accepted), then returns what port 1
    // received, as frames, checking every segment's checksums were found good.
    std::vector<Frame> send_tso(std::vector<rte_mbuf *> mbufs)
    {
        const auto n = static_cast<uint16_t>(mbufs.size());
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, mbufs.data(), n), n) << rte_strerror(rte_errno);
        EXPECT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), n), n);
        auto got = receive_all(port1_, 1);
        std::vector<Frame> frames;
        for (rte_mbuf *mbuf : got) {
            EXPECT_EQ(mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
            frames.push_back(from_mbuf(mbuf));
        }
        free_all(got);
        return frames;
    }

    rte_mempool *tx_pool_ = nullptr;
};

TEST_F(Tso, DevInfoAdvertisesIt)
{
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_TRUE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO);
}

TEST_F(Tso, Ipv4AndIpv6SegmentsAreByteExact)
{
    start_tso_ports();
    std::vector<rte_mbuf *> mbufs;
    std::vector<Frame> expected;
    uint64_t bytes = 0;
    for (const bool ipv6 : {false, true}) {
        for (const auto &[payload, mss] :
             {std::pair<std::size_t, uint16_t>{3 * 1000 + 123, 1000}, {20000, 1448}}) {
            const Frame frame = tso_frame(ipv6, payload, static_cast<uint8_t>(payload));
            mbufs.push_back(tso_mbuf(tx_pool_, frame, ipv6, mss));
            ASSERT_NE(mbufs.back(), nullptr);
            bytes += frame.size();
            for (Frame &segment : expected_segments(frame, ipv6, mss))
                expected.push_back(std::move(segment));
        }
    }
    ASSERT_EQ(expected.size(), 2 * (4 + 14U));
    const auto got = send_tso(mbufs);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], expected[i]) << "segment " << i;
    // Statistics count what the application handed over; the peer counts wire frames.
    const auto sent = stats(port0_);
    EXPECT_EQ(sent.opackets, 4U);
    EXPECT_EQ(sent.obytes, bytes);
    EXPECT_EQ(sent.oerrors, 0U);
    EXPECT_EQ(stats(port1_).ipackets, expected.size());
}

TEST_F(Tso, ChainsCutAnywhereAfterTheHeaders)
{
    start_tso_ports();
    const std::size_t h4 = headers_len(false);
    const std::size_t h6 = headers_len(true);
    const std::vector<std::pair<bool, std::vector<std::size_t>>> cases = {
        {false, {h4}},                           // headers alone in the first mbuf
        {false, {h4 + 1}},                       // one payload byte with them
        {true, {h6 + 700, h6 + 701, h6 + 2000}}, // a one-byte mbuf in the middle
        {true, {h6, h6 + 1448, h6 + 2896}},      // cuts on segment boundaries
        {false, {h4 + 10, h4 + 20, h4 + 30, h4 + 40, h4 + 50, h4 + 3000, h4 + 3001}},
    };
    std::vector<rte_mbuf *> mbufs;
    std::vector<Frame> expected;
    uint8_t fill = 1;
    for (const auto &[ipv6, cuts] : cases) {
        const Frame frame = tso_frame(ipv6, 5000, fill++);
        mbufs.push_back(tso_mbuf(tx_pool_, frame, ipv6, 1448, cuts));
        ASSERT_NE(mbufs.back(), nullptr);
        ASSERT_EQ(mbufs.back()->nb_segs, cuts.size() + 1);
        for (Frame &segment : expected_segments(frame, ipv6, 1448))
            expected.push_back(std::move(segment));
    }
    const auto got = send_tso(mbufs);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], expected[i]) << "segment " << i;
}

TEST_F(Tso, MssEdgeCases)
{
    // Room for the largest segment the device sends: MSS up to 9022 - 54.
    start_tso_ports(RTE_PKTMBUF_HEADROOM + 9216);
    constexpr uint16_t kLargest = 0; // headers + MSS = the largest frame, 9022 bytes
    const std::vector<std::pair<std::size_t, uint16_t>> cases = {
        {1000, 1000},       // payload exactly one MSS: one segment
        {3000, 1000},       // exact multiple
        {1001, 1000},       // a one-byte last segment
        {500, 1448},        // MSS larger than the payload
        {64 * 5 + 7, 64},   // the smallest MSS
        {20000, kLargest},  // the largest
        {65535 - 40, 8000}, // the largest datagram
        {0, 1448},          // no payload (SYN, FIN, pure ACK): sent as it is
    };
    for (const bool ipv6 : {false, true}) {
        for (auto [payload, mss] : cases) {
            if (mss == kLargest)
                mss = static_cast<uint16_t>(9022 - headers_len(ipv6));
            SCOPED_TRACE(testing::Message()
                         << (ipv6 ? "IPv6" : "IPv4") << " payload " << payload << " mss " << mss);
            const std::size_t datagram = payload + l3_len(ipv6) + kTcp;
            const std::size_t trimmed = datagram > 65535 ? payload - (datagram - 65535) : payload;
            const Frame frame = tso_frame(ipv6, trimmed);
            // The largest datagram does not fit one mbuf: give it two.
            std::vector<std::size_t> cuts;
            if (frame.size() > 30000)
                cuts = {30000};
            rte_mempool *pool = make_pool(8, 40000);
            const auto got = send_tso({tso_mbuf(pool, frame, ipv6, mss, cuts)});
            const auto expected = expected_segments(frame, ipv6, mss);
            ASSERT_EQ(got.size(), expected.size());
            for (std::size_t i = 0; i < got.size(); ++i)
                EXPECT_EQ(got[i], expected[i]) << "segment " << i;
        }
    }
    EXPECT_EQ(stats(port0_).oerrors, 0U);
}

TEST_F(Tso, BadRequestsAreRefusedByPrepareAndDroppedAndCountedByBurst)
{
    start_tso_ports();
    const Frame v4 = tso_frame(false, 3000);
    const Frame v6 = tso_frame(true, 3000);
    struct Case {
        const char *what;
        std::function<rte_mbuf *()> make;
        int error;
    };
    auto good = [&](bool ipv6) { return tso_mbuf(tx_pool_, ipv6 ? v6 : v4, ipv6, 1000); };
    const std::vector<Case> cases = {
        {"no l2_len",
         [&] {
             auto *m = good(false);
             m->l2_len = 0;
             return m;
         },
         EINVAL},
        {"no l3_len",
         [&] {
             auto *m = good(false);
             m->l3_len = 0;
             return m;
         },
         EINVAL},
        {"no l4_len",
         [&] {
             auto *m = good(true);
             m->l4_len = 0;
             return m;
         },
         EINVAL},
        {"mss 0",
         [&] {
             auto *m = good(false);
             m->tso_segsz = 0;
             return m;
         },
         EINVAL},
        {"mss 63",
         [&] {
             auto *m = good(true);
             m->tso_segsz = 63;
             return m;
         },
         EINVAL},
        {"segments longer than the largest frame",
         [&] {
             auto *m = good(false);
             m->tso_segsz = 9022 - 54 + 1;
             return m;
         },
         EINVAL},
        {"no IP version",
         [&] {
             auto *m = good(true);
             m->ol_flags &= ~RTE_MBUF_F_TX_IPV6;
             return m;
         },
         EINVAL},
        {"IPv4 without the IP checksum request",
         [&] {
             auto *m = good(false);
             m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
             return m;
         },
         EINVAL},
        {"headers across two mbufs",
         [&] { return tso_mbuf(tx_pool_, v4, false, 1000, {headers_len(false) - 1}); }, EINVAL},
        {"more SGEs than a WQE takes",
         [&] {
             std::vector<std::size_t> cuts;
             for (std::size_t i = 1; i < 30; ++i)
                 cuts.push_back(headers_len(true) + i * 50);
             return tso_mbuf(tx_pool_, v6, true, 1000, cuts); // 30 mbufs + header SGE
         },
         EINVAL},
    };
    const unsigned before = rte_mempool_avail_count(tx_pool_);
    std::vector<rte_mbuf *> refused;
    for (const Case &c : cases) {
        rte_mbuf *m = c.make();
        ASSERT_NE(m, nullptr) << c.what;
        rte_errno = 0;
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &m, 1), 0) << c.what;
        EXPECT_EQ(rte_errno, c.error) << c.what;
        refused.push_back(m);
    }
    // Given to tx_burst anyway, each is consumed, freed and counted, and nothing is sent.
    const auto n = static_cast<uint16_t>(refused.size());
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, refused.data(), n), n);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool_), before);
    auto got = receive_all(port1_, 1);
    EXPECT_TRUE(got.empty());
    free_all(got);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, n);
    EXPECT_EQ(s.opackets, 0U);

    // Refused by tx_prepare only: the headers do not say what the lengths claim. (tx_burst
    // trusts the lengths, as it does for checksum offloads.)
    const std::vector<Case> inconsistent = {
        {"l4_len not the TCP data offset",
         [&] {
             auto *m = good(false);
             m->l4_len = 24;
             return m;
         },
         EINVAL},
        {"UDP datagram",
         [&] {
             rte_mbuf *m = to_mbuf(tx_pool_, ipv4_flow_frame(1, false, 3000));
             m->l2_len = kL2;
             m->l3_len = 20;
             m->l4_len = 20;
             m->tso_segsz = 1000;
             m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
             return m;
         },
         EINVAL},
        {"TSO with a UDP checksum request",
         [&] {
             auto *m = good(false);
             m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
             return m;
         },
         EINVAL},
    };
    for (const Case &c : inconsistent) {
        rte_mbuf *m = c.make();
        rte_errno = 0;
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &m, 1), 0) << c.what;
        EXPECT_EQ(rte_errno, c.error) << c.what;
        rte_pktmbuf_free(m);
    }

    // A port without the offload refuses TSO requests as unsupported.
    rte_mbuf *m = good(false);
    EXPECT_EQ(rte_eth_tx_prepare(port1_, 0, &m, 1), 0);
    EXPECT_EQ(rte_errno, ENOTSUP);
    rte_pktmbuf_free(m);
}

TEST_F(Tso, MixedBurstKeepsOrderAndVlanTagsEverySegment)
{
    start_port(port0_, {.tx_offloads = kTsoOffloads | RTE_ETH_TX_OFFLOAD_VLAN_INSERT}, 1024);
    start_port(port1_, {.rx_offloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP}, 2048);
    rte_mempool *pool = make_pool(64, RTE_PKTMBUF_HEADROOM + 8192);

    const Frame big = tso_frame(false, 4000, 3);
    const Frame plain = ipv4_flow_frame(7, true, 200);
    const Frame big6 = tso_frame(true, 2500, 9);
    std::vector<rte_mbuf *> mbufs = {tso_mbuf(pool, big, false, 1460), to_mbuf(pool, plain),
                                     tso_mbuf(pool, big6, true, 1440)};
    for (rte_mbuf *m : mbufs)
        ASSERT_NE(m, nullptr);
    mbufs[0]->ol_flags |= RTE_MBUF_F_TX_VLAN;
    mbufs[0]->vlan_tci = 0x2064; // PCP 1, VID 100
    ASSERT_EQ(rte_eth_tx_prepare(port0_, 0, mbufs.data(), 3), 3) << rte_strerror(rte_errno);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 3), 3);
    auto got = receive_all(port1_, 1);

    std::vector<Frame> expected = expected_segments(big, false, 1460);
    const std::size_t tagged = expected.size();
    expected.push_back(plain);
    for (Frame &segment : expected_segments(big6, true, 1440))
        expected.push_back(std::move(segment));
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(from_mbuf(got[i]), expected[i]) << "frame " << i;
        if (i < tagged) {
            EXPECT_TRUE(got[i]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) << "frame " << i;
            EXPECT_EQ(got[i]->vlan_tci, 100) << "frame " << i;
        } else {
            EXPECT_FALSE(got[i]->ol_flags & RTE_MBUF_F_RX_VLAN) << "frame " << i;
        }
    }
    free_all(got);
}

} // namespace
} // namespace ethdev_test
