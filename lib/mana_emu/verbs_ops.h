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

// Usable context: 0, or the errno a verb on a removed/failed device fails with.
inline int context_error(const Context *ctx)
{
    return ctx == nullptr ? EINVAL : ctx->dead_errno;
}

} // namespace mana_emu
