/* SPDX-License-Identifier: BSD-3-Clause */
// Basic statistics: the queues' counters summed into rte_eth_stats (and per queue for the
// first RTE_ETHDEV_QUEUE_STAT_CNTRS), and their reset. TX packets and bytes count what
// the device sent, including completions no burst has read yet when the CQs may be read.
#include "port.h"

#include <rte_eal.h>
#include <rte_ethdev.h>

#include <mutex>

namespace mana
{

std::unique_lock<std::mutex> Port::lock_cqs_for_counters() const
{
    if (rte_eal_process_type() != RTE_PROC_PRIMARY)
        return {};
    // Never waits: a recovery step may hold the mutex for long, and the thread asking
    // may be the one that holds it (an event callback).
    return std::unique_lock(device_->mutex, std::try_to_lock);
}

QueueCounters Port::tx_counters(const TxQueue &queue, const std::unique_lock<std::mutex> &cqs)
{
    return cqs.owns_lock() ? queue.counters_with_unread_completions() : queue.counters();
}

// Reads shared memory (the ethdev data and the queues), so secondaries call it too; only
// the primary reads the CQs.
int Port::stats_get(rte_eth_stats &stats) const
{
    const std::unique_lock cqs = lock_cqs_for_counters();
    for (uint16_t i = 0; i < data_->nb_rx_queues; ++i) {
        const RxQueue *queue = shared_rxq(i);
        if (queue == nullptr)
            continue;
        const QueueCounters c = queue->counters();
        stats.ipackets += c.packets;
        stats.ibytes += c.bytes;
        stats.ierrors += c.errors;
        stats.rx_nombuf += c.no_mbuf;
        if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
            stats.q_ipackets[i] = c.packets;
            stats.q_ibytes[i] = c.bytes;
            stats.q_errors[i] = c.errors;
        }
    }
    for (uint16_t i = 0; i < data_->nb_tx_queues; ++i) {
        const TxQueue *queue = shared_txq(i);
        if (queue == nullptr)
            continue;
        const QueueCounters c = tx_counters(*queue, cqs);
        stats.opackets += c.packets;
        stats.obytes += c.bytes;
        stats.oerrors += c.errors;
        if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
            stats.q_opackets[i] = c.packets;
            stats.q_obytes[i] = c.bytes;
        }
    }
    return 0;
}

int Port::stats_reset()
{
    const std::unique_lock cqs = lock_cqs_for_counters();
    for (uint16_t i = 0; i < data_->nb_rx_queues; ++i)
        if (RxQueue *queue = shared_rxq(i))
            queue->reset_counters();
    for (uint16_t i = 0; i < data_->nb_tx_queues; ++i)
        if (TxQueue *queue = shared_txq(i))
            queue->reset_counters(cqs.owns_lock());
    return 0;
}

} // namespace mana
