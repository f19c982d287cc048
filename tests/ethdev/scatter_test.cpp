/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter through rte_eth_* over the emulator: frames longer than one mbuf arrive as
// chains with the right segment lengths; frames longer than a WQE's buffers, a pool that
// runs dry between two WQEs and MTU changes lose no mbuf.
#include "ethdev_harness.h"

#include <rte_errno.h>
#include <rte_ether.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ethdev_test
{
namespace
{

constexpr uint16_t kBuffer = 2048; // data room after the headroom
constexpr std::size_t kUdpHeaders = 42;

class Scatter : public EthdevTest
{
  protected:
    // Port 0 sends (large single-mbuf frames), port 1 receives with scatter at `mtu`.
    void start_scatter_ports(uint16_t mtu, unsigned rx_mbufs = 4096, uint16_t rx_descriptors = 256)
    {
        rx_pool_ = make_pool(rx_mbufs, RTE_PKTMBUF_HEADROOM + kBuffer);
        tx_pool_ = make_pool(512, RTE_PKTMBUF_HEADROOM + 9216);
        start_port(port0_, {}, 1024);
        setup_and_start(port1_,
                        {.rx_descriptors = rx_descriptors,
                         .rx_offloads = RTE_ETH_RX_OFFLOAD_SCATTER,
                         .mtu = mtu},
                        rx_pool_);
    }

    void send_frames(const std::vector<Frame> &frames)
    {
        std::vector<rte_mbuf *> mbufs;
        for (const Frame &frame : frames) {
            mbufs.push_back(to_mbuf(tx_pool_, frame));
            ASSERT_NE(mbufs.back(), nullptr);
        }
        const auto n = static_cast<uint16_t>(mbufs.size());
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), n), n);
    }

    // Each received chain: as many segments as the frame fills buffers, every segment
    // full but the last, lengths adding up, bytes equal to what was sent.
    static void expect_chain(const rte_mbuf *mbuf, const Frame &frame)
    {
        ASSERT_EQ(mbuf->pkt_len, frame.size());
        EXPECT_EQ(mbuf->nb_segs, (frame.size() + kBuffer - 1) / kBuffer);
        std::size_t total = 0;
        uint16_t segments = 0;
        for (const rte_mbuf *s = mbuf; s != nullptr; s = s->next, ++segments) {
            if (s->next != nullptr)
                EXPECT_EQ(s->data_len, kBuffer) << "segment " << segments;
            else
                EXPECT_GT(s->data_len, 0);
            total += s->data_len;
        }
        EXPECT_EQ(segments, mbuf->nb_segs);
        EXPECT_EQ(total, frame.size());
        EXPECT_EQ(from_mbuf(mbuf), frame);
    }

    // send_frames, then everything port 1 receives must be `frames`, in order, each a
    // chain as expect_chain says; the mbufs are freed.
    void expect_chains_arrive(const std::vector<Frame> &frames)
    {
        send_frames(frames);
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), frames.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            expect_chain(got[i], frames[i]);
        free_all(got);
    }

    static Frame frame_of(uint32_t index, std::size_t bytes)
    {
        return ipv4_flow_frame(index, false, bytes - kUdpHeaders);
    }

    rte_mempool *rx_pool_ = nullptr;
    rte_mempool *tx_pool_ = nullptr;
};

TEST_F(Scatter, DevInfoAdvertisesIt)
{
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_TRUE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER);
    EXPECT_EQ(info.rx_desc_lim.nb_mtu_seg_max, 9); // 9022 bytes in 1024-byte buffers
}

TEST_F(Scatter, JumboFramesArriveAsChainsOfSmallMbufs)
{
    start_scatter_ports(9000);
    const std::vector<std::size_t> sizes = {60, 2047, 2048, 2049, 4096, 4097, 6000, 9018, 9022};
    std::vector<Frame> frames;
    uint64_t bytes = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        frames.push_back(frame_of(static_cast<uint32_t>(i), sizes[i]));
        bytes += sizes[i];
    }
    send_frames(frames);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(sizes[i]);
        expect_chain(got[i], frames[i]);
    }
    free_all(got);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, frames.size());
    EXPECT_EQ(s.ibytes, bytes);
    EXPECT_EQ(s.ierrors, 0U);
    EXPECT_EQ(s.rx_nombuf, 0U);
}

