/* SPDX-License-Identifier: BSD-3-Clause */
// The eth_dev_ops table: each callback forwards to the port. Nothing here throws, and
// every failure is a negative errno with a log line from the port.
#include "ethdev_ops.h"

#include "log.h"
#include "mp.h"
#include "port.h"

#include <rte_ethdev.h>

#include <type_traits>

namespace mana
{
namespace
{

// The op that calls `method` of the device's port with the op's own arguments (most ops;
// the functions below adapt their arguments or do more).
template <auto method>
struct ToPort;
template <typename R, typename... Args, R (Port::*method)(Args...)>
struct ToPort<method> {
    static R op(rte_eth_dev *dev, Args... args) { return (Port::of(dev).*method)(args...); }
};
template <typename R, typename... Args, R (Port::*method)(Args...) const>
struct ToPort<method> {
    static R op(rte_eth_dev *dev, Args... args) { return (Port::of(dev).*method)(args...); }
};
template <auto method>
constexpr auto to_port = ToPort<method>::op;

// Everything the port owns goes here; ethdev then frees dev_private and the MAC array
// (rte_eth_dev_release_port).
int dev_close(rte_eth_dev *dev)
{
    if (rte_eal_process_type() != RTE_PROC_PRIMARY)
        return 0;
    if (dev->data->dev_private != nullptr) {
        std::destroy_at(&Port::of(dev));
        rte_free(dev->data->dev_private);
        dev->data->dev_private = nullptr;
    }
    return 0;
}

int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info)
{
    Port::of(dev).info(*info);
    return 0;
}

const uint32_t *dev_supported_ptypes_get(rte_eth_dev *)
{
    // Exactly what rx_burst can set from the completion (see packet_type() in rxq.cpp).
    static const uint32_t kPtypes[] = {
        RTE_PTYPE_L2_ETHER,
        RTE_PTYPE_L2_ETHER_VLAN,
        RTE_PTYPE_L3_IPV4_EXT_UNKNOWN,
        RTE_PTYPE_L3_IPV6_EXT_UNKNOWN,
        RTE_PTYPE_L4_TCP,
        RTE_PTYPE_L4_UDP,
        RTE_PTYPE_UNKNOWN,
    };
    return kPtypes;
}

int link_update(rte_eth_dev *dev, int)
{
    return Port::of(dev).link_update();
}

int stats_get(rte_eth_dev *dev, rte_eth_stats *stats)
{
    return Port::of(dev).stats_get(*stats);
}

int rx_queue_setup(rte_eth_dev *dev, uint16_t queue, uint16_t descriptors, unsigned socket,
                   const rte_eth_rxconf *conf, rte_mempool *pool)
{
    const rte_eth_rxconf defaults{};
    return Port::of(dev).rx_queue_setup(queue, descriptors, socket, conf ? *conf : defaults, pool);
}

int tx_queue_setup(rte_eth_dev *dev, uint16_t queue, uint16_t descriptors, unsigned socket,
                   const rte_eth_txconf *conf)
{
    const rte_eth_txconf defaults{};
    return Port::of(dev).tx_queue_setup(queue, descriptors, socket, conf ? *conf : defaults);
}

void rxq_info_get(rte_eth_dev *dev, uint16_t queue, rte_eth_rxq_info *info)
{
    Port::of(dev).rxq_info(queue, *info);
}

void txq_info_get(rte_eth_dev *dev, uint16_t queue, rte_eth_txq_info *info)
{
    Port::of(dev).txq_info(queue, *info);
}

int rx_burst_mode_get(rte_eth_dev *dev, uint16_t queue, rte_eth_burst_mode *mode)
{
    return Port::of(dev).rx_burst_mode(queue, *mode);
}

int tx_burst_mode_get(rte_eth_dev *dev, uint16_t queue, rte_eth_burst_mode *mode)
{
    return Port::of(dev).tx_burst_mode(queue, *mode);
}

int rss_hash_update(rte_eth_dev *dev, rte_eth_rss_conf *conf)
{
    return Port::of(dev).rss_hash_update(*conf);
}

int rss_hash_conf_get(rte_eth_dev *dev, rte_eth_rss_conf *conf)
{
    return Port::of(dev).rss_hash_conf_get(*conf);
}

int reta_update(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
    return Port::of(dev).reta_update(conf, size);
}

int mac_addr_set(rte_eth_dev *dev, rte_ether_addr *mac)
{
    // ethdev restores the current MAC on every start: that is not a change.
    if (rte_is_same_ether_addr(mac, &dev->data->mac_addrs[0]))
        return 0;
    MANA_DRV_LOG(ERR,
                 "port %u: the MAC of a MANA port is assigned by the platform and cannot "
                 "be changed; probe with mac=<address> to choose among ports",
                 dev->data->port_id);
    return -ENOTSUP;
}

constexpr eth_dev_ops make_ops()
{
    eth_dev_ops ops{};
    ops.dev_configure = to_port<&Port::configure>;
    ops.dev_start = to_port<&Port::start>;
    ops.dev_stop = to_port<&Port::stop>;
    ops.dev_close = dev_close;
    ops.dev_infos_get = dev_infos_get;
    ops.dev_supported_ptypes_get = dev_supported_ptypes_get;
    ops.link_update = link_update;
    ops.stats_get = stats_get;
    ops.stats_reset = to_port<&Port::stats_reset>;
    ops.xstats_get = to_port<&Port::xstats_get>;
    ops.xstats_get_names = to_port<&Port::xstats_get_names>;
    ops.xstats_get_by_id = to_port<&Port::xstats_get_by_id>;
    ops.xstats_get_names_by_id = to_port<&Port::xstats_get_names_by_id>;
    // The extended statistics are the queues' counters: one reset clears both views.
    ops.xstats_reset = to_port<&Port::stats_reset>;
    ops.rx_queue_setup = rx_queue_setup;
    ops.tx_queue_setup = tx_queue_setup;
    ops.rx_queue_release = to_port<&Port::rx_queue_release>;
    ops.tx_queue_release = to_port<&Port::tx_queue_release>;
    ops.rx_queue_start = to_port<&Port::rx_queue_start>;
    ops.rx_queue_stop = to_port<&Port::rx_queue_stop>;
    ops.tx_queue_start = to_port<&Port::tx_queue_start>;
    ops.tx_queue_stop = to_port<&Port::tx_queue_stop>;
    ops.rxq_info_get = rxq_info_get;
    ops.txq_info_get = txq_info_get;
    ops.rx_burst_mode_get = rx_burst_mode_get;
    ops.tx_burst_mode_get = tx_burst_mode_get;
    ops.tx_done_cleanup = tx_done_cleanup;
    ops.get_monitor_addr = get_monitor_addr;
    ops.rss_hash_update = rss_hash_update;
    ops.rss_hash_conf_get = rss_hash_conf_get;
    ops.reta_update = reta_update;
    ops.reta_query = to_port<&Port::reta_query>;
    ops.mtu_set = to_port<&Port::mtu_set>;
    ops.vlan_offload_set = to_port<&Port::vlan_offload_set>;
    ops.mac_addr_set = mac_addr_set;
    ops.rx_queue_intr_enable = to_port<&Port::rx_interrupt_enable>;
    ops.rx_queue_intr_disable = to_port<&Port::rx_interrupt_disable>;
    // No promiscuous/allmulticast ops: the VF receives what the platform steers to its
    // MAC, so ethdev answers -ENOTSUP, which testpmd reports and ignores.
    return ops;
}

const eth_dev_ops kOps = make_ops();

int secondary_dev_close(rte_eth_dev *dev)
{
    return close_secondary_port(dev);
}

// A port the primary has closed has no Port any more (its shared data is cleared): then
// `op` is not called, and an op with a result fails with -ENODEV.
template <auto op>
struct UnlessClosed;
template <typename R, typename... Args, R (*op)(rte_eth_dev *, Args...)>
struct UnlessClosed<op> {
    static R call(rte_eth_dev *dev, Args... args)
    {
        if (dev->data->dev_private == nullptr) {
            if constexpr (std::is_void_v<R>)
                return;
            else
                return -ENODEV;
        }
        return op(dev, args...);
    }
};
template <auto op>
constexpr auto unless_closed = UnlessClosed<op>::call;

// The link status in the shared ethdev data is the primary's to maintain.
int secondary_link_update(rte_eth_dev *, int)
{
    return 0;
}

// What a secondary may do: read what lives in shared memory (the Port, the ethdev data,
// the queues and their counters and rings) and the queue-level entry points an lcore
// polling the queue uses. Everything that creates or destroys verbs objects, or needs a
// file descriptor of the primary's (RX interrupts), stays with the primary: ethdev then
// answers -ENOTSUP.
constexpr eth_dev_ops make_secondary_ops()
{
    eth_dev_ops ops{};
    ops.dev_close = secondary_dev_close;
    ops.dev_infos_get = unless_closed<dev_infos_get>;
    ops.dev_supported_ptypes_get = dev_supported_ptypes_get;
    ops.link_update = secondary_link_update;
    ops.stats_get = unless_closed<stats_get>;
    ops.stats_reset = unless_closed<to_port<&Port::stats_reset>>;
    ops.xstats_get = unless_closed<to_port<&Port::xstats_get>>;
    ops.xstats_get_names = unless_closed<to_port<&Port::xstats_get_names>>;
    ops.xstats_get_by_id = unless_closed<to_port<&Port::xstats_get_by_id>>;
    ops.xstats_get_names_by_id = unless_closed<to_port<&Port::xstats_get_names_by_id>>;
    ops.xstats_reset = unless_closed<to_port<&Port::stats_reset>>;
    ops.rxq_info_get = unless_closed<rxq_info_get>;
    ops.txq_info_get = unless_closed<txq_info_get>;
    ops.rx_burst_mode_get = unless_closed<rx_burst_mode_get>;
    ops.tx_burst_mode_get = unless_closed<tx_burst_mode_get>;
    // Given the queue itself, like the bursts: the lcore sending on it may free its sent
    // packets, and power management may watch an RX queue's next completion.
    ops.tx_done_cleanup = tx_done_cleanup;
    ops.get_monitor_addr = get_monitor_addr;
    ops.rss_hash_conf_get = unless_closed<rss_hash_conf_get>;
    ops.reta_query = unless_closed<to_port<&Port::reta_query>>;
    return ops;
}

const eth_dev_ops kSecondaryOps = make_secondary_ops();

} // namespace

const eth_dev_ops &port_ops()
{
    return kOps;
}

const eth_dev_ops &secondary_port_ops()
{
    return kSecondaryOps;
}

} // namespace mana
