/* SPDX-License-Identifier: BSD-3-Clause */
// A port's lifecycle: init on its device, its protection and parent domains, dev_info,
// configure, start and stop (the queues' verbs objects), close, the steps a service
// reset recovery takes on it, and link. RSS, RX interrupts, queue setup, MTU and
// statistics are in port_*.cpp and stats.cpp; the device it lives on in device.cpp.
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
int Port::init()
{
    const int ret = create_domains(true);
    if (ret != 0)
        return ret;
    device_->add_port(port_id_);
    process_ports[port_id_].stop_bursts = &device_->dead;
    rte_eth_devices[port_id_].data->dev_flags |= device_->events ? RTE_ETH_DEV_INTR_RMV : 0;
    // Kept in the port (shared memory): secondaries ask too and cannot reach the device.
    err_handle_mode_ = device_->recovery_timeout.count() != 0 && device_->events
                           ? RTE_ETH_ERROR_HANDLE_MODE_PROACTIVE
                           : RTE_ETH_ERROR_HANDLE_MODE_NONE;
    const auto max_mr = static_cast<std::size_t>(std::max(device_->attr.orig_attr.max_mr, 1));
    mr_table_.emplace(*registrar_, std::min(kMaxMemoryRegions, max_mr));
    watch_memory_events(*mr_table_);
    serve_port(port_id_, this);
    return 0;
}

int Port::create_domains(bool log_errors)
{
    ibv_context *context = device_->context.get();
    pd_.reset(ibv_alloc_pd(context));
    if (!pd_) {
        const int error = errno_or(ENOMEM);
        if (log_errors)
            MANA_INIT_LOG(ERR, "%s port %u: ibv_alloc_pd failed: %s", device_->bdf.c_str(),
                          ib_port_, strerror(error));
        return -error;
    }
    ibv_parent_domain_init_attr attr{};
    attr.pd = pd_.get();
    attr.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
    attr.pd_context = reinterpret_cast<void *>(static_cast<uintptr_t>(ib_port_));
    parent_domain_.reset(ibv_alloc_parent_domain(context, &attr));
    if (!parent_domain_) {
        const int error = errno_or(ENOMEM);
        if (log_errors)
            MANA_INIT_LOG(ERR, "%s port %u: ibv_alloc_parent_domain failed: %s",
                          device_->bdf.c_str(), ib_port_, strerror(error));
        pd_.reset();
        return -error;
    }
    // After a reset the table (which queues refer to) stays, detached from the old
    // registrar until rebuild_after_recovery attaches this one.
    registrar_.emplace(pd_.get());
    return 0;
}

int Port::close()
{
    if (!device_)
        return 0;
    withdraw_port(port_id_); // before the memory table goes
    std::unique_lock lock(device_->mutex);
    stop_locked();
    rxqs_.clear();
    txqs_.clear();
    if (data_->rx_queues != nullptr)
        std::fill_n(data_->rx_queues, data_->nb_rx_queues, nullptr);
    if (data_->tx_queues != nullptr)
        std::fill_n(data_->tx_queues, data_->nb_tx_queues, nullptr);
    if (mr_table_)
        unwatch_memory_events(*mr_table_);
    mr_table_.reset();
    registrar_.reset();
    parent_domain_.reset();
    pd_.reset();
    std::erase(device_->ports, port_id_);
    process_ports[port_id_].stop_bursts = &kDeviceAlive;
    lock.unlock();
    // May be the last reference: the device cancels its recovery, which needs the lock.
    device_.reset();
    return 0;
}

int Port::dup_command_fd() const
{
    if (!device_)
        return -1;
    const std::lock_guard guard(device_->command_fd_mutex);
    return device_->command_fd >= 0 ? fcntl(device_->command_fd, F_DUPFD_CLOEXEC, 0) : -1;
}

uint32_t Port::ring_descriptors(uint16_t descriptors) const
{
    return std::bit_ceil(std::clamp<uint32_t>(descriptors, 1, max_descriptors()));
}

uint32_t Port::max_descriptors() const
{
    const auto &attr = attr_;
    const uint32_t limit =
        std::min({static_cast<uint32_t>(std::max(attr.max_qp_wr, 1)),
                  static_cast<uint32_t>(std::max(attr.max_cqe, 1)), kMaxQueueDescriptors});
    return std::bit_floor(limit);
}

uint32_t Port::max_rx_sges() const
{
    return std::clamp(static_cast<uint32_t>(attr_.max_sge), 1U, kMaxRxSegments);
}

