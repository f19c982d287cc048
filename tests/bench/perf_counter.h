/* SPDX-License-Identifier: BSD-3-Clause */
// User-space instructions retired, from perf_event_open, when the machine allows it
// (virtual machines often expose no PMU; then available() is false and the result null).
#pragma once

#include <cstdint>

namespace mana_bench
{

class PerfCounter
{
  public:
    PerfCounter();
    ~PerfCounter();
    PerfCounter(const PerfCounter &) = delete;
    PerfCounter &operator=(const PerfCounter &) = delete;

    bool available() const { return fd_ >= 0; }
    void start();
    uint64_t stop(); // instructions since start(), 0 when unavailable

  private:
    int fd_ = -1;
};

} // namespace mana_bench
