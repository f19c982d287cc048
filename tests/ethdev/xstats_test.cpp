/* SPDX-License-Identifier: BSD-3-Clause */
// Extended statistics through rte_eth_xstats_*: names in DPDK's style, ids that agree
// between every way of asking, per-queue values that match what the emulated device saw,
// error counters by kind, and reset.
#include "ethdev_harness.h"

#include <map>
#include <set>
#include <string>

namespace ethdev_test
{
namespace
{

using Xstats = EthdevTest;

constexpr unsigned kRxPerQueue = 8;
constexpr unsigned kTxPerQueue = 20;

// name -> value, everything the port reports.
std::map<std::string, uint64_t> all_xstats(uint16_t port)
{
    EXPECT_EQ(reap_tx(port), 0);
    const int count = rte_eth_xstats_get_names(port, nullptr, 0);
    EXPECT_GT(count, 0);
    std::vector<rte_eth_xstat_name> names(static_cast<std::size_t>(count));
    std::vector<rte_eth_xstat> values(static_cast<std::size_t>(count));
    EXPECT_EQ(rte_eth_xstats_get_names(port, names.data(), count), count);
    EXPECT_EQ(rte_eth_xstats_get(port, values.data(), count), count);
    std::map<std::string, uint64_t> result;
    for (int i = 0; i < count; ++i) {
        EXPECT_EQ(values[i].id, static_cast<uint64_t>(i));
        result[names[i].name] = values[i].value;
    }
    return result;
}

mana_emu_counters_t queue_counters(unsigned emu_port, mana_emu_queue_kind kind, unsigned index)
{
    std::array<uint32_t, 64> ids{};
    const int n = mana_emu_port_queues(emu_port, kind, ids.data(), ids.size());
    EXPECT_GT(n, static_cast<int>(index));
    mana_emu_counters_t counters{};
    EXPECT_EQ(mana_emu_queue_counters(kind, ids[index], &counters), 0);
    return counters;
}

TEST_F(Xstats, NamesFollowDpdkConventionsAndIdsAgree)
{
    start_port(port0_, {.rx_queues = 2, .tx_queues = 3}, 2048);

    const int count = rte_eth_xstats_get_names(port0_, nullptr, 0);
    std::vector<rte_eth_xstat_name> names(static_cast<std::size_t>(count));
    ASSERT_EQ(rte_eth_xstats_get_names(port0_, names.data(), count), count);
    // A buffer too small gets the size it needs and nothing written.
    EXPECT_EQ(rte_eth_xstats_get(port0_, nullptr, 0), count);
    std::set<std::string> unique;
    for (const auto &name : names)
        unique.insert(name.name);
    EXPECT_EQ(unique.size(), names.size()) << "xstat names must be unique";
    for (const char *expected : {"rx_good_packets",
                                 "tx_good_bytes",
                                 "rx_q0_packets",
                                 "rx_q1_bytes",
                                 "rx_q1_errors",
                                 "rx_q0_truncated_errors",
                                 "rx_q1_mbuf_allocation_errors",
                                 "rx_q0_discarded_at_stop_errors",
                                 "rx_q0_completions",
                                 "rx_q1_doorbells",
                                 "tx_q0_packets",
                                 "tx_q2_bytes",
                                 "tx_q1_errors",
                                 "tx_q2_wqes",
                                 "tx_q0_completions",
                                 "tx_q2_cqe_suppression_permille",
                                 "tx_q1_doorbells",
                                 "tx_q0_malformed_chain_errors",
                                 "tx_q2_unregistered_memory_errors",
                                 "tx_q1_unsendable_errors",
                                 "tx_q2_discarded_at_stop_errors",
                                 "tx_q0_sa_drop_errors",
                                 "tx_q2_mtu_drop_errors",
                                 "tx_q1_invalid_oob_errors",
                                 "tx_q0_invalid_ethertype_errors",
                                 "tx_q0_header_processing_errors",
                                 "tx_q0_vf_disabled_errors",
                                 "tx_q0_vport_index_out_of_range_errors",
                                 "tx_q0_vport_disabled_errors",
                                 "tx_q2_vlan_tagging_violation_errors"})
        EXPECT_TRUE(unique.contains(expected)) << expected;
    EXPECT_FALSE(unique.contains("rx_q2_packets"));
    EXPECT_FALSE(unique.contains("tx_q3_packets"));

    // ethdev's own statistics come first; the driver's follow, per RX then per TX queue.
    uint64_t first_driver_id = 0;
    ASSERT_EQ(rte_eth_xstats_get_id_by_name(port0_, "rx_q0_packets", &first_driver_id), 0);
    EXPECT_EQ(static_cast<uint64_t>(count), first_driver_id + 2 * kRxPerQueue + 3 * kTxPerQueue);

    // By id, driver statistics only (the driver's by-id ops) and mixed with ethdev's.
    for (std::vector<uint64_t> ids :
         {std::vector<uint64_t>{first_driver_id + 20, first_driver_id, first_driver_id + 59},
          std::vector<uint64_t>{0, first_driver_id + 3, 1}}) {
        std::vector<rte_eth_xstat_name> by_id(ids.size());
        std::vector<uint64_t> values(ids.size(), ~0ULL);
        ASSERT_EQ(rte_eth_xstats_get_names_by_id(port0_, by_id.data(), ids.size(), ids.data()),
                  static_cast<int>(ids.size()));
        ASSERT_EQ(rte_eth_xstats_get_by_id(port0_, ids.data(), values.data(), ids.size()),
                  static_cast<int>(ids.size()));
        for (std::size_t i = 0; i < ids.size(); ++i) {
            EXPECT_STREQ(by_id[i].name, names[ids[i]].name);
            EXPECT_EQ(values[i], 0U) << by_id[i].name << " before any traffic";
            uint64_t id = 0;
            ASSERT_EQ(rte_eth_xstats_get_id_by_name(port0_, by_id[i].name, &id), 0);
            EXPECT_EQ(id, ids[i]);
        }
    }
    uint64_t last = first_driver_id + 2 * kRxPerQueue + 3 * kTxPerQueue - 1;
    rte_eth_xstat_name name{};
    ASSERT_EQ(rte_eth_xstats_get_names_by_id(port0_, &name, 1, &last), 1);
    EXPECT_STREQ(name.name, "tx_q2_vlan_tagging_violation_errors");
}

TEST_F(Xstats, UnknownIdsAreRefused)
{
    start_port(port0_, {}, 2048);
    const int count = rte_eth_xstats_get_names(port0_, nullptr, 0);
    uint64_t ids[] = {static_cast<uint64_t>(count) - 1, static_cast<uint64_t>(count)};
    uint64_t values[2] = {};
    rte_eth_xstat_name names[2] = {};
    EXPECT_LT(rte_eth_xstats_get_by_id(port0_, ids, values, 2), 0);
    EXPECT_LT(rte_eth_xstats_get_names_by_id(port0_, names, 2, ids), 0);
    EXPECT_EQ(rte_eth_xstats_get_by_id(port0_, ids, values, 1), 1);
}

// Every per-queue value against the queue's basic stats and what the emulated device
// counted for the same queue.
TEST_F(Xstats, PerQueueCountersMatchTheDevice)
{
    start_ports({}, {}, 4096);
    constexpr unsigned kBursts = 5;
    constexpr unsigned kPerBurst = 32;
    rte_mempool *tx_pool = make_pool(kBursts * kPerBurst + 64);
    uint64_t bytes = 0;
    for (unsigned b = 0; b < kBursts; ++b) {
        std::array<rte_mbuf *, kPerBurst> burst;
        for (unsigned i = 0; i < kPerBurst; ++i) {
            const Frame frame = ipv4_flow_frame(b * kPerBurst + i, true, 60 + i);
            bytes += frame.size();
            burst[i] = to_mbuf(tx_pool, frame);
            ASSERT_NE(burst[i], nullptr);
        }
        ASSERT_EQ(rte_eth_tx_burst(port0_, 0, burst.data(), kPerBurst), kPerBurst);
        // The device reads each doorbell before the next is rung.
        mana_emu_poll();
    }
    auto got = receive_all(port1_, 1);
    ASSERT_EQ(got.size(), kBursts * kPerBurst);
    free_all(got);

    const auto tx = all_xstats(port0_);
    const auto rx = all_xstats(port1_);
    const auto tx_stats = stats(port0_);
    const auto rx_stats = stats(port1_);
    const auto sq = queue_counters(0, MANA_EMU_QUEUE_SQ, 0);
    const auto rq = queue_counters(1, MANA_EMU_QUEUE_RQ, 0);
    mana_emu_counters_t tx_port{};
    mana_emu_counters_t rx_port{};
    ASSERT_EQ(mana_emu_port_counters(0, &tx_port), 0);
    ASSERT_EQ(mana_emu_port_counters(1, &rx_port), 0);

    EXPECT_EQ(tx.at("tx_q0_packets"), kBursts * kPerBurst);
    EXPECT_EQ(tx.at("tx_q0_packets"), tx_stats.q_opackets[0]);
    EXPECT_EQ(tx.at("tx_q0_bytes"), bytes);
    EXPECT_EQ(tx.at("tx_q0_bytes"), tx_stats.q_obytes[0]);
    EXPECT_EQ(tx.at("tx_q0_errors"), 0U);
    EXPECT_EQ(tx.at("tx_good_packets"), kBursts * kPerBurst);
    EXPECT_EQ(tx.at("tx_q0_wqes"), sq.wqes);
    EXPECT_EQ(tx.at("tx_q0_doorbells"), kBursts);
    EXPECT_EQ(tx.at("tx_q0_doorbells"), sq.doorbells);
    // Port 0 receives nothing, so every completion it got is a TX one.
    EXPECT_EQ(tx.at("tx_q0_completions"), tx_port.cqes);
    EXPECT_LT(tx.at("tx_q0_completions"), tx.at("tx_q0_wqes"));
    const uint64_t wqes = tx.at("tx_q0_wqes");
    EXPECT_EQ(tx.at("tx_q0_cqe_suppression_permille"),
              (wqes - tx.at("tx_q0_completions")) * 1000 / wqes);
    // A 256-descriptor ring asks for a completion every 32 WQEs at most.
    EXPECT_GE(tx.at("tx_q0_cqe_suppression_permille"), 900U);

    EXPECT_EQ(rx.at("rx_q0_packets"), kBursts * kPerBurst);
    EXPECT_EQ(rx.at("rx_q0_packets"), rx_stats.q_ipackets[0]);
    EXPECT_EQ(rx.at("rx_q0_bytes"), bytes);
    EXPECT_EQ(rx.at("rx_q0_bytes"), rx_stats.q_ibytes[0]);
    EXPECT_EQ(rx.at("rx_q0_errors"), 0U);
    EXPECT_EQ(rx.at("rx_q0_truncated_errors"), 0U);
    EXPECT_EQ(rx.at("rx_q0_mbuf_allocation_errors"), 0U);
    EXPECT_EQ(rx.at("rx_q0_completions"), rx_port.cqes);
    EXPECT_GT(rx.at("rx_q0_completions"), 0U);
    // Refill doorbells rung back to back reach the device as one; each one it saw was rung.
    EXPECT_GE(rx.at("rx_q0_doorbells"), rq.doorbells);
    EXPECT_GT(rq.doorbells, 0U);
}

TEST_F(Xstats, ErrorsAreCountedByKind)
{
    start_ports({}, {}, 4096);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 34, 3), 0); // MTU drop
    const auto frames = ipv4_flow_frames(10, true);
    send(port0_, 0, frames);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 41, 2), 0); // VLAN tagging violation
    send(port0_, 0, frames);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 4), 0);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 30U - 3 - 2 - 4);
    free_all(got);

    const auto tx = all_xstats(port0_);
    EXPECT_EQ(tx.at("tx_q0_mtu_drop_errors"), 3U);
    EXPECT_EQ(tx.at("tx_q0_vlan_tagging_violation_errors"), 2U);
    EXPECT_EQ(tx.at("tx_q0_sa_drop_errors"), 0U);
    EXPECT_EQ(tx.at("tx_q0_errors"), 5U);
    EXPECT_EQ(tx.at("tx_errors"), 5U);
    EXPECT_EQ(tx.at("tx_q0_packets"), 25U);
    EXPECT_EQ(tx.at("tx_q0_wqes"), 30U);
    const auto rx = all_xstats(port1_);
    EXPECT_EQ(rx.at("rx_q0_truncated_errors"), 4U);
    EXPECT_EQ(rx.at("rx_q0_errors"), 4U);
    EXPECT_EQ(rx.at("rx_q0_packets"), 21U);
}

