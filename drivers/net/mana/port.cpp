/* SPDX-License-Identifier: BSD-3-Clause */
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
namespace
{

// vendor_part_id values of MANA functions (spec §1); 0 comes from older kernels.
constexpr bool is_mana_part(uint32_t vendor_part_id)
{
    return vendor_part_id == 0 || vendor_part_id == 2 || vendor_part_id == 3;
}

// Queue rings come from DPDK memory on the socket of the queue being created.
void *ring_alloc(size_t size, void *data)
{
    const int socket = *static_cast<int *>(data);
    return rte_zmalloc_socket("mana_ring", size, gdma::kQueueBufferAlignment, socket);
}

void ring_free(void *pointer, void *)
{
    rte_free(pointer);
}

int errno_or(int fallback)
{
    return errno != 0 ? errno : fallback;
}

} // namespace

ibv_device *find_rdma_device(const DeviceList &list, const std::string &bdf)
{
    for (ibv_device *device : list.devices()) {
        const auto uevent = read_small_file(std::string(device->ibdev_path) + "/device/uevent");
        if (!uevent)
            continue;
        const auto slot = pci_slot_from_uevent(*uevent);
        if (slot && *slot == bdf)
            return device;
    }
    return nullptr;
}

int Device::open(ibv_device *device, const std::string &bdf,
                 std::chrono::milliseconds recovery_timeout, std::shared_ptr<Device> &out)
{
    auto opened = std::make_shared<Device>();
    opened->bdf = bdf;
    opened->recovery_timeout = recovery_timeout;
    const int ret = opened->attach(device, true);
    if (ret != 0)
        return ret;
    out = std::move(opened);
    return 0;
}

int Device::attach(ibv_device *device, bool log_errors)
{
    context.reset(ibv_open_device(device));
    if (!context) {
        const int error = errno_or(ENODEV);
        if (log_errors)
            MANA_INIT_LOG(
                ERR, "%s: ibv_open_device(%s) failed: %s; check permissions on /dev/infiniband",
                bdf.c_str(), ibv_get_device_name(device), strerror(error));
        return -error;
    }
    const int ret = ibv_query_device_ex(context.get(), nullptr, &attr);
    if (ret != 0) {
        MANA_INIT_LOG(ERR, "%s: ibv_query_device_ex failed: %s", bdf.c_str(), strerror(ret));
        context.reset();
        return -ret;
    }
    const uint32_t part = attr.orig_attr.vendor_part_id;
    if (!is_mana_part(part)) {
        MANA_INIT_LOG(ERR,
                      "%s: RDMA device %s has vendor_part_id %u, not a MANA Ethernet function "
                      "(0, 2 or 3); not probing it",
                      bdf.c_str(), ibv_get_device_name(device), part);
        context.reset();
        return -ENODEV;
    }
    allocators = {.alloc = ring_alloc, .free = ring_free, .data = &allocator_socket};
    const int set =
        manadv_set_context_attr(context.get(), MANADV_CTX_ATTR_BUF_ALLOCATORS, &allocators);
    if (set != 0) {
        MANA_INIT_LOG(
            ERR,
            "%s: manadv_set_context_attr(BUF_ALLOCATORS) failed: %s; rdma-core >= 44 is required",
            bdf.c_str(), strerror(set < 0 ? -set : set));
        context.reset();
        return set < 0 ? set : -set;
    }
    events = watch_async_events(context.get(), bdf, [this] { on_fatal(); });
    const std::lock_guard guard(command_fd_mutex);
    command_fd = context->cmd_fd;
    return 0;
}

void Device::add_port(uint16_t port)
{
    const std::lock_guard guard(mutex);
    ports.push_back(port);
}

Port::Port(std::shared_ptr<Device> device, const NetdevPort &netdev, rte_eth_dev *eth_dev)
    : device_(std::move(device)), data_(eth_dev->data), port_id_(eth_dev->data->port_id),
      ib_port_(netdev.ib_port), ifname_(netdev.ifname), mac_(netdev.mac),
      attr_(device_->attr.orig_attr)
{
}

