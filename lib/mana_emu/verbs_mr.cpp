/* SPDX-License-Identifier: BSD-3-Clause */
// Memory registration: the regions the device may read (TX) and write (RX). Every SGE the
// device model follows is checked against these by lkey, protection domain and range.
#include "verbs_ops.h"

#include <cerrno>

#undef ibv_reg_mr
#undef ibv_reg_mr_iova

namespace mana_emu
{
namespace
{

ibv_mr *register_region(const char *verb, ibv_pd *pd_handle, void *addr, size_t length,
                        uint64_t iova, int access)
{
    VerbCall call(verb);
    if (call.error)
        return fail_with<ibv_mr>(call.error);
    auto &emu = call.emu;
    Pd *pd = find_in(emu, pd_handle, &Context::pds);
    if (pd == nullptr)
        return fail_with<ibv_mr>(EINVAL);
    if (int e = context_error(pd->ctx))
        return fail_with<ibv_mr>(e);
    constexpr int kKnownAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                                 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |
                                 IBV_ACCESS_MW_BIND | IBV_ACCESS_ZERO_BASED | IBV_ACCESS_ON_DEMAND |
                                 IBV_ACCESS_RELAXED_ORDERING | IBV_ACCESS_OPTIONAL_RANGE;
    // Remote write needs local write, as the kernel insists.
    if (addr == nullptr || length == 0 || length > emu.config.limits.max_mr_size ||
        (access & ~kKnownAccess) != 0 ||
        ((access & IBV_ACCESS_REMOTE_WRITE) && !(access & IBV_ACCESS_LOCAL_WRITE)) ||
        iova + length < iova)
        return fail_with<ibv_mr>(EINVAL);
    if (emu.mrs_by_lkey.size() >= emu.config.limits.max_mr)
        return fail_with<ibv_mr>(ENOMEM);
    Pd *owner = pd->base ? pd->base : pd;
    auto mr = std::make_unique<Mr>();
    mr->ctx = pd->ctx;
    mr->pd = owner;
    mr->start = iova;
    mr->end = iova + length;
    mr->host = static_cast<std::byte *>(addr);
    ibv_mr &ibv = mr->ibv;
    ibv.context = pd->ctx->ibv();
    ibv.pd = pd_handle;
    ibv.addr = addr;
    ibv.length = length;
    ibv.handle = emu.next_handle++;
    ibv.lkey = emu.next_key++;
    ibv.rkey = ibv.lkey;
    ++owner->users;
    emu.mrs_by_lkey[ibv.lkey] = mr.get();
    ibv_mr *out = &mr->ibv;
    pd->ctx->mrs.push_back(std::move(mr));
    ++emu.live_objects;
    return out;
}

} // namespace
} // namespace mana_emu

using namespace mana_emu;

extern "C" {

ibv_mr *ibv_reg_mr(ibv_pd *pd, void *addr, size_t length, int access)
{
    return register_region("ibv_reg_mr", pd, addr, length, reinterpret_cast<uintptr_t>(addr),
                           access);
}

ibv_mr *ibv_reg_mr_iova(ibv_pd *pd, void *addr, size_t length, uint64_t iova, int access)
{
    return register_region("ibv_reg_mr_iova", pd, addr, length, iova, access);
}

ibv_mr *ibv_reg_mr_iova2(ibv_pd *pd, void *addr, size_t length, uint64_t iova, unsigned int access)
{
    return register_region("ibv_reg_mr_iova2", pd, addr, length, iova, static_cast<int>(access));
}

int ibv_dereg_mr(ibv_mr *handle)
{
    VerbCall call("ibv_dereg_mr");
    if (call.error)
        return call.error;
    Mr *mr = find_in(call.emu, handle, &Context::mrs);
    if (mr == nullptr)
        return EINVAL;
    --mr->pd->users;
    call.emu.mrs_by_lkey.erase(mr->ibv.lkey);
    ++call.emu.mr_generation;
    std::erase_if(mr->ctx->mrs, [mr](const auto &owned) { return owned.get() == mr; });
    --call.emu.live_objects;
    return 0;
}

} // extern "C"
