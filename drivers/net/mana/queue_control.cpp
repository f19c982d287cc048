/* SPDX-License-Identifier: BSD-3-Clause */
// Per-queue control and queries: start and stop of single queues (and deferred start),
// queue information, burst mode, the number of filled RX descriptors, descriptor status,
// tx_done_cleanup and the power-monitor condition of an RX queue.
//
// A stopped RX queue of a running port keeps a CQ and a WQ with no buffers posted: the RSS
// indirection table must name a WQ for each of its entries, and an empty WQ makes the
// device drop what the table steers to that queue instead of moving it to another queue.
#include "log.h"
#include "port.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>

namespace mana
{

// ---- RX queue queries ------------------------------------------------------------------

namespace
{

// Buffers one completion accounts for: the packets of an RX completion, or the buffer a
// truncated frame was put in.
uint32_t buffers_of(const gdma::Cqe &cqe)
{
    switch (cqe.type()) {
    case gdma::CqeType::rx_ok:
    case gdma::CqeType::rx_truncated:
        return 1;
    case gdma::CqeType::rx_coalesced: {
        uint32_t packets = 0;
        while (packets < gdma::kRxPacketsPerCqe &&
               (cqe.oob[gdma::rx_oob_word::packet_length(packets)] & 0xFFFF) != 0)
            ++packets;
        return packets;
    }
    default:
        return 0;
    }
}

// The power-monitor callback: opaque[0] is the value of the watched word (under the mask
// opaque[1]) that means "nothing to do yet": the trailer of an empty CQE, or a flag that
// still says the queue is halted. Anything else (a completion, an overflow, a flag
// cleared, or a mask of 0 for a queue that has packets waiting) aborts the sleep.
int idle_value_changed(const uint64_t value, const uint64_t opaque[RTE_POWER_MONITOR_OPAQUE_SZ])
{
    return (value & opaque[1]) == opaque[0] ? 0 : -1;
}

// A halted queue has no CQ worth watching (a restart or a reset replaces it), so the lcore
// sleeps on the flag that keeps it halted until the flag is cleared: the queue's own (a
// queue start) or the port's stop flag (the end of a service reset). Both live as long as
// the queue.
void watch_until_cleared(rte_power_monitor_cond &condition, const std::atomic<bool> &flag)
{
    static_assert(sizeof(flag) == 1 && std::atomic<bool>::is_always_lock_free);
    condition.addr = const_cast<std::atomic<bool> *>(&flag);
    condition.size = 1;
    condition.fn = idle_value_changed;
    condition.opaque[0] = 1; // true: still halted
    condition.opaque[1] = 0xFF;
}

constexpr uint32_t kOwnerBitsShift = 29;

} // namespace

// The queries read the CQ and the mbuf ring, which a stop or a service reset frees and
// recreates (recovery.cpp); like a burst they check the flags only after entering the
// burst gate, so the thread tearing the rings down either waits for them to leave or
// makes them see the flags set.
uint32_t RxQueue::count_filled() const
{
    uint32_t filled = 0;
    for (uint32_t ahead = 0; ahead < cq_cursor_.count(); ++ahead) {
        if (cq_cursor_.peek_at(ahead) != gdma::CqSlot::ready)
            break;
        filled += buffers_of(cq_cursor_.at(ahead));
    }
    // Packets of the head completion a burst has already returned.
    filled -= std::min(filled, cqe_packet_);
    return std::min(filled, posted());
}

uint32_t RxQueue::filled_count()
{
    const BurstSection section(burst_gate_);
    return rings_readable(halted_, process_ports[config_.port_id]) ? count_filled() : 0;
}

// Halted, every descriptor is UNAVAIL: the queue holds no buffer the device may fill.
int RxQueue::descriptor_status(uint16_t offset)
{
    if (offset >= config_.descriptors)
        return -EINVAL;
    const BurstSection section(burst_gate_);
    if (!rings_readable(halted_, process_ports[config_.port_id]))
        return RTE_ETH_RX_DESC_UNAVAIL;
    if (offset < count_filled())
        return RTE_ETH_RX_DESC_DONE;
    return offset < posted() ? RTE_ETH_RX_DESC_AVAIL : RTE_ETH_RX_DESC_UNAVAIL;
}

// The next completion lands in the trailer of the CQE at the head, whose owner bits then
// stop being the "empty" value (spec §4). A head completion with packets a burst has not
// returned yet means there is work now: the condition then aborts the sleep at once.
// While the device is away the CQ may be freed at any moment and a stopped port has none;
// while the queue is stopped its CQ is replaced at the next start: then the flag is
// watched instead.
int RxQueue::monitor_condition(rte_power_monitor_cond &condition)
{
    const BurstSection section(burst_gate_);
    const std::atomic<bool> &device_away = *process_ports[config_.port_id].stop_bursts;
    if (device_away.load(std::memory_order_acquire)) {
        watch_until_cleared(condition, device_away);
        return 0;
    }
    if (wq_base_ == nullptr)
        return -EINVAL; // no CQ: the port is not started
    if (halted_.load(std::memory_order_acquire)) {
        watch_until_cleared(condition, halted_);
        return 0;
    }
    const gdma::Cqe &head = cq_cursor_.current();
    condition.addr = const_cast<uint32_t *>(&head.trailer);
    condition.size = sizeof(head.trailer);
    condition.fn = idle_value_changed;
    const bool waiting = cqe_packet_ != 0;
    condition.opaque[0] = waiting ? 1
                                  : static_cast<uint64_t>(cq_cursor_.empty_owner_bits_at_head())
                                        << kOwnerBitsShift;
    condition.opaque[1] = waiting ? 0 : uint64_t{gdma::kOwnerBitsMask} << kOwnerBitsShift;
    return 0;
}

// ---- TX queue queries ------------------------------------------------------------------

// Offset 0 is the slot the next packet goes to; the slots still held by packets in
// flight come last, after the free ones. Both queries reap like a burst, so they enter
// the burst gate like one: a stop or a reset waits for them before the rings go.
int TxQueue::descriptor_status(uint16_t offset)
{
    if (offset >= config_.descriptors)
        return -EINVAL;
    const BurstSection section(burst_gate_);
    if (!rings_readable(halted_, process_ports[config_.port_id]))
        return RTE_ETH_TX_DESC_UNAVAIL;
    reap();
    const uint32_t free_slots = config_.descriptors - in_flight();
    return offset < free_slots ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_FULL;
}

int TxQueue::done_cleanup(uint32_t limit)
{
    const BurstSection section(burst_gate_);
    if (!rings_readable(halted_, process_ports[config_.port_id]))
        return 0;
    return static_cast<int>(reap(limit == 0 ? UINT32_MAX : limit));
}

// ---- Port: per-queue start and stop ------------------------------------------------------
// Under the device mutex, like every other control operation: a recovery step (interrupt
// thread) destroys and recreates every queue's verbs objects under it, and restarts the
// queues whose state says started. While the device is away (between the fatal error
// and RECOVERY_SUCCESS, or for good after a removal) the queues have no usable verbs
// objects: start and stop then only record the state, which a recovery applies when it
// rebuilds the port. After a failed recovery nothing will run again: start fails.

// 1 when the device is there and the caller goes on; otherwise the caller's result: 0
// when the change was recorded, -ENODEV for a start after a failed recovery.
int Port::record_queue_state_while_away(uint8_t &state, bool start, const char *kind,
                                        uint16_t queue)
{
    if (!device_->dead.load(std::memory_order_acquire))
        return 1;
    if (start && device_->recovery == RecoveryPhase::failed) {
        MANA_DRV_LOG(ERR,
                     "port %u %s queue %u: cannot start, the device did not come back from a "
                     "service reset; close the port",
                     port_id_, kind, queue);
        return -ENODEV;
    }
    state = start ? RTE_ETH_QUEUE_STATE_STARTED : RTE_ETH_QUEUE_STATE_STOPPED;
    return 0;
}

int Port::rx_queue_start(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || !started_)
        return -EINVAL; // ethdev checks both; kept for direct callers
    if (const int away =
            record_queue_state_while_away(data_->rx_queue_state[queue], true, "RX", queue);
        away <= 0)
        return away;
    const int ret = rx->running() ? 0 : rx->post_all();
    if (ret == 0)
        data_->rx_queue_state[queue] = RTE_ETH_QUEUE_STATE_STARTED;
    return ret;
}

