/* SPDX-License-Identifier: BSD-3-Clause */
#include "events.h"

#include "log.h"

#include <bus_pci_driver.h>
#include <ethdev_driver.h>
#include <rte_interrupts.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace mana
{
namespace
{

void on_async_fd(void *arg)
{
    static_cast<AsyncEvents *>(arg)->on_readable();
}

// Frees what a deferred unregistration left behind, once the callback has returned.
void free_after_callback(rte_intr_handle *handle, void *arg)
{
    rte_intr_instance_free(handle);
    std::unique_ptr<AsyncEvents> owned(static_cast<AsyncEvents *>(arg));
}

} // namespace

void AsyncEvents::add_port(uint16_t port)
{
    const std::lock_guard guard(mutex_);
    ports_.push_back(port);
}

void AsyncEvents::remove_port(uint16_t port)
{
    const std::lock_guard guard(mutex_);
    std::erase(ports_, port);
}

void AsyncEvents::on_readable()
{
    bool fatal = false;
    ibv_async_event event;
    while (ibv_get_async_event(context_, &event) == 0) {
        if (event.event_type == IBV_EVENT_DEVICE_FATAL)
            fatal = true;
        ibv_ack_async_event(&event);
    }
    if (!fatal || fatal_reported_)
        return;
    fatal_reported_ = true;
    dead_->store(true, std::memory_order_relaxed);
    const std::string function = std::string(rte_pci_get_sysfs_path()) + "/" + bdf_;
    const bool removed = access(function.c_str(), F_OK) != 0;
    std::vector<uint16_t> ports;
    {
        const std::lock_guard guard(mutex_);
        ports = ports_;
    }
    if (!removed) {
        MANA_DRV_LOG(ERR,
                     "%s: the device reported a fatal error (service reset?); its ports stop "
                     "working: stop, close and probe the device again",
                     bdf_.c_str());
        return;
    }
    MANA_DRV_LOG(NOTICE, "%s: PCI function removed; notifying %zu port(s)", bdf_.c_str(),
                 ports.size());
    // Only local copies from here: an application may close the ports (and so this
    // object) from its callback.
    for (const uint16_t port : ports)
        if (rte_eth_dev_is_valid_port(port))
            rte_eth_dev_callback_process(&rte_eth_devices[port], RTE_ETH_EVENT_INTR_RMV, nullptr);
}

void AsyncEventsDeleter::operator()(AsyncEvents *events) const
{
    if (events == nullptr)
        return;
    std::unique_ptr<AsyncEvents> owned(events);
    rte_intr_handle *handle = events->handle_;
    if (handle == nullptr)
        return;
    const int ret = rte_intr_callback_unregister(handle, on_async_fd, events);
    if (ret == -EAGAIN && rte_intr_callback_unregister_pending(handle, on_async_fd, events,
                                                               free_after_callback) == 0) {
        static_cast<void>(owned.release()); // freed by free_after_callback
        return;
    }
    rte_intr_instance_free(handle);
}

AsyncEventsOwner watch_async_events(ibv_context *context, const std::string &bdf,
                                    std::atomic<bool> *dead)
{
    AsyncEventsOwner events(std::make_unique<AsyncEvents>(context, bdf, dead).release());
    const int fd = context->async_fd;
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        MANA_INIT_LOG(WARNING, "%s: async event fd unusable (%s); no removal events", bdf.c_str(),
                      strerror(errno));
        return nullptr;
    }
    rte_intr_handle *handle = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_SHARED);
    if (handle == nullptr || rte_intr_type_set(handle, RTE_INTR_HANDLE_EXT) != 0 ||
        rte_intr_fd_set(handle, fd) != 0) {
        rte_intr_instance_free(handle);
        MANA_INIT_LOG(WARNING, "%s: no interrupt handle for async events; no removal events",
                      bdf.c_str());
        return nullptr;
    }
    const int ret = rte_intr_callback_register(handle, on_async_fd, events.get());
    if (ret != 0) {
        rte_intr_instance_free(handle);
        MANA_INIT_LOG(WARNING, "%s: cannot watch async events (%s); no removal events", bdf.c_str(),
                      strerror(-ret));
        return nullptr;
    }
    events->set_handle(handle);
    return events;
}

} // namespace mana
