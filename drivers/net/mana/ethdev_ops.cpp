/* SPDX-License-Identifier: BSD-3-Clause */
// The eth_dev_ops table: each callback forwards to the port. Nothing here throws, and
// every failure is a negative errno with a log line from the port.
#include "ethdev_ops.h"

#include "log.h"
#include "mp.h"
#include "port.h"

#include <rte_ethdev.h>

namespace mana
{
namespace
{

int dev_configure(rte_eth_dev *dev)
{
    return Port::of(dev).configure();
}

int dev_start(rte_eth_dev *dev)
{
    return Port::of(dev).start();
}

int dev_stop(rte_eth_dev *dev)
{
    return Port::of(dev).stop();
}

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

int stats_reset(rte_eth_dev *dev)
{
    return Port::of(dev).stats_reset();
}

int xstats_get(rte_eth_dev *dev, rte_eth_xstat *stats, unsigned n)
{
    return Port::of(dev).xstats_get(stats, n);
}

int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned size)
{
    return Port::of(dev).xstats_get_names(names, size);
}

int xstats_get_by_id(rte_eth_dev *dev, const uint64_t *ids, uint64_t *values, unsigned n)
{
    return Port::of(dev).xstats_get_by_id(ids, values, n);
}

int xstats_get_names_by_id(rte_eth_dev *dev, const uint64_t *ids, rte_eth_xstat_name *names,
                           unsigned size)
{
    return Port::of(dev).xstats_get_names_by_id(ids, names, size);
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

void rx_queue_release(rte_eth_dev *dev, uint16_t queue)
{
    Port::of(dev).rx_queue_release(queue);
}

void tx_queue_release(rte_eth_dev *dev, uint16_t queue)
{
    Port::of(dev).tx_queue_release(queue);
}

int rx_queue_start(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).rx_queue_start(queue);
}

int rx_queue_stop(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).rx_queue_stop(queue);
}

int tx_queue_start(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).tx_queue_start(queue);
}

int tx_queue_stop(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).tx_queue_stop(queue);
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

int reta_query(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
    return Port::of(dev).reta_query(conf, size);
}

int mtu_set(rte_eth_dev *dev, uint16_t mtu)
{
    return Port::of(dev).mtu_set(mtu);
}

int vlan_offload_set(rte_eth_dev *dev, int mask)
{
    return Port::of(dev).vlan_offload_set(mask);
}

int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).rx_interrupt_enable(queue);
}

int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t queue)
{
    return Port::of(dev).rx_interrupt_disable(queue);
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
    ops.dev_configure = dev_configure;
    ops.dev_start = dev_start;
    ops.dev_stop = dev_stop;
    ops.dev_close = dev_close;
    ops.dev_infos_get = dev_infos_get;
    ops.dev_supported_ptypes_get = dev_supported_ptypes_get;
    ops.link_update = link_update;
    ops.stats_get = stats_get;
    ops.stats_reset = stats_reset;
    ops.xstats_get = xstats_get;
    ops.xstats_get_names = xstats_get_names;
    ops.xstats_get_by_id = xstats_get_by_id;
    ops.xstats_get_names_by_id = xstats_get_names_by_id;
    // The extended statistics are the queues' counters: one reset clears both views.
    ops.xstats_reset = stats_reset;
    ops.rx_queue_setup = rx_queue_setup;
    ops.tx_queue_setup = tx_queue_setup;
    ops.rx_queue_release = rx_queue_release;
    ops.tx_queue_release = tx_queue_release;
    ops.rx_queue_start = rx_queue_start;
    ops.rx_queue_stop = rx_queue_stop;
    ops.tx_queue_start = tx_queue_start;
    ops.tx_queue_stop = tx_queue_stop;
    ops.rxq_info_get = rxq_info_get;
    ops.txq_info_get = txq_info_get;
    ops.rx_burst_mode_get = rx_burst_mode_get;
    ops.tx_burst_mode_get = tx_burst_mode_get;
    ops.tx_done_cleanup = tx_done_cleanup;
    ops.get_monitor_addr = get_monitor_addr;
    ops.rss_hash_update = rss_hash_update;
    ops.rss_hash_conf_get = rss_hash_conf_get;
    ops.reta_update = reta_update;
    ops.reta_query = reta_query;
    ops.mtu_set = mtu_set;
    ops.vlan_offload_set = vlan_offload_set;
    ops.mac_addr_set = mac_addr_set;
    ops.rx_queue_intr_enable = rx_queue_intr_enable;
    ops.rx_queue_intr_disable = rx_queue_intr_disable;
    // No promiscuous/allmulticast ops: the VF receives what the platform steers to its
    // MAC, so ethdev answers -ENOTSUP, which testpmd reports and ignores.
    return ops;
}

const eth_dev_ops kOps = make_ops();

int secondary_dev_close(rte_eth_dev *dev)
{
    return close_secondary_port(dev);
}

// A port the primary has closed has no Port any more (its shared data is cleared).
template <auto op, typename... Args>
int unless_closed(rte_eth_dev *dev, Args... args)
{
    if (dev->data->dev_private == nullptr)
        return -ENODEV;
    return op(dev, args...);
}

template <auto op, typename... Args>
void unless_closed_void(rte_eth_dev *dev, Args... args)
{
    if (dev->data->dev_private != nullptr)
        op(dev, args...);
}

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
    ops.dev_infos_get = unless_closed<dev_infos_get, rte_eth_dev_info *>;
    ops.dev_supported_ptypes_get = dev_supported_ptypes_get;
    ops.link_update = secondary_link_update;
    ops.stats_get = unless_closed<stats_get, rte_eth_stats *>;
    ops.stats_reset = unless_closed<stats_reset>;
    ops.xstats_get = unless_closed<xstats_get, rte_eth_xstat *, unsigned>;
    ops.xstats_get_names = unless_closed<xstats_get_names, rte_eth_xstat_name *, unsigned>;
    ops.xstats_get_by_id = unless_closed<xstats_get_by_id, const uint64_t *, uint64_t *, unsigned>;
    ops.xstats_get_names_by_id =
        unless_closed<xstats_get_names_by_id, const uint64_t *, rte_eth_xstat_name *, unsigned>;
    ops.xstats_reset = unless_closed<stats_reset>;
    ops.rxq_info_get = unless_closed_void<rxq_info_get, uint16_t, rte_eth_rxq_info *>;
    ops.txq_info_get = unless_closed_void<txq_info_get, uint16_t, rte_eth_txq_info *>;
    ops.rx_burst_mode_get = unless_closed<rx_burst_mode_get, uint16_t, rte_eth_burst_mode *>;
    ops.tx_burst_mode_get = unless_closed<tx_burst_mode_get, uint16_t, rte_eth_burst_mode *>;
    // Given the queue itself, like the bursts: the lcore sending on it may free its sent
    // packets, and power management may watch an RX queue's next completion.
    ops.tx_done_cleanup = tx_done_cleanup;
    ops.get_monitor_addr = get_monitor_addr;
    ops.rss_hash_conf_get = unless_closed<rss_hash_conf_get, rte_eth_rss_conf *>;
    ops.reta_query = unless_closed<reta_query, rte_eth_rss_reta_entry64 *, uint16_t>;
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