int Port::rx_queue_stop(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || !started_)
        return -EINVAL;
    if (const int away =
            record_queue_state_while_away(data_->rx_queue_state[queue], false, "RX", queue);
        away <= 0)
        return away;
    // The WQ is in the RSS table: the table goes first, and comes back naming a new, empty
    // WQ for this queue. Buffers go back to the pool once the device can no longer write
    // them (its WQ is destroyed).
    destroy_rss();
    rx->close();
    int ret = rx->open(queue_verbs());
    if (ret == 0)
        ret = create_rss();
    data_->rx_queue_state[queue] = RTE_ETH_QUEUE_STATE_STOPPED;
    if (ret != 0)
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: stopped, but the port receives nothing until it is "
                     "restarted (the RSS table could not be rebuilt)",
                     port_id_, queue);
    return ret;
}

int Port::tx_queue_start(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    TxQueue *tx = txq(queue);
    if (tx == nullptr || !started_)
        return -EINVAL;
    if (const int away =
            record_queue_state_while_away(data_->tx_queue_state[queue], true, "TX", queue);
        away <= 0)
        return away;
    const int ret = tx->running() ? 0 : tx->start(queue_verbs());
    if (ret == 0)
        data_->tx_queue_state[queue] = RTE_ETH_QUEUE_STATE_STARTED;
    return ret;
}

