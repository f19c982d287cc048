/* SPDX-License-Identifier: BSD-3-Clause */
// Live-object and fd accounting for mana_emu_counters.
#include "emulator.h"

namespace mana_emu
{

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
