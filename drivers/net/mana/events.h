/* SPDX-License-Identifier: BSD-3-Clause */
// Asynchronous device events: the verbs context's async fd is watched by the EAL
// interrupt thread, and the first fatal event of the context is handed to the device
// (which tells a hot-removal from a service reset: see recovery.cpp).
#pragma once

#include <infiniband/verbs.h>

#include <functional>
#include <memory>
#include <string>

struct rte_intr_handle;

namespace mana
{

class AsyncEvents
{
  public:
    // Runs on the interrupt thread, at most once per context. It may close the ports
    // (and so destroy this object): nothing touches the object after calling it.
    using FatalHandler = std::function<void()>;

    AsyncEvents(ibv_context *context, std::string bdf, FatalHandler on_fatal)
        : context_(context), bdf_(std::move(bdf)), on_fatal_(std::move(on_fatal))
    {
    }

    // Called on the EAL interrupt thread when the async fd is readable.
    void on_readable();

    // The EAL interrupt source watching the async fd.
    void set_handle(rte_intr_handle *handle) { handle_ = handle; }

  private:
    friend struct AsyncEventsDeleter;

    ibv_context *context_;
    std::string bdf_;
    FatalHandler on_fatal_;
    rte_intr_handle *handle_ = nullptr;
    bool fatal_reported_ = false;
};

// Unregisters from the interrupt thread (deferred if the callback is running, e.g. an
// application closing the port from its removal callback) and frees.
struct AsyncEventsDeleter {
    void operator()(AsyncEvents *events) const;
};

using AsyncEventsOwner = std::unique_ptr<AsyncEvents, AsyncEventsDeleter>;

// Starts watching; null (with a log line) if the interrupt thread cannot take the fd,
// in which case the driver works without removal events or recovery.
AsyncEventsOwner watch_async_events(ibv_context *context, const std::string &bdf,
                                    AsyncEvents::FatalHandler on_fatal);

} // namespace mana