uint32_t Port::max_tx_sges() const
{
    return std::clamp(static_cast<uint32_t>(attr_.max_sge), 1U, kMaxTxSegments);
}

void Port::info(rte_eth_dev_info &info) const
{
    const auto &attr = attr_;
    const auto max_qp = static_cast<uint16_t>(
        std::clamp(attr.max_qp, 1, static_cast<int>(RTE_MAX_QUEUES_PER_PORT)));
    // More RX queues than RETA entries could never receive anything.
    info.max_rx_queues = std::min<uint16_t>(max_qp, kRetaSize);
    info.max_tx_queues = max_qp;
    info.max_mac_addrs = 1;
    info.max_rx_pktlen = kMaxFrameBytes;
    info.min_rx_bufsize = kMinRxBufferBytes;
    info.min_mtu = RTE_ETHER_MIN_MTU;
    info.max_mtu = kMaxMtu;

    info.rx_offload_capa = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
                           RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_RSS_HASH |
                           RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    info.tx_offload_capa = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
                           RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
                           RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    // An LSO WQE carries the headers in an SGE of their own (spec §3).
    if (max_tx_sges() >= 2)
        info.tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
    // RX scatter: WQEs of several buffers (the RQ's max_sge).
    if (max_rx_sges() >= 2)
        info.rx_offload_capa |= RTE_ETH_RX_OFFLOAD_SCATTER;
    info.rx_queue_offload_capa = 0;
    info.tx_queue_offload_capa = 0;

    info.reta_size = kRetaSize;
    info.hash_key_size = kRssKeySize;
    info.flow_type_rss_offloads = kSupportedRssTypes;

    const auto descriptors = static_cast<uint16_t>(max_descriptors());
    info.rx_desc_lim = {
        .nb_max = descriptors,
        .nb_min = static_cast<uint16_t>(std::min<uint32_t>(kMinQueueDescriptors, descriptors)),
        .nb_align = 1,
        .nb_seg_max = static_cast<uint16_t>(max_rx_sges()),
        .nb_mtu_seg_max = static_cast<uint16_t>(max_rx_sges())};
    info.tx_desc_lim = {
        .nb_max = descriptors,
        .nb_min = static_cast<uint16_t>(std::min<uint32_t>(kMinQueueDescriptors, descriptors)),
        .nb_align = 1,
        .nb_seg_max = static_cast<uint16_t>(max_tx_sges()),
        .nb_mtu_seg_max = static_cast<uint16_t>(max_tx_sges())};
    info.default_rxportconf = {.burst_size = 32, .ring_size = descriptors, .nb_queues = 1};
    info.default_txportconf = {.burst_size = 32, .ring_size = descriptors, .nb_queues = 1};
    info.speed_capa = RTE_ETH_LINK_SPEED_100G | RTE_ETH_LINK_SPEED_FIXED;
    info.dev_capa = 0;
    // With recovery the driver recovers from a service reset itself and reports it
    // with RTE_ETH_EVENT_ERR_RECOVERING and RTE_ETH_EVENT_RECOVERY_*.
    info.err_handle_mode = err_handle_mode_;
}

