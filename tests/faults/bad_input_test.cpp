/* SPDX-License-Identifier: BSD-3-Clause */
// Bad input at the API: each is a clear error or a counted drop, never a crash, and
// leaves nothing behind (the harness's TearDown checks pools, verbs objects and fds).
// doc/guides/bad_input.rst has the table of what each input gives.
#include "ethdev_harness.h"

#include <rte_ethdev.h>

#include <array>
#include <cerrno>

namespace ethdev_test
{
namespace
{

class BadInput : public EthdevTest
{
  protected:
    // Port 0 sends chains (MULTI_SEGS) to port 1, both on one pool.
    void start_multi_segment_pair()
    {
        start_ports({.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS}, {}, 2048);
    }
};

uint16_t unused_port_id()
{
    for (uint16_t port = 0; port < RTE_MAX_ETHPORTS; ++port)
        if (!rte_eth_dev_is_valid_port(port))
            return port;
    return RTE_MAX_ETHPORTS - 1;
}

TEST_F(BadInput, InvalidPortIdsAreRefused)
{
    const uint16_t bad = unused_port_id();
    const rte_eth_conf conf{};
    rte_mempool *pool = make_pool(512);
    EXPECT_EQ(rte_eth_dev_configure(bad, 1, 1, &conf), -ENODEV);
    EXPECT_EQ(rte_eth_rx_queue_setup(bad, 0, 256, SOCKET_ID_ANY, nullptr, pool), -ENODEV);
    EXPECT_EQ(rte_eth_tx_queue_setup(bad, 0, 256, SOCKET_ID_ANY, nullptr), -ENODEV);
    EXPECT_EQ(rte_eth_dev_start(bad), -ENODEV);
    rte_eth_stats s{};
    EXPECT_EQ(rte_eth_stats_get(bad, &s), -ENODEV);
    // An unused port's burst functions are ethdev's dummies: nothing happens.
    std::array<rte_mbuf *, 4> burst{};
    EXPECT_EQ(rte_eth_rx_burst(bad, 0, burst.data(), burst.size()), 0);
    EXPECT_EQ(rte_eth_tx_burst(bad, 0, burst.data(), 0), 0);
}

TEST_F(BadInput, InvalidQueueIdsAreRefused)
{
    rte_mempool *pool = make_pool(1024);
    const rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 1, 256, SOCKET_ID_ANY, nullptr, pool), -EINVAL);
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 1, 256, SOCKET_ID_ANY, nullptr), -EINVAL);
    // Too many queues for the device.
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    EXPECT_EQ(rte_eth_dev_configure(port0_, info.max_rx_queues + 1, 1, &conf), -EINVAL);
    EXPECT_EQ(rte_eth_dev_configure(port0_, 1, info.max_tx_queues + 1, &conf), -EINVAL);
    // Starting with a configured queue that was never set up.
    ASSERT_EQ(rte_eth_dev_configure(port0_, 2, 1, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr, pool), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr), 0);
    EXPECT_EQ(rte_eth_dev_start(port0_), -EINVAL);
    ASSERT_EQ(rte_eth_rx_queue_setup(port0_, 1, 256, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_dev_start(port0_), 0);
}

TEST_F(BadInput, DescriptorCounts)
{
    rte_mempool *pool = make_pool(2048);
    const rte_eth_conf conf{};
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    ASSERT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    // Oversized and below the minimum: refused.
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, UINT16_MAX, SOCKET_ID_ANY, nullptr, pool), -EINVAL);
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, UINT16_MAX, SOCKET_ID_ANY, nullptr), -EINVAL);
    if (info.rx_desc_lim.nb_min > 1) {
        EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 1, SOCKET_ID_ANY, nullptr, pool), -EINVAL);
        EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, 1, SOCKET_ID_ANY, nullptr), -EINVAL);
    }
    // Zero means the device's default ring size.
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 0, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, 0, SOCKET_ID_ANY, nullptr), 0);
    // Not a power of two: rounded up, and traffic flows.
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 100, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, 100, SOCKET_ID_ANY, nullptr), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    setup_and_start(port1_, {}, pool);
    for (int round = 0; round < 3; ++round) {
        std::vector<Frame> frames;
        for (uint32_t i = 0; i < 100; ++i)
            frames.push_back(ipv4_flow_frame(i, false));
        send(port0_, 0, frames);
        auto got = receive_all(port1_, 1);
        EXPECT_EQ(got.size(), frames.size()) << "round " << round;
        free_all(got);
    }
}

