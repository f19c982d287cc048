/* SPDX-License-Identifier: BSD-3-Clause */
// What the queue verbs (verbs_cq.cpp, verbs_qp.cpp, verbs_wq.cpp) share: queue memory from
// the application's allocator (manadv_set_context_attr), the IB port a queue belongs to,
// a CQ's binding to the queues that use it, and removal from the owning context's list.
#pragma once

#include "verbs_ops.h"

#include <cstring>
#include <memory>
#include <vector>

namespace mana_emu
{

// Queue memory through the application's allocator; zeroed so a new CQ reads as empty.
inline void *allocate_queue_buffer(Context &ctx, size_t bytes)
{
    void *buf = ctx.allocators.alloc(bytes, ctx.allocators.data);
    if (buf != nullptr)
        std::memset(buf, 0, bytes);
    return buf;
}

inline void free_queue_buffer(Context &ctx, void *buf)
{
    if (buf != nullptr && ctx.allocators.free != nullptr)
        ctx.allocators.free(buf, ctx.allocators.data);
}

inline int port_of_pd(const Pd &pd)
{
    // A queue on a plain PD belongs to IB port 1 of the function.
    return pd.port != kNoPort ? pd.port : static_cast<int>(pd.ctx->vf->first_port);
}

inline void bind_cq(Cq &cq, int port)
{
    ++cq.users;
    if (cq.port == kNoPort)
        cq.port = port;
}

template <typename T>
void erase_owned(std::vector<std::unique_ptr<T>> &list, const T *object)
{
    std::erase_if(list, [object](const auto &owned) { return owned.get() == object; });
}

// The context ops of each queue kind (install_context_ops installs them all).
void install_cq_ops(verbs_context &vctx);
void install_wq_ops(verbs_context &vctx);

} // namespace mana_emu
