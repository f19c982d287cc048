/* SPDX-License-Identifier: BSD-3-Clause */
// PCI driver registration and probe: PCI function -> RDMA device -> one ethdev per port.
#include "log.h"
#include "pci_ids.h"
#include "sysfs_discovery.h"
#include "verbs.h"

#include <bus_pci_driver.h>
#include <ethdev_pci.h>
#include <rte_errno.h>

#include <cerrno>
#include <cstring>
#include <string>

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

// The ibv_device whose sysfs device/uevent names this PCI function, or nullptr.
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

int pci_probe(rte_pci_driver *, rte_pci_device *pci_dev)
{
    const std::string bdf = pci_name(pci_dev);
    const DeviceList list;
    if (!list.available()) {
        MANA_INIT_LOG(ERR,
                      "%s: no RDMA devices on this system (%s): load the kernel modules "
                      "ib_uverbs, mana_ib and mana, and install rdma-core >= 44 (libibverbs1, "
                      "ibverbs-providers)",
                      bdf.c_str(), std::strerror(errno));
        return -ENODEV;
    }
    ibv_device *device = find_rdma_device(list, bdf);
    if (device == nullptr) {
        MANA_INIT_LOG(ERR,
                      "%s: no RDMA device belongs to this PCI function (%zu RDMA devices "
                      "checked): load the kernel modules ib_uverbs, mana_ib and mana, and "
                      "install rdma-core >= 44 (libibverbs1, ibverbs-providers)",
                      bdf.c_str(), list.devices().size());
        return -ENODEV;
    }
    MANA_INIT_LOG(INFO, "%s: RDMA device %s", bdf.c_str(), ibv_get_device_name(device));
    MANA_INIT_LOG(ERR, "%s: port creation is not available in this build", bdf.c_str());
    return -ENOTSUP;
}

int pci_remove(rte_pci_device *pci_dev)
{
    return rte_eth_dev_pci_generic_remove(pci_dev, nullptr);
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