TEST_F(Xstats, MbufAllocationFailuresAreCountedPerQueue)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool = start_port(port1_, {}, 512);
    std::vector<rte_mbuf *> hoard = take_all(rx_pool);
    send(port0_, 0, ipv4_flow_frames(100, false));
    auto got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), 100U);
    free_all(got);
    free_all(hoard);
    const auto rx = all_xstats(port1_);
    EXPECT_GT(rx.at("rx_q0_mbuf_allocation_errors"), 0U);
    EXPECT_EQ(rx.at("rx_q0_mbuf_allocation_errors"), rx.at("rx_mbuf_allocation_errors"));
}

TEST_F(Xstats, ResetClearsEveryCounter)
{
    start_ports({}, {}, 4096);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 35, 1), 0);
    ASSERT_EQ(mana_emu_fault_rx_truncated(1, 1), 0);
    const auto frames = ipv4_flow_frames(20, true);
    send(port0_, 0, frames);
    auto got = receive_all(port1_, 1);
    free_all(got);
    auto tx = all_xstats(port0_);
    EXPECT_EQ(tx.at("tx_q0_invalid_oob_errors"), 1U);
    EXPECT_GT(tx.at("tx_q0_doorbells"), 0U);
    EXPECT_GT(all_xstats(port1_).at("rx_q0_truncated_errors"), 0U);

    for (uint16_t port : {port0_, port1_}) {
        ASSERT_EQ(rte_eth_xstats_reset(port), 0);
        for (const auto &[name, value] : all_xstats(port))
            EXPECT_EQ(value, 0U) << name << " after xstats_reset";
        const auto s = stats(port);
        EXPECT_EQ(s.ipackets + s.opackets + s.ierrors + s.oerrors, 0U);
    }
    // Counting starts again from zero.
    send(port0_, 0, frames);
    got = receive_all(port1_, 1);
    EXPECT_EQ(got.size(), frames.size());
    free_all(got);
    EXPECT_EQ(all_xstats(port1_).at("rx_q0_packets"), frames.size());
    EXPECT_EQ(all_xstats(port0_).at("tx_q0_packets"), frames.size());
}

} // namespace
} // namespace ethdev_test