TEST_F(BadInput, MempoolWithBuffersTooSmallIsRefused)
{
    rte_mempool *tiny = make_pool(512, RTE_PKTMBUF_HEADROOM + 512);
    const rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr, tiny), -EINVAL);
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr, nullptr), -EINVAL);
}

TEST_F(BadInput, MempoolWithFewerMbufsThanDescriptorsStillWorks)
{
    rte_mempool *small = make_pool(48);
    start_port(port0_, {}, 2048);
    setup_and_start(port1_, {}, small); // 256 descriptors, 48 buffers: posts what it has
    uint64_t received = 0;
    for (int round = 0; round < 4; ++round) {
        std::vector<Frame> frames;
        for (uint32_t i = 0; i < 40; ++i)
            frames.push_back(ipv4_flow_frame(i, true));
        send(port0_, 0, frames);
        auto got = receive_all(port1_, 1);
        EXPECT_GT(got.size(), 0U) << "round " << round;
        received += got.size();
        free_all(got);
    }
    // Frames beyond the posted buffers are device drops, nothing else is lost.
    mana_emu_counters_t counters{};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(received + counters.rx_drops_no_buffer, 160U);
    EXPECT_EQ(stats(port1_).ipackets, received);
}

TEST_F(BadInput, UnsupportedOffloadsAndModesAreRefused)
{
    rte_mempool *pool = make_pool(1024);
    rte_eth_conf conf{};
    conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO;
    EXPECT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), -EINVAL);
    conf = {};
    conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_UDP_TSO;
    EXPECT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), -EINVAL);
    conf = {};
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_VMDQ_ONLY;
    EXPECT_LT(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    conf = {};
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_L2_PAYLOAD;
    EXPECT_EQ(rte_eth_dev_configure(port0_, 2, 1, &conf), -EINVAL);
    std::array<uint8_t, 20> short_key{};
    conf.rx_adv_conf.rss_conf.rss_hf = 0;
    conf.rx_adv_conf.rss_conf.rss_key = short_key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = short_key.size();
    EXPECT_EQ(rte_eth_dev_configure(port0_, 2, 1, &conf), -EINVAL);
    conf = {};
    conf.lpbk_mode = 1;
    EXPECT_LT(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    // Per-queue offloads the device lacks.
    conf = {};
    ASSERT_EQ(rte_eth_dev_configure(port0_, 1, 1, &conf), 0);
    rte_eth_rxconf rxconf{};
    rxconf.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO;
    EXPECT_EQ(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, &rxconf, pool), -EINVAL);
    rte_eth_txconf txconf{};
    txconf.offloads = RTE_ETH_TX_OFFLOAD_UDP_TSO;
    EXPECT_EQ(rte_eth_tx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, &txconf), -EINVAL);
    // Runtime changes that cannot apply.
    ASSERT_EQ(rte_eth_rx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr, pool), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port0_, 0, 256, SOCKET_ID_ANY, nullptr), 0);
    ASSERT_EQ(rte_eth_dev_start(port0_), 0);
    EXPECT_EQ(rte_eth_dev_set_mtu(port0_, 20000), -EINVAL);
    std::array<rte_eth_rss_reta_entry64, 2> reta{};
    EXPECT_EQ(rte_eth_dev_rss_reta_update(port0_, reta.data(), 32), -EINVAL);
    rte_eth_rss_conf rss{};
    rss.rss_key = short_key.data();
    rss.rss_key_len = short_key.size();
    // Without RSS mode ethdev refuses any hash update before the driver sees it.
    EXPECT_EQ(rte_eth_dev_rss_hash_update(port0_, &rss), -ENOTSUP);
    rte_ether_addr other{{0x02, 0, 0, 0, 0, 1}};
    EXPECT_LT(rte_eth_dev_default_mac_addr_set(port0_, &other), 0);
}