// Ring geometries whose WQEs sit differently in the WQ (its size a power of two, at least
// 4096 bytes): 5 buffers (4 basic units with the 24-byte OOB) in a WQ of exactly 32 WQEs
// stay in place; 4 buffers (3 units) land somewhere new on every lap; 3 buffers (2 units)
// stay in place in a WQ of exactly 64 and alternate between two places in one of 32.
struct RingGeometry {
    uint16_t mtu;
    uint16_t descriptors;
    uint32_t buffers; // per WQE: the MTU's frame over 2048-byte buffers
};

class ScatterLaps : public Scatter, public ::testing::WithParamInterface<RingGeometry>
{
};

TEST_P(ScatterLaps, FramesOfEverySizeOverManyLapsOfTheRingArriveWholeAndLeakNothing)
{
    const RingGeometry geometry = GetParam();
    start_scatter_ports(geometry.mtu, 1024, geometry.descriptors);
    const std::size_t longest = geometry.mtu + 18U;
    const std::vector<std::size_t> sizes = {
        60, longest, 100, std::min<std::size_t>(4097, longest), 2048, 60, longest / 2 + 1, 2049};
    uint32_t index = 0;
    const uint32_t per_round = geometry.descriptors * 3U / 4U;
    for (uint32_t round = 0; round < 40; ++round) {
        std::vector<Frame> frames;
        for (uint32_t i = 0; i < per_round; ++i, ++index)
            frames.push_back(frame_of(index, sizes[(index + round) % sizes.size()]));
        send_frames(frames);
        auto got = receive_all(port1_, 1);
        ASSERT_EQ(got.size(), frames.size()) << "round " << round;
        for (std::size_t i = 0; i < got.size(); ++i)
            expect_chain(got[i], frames[i]);
        free_all(got);
        // The ring holds exactly its WQEs' buffers, whatever the frames used.
        receive_all(port1_, 1);
        EXPECT_EQ(rte_mempool_in_use_count(rx_pool_), geometry.descriptors * geometry.buffers)
            << "round " << round;
    }
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, index);
    EXPECT_EQ(s.ierrors, 0U);
    EXPECT_EQ(s.rx_nombuf, 0U);
}

INSTANTIATE_TEST_SUITE_P(Geometries, ScatterLaps,
                         ::testing::Values(RingGeometry{9000, 32, 5}, RingGeometry{5000, 32, 3},
                                           RingGeometry{7000, 32, 4}, RingGeometry{5000, 64, 3}),
                         [](const auto &info) {
                             return std::to_string(info.param.buffers) + "BuffersPerWqe" +
                                    std::to_string(info.param.descriptors) + "Descriptors";
                         });

TEST_F(Scatter, LongerThanTheWqeIsTruncatedAndItsBuffersReused)
{
    // MTU 3000: 3018-byte frames, two 2048-byte buffers per WQE.
    start_scatter_ports(3000, 1024, 64);
    std::vector<Frame> frames;
    for (uint32_t round = 0; round < 100; ++round) { // more than the ring: buffers recycle
        frames.push_back(frame_of(round, 5000));     // does not fit 4096 bytes
        frames.push_back(frame_of(round, 3018));
        frames.push_back(frame_of(round, 100));
        if (frames.size() >= 48 || round == 99) {
            send_frames(frames);
            auto got = receive_all(port1_, 1);
            ASSERT_EQ(got.size(), frames.size() / 3 * 2);
            for (std::size_t i = 0; i < got.size(); ++i)
                expect_chain(got[i], frames[i / 2 * 3 + 1 + i % 2]);
            free_all(got);
            frames.clear();
        }
    }
    const auto s = stats(port1_);
    EXPECT_EQ(s.ierrors, 100U);
    EXPECT_EQ(s.ipackets, 200U);
}

TEST_F(Scatter, PoolRunningDryBetweenWqesLosesNothing)
{
    // 32 WQEs of 5 buffers take 160 mbufs; 42 remain: 8 more WQEs and 2 spare mbufs.
    start_scatter_ports(9000, 202, 32);
    std::vector<Frame> first;
    for (uint32_t i = 0; i < 32; ++i)
        first.push_back(frame_of(i, 9018));
    send_frames(first);
    auto held = receive_all(port1_, 1); // kept: refills find only 42 mbufs
    ASSERT_EQ(held.size(), 32U);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool_), 2U); // never a half-filled WQE
    EXPECT_GT(stats(port1_).rx_nombuf, 0U);

    std::vector<Frame> second;
    for (uint32_t i = 0; i < 16; ++i)
        second.push_back(frame_of(100 + i, 9018));
    send_frames(second);
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 8U); // the device dropped what found no buffer
    for (std::size_t i = 0; i < got.size(); ++i)
        expect_chain(got[i], second[i]);
    for (std::size_t i = 0; i < held.size(); ++i)
        expect_chain(held[i], first[i]);
    free_all(got);
    free_all(held);

    // With the mbufs back, the ring fills again and everything arrives.
    receive_all(port1_, 1);
    ASSERT_NO_FATAL_FAILURE(expect_chains_arrive(first));
}