// Under the device mutex, like every other writer of what a recovery step reads: the RSS
// key, hash types and RETA that start_queues builds the RSS QP from.
int Port::configure()
{
    const std::lock_guard guard(device_->mutex);
    const rte_eth_conf &conf = data_->dev_conf;
    const auto mq_mode = conf.rxmode.mq_mode;
    if (mq_mode != RTE_ETH_MQ_RX_NONE && mq_mode != RTE_ETH_MQ_RX_RSS) {
        MANA_DRV_LOG(ERR, "port %u: RX multi-queue mode %d is not supported; use RSS or none",
                     port_id_, static_cast<int>(mq_mode));
        return -ENOTSUP;
    }
    if (conf.txmode.mq_mode != RTE_ETH_MQ_TX_NONE) {
        MANA_DRV_LOG(ERR, "port %u: TX multi-queue mode %d is not supported; use none", port_id_,
                     static_cast<int>(conf.txmode.mq_mode));
        return -ENOTSUP;
    }
    if (conf.lpbk_mode != 0) {
        MANA_DRV_LOG(ERR, "port %u: loopback mode is not supported", port_id_);
        return -ENOTSUP;
    }
    const rte_eth_rss_conf &rss = conf.rx_adv_conf.rss_conf;
    if (rss.rss_key != nullptr) {
        if (rss.rss_key_len != kRssKeySize) {
            MANA_DRV_LOG(ERR, "port %u: RSS key of %u bytes; the device takes exactly %zu",
                         port_id_, rss.rss_key_len, kRssKeySize);
            return -EINVAL;
        }
        std::copy_n(rss.rss_key, kRssKeySize, rss_key_.begin());
    }
    rss_enabled_ = (mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0;
    // With RSS the hash is always delivered (the DPDK convention for RSS_HASH).
    if (rss_enabled_)
        data_->dev_conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
    rss_hf_ =
        rss_enabled_ && rss.rss_hf != 0 ? (rss.rss_hf & kSupportedRssTypes) : kDefaultRssTypes;
    const uint16_t queues = std::max<uint16_t>(rx_queue_count(), 1);
    for (std::size_t i = 0; i < kRetaSize; ++i)
        reta_[i] = rss_enabled_ ? static_cast<uint16_t>(i % queues) : 0;
    return 0;
}

QueueVerbs Port::queue_verbs()
{
    return QueueVerbs{.context = device_->context.get(),
                      .parent_domain = parent_domain_.get(),
                      .allocator_socket = &device_->allocator_socket};
}

int Port::start()
{
    const std::lock_guard guard(device_->mutex);
    return start_locked();
}

int Port::start_locked()
{
    if (started_)
        return 0;
    if (device_->recovery == RecoveryPhase::failed) {
        MANA_DRV_LOG(ERR,
                     "port %u: the device did not come back from a service reset; close the "
                     "port",
                     port_id_);
        return -ENODEV;
    }
    if (device_->recovery != RecoveryPhase::none) {
        MANA_DRV_LOG(ERR,
                     "port %u: the device is recovering from a service reset; start the port "
                     "after RTE_ETH_EVENT_RECOVERY_SUCCESS",
                     port_id_);
        return -EBUSY;
    }
    for (uint16_t i = 0; i < rx_queue_count(); ++i) {
        if (rxq(i) == nullptr) {
            MANA_DRV_LOG(ERR, "port %u: RX queue %u is not set up; call rte_eth_rx_queue_setup",
                         port_id_, i);
            return -EINVAL;
        }
    }
    for (uint16_t i = 0; i < tx_queue_count(); ++i) {
        if (txq(i) == nullptr) {
            MANA_DRV_LOG(ERR, "port %u: TX queue %u is not set up; call rte_eth_tx_queue_setup",
                         port_id_, i);
            return -EINVAL;
        }
    }
    // Ports without TSO queues keep the burst that never looks at the TSO flag; ethdev
    // copies the function pointers after dev_start.
    bool tso = false;
    for (uint16_t i = 0; i < tx_queue_count(); ++i)
        tso |= txq(i)->config().tso;
    rte_eth_devices[port_id_].tx_pkt_burst = tso ? tx_burst_tso : tx_burst;
    // Likewise RX: the chain-building burst only where a queue scatters.
    bool scatter = false;
    for (uint16_t i = 0; i < rx_queue_count(); ++i)
        scatter |= rxq(i)->config().sges > 1;
    rte_eth_devices[port_id_].rx_pkt_burst = scatter ? rx_burst_scatter : rx_burst;
    const int ret = start_queues(false);
    if (ret != 0)
        return ret;
    for (uint16_t i = 0; i < rx_queue_count(); ++i)
        data_->rx_queue_state[i] =
            rxq(i)->running() ? RTE_ETH_QUEUE_STATE_STARTED : RTE_ETH_QUEUE_STATE_STOPPED;
    for (uint16_t i = 0; i < tx_queue_count(); ++i)
        data_->tx_queue_state[i] =
            txq(i)->running() ? RTE_ETH_QUEUE_STATE_STARTED : RTE_ETH_QUEUE_STATE_STOPPED;
    started_ = true;
    link_update();
    resume_secondaries(port_id_);
    return 0;
}

int Port::start_queues(bool recovering)
{
    const QueueVerbs verbs = queue_verbs();
    int ret = 0;
    // Deferred queues wait for rte_eth_dev_*_queue_start; a deferred RX queue still gets
    // its (empty) WQ now, for the RSS table. After a reset, the queues that ran run again.
    const auto runs = [&](bool deferred, uint8_t state) {
        return recovering ? state == RTE_ETH_QUEUE_STATE_STARTED : !deferred;
    };
    for (uint16_t i = 0; i < tx_queue_count() && ret == 0; ++i)
        if (runs(txq(i)->config().deferred_start, data_->tx_queue_state[i]))
            ret = txq(i)->start(verbs);
    for (uint16_t i = 0; i < rx_queue_count() && ret == 0; ++i)
        ret = runs(rxq(i)->config().deferred_start, data_->rx_queue_state[i]) ? rxq(i)->start(verbs)
                                                                              : rxq(i)->open(verbs);
    if (ret == 0 && rx_queue_count() != 0)
        ret = create_rss();
    if (ret == 0 && data_->dev_conf.intr_conf.rxq != 0 && rx_queue_count() != 0)
        ret = setup_rx_interrupts();
    if (ret != 0)
        destroy_queue_objects();
    return ret;
}

void Port::destroy_queue_objects()
{
    teardown_rx_interrupts();
    destroy_rss();
    for (uint16_t i = 0; i < rx_queue_count(); ++i)
        if (RxQueue *queue = rxq(i))
            queue->stop();
    for (uint16_t i = 0; i < tx_queue_count(); ++i)
        if (TxQueue *queue = txq(i))
            queue->stop();
}

int Port::stop()
{
    const std::lock_guard guard(device_->mutex);
    return stop_locked();
}

int Port::stop_locked()
{
    if (!started_)
        return 0;
    started_ = false;
    // Before any queue goes away: secondaries stop polling it.
    halt_secondaries(port_id_);
    // A failed or recovering device leaves the lcores polling: bursts that passed the
    // dead check before it was set must be out of the queues before they go.
    if (device_->dead.load(std::memory_order_acquire))
        device_->quiesce_port_bursts(port_id_);
    destroy_queue_objects();
    for (uint16_t i = 0; i < rx_queue_count(); ++i)
        data_->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    for (uint16_t i = 0; i < tx_queue_count(); ++i)
        data_->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    link_update();
    return 0;
}

void Port::wait_for_bursts() const
{
    for (const auto &queue : rxqs_)
        if (queue)
            queue->burst_gate().wait_for_exit();
    for (const auto &queue : txqs_)
        if (queue)
            queue->burst_gate().wait_for_exit();
}

void Port::release_for_recovery()
{
    if (started_) {
        // Secondaries stop polling before the queues go; they map the new context's
        // doorbell page (remap_secondaries) and resume once the port is rebuilt.
        halt_secondaries(port_id_);
        for (uint16_t i = 0; i < tx_queue_count(); ++i)
            if (TxQueue *queue = txq(i))
                queue->abandon_in_flight();
        destroy_queue_objects();
    }
    // Under the table's lock (a secondary's registration may be running on the IPC
    // thread): no entry and no registrar refer to the PD any more. Queues' caches flush
    // on their next lookup.
    if (mr_table_)
        mr_table_->detach_registrar();
    registrar_.reset();
    parent_domain_.reset();
    pd_.reset();
}

int Port::rebuild_after_recovery()
{
    int ret = create_domains(false);
    if (ret == 0 && mr_table_)
        mr_table_->attach_registrar(*registrar_);
    // The queues the driver holds, not data_->nb_rx_queues: a stopped port may be in the
    // middle of rte_eth_dev_configure, where ethdev changes the count without the device
    // mutex (it releases the queues beyond the new count first, through the locked
    // rx_queue_release, so rxqs_ never holds more than the application set up).
    for (std::size_t i = 0; i < rxqs_.size() && ret == 0; ++i)
        if (const RxQueue *queue = rxqs_[i].get())
            ret = register_mempool(*mr_table_, queue->config().pool);
    // A started port cannot be reconfigured (ethdev refuses), so its queue count holds.
    if (ret == 0 && started_)
        ret = start_queues(true);
    if (ret == 0)
        link_update();
    if (ret == 0 && started_)
        resume_secondaries(port_id_);
    return ret;
}

int Port::link_update()
{
    // A removed, failed or recovering device carries no traffic.
    const bool up =
        started_ && !process_ports[port_id_].stop_bursts->load(std::memory_order_relaxed);
    rte_eth_link link{};
    link.link_speed = up ? kLinkSpeed : RTE_ETH_SPEED_NUM_NONE;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
    link.link_autoneg = RTE_ETH_LINK_FIXED;
    link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    return rte_eth_linkstatus_set(&rte_eth_devices[port_id_], &link);
}

} // namespace mana
