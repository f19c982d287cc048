/* SPDX-License-Identifier: BSD-3-Clause */
#include "events.h"

#include "log.h"

#include <rte_interrupts.h>

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
    // Last: the handler may destroy this object.
    on_fatal_();
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
                                    AsyncEvents::FatalHandler on_fatal)
{
    AsyncEventsOwner events(
        std::make_unique<AsyncEvents>(context, bdf, std::move(on_fatal)).release());
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
