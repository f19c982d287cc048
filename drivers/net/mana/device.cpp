/* SPDX-License-Identifier: BSD-3-Clause */
// A MANA function as the driver holds it: finding its RDMA device, opening it (the
// verbs context, its ring allocators, the MANA part check) and the ports on it.
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

} // namespace mana
