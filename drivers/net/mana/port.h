/* SPDX-License-Identifier: BSD-3-Clause */
// Per-port state (what upstream calls priv) and its lifecycle. A Port lives in the
// ethdev's dev_private from probe to close and owns every verbs object of the port:
// protection domain, parent domain (pd_context = IB port), memory registrations, queues
// and the RSS QP. The verbs context is shared by the ports of one PCI function.
#pragma once

#include "dpdk_memory.h"
#include "events.h"
#include "mr_cache.h"
#include "mr_registration.h"
#include "rss.h"
#include "rxq.h"
#include "sysfs_discovery.h"
#include "txq.h"
#include "verbs.h"

#include <ethdev_driver.h>
#include <infiniband/manadv.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mana
{

inline constexpr uint16_t kMaxMtu = 9000;
inline constexpr uint32_t kMinRxBufferBytes = 1024;
// The frame RX buffers are sized for at an MTU: Ethernet header and one VLAN tag.
constexpr uint32_t rx_frame_bytes(uint16_t mtu)
{
    return mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
}
// Largest frame: MTU plus Ethernet header and up to two VLAN tags.
inline constexpr uint32_t kMaxFrameBytes = kMaxMtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
// The link is a virtual function of the host's NIC; the device reports no speed, so the
// driver reports this fixed one (as upstream does).
inline constexpr uint32_t kLinkSpeed = RTE_ETH_SPEED_NUM_100G;
// Memory regions per port; a full table makes lookups of new memory fail (packet dropped).
inline constexpr std::size_t kMaxMemoryRegions = 512;

// The ibv_device whose sysfs device/uevent names this PCI function, or nullptr.
ibv_device *find_rdma_device(const DeviceList &list, const std::string &bdf);

// Where a device is in service-reset recovery (recovery.cpp).
enum class RecoveryPhase {
    none,      // working, or removed
    releasing, // fatal error reported: quiesce bursts, release every verbs object
    reopening, // waiting for the device to open again, then rebuilding the ports
    failed,    // did not come back in time: the ports behave as removed
};

// One opened RDMA device (PCI function), shared by its ports.
struct Device : std::enable_shared_from_this<Device> {
    std::string bdf;
    ContextOwner context;
    ibv_device_attr_ex attr{};
    // The NUMA socket ring buffers of the queue being created go to (allocator data).
    int allocator_socket = SOCKET_ID_ANY;
    manadv_ctx_allocators allocators{};
    // Removed, failed or recovering: bursts stop (set on the interrupt thread).
    std::atomic<bool> dead{false};
    // The context's command fd for secondaries (-1 while recovery has it closed), under
    // its own mutex: the IPC thread answering a secondary must never wait for `mutex`,
    // which is held across IPC round trips to the secondaries.
    std::mutex command_fd_mutex;
    int command_fd = -1;
    // How long a service reset may keep the device away; 0 disables recovery.
    std::chrono::milliseconds recovery_timeout{0};

    // Serialises recovery steps (interrupt thread) with the ports' control operations,
    // and guards the fields below. Never held while events are delivered.
    std::mutex mutex;
    std::vector<uint16_t> ports;
    RecoveryPhase recovery = RecoveryPhase::none;
    std::chrono::steady_clock::time_point recovery_deadline{};

    // After the context: stops watching its async fd before it is closed.
    AsyncEventsOwner events;

    Device() = default;
    ~Device();
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;

    // Opens the device and checks it is a MANA Ethernet function. Negative errno.
    static int open(ibv_device *device, const std::string &bdf,
                    std::chrono::milliseconds recovery_timeout, std::shared_ptr<Device> &out);

    // Probe; close takes the port out with `mutex` held.
    void add_port(uint16_t port);

    // Waits until no burst of the port that started before `dead` was set still runs.
    // Caller holds `mutex`.
    void quiesce_port_bursts(uint16_t port);

  private:
    // Context, attributes, ring allocators and the async event watch. Negative errno;
    // `log_errors` is off while recovery polls for the device to come back.
    int attach(ibv_device *device, bool log_errors);
    // Interrupt thread: the first fatal event of a context.
    void on_fatal();
    static void on_recovery_alarm(void *device);
    void recovery_step();
    // With `mutex` held: every port's verbs objects, then the context.
    void release_locked();
    int reopen_locked();
    bool function_present() const;
    void notify(const std::vector<uint16_t> &ports, rte_eth_event_type event) const;
};

class Port
{
  public:
    Port(std::shared_ptr<Device> device, const NetdevPort &netdev, rte_eth_dev *eth_dev);
    ~Port();
    Port(const Port &) = delete;
    Port &operator=(const Port &) = delete;

    static Port &of(const rte_eth_dev *dev) { return *static_cast<Port *>(dev->data->dev_private); }

    // Protection domain, parent domain, memory-region table. Negative errno.
    int init();

    void info(rte_eth_dev_info &info) const;
    int configure();
    int start();
    int stop();
    int close();

    int rx_queue_setup(uint16_t queue, uint16_t descriptors, unsigned socket,
                       const rte_eth_rxconf &conf, rte_mempool *pool);
    int tx_queue_setup(uint16_t queue, uint16_t descriptors, unsigned socket,
                       const rte_eth_txconf &conf);
    void rx_queue_release(uint16_t queue);
    void tx_queue_release(uint16_t queue);

    // Per-queue control of a started port and queue information (queue_control.cpp).
    int rx_queue_start(uint16_t queue);
    int rx_queue_stop(uint16_t queue);
    int tx_queue_start(uint16_t queue);
    int tx_queue_stop(uint16_t queue);
    void rxq_info(uint16_t queue, rte_eth_rxq_info &info) const;
    void txq_info(uint16_t queue, rte_eth_txq_info &info) const;
    int rx_burst_mode(uint16_t queue, rte_eth_burst_mode &mode) const;
    int tx_burst_mode(uint16_t queue, rte_eth_burst_mode &mode) const;

    // Basic statistics (stats.cpp).
    int stats_get(rte_eth_stats &stats) const;
    int stats_reset();
    // Extended statistics (xstats.cpp); reset with stats_reset.
    int xstats_get(rte_eth_xstat *stats, unsigned n) const;
    int xstats_get_names(rte_eth_xstat_name *names, unsigned size) const;
    int xstats_get_by_id(const uint64_t *ids, uint64_t *values, unsigned n) const;
    int xstats_get_names_by_id(const uint64_t *ids, rte_eth_xstat_name *names, unsigned size) const;
    int link_update();

    int rss_hash_update(const rte_eth_rss_conf &conf);
    int rss_hash_conf_get(rte_eth_rss_conf &conf) const;
    int reta_update(const rte_eth_rss_reta_entry64 *conf, uint16_t size);
    int reta_query(rte_eth_rss_reta_entry64 *conf, uint16_t size) const;

    int mtu_set(uint16_t mtu);
    int vlan_offload_set(int mask);

    int rx_interrupt_enable(uint16_t queue);
    int rx_interrupt_disable(uint16_t queue);

    // Service-reset recovery, with the device's mutex held: wait for the bursts that
    // passed the dead check; release every verbs object (in-flight packets freed, the
    // configuration, queues and counters kept); create them again on the reopened
    // context and restart the queues if the port was started. Negative errno.
    void wait_for_bursts() const;
    void release_for_recovery();
    int rebuild_after_recovery();

    const std::string &ifname() const { return ifname_; }
    const std::string &bdf() const { return device_->bdf; }
    unsigned ib_port() const { return ib_port_; }
    // Primary only: a duplicate of the verbs context's command fd (a secondary maps its
    // doorbell page from it; -1 while a service reset has the context closed), and the
    // memory-region table secondaries register through.
    int dup_command_fd() const;
    MrTable *memory_regions() { return mr_table_ ? &*mr_table_ : nullptr; }
    uint32_t max_descriptors() const;
    // The ring a queue set up with `descriptors` gets: a power of two the device takes.
    uint32_t ring_descriptors(uint16_t descriptors) const;
    uint32_t max_tx_sges() const;
    uint32_t max_rx_sges() const;

  private:
    uint64_t xstats_count() const;
    // In the primary, the device mutex if it is free: while it is held no control
    // operation or recovery step can destroy a queue's CQ, so the TX counters may read
    // the completions no burst has read yet (tx_counters). Not held (a secondary, or a
    // recovery running), they are what the bursts have read.
    std::unique_lock<std::mutex> lock_cqs_for_counters() const;
    static QueueCounters tx_counters(const TxQueue &queue, const std::unique_lock<std::mutex> &cqs);
    uint64_t xstat_value(uint64_t id, const std::unique_lock<std::mutex> &cqs) const;
    // PD and parent domain (and the registrar on that PD). Negative errno.
    int create_domains(bool log_errors);
    int start_locked();
    int stop_locked();
    // Creates every queue's verbs objects, RSS and RX interrupts, and starts the queues
    // that run (after a reset: those whose state says started); on failure leaves none
    // of them. Negative errno.
    int start_queues(bool recovering);
    // Destroys them, returning every mbuf the device held.
    void destroy_queue_objects();
    QueueVerbs queue_verbs();
    int check_rx_queues_for_mtu(uint16_t mtu, bool apply);
    // Per-queue start/stop while the device is away (queue_control.cpp), mutex held.
    int record_queue_state_while_away(uint8_t &state, bool start, const char *kind, uint16_t queue);
    void rx_queue_release_locked(uint16_t queue);
    void tx_queue_release_locked(uint16_t queue);
    int create_rss();
    void destroy_rss();
    // Recreates the RSS QP with the current key, types and RETA if the port runs.
    int apply_rss();
    // The ethdev interrupt handle listing each RX queue's completion channel fd.
    int setup_rx_interrupts();
    void teardown_rx_interrupts();
    uint16_t rx_queue_count() const { return data_->nb_rx_queues; }
    // Queues as the ethdev data lists them: readable from every process (rxqs_ and
    // txqs_ live in the primary's heap).
    RxQueue *shared_rxq(uint16_t i) const;
    TxQueue *shared_txq(uint16_t i) const;
    uint16_t tx_queue_count() const { return data_->nb_tx_queues; }
    RxQueue *rxq(uint16_t i) const { return i < rxqs_.size() ? rxqs_[i].get() : nullptr; }
    TxQueue *txq(uint16_t i) const { return i < txqs_.size() ? txqs_[i].get() : nullptr; }

    // Declaration order is teardown order reversed: queues and registrations go before
    // the parent domain, which goes before the PD, which goes before the context.
    std::shared_ptr<Device> device_;
    rte_eth_dev_data *data_;
    uint16_t port_id_;
    unsigned ib_port_;
    std::string ifname_;
    MacAddress mac_;
    // A copy in the port (shared memory) so that secondaries can answer dev_infos_get.
    ibv_device_attr attr_;
    PdOwner pd_;
    PdOwner parent_domain_;
    std::optional<VerbsMrRegistrar> registrar_;
    std::optional<MrTable> mr_table_;
    std::vector<DpdkUnique<RxQueue>> rxqs_;
    std::vector<DpdkUnique<TxQueue>> txqs_;
    struct IntrDeleter {
        void operator()(rte_intr_handle *handle) const;
    };
    std::unique_ptr<rte_intr_handle, IntrDeleter> rx_interrupts_;
    IndTableOwner ind_table_;
    QpOwner rss_qp_;

    RssKey rss_key_ = kDefaultRssKey;
    uint64_t rss_hf_ = kDefaultRssTypes;
    bool rss_enabled_ = false; // mq_mode has RSS; otherwise everything goes to queue 0
    std::array<uint16_t, kRetaSize> reta_{};
    bool started_ = false;
    rte_eth_err_handle_mode err_handle_mode_ = RTE_ETH_ERROR_HANDLE_MODE_NONE;
};

} // namespace mana
