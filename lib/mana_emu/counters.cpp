/* SPDX-License-Identifier: BSD-3-Clause */
// Live-object and fd accounting for mana_emu_counters, and the MANA_EMU_REPORT file.
#include "emulator.h"
#include "log.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace mana_emu
{
namespace
{

struct NamedCounter {
    const char *name;
    uint64_t Counters::*field;
};

constexpr NamedCounter kCounterNames[] = {
    {"doorbells", &Counters::doorbells},
    {"wqes", &Counters::wqes},
    {"cqes", &Counters::cqes},
    {"tx_frames", &Counters::tx_frames},
    {"tx_bytes", &Counters::tx_bytes},
    {"rx_frames", &Counters::rx_frames},
    {"rx_bytes", &Counters::rx_bytes},
    {"rx_drops_no_buffer", &Counters::rx_drops_no_buffer},
    {"rx_drops_other", &Counters::rx_drops_other},
    {"tx_errors", &Counters::tx_errors},
    {"rx_truncated", &Counters::rx_truncated},
    {"dma_violations", &Counters::dma_violations},
    {"wqe_violations", &Counters::wqe_violations},
    {"cq_overflows", &Counters::cq_overflows},
};

struct NamedWireCounter {
    const char *name;
    uint64_t WireCounters::*field;
};

constexpr NamedWireCounter kWireCounterNames[] = {
    {"tx_refused", &WireCounters::tx_refused},
    {"rx_waited", &WireCounters::rx_waited},
};

} // namespace

void Emulator::write_report(const char *path) const
{
    std::FILE *file = std::fopen(path, "w");
    if (file == nullptr) {
        EMU_LOG(error, "MANA_EMU_REPORT=%s: %s", path, std::strerror(errno));
        return;
    }
    for (const auto &port : ports) {
        for (const auto &counter : kCounterNames)
            std::fprintf(file, "port %u %s %" PRIu64 "\n", port->index, counter.name,
                         port->counters.*counter.field);
        for (const auto &counter : kWireCounterNames)
            std::fprintf(file, "port %u %s %" PRIu64 "\n", port->index, counter.name,
                         port->wire_counters.*counter.field);
        // The frame read from the TAP that still waits for a buffer, if any: the kernel
        // counted it as sent, the device has neither received nor dropped it.
        std::fprintf(file, "port %u rx_waiting %u\n", port->index,
                     port->tap_waiting.empty() ? 0U : 1U);
    }
    if (std::fclose(file) != 0)
        EMU_LOG(error, "MANA_EMU_REPORT=%s: %s", path, std::strerror(errno));
}

void Emulator::fill_live_counts(Counters &out, int port_filter) const
{
    if (port_filter < 0) {
        out.live_objects = live_objects;
        out.open_fds = open_fd_count().load(std::memory_order_relaxed);
        return;
    }
    uint64_t objects = 0;
    for (const auto &ctx : contexts) {
        for (const auto &pd : ctx->pds)
            objects += pd->port == port_filter;
        for (const auto &qp : ctx->qps)
            objects += qp->port == port_filter;
        for (const auto &wq : ctx->wqs)
            objects += wq->port == port_filter;
        for (const auto &cq : ctx->cqs)
            objects += cq->port == port_filter;
    }
    out.live_objects = objects;
    const Port &port = *ports[static_cast<unsigned>(port_filter)];
    out.open_fds = port.tap ? 1 : 0;
}

} // namespace mana_emu