Port::~Port()
{
    close();
}

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

int Port::create_rss()
{
    std::array<ibv_wq *, kRetaSize> table{};
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        RxQueue *queue = rxq(reta_[i]);
        if (queue == nullptr || queue->wq() == nullptr) {
            MANA_DRV_LOG(ERR, "port %u: RETA entry %zu names RX queue %u, which is not running",
                         port_id_, i, reta_[i]);
            return -EINVAL;
        }
        table[i] = queue->wq();
    }
    ibv_rwq_ind_table_init_attr table_attr{};
    table_attr.log_ind_tbl_size = kLogRetaSize;
    table_attr.ind_tbl = table.data();
    ind_table_.reset(ibv_create_rwq_ind_table(device_->context.get(), &table_attr));
    if (!ind_table_) {
        const int error = errno_or(ENOMEM);
        MANA_DRV_LOG(ERR, "port %u: ibv_create_rwq_ind_table failed: %s", port_id_,
                     strerror(error));
        return -error;
    }
    ibv_qp_init_attr_ex qp_attr{};
    qp_attr.qp_type = IBV_QPT_RAW_PACKET;
    qp_attr.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_RX_HASH | IBV_QP_INIT_ATTR_IND_TABLE;
    qp_attr.pd = parent_domain_.get();
    qp_attr.rwq_ind_tbl = ind_table_.get();
    qp_attr.rx_hash_conf.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
    qp_attr.rx_hash_conf.rx_hash_key_len = kRssKeySize;
    qp_attr.rx_hash_conf.rx_hash_key = rss_key_.data();
    qp_attr.rx_hash_conf.rx_hash_fields_mask = rss_fields_for(rss_hf_);
    rss_qp_.reset(ibv_create_qp_ex(device_->context.get(), &qp_attr));
    if (!rss_qp_) {
        const int error = errno_or(ENOMEM);
        MANA_DRV_LOG(ERR, "port %u: ibv_create_qp_ex (RSS) failed: %s", port_id_, strerror(error));
        ind_table_.reset();
        return -error;
    }
    return 0;
}

void Port::destroy_rss()
{
    rss_qp_.reset();
    ind_table_.reset();
}

int Port::apply_rss()
{
    if (!started_ || rx_queue_count() == 0)
        return 0;
    destroy_rss();
    return create_rss();
}

void Port::IntrDeleter::operator()(rte_intr_handle *handle) const
{
    rte_intr_free_epoll_fd(handle);
    rte_intr_vec_list_free(handle);
    rte_intr_instance_free(handle);
}

int Port::setup_rx_interrupts()
{
    const uint16_t queues = rx_queue_count();
    rx_interrupts_.reset(rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE));
    rte_intr_handle *handle = rx_interrupts_.get();
    if (handle == nullptr || rte_intr_type_set(handle, RTE_INTR_HANDLE_EXT) != 0 ||
        rte_intr_vec_list_alloc(handle, "mana_rx_intr", queues) != 0) {
        MANA_DRV_LOG(ERR, "port %u: cannot allocate the RX interrupt handle for %u queues",
                     port_id_, queues);
        rx_interrupts_.reset();
        return -ENOMEM;
    }
    for (uint16_t q = 0; q < queues; ++q) {
        if (rte_intr_vec_list_index_set(handle, q, RTE_INTR_VEC_RXTX_OFFSET + q) != 0 ||
            rte_intr_efds_index_set(handle, q, rxq(q)->interrupt_fd()) != 0) {
            MANA_DRV_LOG(ERR, "port %u: RX queue %u cannot be given an interrupt vector", port_id_,
                         q);
            rx_interrupts_.reset();
            return -ENOSPC;
        }
    }
    rte_intr_nb_efd_set(handle, queues);
    rte_intr_max_intr_set(handle, queues + 1);
    rte_eth_devices[port_id_].intr_handle = handle;
    return 0;
}