TEST_F(BadInput, NullArraysAndZeroBurstsAreHarmless)
{
    rte_mempool *pool = start_port(port0_, {}, 1024);
    EXPECT_EQ(rte_eth_rx_burst(port0_, 0, nullptr, 0), 0);
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, nullptr, 0), 0);
    std::array<rte_mbuf *, 1> one{};
    EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, one.data(), 0), 0);
    EXPECT_EQ(rte_eth_dev_configure(port0_, 1, 1, nullptr), -EINVAL);
    EXPECT_EQ(rte_eth_stats_get(port0_, nullptr), -EINVAL);
    EXPECT_EQ(rte_eth_dev_info_get(port0_, nullptr), -EINVAL);
    EXPECT_EQ(rte_eth_link_get_nowait(port0_, nullptr), -EINVAL);
    EXPECT_EQ(rte_eth_dev_rss_reta_update(port0_, nullptr, 64), -EINVAL);
    EXPECT_EQ(rte_eth_dev_rss_hash_update(port0_, nullptr), -EINVAL);
    // Bursts on a stopped port go to ethdev's dummies.
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    std::array<rte_mbuf *, 8> burst{};
    EXPECT_EQ(rte_eth_rx_burst(port0_, 0, burst.data(), burst.size()), 0);
    rte_mbuf *mbuf = to_mbuf(pool, ipv4_flow_frame(1, true));
    EXPECT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 0);
    rte_pktmbuf_free(mbuf);
}