int Port::tx_queue_stop(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    TxQueue *tx = txq(queue);
    if (tx == nullptr || !started_)
        return -EINVAL;
    if (const int away =
            record_queue_state_while_away(data_->tx_queue_state[queue], false, "TX", queue);
        away <= 0)
        return away;
    tx->stop(); // frees the packets still in flight once the device is done with the QP
    data_->tx_queue_state[queue] = RTE_ETH_QUEUE_STATE_STOPPED;
    return 0;
}

// ---- Port: queue information and burst modes -------------------------------------------
// Secondaries answer these too: the queues as the ethdev data lists them (shared memory).

void Port::rxq_info(uint16_t queue, rte_eth_rxq_info &info) const
{
    const RxQueue *rx = shared_rxq(queue);
    if (rx == nullptr)
        return;
    const RxQueueConfig &config = rx->config();
    info.mp = config.pool;
    info.scattered_rx = config.scatter ? 1 : 0;
    info.nb_desc = static_cast<uint16_t>(config.descriptors);
    info.rx_buf_size =
        static_cast<uint16_t>(rte_pktmbuf_data_room_size(config.pool) - RTE_PKTMBUF_HEADROOM);
    info.conf.offloads = config.offloads;
    info.conf.rx_deferred_start = config.deferred_start ? 1 : 0;
    info.conf.rx_free_thresh = static_cast<uint16_t>(config.free_threshold);
    info.conf.rx_drop_en = 1; // with no buffer posted the device drops
    info.queue_state = data_->rx_queue_state[queue];
}

void Port::txq_info(uint16_t queue, rte_eth_txq_info &info) const
{
    const TxQueue *tx = shared_txq(queue);
    if (tx == nullptr)
        return;
    const TxQueueConfig &config = tx->config();
    info.nb_desc = static_cast<uint16_t>(config.descriptors);
    info.conf.offloads = config.offloads;
    info.conf.tx_deferred_start = config.deferred_start ? 1 : 0;
    // A completion (which frees sent packets) is requested at least this often.
    info.conf.tx_rs_thresh = static_cast<uint16_t>(tx->completion_interval());
    info.queue_state = data_->tx_queue_state[queue];
}

int Port::rx_burst_mode(uint16_t queue, rte_eth_burst_mode &mode) const
{
    const RxQueue *rx = shared_rxq(queue);
    if (rx == nullptr)
        return -EINVAL;
    mode.flags = 0;
    std::snprintf(mode.info, sizeof(mode.info),
                  "Scalar%s, up to %u packets per completion, one doorbell per burst",
                  rx->config().scatter ? ", scattered" : "", gdma::kRxPacketsPerCqe);
    return 0;
}

int Port::tx_burst_mode(uint16_t queue, rte_eth_burst_mode &mode) const
{
    const TxQueue *tx = shared_txq(queue);
    if (tx == nullptr)
        return -EINVAL;
    mode.flags = 0;
    std::snprintf(mode.info, sizeof(mode.info),
                  "Scalar, a completion every %u packets and per burst, one doorbell per "
                  "burst%s",
                  tx->completion_interval(), tx->config().fast_free ? ", fast free" : "");
    return 0;
}

// ---- Fast-path entry points DPDK calls with the queue pointer -------------------------

uint32_t rx_queue_count(void *queue)
{
    return static_cast<RxQueue *>(queue)->filled_count();
}

int rx_descriptor_status(void *queue, uint16_t offset)
{
    return static_cast<RxQueue *>(queue)->descriptor_status(offset);
}

int tx_descriptor_status(void *queue, uint16_t offset)
{
    return static_cast<TxQueue *>(queue)->descriptor_status(offset);
}

int tx_done_cleanup(void *queue, uint32_t free_count)
{
    return static_cast<TxQueue *>(queue)->done_cleanup(free_count);
}

int get_monitor_addr(void *queue, rte_power_monitor_cond *condition)
{
    return static_cast<RxQueue *>(queue)->monitor_condition(*condition);
}

} // namespace mana