TEST_F(Scatter, StopWithWqesLeftUnpostedAfterShortAndLongFramesReturnsEveryMbuf)
{
    // 32 WQEs of 5 buffers take 160 mbufs; 8 remain. Held short frames leave their WQEs
    // lacking only the first buffer, held long frames leave theirs lacking all five; the
    // refill can post back only 8 of them. Stopping the port must give every buffer the
    // ring still holds back once, and the port must work again after a restart.
    constexpr unsigned kMbufs = 168;
    start_scatter_ports(9000, kMbufs, 32);
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < 28; ++i)
        frames.push_back(frame_of(i, 64));
    for (uint32_t i = 28; i < 32; ++i)
        frames.push_back(frame_of(i, 9018));
    send_frames(frames);
    auto held = receive_all(port1_, 1);
    ASSERT_EQ(held.size(), frames.size());
    for (std::size_t i = 0; i < held.size(); ++i)
        expect_chain(held[i], frames[i]);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool_), 0U); // the 8 spare went into 8 WQEs
    EXPECT_GT(stats(port1_).rx_nombuf, 0U);

    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool_), kMbufs - 28U - 4U * 5U);
    free_all(held);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool_), kMbufs);

    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    ASSERT_NO_FATAL_FAILURE(expect_chains_arrive(frames));
}

TEST_F(Scatter, QueuesOfOnePortWithBuffersOfDifferentSizesEachDeliverTheirWay)
{
    // MTU 9000 with scatter: queue 0's 2048-byte buffers take 5 per WQE, queue 1's pool has
    // buffers a jumbo frame fits, so it takes one per WQE and delivers single mbufs.
    rte_mempool *large = make_pool(1024, RTE_PKTMBUF_HEADROOM + 9216);
    rx_pool_ = make_pool(2048, RTE_PKTMBUF_HEADROOM + kBuffer);
    tx_pool_ = make_pool(512, RTE_PKTMBUF_HEADROOM + 9216);
    start_port(port0_, {}, 1024);
    PortConfig config = rss_config(2, RTE_ETH_RSS_NONFRAG_IPV4_UDP);
    config.rx_offloads = RTE_ETH_RX_OFFLOAD_SCATTER;
    config.mtu = 9000;
    ASSERT_EQ(configure(port1_, config, rx_pool_), 0);
    ASSERT_EQ(
        rte_eth_rx_queue_setup(port1_, 1, config.rx_descriptors, rte_socket_id(), nullptr, large),
        0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);

    std::vector<Frame> frames;
    for (uint32_t i = 0; i < 96; ++i)
        frames.push_back(frame_of(i, i % 3 == 0 ? 64 : 9018));
    send_frames(frames);
    auto got = receive(port1_, 2);
    ASSERT_FALSE(got[0].empty());
    ASSERT_FALSE(got[1].empty());
    std::vector<Frame> arrived;
    for (const rte_mbuf *mbuf : got[0]) {
        EXPECT_EQ(mbuf->nb_segs, (mbuf->pkt_len + kBuffer - 1) / kBuffer);
        arrived.push_back(from_mbuf(mbuf));
    }
    for (const rte_mbuf *mbuf : got[1]) {
        EXPECT_EQ(mbuf->nb_segs, 1);
        EXPECT_EQ(mbuf->data_len, mbuf->pkt_len);
        arrived.push_back(from_mbuf(mbuf));
    }
    std::sort(arrived.begin(), arrived.end());
    std::sort(frames.begin(), frames.end());
    EXPECT_EQ(arrived, frames);
    free_all(got[0]);
    free_all(got[1]);
    EXPECT_EQ(stats(port1_).ierrors, 0U);

    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_mempool_avail_count(rx_pool_), 2048U);
    EXPECT_EQ(rte_mempool_avail_count(large), 1024U);
}