void Port::teardown_rx_interrupts()
{
    if (rte_eth_devices[port_id_].intr_handle == rx_interrupts_.get())
        rte_eth_devices[port_id_].intr_handle = nullptr;
    rx_interrupts_.reset();
}

// Under the device mutex: a recovery step destroys and recreates the CQ (and its doorbell
// page) that arming rings.
int Port::rx_interrupt_enable(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || !started_ || rx->interrupt_fd() < 0) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: interrupts need intr_conf.rxq = 1 and a "
                     "started port",
                     port_id_, queue);
        return -EINVAL;
    }
    return rx->arm_interrupt();
}

int Port::rx_interrupt_disable(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || rx->interrupt_fd() < 0)
        return -EINVAL;
    return rx->drain_interrupt();
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

int Port::rss_hash_update(const rte_eth_rss_conf &conf)
{
    const std::lock_guard guard(device_->mutex);
    if (conf.rss_hf & ~kSupportedRssTypes) {
        MANA_DRV_LOG(
            ERR, "port %u: RSS hash types %#" PRIx64 " are not supported (supported: %#" PRIx64 ")",
            port_id_, conf.rss_hf & ~kSupportedRssTypes, kSupportedRssTypes);
        return -EINVAL;
    }
    if (conf.rss_key != nullptr && conf.rss_key_len != kRssKeySize) {
        MANA_DRV_LOG(ERR, "port %u: RSS key of %u bytes; the device takes exactly %zu", port_id_,
                     conf.rss_key_len, kRssKeySize);
        return -EINVAL;
    }
    const RssKey old_key = rss_key_;
    const uint64_t old_hf = rss_hf_;
    if (conf.rss_key != nullptr)
        std::copy_n(conf.rss_key, kRssKeySize, rss_key_.begin());
    rss_hf_ = conf.rss_hf != 0 ? conf.rss_hf : kDefaultRssTypes;
    const int ret = apply_rss();
    if (ret != 0) {
        rss_key_ = old_key;
        rss_hf_ = old_hf;
        static_cast<void>(apply_rss());
    }
    return ret;
}

int Port::rss_hash_conf_get(rte_eth_rss_conf &conf) const
{
    if (conf.rss_key != nullptr) {
        if (conf.rss_key_len < kRssKeySize)
            return -EINVAL;
        std::copy(rss_key_.begin(), rss_key_.end(), conf.rss_key);
    }
    conf.rss_key_len = kRssKeySize;
    conf.rss_hf = rss_hf_;
    return 0;
}

int Port::reta_update(const rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
    const std::lock_guard guard(device_->mutex);
    if (size != kRetaSize) {
        MANA_DRV_LOG(ERR, "port %u: RETA of %u entries; the device has exactly %zu", port_id_, size,
                     kRetaSize);
        return -EINVAL;
    }
    auto updated = reta_;
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        const auto &group = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        const std::size_t bit = i % RTE_ETH_RETA_GROUP_SIZE;
        if ((group.mask >> bit) & 1U) {
            if (group.reta[bit] >= std::max<uint16_t>(rx_queue_count(), 1)) {
                MANA_DRV_LOG(ERR, "port %u: RETA entry %zu names RX queue %u of %u", port_id_, i,
                             group.reta[bit], rx_queue_count());
                return -EINVAL;
            }
            updated[i] = group.reta[bit];
        }
    }
    const auto old = reta_;
    reta_ = updated;
    const int ret = apply_rss();
    if (ret != 0) {
        reta_ = old;
        static_cast<void>(apply_rss());
    }
    return ret;
}

int Port::reta_query(rte_eth_rss_reta_entry64 *conf, uint16_t size) const
{
    if (size != kRetaSize)
        return -EINVAL;
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        auto &group = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        const std::size_t bit = i % RTE_ETH_RETA_GROUP_SIZE;
        if ((group.mask >> bit) & 1U)
            group.reta[bit] = reta_[i];
    }
    return 0;
}

