/* SPDX-License-Identifier: BSD-3-Clause */
// What a secondary process may ask of a port beyond bursts: the read-only ops over the
// primary's shared state (extended statistics, queue information, burst modes) and the
// queue-level fast-path queries (RX queue count, RX/TX descriptor status, TX done
// cleanup). Roles (argv[1]):
//   ops              primary: sets the ports up, leaves frames waiting in port 1's RX
//                    queue, runs `ops_secondary`, then checks what it did (statistics
//                    reset, frames received)
//   ops_secondary    the secondary: asks, compares with what the primary set up, and
//                    checks that ops creating or destroying device objects are refused
#include "mp_harness.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

using namespace mp_test;

namespace
{

// Frames the primary leaves in port 1's RX queue for the secondary to count.
constexpr uint32_t kWaiting = 5;
// Frames exchanged first, so the statistics are not all zero.
constexpr uint32_t kExchanged = 24;

int64_t xstat(uint16_t port, const char *name)
{
    uint64_t id = 0;
    if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0) {
        fail("no extended statistic %s on port %u", name, port);
        return -1;
    }
    uint64_t value = 0;
    if (rte_eth_xstats_get_by_id(port, &id, &value, 1) != 1) {
        fail("xstats_get_by_id(%s) on port %u", name, port);
        return -1;
    }
    return static_cast<int64_t>(value);
}

// Sends frames from port `from` without receiving them, until port `to` counts them
// waiting in its RX queue 0.
void leave_waiting(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count)
{
    std::vector<rte_mbuf *> frames;
    for (uint32_t i = 0; i < count; ++i)
        frames.push_back(make_frame(pool, from, to, first + i));
    CHECK(rte_eth_tx_burst(from, 0, frames.data(), count) == count, "tx_burst of %u frames", count);
    const auto deadline = std::chrono::steady_clock::now() + kDeliveryLimit;
    while (rte_eth_rx_queue_count(to, 0) < static_cast<int>(count) && before(deadline))
        usleep(100);
    reap_completions(from);
    CHECK(rte_eth_rx_queue_count(to, 0) == static_cast<int>(count),
          "primary: %d frames waiting on port %u, want %u", rte_eth_rx_queue_count(to, 0), to,
          count);
}

int ops()
{
    const Ports ports = attach(false);
    const auto [p0, p1] = ports;
    rte_mempool *pool = setup_ports(ports);
    exchange(pool, p0, p1, 0, kExchanged);
    leave_waiting(pool, p0, p1, kExchanged, kWaiting);
    CHECK(xstat(p1, "rx_q0_packets") == kExchanged, "primary: rx_q0_packets before");

    run_secondary("ops_secondary");

    // The secondary reset the statistics, then received the waiting frames.
    CHECK(xstat(p1, "rx_q0_packets") == kWaiting, "primary: rx_q0_packets %lld after, want %u",
          static_cast<long long>(xstat(p1, "rx_q0_packets")), kWaiting);
    CHECK(xstat(p0, "tx_q0_packets") == 0, "primary: tx_q0_packets %lld after the reset",
          static_cast<long long>(xstat(p0, "tx_q0_packets")));
    CHECK(rte_eth_rx_queue_count(p1, 0) == 0, "primary: %d frames still waiting",
          rte_eth_rx_queue_count(p1, 0));
    // The queue ops the secondary was refused changed nothing.
    rte_eth_rxq_info info{};
    CHECK(rte_eth_rx_queue_info_get(p1, 0, &info) == 0 &&
              info.queue_state == RTE_ETH_QUEUE_STATE_STARTED,
          "primary: RX queue 0 of port %u is not running any more", p1);
    exchange(pool, p0, p1, kExchanged + kWaiting, 8);

    stop_close_and_check(ports, pool, {kPrimaryPool});
    return finish("ops: a secondary reads extended statistics, queue information and "
                  "descriptor status");
}

void check_xstats_names(uint16_t port)
{
    const int count = rte_eth_xstats_get_names(port, nullptr, 0);
    CHECK(count > 0, "xstats_get_names count %d on port %u", count, port);
    if (count <= 0)
        return;
    std::vector<rte_eth_xstat_name> names(static_cast<std::size_t>(count));
    std::vector<rte_eth_xstat> values(static_cast<std::size_t>(count));
    CHECK(rte_eth_xstats_get_names(port, names.data(), count) == count, "xstats_get_names");
    CHECK(rte_eth_xstats_get(port, values.data(), count) == count, "xstats_get");
    bool rx = false;
    bool tx = false;
    for (const auto &name : names) {
        rx |= std::strcmp(name.name, "rx_q0_doorbells") == 0;
        tx |= std::strcmp(name.name, "tx_q0_cqe_suppression_permille") == 0;
    }
    CHECK(rx && tx, "the driver's per-queue statistics are missing on port %u", port);
    // Names by id name what xstats_get_id_by_name found.
    uint64_t id = 0;
    CHECK(rte_eth_xstats_get_id_by_name(port, "tx_q0_wqes", &id) == 0, "id of tx_q0_wqes");
    rte_eth_xstat_name by_id{};
    CHECK(rte_eth_xstats_get_names_by_id(port, &by_id, 1, &id) == 1 &&
              std::strcmp(by_id.name, "tx_q0_wqes") == 0,
          "xstats_get_names_by_id gave %s", by_id.name);
}