// Packets the device cannot take are consumed, freed and counted in oerrors (tx_burst),
// or refused with rte_errno (tx_prepare).
TEST_F(BadInput, UnsendableMbufsAreDroppedAndCounted)
{
    PortConfig single_segment; // no MULTI_SEGS
    start_ports(single_segment, {}, 2048);
    rte_mempool *tx_pool = make_pool(512);
    std::vector<rte_mbuf *> bad;
    rte_mbuf *empty = rte_pktmbuf_alloc(tx_pool); // 0 bytes
    bad.push_back(empty);
    rte_mbuf *two = to_mbuf(tx_pool, Frame(60, 1)); // 2 segments without MULTI_SEGS
    ASSERT_EQ(rte_pktmbuf_chain(two, to_mbuf(tx_pool, Frame(60, 2))), 0);
    bad.push_back(two);
    rte_mbuf *zero_chain = rte_pktmbuf_alloc(tx_pool); // chained, all empty
    ASSERT_EQ(rte_pktmbuf_chain(zero_chain, rte_pktmbuf_alloc(tx_pool)), 0);
    bad.push_back(zero_chain);
    // One segment of 60 bytes whose pkt_len says 0, or more than the largest frame: the
    // packet is what pkt_len says, not what the segment holds.
    rte_mbuf *says_empty = to_mbuf(tx_pool, Frame(60, 3));
    says_empty->pkt_len = 0;
    bad.push_back(says_empty);
    rte_mbuf *says_jumbo = to_mbuf(tx_pool, Frame(60, 4));
    says_jumbo->pkt_len = 20000;
    bad.push_back(says_jumbo);
    for (rte_mbuf *m : bad) {
        rte_mbuf *one = m;
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &one, 1), 0);
        EXPECT_EQ(rte_errno, EINVAL);
    }
    // Unsupported offload request (TSO on a queue without it): tx_prepare refuses it.
    rte_mbuf *tso = to_mbuf(tx_pool, ipv4_flow_frame(1, true));
    tso->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
    tso->l2_len = 14;
    tso->l3_len = 20;
    tso->l4_len = 20;
    tso->tso_segsz = 100;
    EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &tso, 1), 0);
    EXPECT_EQ(rte_errno, ENOTSUP);
    rte_pktmbuf_free(tso);
    // A good packet between bad ones: the burst consumes all, sends the good one.
    std::vector<rte_mbuf *> burst = {
        bad[0], to_mbuf(tx_pool, ipv4_flow_frame(7, false)), bad[1], bad[2], bad[3], bad[4]};
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), burst.size()), burst.size());
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], ipv4_flow_frame(7, false));
    // Failed and spurious completions are counted, and sent mbufs freed, when a burst
    // reads the completions (stats_get itself counts only unread success completions).
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 5U);
    EXPECT_EQ(s.opackets, 1U);
    EXPECT_EQ(xstat(port0_, "tx_q0_unsendable_errors"), 5U);
    EXPECT_EQ(xstat(port0_, "tx_q0_malformed_chain_errors"), 0U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// tx_prepare refuses a chain that contradicts its first segment's nb_segs or pkt_len.
TEST_F(BadInput, ChainsThatContradictTheirSegmentCountAreRefusedByTxPrepare)
{
    start_port(port0_, {.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS}, 2048);
    rte_mempool *tx_pool = make_pool(64);
    rte_mbuf *chain = to_mbuf(tx_pool, Frame(60, 1));
    ASSERT_EQ(rte_pktmbuf_chain(chain, to_mbuf(tx_pool, Frame(60, 2))), 0);
    for (const uint16_t claimed : {uint16_t{1}, uint16_t{3}}) {
        chain->nb_segs = claimed;
        if (claimed == 1)
            chain->pkt_len = chain->data_len; // as a one-segment packet would say
        rte_mbuf *one = chain;
        rte_errno = 0;
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &one, 1), 0) << claimed << " segments claimed";
        EXPECT_EQ(rte_errno, EINVAL);
    }
    chain->nb_segs = 2;
    chain->pkt_len = 120;
    rte_mbuf *one = chain;
    EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &one, 1), 1) << "the chain as it is";
    rte_pktmbuf_free(chain);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