// The VF's MTU is the kernel netdev's (spec §8). The netdev is checked to carry this
// port's MAC first: without it (an emulated device, a netdev renamed or moved to another
// namespace) there is nothing to change and the ioctl could hit an unrelated interface.
// RX queues set up for a smaller MTU: scattering ones need more buffers per WQE, which
// takes effect at the next start, so a running port refuses; others get a warning, as
// at queue setup.
int Port::check_rx_queues_for_mtu(uint16_t mtu, bool apply)
{
    const uint32_t frame = rx_frame_bytes(mtu);
    for (uint16_t i = 0; i < rx_queue_count(); ++i) {
        RxQueue *queue = rxq(i);
        if (queue == nullptr)
            continue;
        const uint32_t buffer = rx_buffer_bytes(queue->config().pool);
        const uint32_t buffers = rx_buffers_for(frame, buffer);
        if (!queue->config().scatter) {
            if (apply && buffers > 1)
                MANA_DRV_LOG(WARNING,
                             "port %u RX queue %u: %u-byte buffers are shorter than a frame at "
                             "MTU %u; longer frames are dropped as truncated (enable "
                             "RTE_ETH_RX_OFFLOAD_SCATTER to receive them as mbuf chains)",
                             port_id_, i, buffer, mtu);
            continue;
        }
        if (buffers <= queue->config().sges)
            continue;
        if (buffers > max_rx_sges()) {
            MANA_DRV_LOG(ERR,
                         "port %u RX queue %u: a frame at MTU %u needs %u buffers of %u bytes; "
                         "the device scatters into at most %u: use larger mbufs",
                         port_id_, i, mtu, buffers, buffer, max_rx_sges());
            return -EINVAL;
        }
        if (started_) {
            MANA_DRV_LOG(ERR,
                         "port %u RX queue %u: MTU %u needs %u buffers per packet, the running "
                         "queue has %u; stop the port to change the MTU",
                         port_id_, i, mtu, buffers, queue->config().sges);
            return -EBUSY;
        }
        if (apply)
            queue->set_sges(buffers);
    }
    return 0;
}

int Port::mtu_set(uint16_t mtu)
{
    if (const int ret = check_rx_queues_for_mtu(mtu, false); ret != 0)
        return ret;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ifreq request{};
    std::strncpy(request.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    int ret = ioctl(fd, SIOCGIFHWADDR, &request);
    if (ret != 0 || std::memcmp(request.ifr_hwaddr.sa_data, mac_.data(), mac_.size()) != 0) {
        const int error = ret != 0 ? errno : ENODEV;
        ::close(fd);
        if (error == ENODEV) {
            // Nothing to apply the MTU to: succeeding would let the application believe in
            // an MTU the VF does not have.
            MANA_DRV_LOG(ERR,
                         "port %u: no kernel netdev %s with MAC %s in this namespace; cannot "
                         "set MTU %u",
                         port_id_, ifname_.c_str(), format_mac(mac_).c_str(), mtu);
            return -ENODEV;
        }
        MANA_DRV_LOG(ERR, "port %u: cannot read netdev %s: %s", port_id_, ifname_.c_str(),
                     strerror(error));
        return -error;
    }
    std::memset(&request.ifr_ifru, 0, sizeof(request.ifr_ifru));
    request.ifr_mtu = mtu;
    ret = ioctl(fd, SIOCSIFMTU, &request);
    const int error = errno;
    ::close(fd);
    if (ret != 0) {
        MANA_DRV_LOG(ERR, "port %u: setting MTU %u on netdev %s failed: %s%s", port_id_, mtu,
                     ifname_.c_str(), strerror(error),
                     error == EPERM ? " (needs CAP_NET_ADMIN)" : "");
        return -error;
    }
    return check_rx_queues_for_mtu(mtu, true);
}

} // namespace mana