void check_queue_info(uint16_t port, rte_mempool *primary_pool)
{
    rte_eth_rxq_info rx{};
    CHECK(rte_eth_rx_queue_info_get(port, 0, &rx) == 0, "rx_queue_info_get on port %u", port);
    CHECK(rx.mp == primary_pool, "RX queue 0 reports mempool %p, the primary gave %p",
          static_cast<void *>(rx.mp), static_cast<void *>(primary_pool));
    CHECK(rx.nb_desc == kDescriptors, "RX queue has %u descriptors", rx.nb_desc);
    CHECK(rx.queue_state == RTE_ETH_QUEUE_STATE_STARTED, "RX queue state %u", rx.queue_state);
    rte_eth_txq_info tx{};
    CHECK(rte_eth_tx_queue_info_get(port, 0, &tx) == 0, "tx_queue_info_get on port %u", port);
    CHECK(tx.nb_desc == kDescriptors, "TX queue has %u descriptors", tx.nb_desc);
    CHECK(tx.conf.tx_rs_thresh > 0, "TX queue reports no completion interval");
    rte_eth_burst_mode mode{};
    CHECK(rte_eth_rx_burst_mode_get(port, 0, &mode) == 0 &&
              std::strncmp(mode.info, "Scalar", 6) == 0,
          "rx_burst_mode_get: %s", mode.info);
    mode = {};
    CHECK(rte_eth_tx_burst_mode_get(port, 0, &mode) == 0 &&
              std::strncmp(mode.info, "Scalar", 6) == 0,
          "tx_burst_mode_get: %s", mode.info);
    // A queue the port does not have.
    CHECK(rte_eth_rx_queue_info_get(port, 1, &rx) == -EINVAL, "info of RX queue 1");
}

int ops_secondary()
{
    const Ports ports = attach(true);
    const auto [p0, p1] = ports;
    rte_mempool *primary_pool = rte_mempool_lookup(kPrimaryPool);
    CHECK(primary_pool != nullptr, "the primary's pool is not visible");

    check_xstats_names(p1);
    check_queue_info(p0, primary_pool);
    check_queue_info(p1, primary_pool);
    CHECK(xstat(p1, "rx_q0_packets") == kExchanged, "secondary: rx_q0_packets %lld, want %u",
          static_cast<long long>(xstat(p1, "rx_q0_packets")), kExchanged);
    CHECK(xstat(p0, "tx_q0_packets") == kExchanged + kWaiting,
          "secondary: tx_q0_packets %lld, want %u",
          static_cast<long long>(xstat(p0, "tx_q0_packets")), kExchanged + kWaiting);

    // What waits in the RX queue, descriptor by descriptor.
    CHECK(rte_eth_rx_queue_count(p1, 0) == static_cast<int>(kWaiting),
          "secondary: rx_queue_count %d, want %u", rte_eth_rx_queue_count(p1, 0), kWaiting);
    CHECK(rte_eth_rx_descriptor_status(p1, 0, 0) == RTE_ETH_RX_DESC_DONE &&
              rte_eth_rx_descriptor_status(p1, 0, kWaiting - 1) == RTE_ETH_RX_DESC_DONE,
          "secondary: the waiting frames' descriptors are not done");
    CHECK(rte_eth_rx_descriptor_status(p1, 0, kWaiting) == RTE_ETH_RX_DESC_AVAIL,
          "secondary: descriptor %u status %d, want available", kWaiting,
          rte_eth_rx_descriptor_status(p1, 0, kWaiting));
    CHECK(rte_eth_tx_descriptor_status(p0, 0, 0) == RTE_ETH_TX_DESC_DONE,
          "secondary: TX descriptor 0 status %d, want done",
          rte_eth_tx_descriptor_status(p0, 0, 0));
    CHECK(rte_eth_tx_done_cleanup(p0, 0, 0) >= 0, "secondary: tx_done_cleanup: %d",
          rte_eth_tx_done_cleanup(p0, 0, 0));

    // Ops that create or destroy device objects stay with the primary.
    CHECK(rte_eth_dev_rx_queue_stop(p1, 0) == -ENOTSUP, "secondary: rx_queue_stop not refused");
    CHECK(rte_eth_dev_tx_queue_stop(p0, 0) == -ENOTSUP, "secondary: tx_queue_stop not refused");
    CHECK(rte_eth_dev_rx_intr_enable(p1, 0) == -ENOTSUP, "secondary: rx_intr_enable not refused");

    // A reset here is a reset for every process; then the waiting frames are received.
    CHECK(rte_eth_xstats_reset(p0) == 0 && rte_eth_xstats_reset(p1) == 0, "xstats_reset");
    CHECK(xstat(p1, "rx_q0_packets") == 0, "rx_q0_packets after the reset");
    std::array<rte_mbuf *, 32> got{};
    const uint16_t n = rte_eth_rx_burst(p1, 0, got.data(), got.size());
    CHECK(n == kWaiting, "secondary received %u frames, want %u", n, kWaiting);
    for (uint16_t i = 0; i < n; ++i)
        CHECK(frame_index(got[i]) == kExchanged + i, "frame %u arrived changed", i);
    rte_pktmbuf_free_bulk(got.data(), n);
    CHECK(rte_eth_rx_queue_count(p1, 0) == 0, "secondary: rx_queue_count %d after the burst",
          rte_eth_rx_queue_count(p1, 0));
    close_secondary(ports);
    return finish("ops_secondary");
}

} // namespace

int main(int argc, char **argv)
{
    return run_role(argc, argv, {{"ops", ops}, {"ops_secondary", ops_secondary}}, "ops");
}
