/* SPDX-License-Identifier: BSD-3-Clause */
// Ethdev events of the ports as the interrupt thread delivers them, for tests that wait
// for a recovery (or a removal) to be reported.
#pragma once

#include <rte_ethdev.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ethdev_test
{

// Events as the interrupt thread delivers them.
class EventLog
{
  public:
    static int record(uint16_t port, rte_eth_event_type type, void *arg, void *)
    {
        auto *log = static_cast<EventLog *>(arg);
        const std::lock_guard guard(log->mutex_);
        log->events_.emplace_back(port, type);
        return 0;
    }

    std::vector<rte_eth_event_type> of(uint16_t port)
    {
        const std::lock_guard guard(mutex_);
        std::vector<rte_eth_event_type> out;
        for (const auto &[p, type] : events_)
            if (p == port)
                out.push_back(type);
        return out;
    }

    std::size_t count(uint16_t port, rte_eth_event_type type)
    {
        const auto events = of(port);
        return static_cast<std::size_t>(std::count(events.begin(), events.end(), type));
    }

    // Waits until every port has had `type` `times` times.
    bool wait_for(std::initializer_list<uint16_t> ports, rte_eth_event_type type,
                  std::size_t times = 1, std::chrono::milliseconds limit = std::chrono::seconds(10))
    {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            bool all = true;
            for (const uint16_t port : ports)
                all &= count(port, type) >= times;
            if (all)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return false;
    }

    void clear()
    {
        const std::lock_guard guard(mutex_);
        events_.clear();
    }

  private:
    std::mutex mutex_;
    std::vector<std::pair<uint16_t, rte_eth_event_type>> events_;
};

} // namespace ethdev_test