TEST_F(BadInput, TooManySegmentsOrTooLongWithMultiSegsAreDroppedAndCounted)
{
    start_multi_segment_pair();
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port0_, &info), 0);
    rte_mempool *tx_pool = make_pool(512);
    // One segment more than the device gathers.
    rte_mbuf *many = to_mbuf(tx_pool, Frame(20, 3));
    for (uint16_t i = 1; i <= info.tx_desc_lim.nb_seg_max; ++i)
        ASSERT_EQ(rte_pktmbuf_chain(many, to_mbuf(tx_pool, Frame(20, 4))), 0);
    // Longer than the largest frame (9000-byte MTU + headers).
    rte_mbuf *jumbo = to_mbuf(tx_pool, Frame(1500, 5));
    for (int i = 0; i < 7; ++i)
        ASSERT_EQ(rte_pktmbuf_chain(jumbo, to_mbuf(tx_pool, Frame(1500, 6))), 0);
    ASSERT_GT(jumbo->pkt_len, info.max_rx_pktlen);
    for (rte_mbuf *m : {many, jumbo}) {
        rte_mbuf *one = m;
        EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &one, 1), 0);
        EXPECT_EQ(rte_errno, EINVAL);
    }
    std::array<rte_mbuf *, 2> burst = {many, jumbo};
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), 2), 2);
    EXPECT_TRUE(receive_all(port1_, 1).empty());
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 2U);
    EXPECT_EQ(s.opackets, 0U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

// An application that skips tx_prepare gets the same chains dropped by tx_burst: each one
// freed whole (every segment back in its pool, however many nb_segs said) and counted in
// oerrors and tx_q0_malformed_chain_errors; the good packets around them are sent.
TEST_F(BadInput, ChainsThatContradictTheirHeaderAreDroppedWholeByTxBurst)
{
    start_multi_segment_pair();
    rte_mempool *tx_pool = make_pool(64);
    const auto two_segments = [&](uint8_t fill) {
        rte_mbuf *chain = to_mbuf(tx_pool, Frame(60, fill));
        EXPECT_EQ(rte_pktmbuf_chain(chain, to_mbuf(tx_pool, Frame(60, fill))), 0);
        return chain;
    };
    // A one-segment packet as its first segment says (nb_segs 1, pkt_len = data_len)
    // with a second segment hanging from next.
    rte_mbuf *says_one = two_segments(1);
    says_one->nb_segs = 1;
    says_one->pkt_len = says_one->data_len;
    rte_mbuf *says_three = two_segments(2);
    says_three->nb_segs = 3;
    rte_mbuf *says_shorter = two_segments(3);
    says_shorter->pkt_len = 100;
    rte_mbuf *says_longer = two_segments(4);
    says_longer->pkt_len = 200;
    std::vector<rte_mbuf *> burst = {
        to_mbuf(tx_pool, ipv4_flow_frame(1, false)), says_one,     says_three,
        to_mbuf(tx_pool, ipv4_flow_frame(2, false)), says_shorter, says_longer};
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), burst.size()), burst.size());
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0], ipv4_flow_frame(1, false));
    EXPECT_EQ(got[1], ipv4_flow_frame(2, false));
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 2U);
    EXPECT_EQ(s.oerrors, 4U);
    EXPECT_EQ(xstat(port0_, "tx_q0_malformed_chain_errors"), 4U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size) << "a segment was not freed";
}

// An empty segment is valid in a chain (rte_pktmbuf_trim can leave the last one so, and
// a header segment may have been emptied by rte_pktmbuf_adj): the packet goes out
// byte-exact, with or without tx_prepare.
TEST_F(BadInput, EmptySegmentsOfAChainAreSentAsNothing)
{
    start_multi_segment_pair();
    rte_mempool *tx_pool = make_pool(64);
    const Frame frame = ipv4_flow_frame(3, false);
    const auto with_empties = [&](bool empty_first) {
        const std::size_t cut = 40;
        rte_mbuf *head = empty_first ? rte_pktmbuf_alloc(tx_pool)
                                     : to_mbuf(tx_pool, Frame(frame.begin(), frame.begin() + cut));
        if (empty_first) {
            EXPECT_EQ(rte_pktmbuf_chain(
                          head, to_mbuf(tx_pool, Frame(frame.begin(), frame.begin() + cut))),
                      0);
        }
        EXPECT_EQ(rte_pktmbuf_chain(head, rte_pktmbuf_alloc(tx_pool)), 0);
        EXPECT_EQ(
            rte_pktmbuf_chain(head, to_mbuf(tx_pool, Frame(frame.begin() + cut, frame.end()))), 0);
        EXPECT_EQ(rte_pktmbuf_chain(head, rte_pktmbuf_alloc(tx_pool)), 0);
        return head;
    };
    std::vector<rte_mbuf *> burst = {with_empties(false), with_empties(true)};
    for (rte_mbuf *m : burst)
        EXPECT_EQ(m->pkt_len, frame.size());
    rte_mbuf *prepared = burst[1];
    EXPECT_EQ(rte_eth_tx_prepare(port0_, 0, &prepared, 1), 1);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), burst.size()), burst.size());
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), 2U);
    for (rte_mbuf *m : got)
        EXPECT_EQ(from_mbuf(m), frame);
    free_all(got);
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 2U);
    EXPECT_EQ(s.oerrors, 0U);
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

} // namespace
} // namespace ethdev_test
