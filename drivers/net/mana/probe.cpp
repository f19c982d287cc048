/* SPDX-License-Identifier: BSD-3-Clause */
// PCI driver registration and probe: PCI function -> RDMA device -> one ethdev per port.
#include "devargs.h"
#include "ethdev_ops.h"
#include "log.h"
#include "mp.h"
#include "pci_ids.h"
#include "port.h"
#include "rxq.h"
#include "sysfs_discovery.h"
#include "txq.h"
#include "verbs.h"

#include <bus_pci_driver.h>
#include <ethdev_pci.h>
#include <rte_errno.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mana
{
namespace
{

constexpr auto make_rte_pci_id_table()
{
    std::array<rte_pci_id, kPciIds.size() + 1> table{};
    for (std::size_t i = 0; i < kPciIds.size(); ++i) {
        table[i].class_id = RTE_CLASS_ANY_ID;
        table[i].vendor_id = kPciIds[i].vendor;
        table[i].device_id = kPciIds[i].device;
        table[i].subsystem_vendor_id = RTE_PCI_ANY_ID;
        table[i].subsystem_device_id = RTE_PCI_ANY_ID;
    }
    return table; // zeroed sentinel at the end
}

constexpr auto kRtePciIdTable = make_rte_pci_id_table();

std::string pci_name(const rte_pci_device *pci_dev)
{
    char name[PCI_PRI_STR_SIZE];
    rte_pci_device_name(&pci_dev->addr, name, sizeof(name));
    return name;
}

// Closes every port of the PCI function; closing releases all the port owns.
int pci_remove(rte_pci_device *pci_dev)
{
    uint16_t port_id;
    int result = 0;
    RTE_ETH_FOREACH_DEV_OF(port_id, &pci_dev->device)
    {
        // A secondary only lets go of the port; stopping it is the primary's business.
        if (rte_eal_process_type() == RTE_PROC_PRIMARY &&
            rte_eth_devices[port_id].data->dev_started)
            static_cast<void>(rte_eth_dev_stop(port_id));
        const int ret = rte_eth_dev_close(port_id);
        if (ret != 0)
            result = ret;
    }
    return result;
}

// One ethdev for one IB port of the device. Negative errno; nothing is left behind on
// failure.
int create_port(rte_pci_device *pci_dev, const std::shared_ptr<Device> &device,
                const NetdevPort &netdev)
{
    const std::string name = port_name(device->bdf, netdev.ib_port);
    rte_eth_dev *eth_dev = rte_eth_dev_allocate(name.c_str());
    if (eth_dev == nullptr) {
        MANA_INIT_LOG(ERR,
                      "%s: cannot allocate ethdev %s (too many ports? raise "
                      "RTE_MAX_ETHPORTS)",
                      device->bdf.c_str(), name.c_str());
        return -ENOMEM;
    }
    const int socket = pci_dev->device.numa_node;
    eth_dev->device = &pci_dev->device;
    eth_dev->data->numa_node = socket;
    void *memory = rte_zmalloc_socket("mana_port", sizeof(Port), RTE_CACHE_LINE_SIZE, socket);
    auto *mac = static_cast<rte_ether_addr *>(
        rte_zmalloc_socket("mana_mac", sizeof(rte_ether_addr), 0, socket));
    if (memory == nullptr || mac == nullptr) {
        rte_free(memory);
        rte_free(mac);
        rte_eth_dev_release_port(eth_dev);
        MANA_INIT_LOG(ERR, "%s: out of DPDK memory creating %s", device->bdf.c_str(), name.c_str());
        return -ENOMEM;
    }
    std::copy(netdev.mac.begin(), netdev.mac.end(), mac->addr_bytes);
    eth_dev->data->mac_addrs = mac;
    eth_dev->data->dev_private =
        std::construct_at(static_cast<Port *>(memory), device, netdev, eth_dev);
    eth_dev->dev_ops = &port_ops();
    eth_dev->rx_pkt_burst = rx_burst;
    eth_dev->tx_pkt_burst = tx_burst;
    eth_dev->tx_pkt_prepare = tx_prepare;
    eth_dev->rx_queue_count = rx_queue_count;
    eth_dev->rx_descriptor_status = rx_descriptor_status;
    eth_dev->tx_descriptor_status = tx_descriptor_status;
    // No RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS: the driver's xstats name every queue's counters
    // itself (xstats.cpp), beyond the first RTE_ETHDEV_QUEUE_STAT_CNTRS queues ethdev covers.
    const int ret = Port::of(eth_dev).init();
    if (ret != 0) {
        std::destroy_at(&Port::of(eth_dev));
        rte_eth_dev_release_port(eth_dev); // frees dev_private and the MAC
        return ret;
    }
    rte_eth_dev_probing_finish(eth_dev);
    MANA_INIT_LOG(INFO, "%s: port %u is %s (IB port %u, netdev %s, MAC %s)", device->bdf.c_str(),
                  eth_dev->data->port_id, name.c_str(), netdev.ib_port, netdev.ifname.c_str(),
                  format_mac(netdev.mac).c_str());
    return 0;
}

int pci_probe(rte_pci_driver *, rte_pci_device *pci_dev)
{
    const std::string bdf = pci_name(pci_dev);
    if (rte_eal_process_type() != RTE_PROC_PRIMARY)
        return probe_secondary(pci_dev, bdf);
    serve_secondaries();
    const DevargsResult parsed =
        parse_devargs(pci_dev->device.devargs != nullptr ? pci_dev->device.devargs->args : nullptr);
    if (parsed.error != 0) {
        MANA_INIT_LOG(ERR, "%s: %s", bdf.c_str(), parsed.what.c_str());
        return parsed.error;
    }
    const DeviceList list;
    if (!list.available()) {
        MANA_INIT_LOG(ERR,
                      "%s: no RDMA devices on this system (%s): load the kernel modules "
                      "ib_uverbs, mana_ib and mana, and install rdma-core >= 44 (libibverbs1, "
                      "ibverbs-providers)",
                      bdf.c_str(), std::strerror(errno));
        return -ENODEV;
    }
    ibv_device *rdma_device = find_rdma_device(list, bdf);
    if (rdma_device == nullptr) {
        MANA_INIT_LOG(ERR,
                      "%s: no RDMA device belongs to this PCI function (%zu RDMA devices "
                      "checked): load the kernel modules ib_uverbs, mana_ib and mana, and "
                      "install rdma-core >= 44 (libibverbs1, ibverbs-providers)",
                      bdf.c_str(), list.devices().size());
        return -ENODEV;
    }
    MANA_INIT_LOG(INFO, "%s: RDMA device %s", bdf.c_str(), ibv_get_device_name(rdma_device));
    std::shared_ptr<Device> device;
    int ret = Device::open(rdma_device, bdf,
                           std::chrono::milliseconds(parsed.devargs.recovery_timeout_ms), device);
    if (ret != 0)
        return ret;

    const std::vector<NetdevPort> netdevs = list_netdev_ports(rdma_device->ibdev_path);
    const unsigned port_count = device->attr.orig_attr.phys_port_cnt;
    for (const MacAddress &mac : parsed.devargs.macs) {
        const bool known = std::any_of(netdevs.begin(), netdevs.end(),
                                       [&](const NetdevPort &p) { return p.mac == mac; });
        if (!known)
            MANA_INIT_LOG(WARNING, "%s: devargs mac=%s matches no port of this device; ignored",
                          bdf.c_str(), format_mac(mac).c_str());
    }
    unsigned created = 0;
    for (const NetdevPort &netdev : netdevs) {
        if (netdev.ib_port < 1 || netdev.ib_port > port_count) {
            MANA_INIT_LOG(WARNING, "%s: netdev %s claims IB port %u of %u; skipped", bdf.c_str(),
                          netdev.ifname.c_str(), netdev.ib_port, port_count);
            continue;
        }
        if (!parsed.devargs.accepts(netdev.mac))
            continue;
        ret = create_port(pci_dev, device, netdev);
        if (ret != 0) {
            pci_remove(pci_dev);
            return ret;
        }
        ++created;
    }
    if (created == 0) {
        MANA_INIT_LOG(ERR,
                      "%s: no port to create (%zu netdevs under %s/device/net, %zu mac= "
                      "filters); is the mana netdev driver bound?",
                      bdf.c_str(), netdevs.size(), rdma_device->ibdev_path,
                      parsed.devargs.macs.size());
        return -ENODEV;
    }
    return 0;
}

rte_pci_driver pci_driver = [] {
    rte_pci_driver driver{};
    driver.id_table = kRtePciIdTable.data();
    driver.drv_flags = RTE_PCI_DRV_INTR_RMV;
    driver.probe = pci_probe;
    driver.remove = pci_remove;
    return driver;
}();

} // namespace
} // namespace mana

RTE_PMD_REGISTER_PCI(net_mana, mana::pci_driver);