TEST_F(Scatter, MtuGrowsTheChainsAfterARestart)
{
    start_scatter_ports(1500); // 1518-byte frames fit one buffer: no chains yet
    // The running queue has one buffer per WQE: a larger MTU needs a restart.
    EXPECT_EQ(rte_eth_dev_set_mtu(port1_, 9000), -EBUSY);
    uint16_t mtu = 0;
    ASSERT_EQ(rte_eth_dev_get_mtu(port1_, &mtu), 0);
    EXPECT_EQ(mtu, 1500);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    ASSERT_EQ(rte_eth_dev_set_mtu(port1_, 9000), 0);
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    const std::vector<Frame> frames = {frame_of(1, 9018), frame_of(2, 64), frame_of(3, 3000)};
    ASSERT_NO_FATAL_FAILURE(expect_chains_arrive(frames));
    EXPECT_EQ(stats(port1_).ierrors, 0U);
}

} // namespace
} // namespace ethdev_test

namespace ethdev_test
{
namespace
{

// A device whose WQEs take at most 4 SGEs (MANA_EMU_CONFIG max_sge=4): the limits are
// reported, and configurations beyond them fail at setup, MTU change or tx_prepare.
using DeviceSgeLimits = EthdevTest;

TEST_F(DeviceSgeLimits, AreReportedAndEnforced)
{
    const char *config = std::getenv("MANA_EMU_CONFIG");
    if (config == nullptr || std::strstr(config, "max_sge=4") == nullptr)
        GTEST_SKIP() << "needs MANA_EMU_CONFIG with max_sge=4";
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port1_, &info), 0);
    EXPECT_EQ(info.rx_desc_lim.nb_mtu_seg_max, 4);
    EXPECT_EQ(info.tx_desc_lim.nb_seg_max, 4);
    EXPECT_TRUE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER);
    EXPECT_TRUE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO);

    rte_mempool *small = make_pool(1024, RTE_PKTMBUF_HEADROOM + kBuffer);
    rte_eth_conf conf{};
    conf.rxmode.mtu = 9000; // 9018 bytes: 5 buffers of 2048
    conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SCATTER;
    conf.txmode.offloads =
        RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    ASSERT_EQ(rte_eth_dev_configure(port1_, 1, 1, &conf), 0);
    EXPECT_EQ(rte_eth_rx_queue_setup(port1_, 0, 64, SOCKET_ID_ANY, nullptr, small), -EINVAL);
    conf.rxmode.mtu = 6000; // 3 buffers
    ASSERT_EQ(rte_eth_dev_configure(port1_, 1, 1, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port1_, 0, 64, SOCKET_ID_ANY, nullptr, small), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port1_, 0, 64, SOCKET_ID_ANY, nullptr), 0);
    EXPECT_EQ(rte_eth_dev_set_mtu(port1_, 9000), -EINVAL); // even on a stopped port
    ASSERT_EQ(rte_eth_dev_start(port1_), 0);
    uint16_t mtu = 0;
    ASSERT_EQ(rte_eth_dev_get_mtu(port1_, &mtu), 0);
    EXPECT_EQ(mtu, 6000);

    // TSO: a chain of 4 mbufs whose first also holds payload needs 5 SGEs.
    rte_mempool *tx_pool = make_pool(64);
    const Frame frame = ipv4_flow_frame(1, true, 1000);
    rte_mbuf *chain = nullptr;
    for (const auto &[from, to] : std::vector<std::pair<std::size_t, std::size_t>>{
             {0, 100}, {100, 400}, {400, 700}, {700, frame.size()}}) {
        rte_mbuf *part = to_mbuf(tx_pool, Frame(frame.begin() + static_cast<long>(from),
                                                frame.begin() + static_cast<long>(to)));
        ASSERT_NE(part, nullptr);
        if (chain == nullptr)
            chain = part;
        else
            ASSERT_EQ(rte_pktmbuf_chain(chain, part), 0);
    }
    chain->l2_len = RTE_ETHER_HDR_LEN;
    chain->l3_len = 20;
    chain->l4_len = 20;
    chain->tso_segsz = 300;
    chain->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    EXPECT_EQ(rte_eth_tx_prepare(port1_, 0, &chain, 1), 0);
    EXPECT_EQ(rte_errno, EINVAL);
    EXPECT_EQ(rte_eth_tx_burst(port1_, 0, &chain, 1), 1); // dropped, counted, freed
    EXPECT_EQ(stats(port1_).oerrors, 1U);
}

} // namespace
} // namespace ethdev_test
