/* SPDX-License-Identifier: BSD-3-Clause */
// Queue setup and release of a port, and the queue arrays in the ethdev data (shared
// memory) that secondaries read.
#include "port.h"

#include "mp.h"

#include "log.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mana
{

int Port::rx_queue_setup(uint16_t queue, uint16_t descriptors, unsigned socket,
                         const rte_eth_rxconf &conf, rte_mempool *pool)
{
    const std::lock_guard guard(device_->mutex);
    if (pool == nullptr) {
        MANA_DRV_LOG(ERR, "port %u RX queue %u: no mempool given", port_id_, queue);
        return -EINVAL;
    }
    const uint32_t data_room = rte_pktmbuf_data_room_size(pool);
    if (data_room < RTE_PKTMBUF_HEADROOM + kMinRxBufferBytes) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: mempool %s has %u bytes of data room; at least %u "
                     "(headroom %u + %u) are needed",
                     port_id_, queue, pool->name, data_room,
                     RTE_PKTMBUF_HEADROOM + kMinRxBufferBytes, RTE_PKTMBUF_HEADROOM,
                     kMinRxBufferBytes);
        return -EINVAL;
    }
    const uint64_t offloads = data_->dev_conf.rxmode.offloads | conf.offloads;
    const bool scatter = (offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
    const uint32_t buffer = rx_buffer_bytes(pool);
    const uint32_t buffers = rx_buffers_for(rx_frame_bytes(data_->mtu), buffer);
    if (scatter && buffers > max_rx_sges()) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: a frame at MTU %u needs %u buffers of %u bytes "
                     "(mempool %s); the device scatters into at most %u: use larger mbufs",
                     port_id_, queue, data_->mtu, buffers, buffer, pool->name, max_rx_sges());
        return -EINVAL;
    }
    if (!scatter && buffers > 1)
        MANA_DRV_LOG(WARNING,
                     "port %u RX queue %u: %u-byte buffers of mempool %s are shorter than a "
                     "frame at MTU %u; longer frames are dropped as truncated (enable "
                     "RTE_ETH_RX_OFFLOAD_SCATTER to receive them as mbuf chains)",
                     port_id_, queue, buffer, pool->name, data_->mtu);
    const uint32_t ring = ring_descriptors(descriptors);
    const uint32_t free_threshold = rx_free_threshold(conf.rx_free_thresh, ring);
    if (free_threshold == 0) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: rx_free_thresh %u must be less than the ring's %u "
                     "descriptors (0 for the default)",
                     port_id_, queue, conf.rx_free_thresh, ring);
        return -EINVAL;
    }
    rx_queue_release_locked(queue);
    RxQueueConfig config{
        .port_id = port_id_,
        .queue_id = queue,
        .descriptors = ring,
        .socket = socket == static_cast<unsigned>(SOCKET_ID_ANY) ? data_->numa_node
                                                                 : static_cast<int>(socket),
        .pool = pool,
        .vlan_strip = (offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) != 0,
        .checksum_flags = (offloads & RTE_ETH_RX_OFFLOAD_CHECKSUM) != 0,
        .rss_hash = (offloads & RTE_ETH_RX_OFFLOAD_RSS_HASH) != 0,
        .interrupts = data_->dev_conf.intr_conf.rxq != 0,
        .scatter = scatter,
        .sges = scatter ? std::max(buffers, 1U) : 1,
        .deferred_start = conf.rx_deferred_start != 0,
        .free_threshold = free_threshold,
        .offloads = offloads,
    };
    auto rx = make_dpdk<RxQueue>("mana_rxq", config.socket, config, *mr_table_);
    if (!rx) {
        MANA_DRV_LOG(ERR, "port %u RX queue %u: out of DPDK memory", port_id_, queue);
        return -ENOMEM;
    }
    const int ret = rx->setup();
    if (ret != 0)
        return ret;
    if (rxqs_.size() <= queue)
        rxqs_.resize(queue + 1);
    data_->rx_queues[queue] = rx.get();
    rxqs_[queue] = std::move(rx);
    return 0;
}

int Port::tx_queue_setup(uint16_t queue, uint16_t descriptors, unsigned socket,
                         const rte_eth_txconf &conf)
{
    const std::lock_guard guard(device_->mutex);
    tx_queue_release_locked(queue);
    const uint64_t offloads = data_->dev_conf.txmode.offloads | conf.offloads;
    TxQueueConfig config{
        .port_id = port_id_,
        .queue_id = queue,
        .descriptors = ring_descriptors(descriptors),
        .socket = socket == static_cast<unsigned>(SOCKET_ID_ANY) ? data_->numa_node
                                                                 : static_cast<int>(socket),
        .max_sges = (offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ? max_tx_sges() : 1,
        .max_frame = kMaxFrameBytes,
        .vlan_insert = (offloads & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) != 0,
        .fast_free = (offloads & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0,
        .tso = (offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0,
        .deferred_start = conf.tx_deferred_start != 0,
        .offloads = offloads,
    };
    if (config.tso && max_tx_sges() < 2) {
        MANA_DRV_LOG(ERR, "port %u TX queue %u: TSO needs 2 SGEs per WQE; the device takes %u",
                     port_id_, queue, max_tx_sges());
        return -ENOTSUP;
    }
    // Even a single-segment TSO packet is posted as headers + payload.
    if (config.tso)
        config.max_sges = std::max(config.max_sges, 2U);
    auto tx = make_dpdk<TxQueue>("mana_txq", config.socket, config, *mr_table_);
    if (!tx) {
        MANA_DRV_LOG(ERR, "port %u TX queue %u: out of DPDK memory", port_id_, queue);
        return -ENOMEM;
    }
    const int ret = tx->setup();
    if (ret != 0)
        return ret;
    if (txqs_.size() <= queue)
        txqs_.resize(queue + 1);
    data_->tx_queues[queue] = tx.get();
    txqs_[queue] = std::move(tx);
    return 0;
}

// ethdev releases queues when they are set up again, at reconfiguration and at close;
// the device mutex keeps a recovery step from rebuilding a queue being freed.
void Port::rx_queue_release(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    rx_queue_release_locked(queue);
}

void Port::tx_queue_release(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    tx_queue_release_locked(queue);
}

void Port::rx_queue_release_locked(uint16_t queue)
{
    if (queue < rxqs_.size())
        rxqs_[queue].reset();
    if (data_->rx_queues != nullptr && queue < data_->nb_rx_queues)
        data_->rx_queues[queue] = nullptr;
}

void Port::tx_queue_release_locked(uint16_t queue)
{
    if (queue < txqs_.size())
        txqs_[queue].reset();
    if (data_->tx_queues != nullptr && queue < data_->nb_tx_queues)
        data_->tx_queues[queue] = nullptr;
}

RxQueue *Port::shared_rxq(uint16_t i) const
{
    return data_->rx_queues != nullptr && i < data_->nb_rx_queues
               ? static_cast<RxQueue *>(data_->rx_queues[i])
               : nullptr;
}

TxQueue *Port::shared_txq(uint16_t i) const
{
    return data_->tx_queues != nullptr && i < data_->nb_tx_queues
               ? static_cast<TxQueue *>(data_->tx_queues[i])
               : nullptr;
}

} // namespace mana
