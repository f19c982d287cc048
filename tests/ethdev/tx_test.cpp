/* SPDX-License-Identifier: BSD-3-Clause */
// The TX path through rte_eth_* over the emulator: multi-segment chains, WQEs of mixed
// sizes around the ring, what the device cannot take or refuses (dropped and counted,
// no mbuf lost), a full ring, fast free, memory registration on demand, and completions
// no packet asked for.
#include "ethdev_harness.h"
#include "raw_completion.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ethdev_test
{
namespace
{

class Tx : public EthdevTest
{
  protected:
    // Port 0 sends with MULTI_SEGS (with `descriptors` TX descriptors, 0: the default),
    // port 1 receives; returns a pool of `mbufs` mbufs to build the packets in.
    rte_mempool *start_multi_segment_sender(uint16_t descriptors = 0, unsigned mbufs = 256)
    {
        PortConfig tx;
        tx.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        if (descriptors != 0)
            tx.tx_descriptors = descriptors;
        start_ports(tx, {}, 2048);
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
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0], ipv4_flow_frame(1, true));
    EXPECT_EQ(got[1], ipv4_flow_frame(2, true));
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
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0], ipv4_flow_frame(1, true));
    EXPECT_EQ(got[1], ipv4_flow_frame(2, false));
    EXPECT_EQ(got[2], ipv4_flow_frame(3, true));
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 3U);
    EXPECT_EQ(s.oerrors, 3U);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap
    EXPECT_EQ(rte_mempool_avail_count(tx_pool), tx_pool->size);
}

TEST_F(Tx, FullRingStopsTheBurstWithoutSkipping)
{
    start_ports({.tx_descriptors = 64}, {}, 2048);
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
    start_ports({}, {}, 2048);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 34, 3), 0);
    const auto frames = ipv4_flow_frames(10, true);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 7U);
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(from_mbuf(got[i]), frames[i + 3]);
    free_all(got);
    // Failed and spurious completions are counted, and sent mbufs freed, when a burst
    // reads the completions (stats_get itself counts only unread success completions).
    reap_tx(port0_);
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
    start_ports({.tx_offloads = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE}, {}, 2048);
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
    start_ports({}, {}, 2048);
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
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], frame);
    rte_eth_tx_burst(port0_, 0, nullptr, 0); // reap, detaching the external buffer
    EXPECT_EQ(stats(port0_).oerrors, 0U);
}

TEST_F(Tx, RegistrationFailureDropsAndCountsThePacket)
{
    start_ports({}, {}, 2048);
    rte_mempool *tx_pool = make_pool(64); // never registered yet
    std::array<rte_mbuf *, 2> mbufs = {to_mbuf(tx_pool, ipv4_flow_frame(1, true)),
                                       to_mbuf(tx_pool, ipv4_flow_frame(2, true))};
    // The pool's chunks and then the buffer's own segment both fail to register.
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 0, 2, ENOMEM), 0);
    // Both consumed: the first dropped, the second sent (failures are not remembered).
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, mbufs.data(), 2), 2);
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], ipv4_flow_frame(2, true));
    const auto s = stats(port0_);
    EXPECT_EQ(s.oerrors, 1U);
    EXPECT_EQ(s.opackets, 1U);
}

TEST_F(Tx, RegistrationsOfADestroyedPoolAreReleased)
{
    start_ports({}, {}, 2048);
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

TEST_F(Tx, SpuriousCompletionsAreCountedWithoutUncountingSentPackets)
{
    start_ports({.rx_queues = 0}, {}, 2048);
    const auto frames = ipv4_flow_frames(10, false);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);
    const uint32_t cq = only_cq_of(0);
    for (const auto &cqe :
         {raw_completion(32, {}), raw_completion(34, {}), raw_completion(1, {64})})
        ASSERT_EQ(mana_emu_write_cqe(cq, cqe.data()), 0);
    // Failed and spurious completions are counted, and sent mbufs freed, when a burst
    // reads the completions (stats_get itself counts only unread success completions).
    reap_tx(port0_);
    const auto s = stats(port0_);
    EXPECT_EQ(s.opackets, 10U);
    EXPECT_EQ(s.oerrors, 3U);
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 10U);
    free_all(got);
}

} // namespace
} // namespace ethdev_test
