/* SPDX-License-Identifier: BSD-3-Clause */
// Helpers shared by the verbs entry points.
#pragma once

#include "emulator.h"

namespace mana_emu
{

void fill_device_attr(const Vf &vf, const DeviceLimits &limits, ibv_device_attr &attr);
void install_context_ops(verbs_context &vctx);

// The emulator object behind an application handle, if it is one of its context's live
// objects of that kind (the application may pass anything; a stale or foreign pointer must
// give EINVAL, not a crash).
template <typename Object, typename Handle>
Object *find_in(Emulator &emu, Handle *handle, std::vector<std::unique_ptr<Object>> Context::*list)
{
    // Compare pointers only: a stale handle points at freed memory and must not be read.
    if (handle == nullptr)
        return nullptr;
    for (auto &ctx : emu.contexts)
        for (auto &object : (*ctx).*list)
            if (&object->ibv == handle)
                return object.get();
    return nullptr;
}

// The RSS hash fields the device hashes (spec §2 item 6): what ibv_query_device_ex
// reports and all that an RSS QP may ask for.
inline constexpr uint64_t kRxHashFields = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                                          IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6 |
                                          IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
                                          IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;

// Usable context: 0, or the errno a verb on a removed/failed device fails with.
inline int context_error(const Context *ctx)
{
    return ctx == nullptr ? EINVAL : ctx->dead_errno;
}

} // namespace mana_emu
