/* SPDX-License-Identifier: BSD-3-Clause */
// Asynchronous device events: the verbs context's async fd is watched by the EAL
// interrupt thread. A fatal device event whose PCI function has left sysfs is a
// hot-removal (Azure maintenance, accelerated networking toggled) and becomes
// RTE_ETH_EVENT_INTR_RMV on every port of the function.
#pragma once

#include <infiniband/verbs.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct rte_intr_handle;

namespace mana
{

class AsyncEvents
{
  public:
    AsyncEvents(ibv_context *context, std::string bdf, std::atomic<bool> *dead)
        : context_(context), bdf_(std::move(bdf)), dead_(dead)
    {
    }

    void add_port(uint16_t port);
    void remove_port(uint16_t port);

    // Called on the EAL interrupt thread when the async fd is readable.
    void on_readable();

    // The EAL interrupt source watching the async fd.
    void set_handle(rte_intr_handle *handle) { handle_ = handle; }

  private:
    friend struct AsyncEventsDeleter;

    ibv_context *context_;
    std::string bdf_;
    std::atomic<bool> *dead_; // the device's "stop all bursts" flag
    rte_intr_handle *handle_ = nullptr;
    bool fatal_reported_ = false;
    std::mutex mutex_; // ports_ is changed by probe/close while the interrupt thread reads it
    std::vector<uint16_t> ports_;
};

// Unregisters from the interrupt thread (deferred if the callback is running, e.g. an
// application closing the port from its removal callback) and frees.
struct AsyncEventsDeleter {
    void operator()(AsyncEvents *events) const;
};

using AsyncEventsOwner = std::unique_ptr<AsyncEvents, AsyncEventsDeleter>;

// Starts watching; null (with a log line) if the interrupt thread cannot take the fd,
// in which case the driver works without removal events.
// `dead` is set when the device is removed or fails.
AsyncEventsOwner watch_async_events(ibv_context *context, const std::string &bdf,
                                    std::atomic<bool> *dead);

} // namespace mana
