/* SPDX-License-Identifier: BSD-3-Clause */
// Completion verbs: completion channels, CQs (their memory sized as rdma-core 44 sizes
// it, zeroed so a new CQ reads as empty), arming and CQ events.
#include "log.h"
#include "verbs_queue_common.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace mana_emu
{
namespace
{

int op_poll_cq(ibv_cq *, int, ibv_wc *)
{
    // MANA drivers read CQEs from the ring (manadv_init_obj); there is no verbs polling.
    return -EOPNOTSUPP;
}

int op_req_notify_cq(ibv_cq *handle, int)
{
    VerbCall call("ibv_req_notify_cq");
    if (call.error)
        return call.error;
    Cq *cq = find_in(call.emu, handle, &Context::cqs);
    if (cq == nullptr)
        return EINVAL;
    if (int e = context_error(cq->ctx))
        return e;
    call.emu.arm_cq(*cq);
    return 0;
}

} // namespace

void install_cq_ops(verbs_context &vctx)
{
    vctx.context.ops.poll_cq = op_poll_cq;
    vctx.context.ops.req_notify_cq = op_req_notify_cq;
}

} // namespace mana_emu

using namespace mana_emu;

extern "C" {

ibv_comp_channel *ibv_create_comp_channel(ibv_context *context)
{
    VerbCall call("ibv_create_comp_channel");
    if (call.error)
        return fail_with<ibv_comp_channel>(call.error);
    Context *ctx = call.emu.context_of(context);
    if (int e = context_error(ctx))
        return fail_with<ibv_comp_channel>(e);
    auto channel = std::make_unique<Channel>();
    if (!channel->events.open())
        return fail_with<ibv_comp_channel>(EMFILE);
    channel->ctx = ctx;
    channel->ibv.context = ctx->ibv();
    channel->ibv.fd = channel->events.fd();
    channel->ibv.refcnt = 0;
    ibv_comp_channel *out = &channel->ibv;
    ctx->channels.push_back(std::move(channel));
    ++call.emu.live_objects;
    return out;
}

int ibv_destroy_comp_channel(ibv_comp_channel *handle)
{
    VerbCall call("ibv_destroy_comp_channel");
    if (call.error)
        return call.error;
    Channel *channel = find_in(call.emu, handle, &Context::channels);
    if (channel == nullptr)
        return EINVAL;
    if (channel->cqs > 0)
        return EBUSY;
    erase_owned(channel->ctx->channels, channel);
    --call.emu.live_objects;
    return 0;
}

ibv_cq *ibv_create_cq(ibv_context *context, int cqe, void *cq_context, ibv_comp_channel *channel,
                      int comp_vector)
{
    VerbCall call("ibv_create_cq");
    if (call.error)
        return fail_with<ibv_cq>(call.error);
    auto &emu = call.emu;
    Context *ctx = emu.context_of(context);
    if (int e = context_error(ctx))
        return fail_with<ibv_cq>(e);
    Channel *chan = channel ? find_in(emu, channel, &Context::channels) : nullptr;
    if (cqe < 1 || static_cast<uint32_t>(cqe) > emu.config.limits.max_cqe ||
        (channel != nullptr && (chan == nullptr || chan->ctx != ctx)) || comp_vector < 0 ||
        comp_vector >= context->num_comp_vectors)
        return fail_with<ibv_cq>(EINVAL);
    if (!ctx->has_allocators) {
        EMU_LOG(error, "create CQ: no buffer allocators (manadv_set_context_attr) on the context");
        return fail_with<ibv_cq>(EINVAL);
    }
    if (ctx->cqs.size() >= emu.config.limits.max_cq)
        return fail_with<ibv_cq>(ENOMEM);
    const uint32_t count = static_cast<uint32_t>(cqe);
    const uint32_t bytes = gdma::cq_buffer_bytes(count);
    void *buf = allocate_queue_buffer(*ctx, bytes);
    if (buf == nullptr)
        return fail_with<ibv_cq>(ENOMEM);
    auto cq = std::make_unique<Cq>();
    cq->ctx = ctx;
    cq->id = emu.next_queue_id++;
    cq->count = count;
    cq->buf = buf;
    cq->buf_bytes = bytes;
    cq->ring = static_cast<gdma::Cqe *>(buf);
    cq->channel = chan;
    ibv_cq &ibv = cq->ibv;
    ibv.context = ctx->ibv();
    ibv.channel = channel;
    ibv.cq_context = cq_context;
    ibv.handle = emu.next_handle++;
    ibv.cqe = cqe;
    pthread_mutex_init(&ibv.mutex, nullptr);
    pthread_cond_init(&ibv.cond, nullptr);
    if (chan)
        ++chan->cqs;
    emu.cqs_by_id[cq->id] = cq.get();
    ibv_cq *out = &cq->ibv;
    ctx->cqs.push_back(std::move(cq));
    ++emu.live_objects;
    return out;
}

int ibv_destroy_cq(ibv_cq *handle)
{
    VerbCall call("ibv_destroy_cq");
    if (call.error)
        return call.error;
    Cq *cq = find_in(call.emu, handle, &Context::cqs);
    if (cq == nullptr)
        return EINVAL;
    if (cq->users > 0)
        return EBUSY;
    Context &ctx = *cq->ctx;
    if (cq->channel) {
        --cq->channel->cqs;
        // An undelivered event must not hand out a dangling CQ.
        std::replace(cq->channel->pending.begin(), cq->channel->pending.end(), cq,
                     static_cast<Cq *>(nullptr));
    }
    call.emu.cqs_by_id.erase(cq->id);
    free_queue_buffer(ctx, cq->buf);
    pthread_mutex_destroy(&cq->ibv.mutex);
    pthread_cond_destroy(&cq->ibv.cond);
    erase_owned(ctx.cqs, cq);
    --call.emu.live_objects;
    return 0;
}

int ibv_get_cq_event(ibv_comp_channel *handle, ibv_cq **cq_out, void **cq_context)
{
    int fd = -1;
    {
        VerbCall call("ibv_get_cq_event");
        Channel *channel = find_in(call.emu, handle, &Context::channels);
        const int error = call.error ? call.error
                          : (channel == nullptr || cq_out == nullptr || cq_context == nullptr)
                              ? EINVAL
                              : 0;
        if (error) {
            errno = error;
            return -1;
        }
        fd = channel->events.fd();
    }
    // Blocks unless the application made the channel fd non-blocking (then EAGAIN).
    if (const int error = EventCounter::take(fd)) {
        errno = error;
        return -1;
    }
    Emulator &emu = Emulator::instance();
    std::lock_guard guard(emu.mutex);
    Channel *channel = find_in(emu, handle, &Context::channels);
    if (channel == nullptr || channel->pending.empty() || channel->pending.front() == nullptr) {
        if (channel != nullptr && !channel->pending.empty())
            channel->pending.pop_front();
        errno = EAGAIN;
        return -1;
    }
    Cq *cq = channel->pending.front();
    channel->pending.pop_front();
    *cq_out = &cq->ibv;
    *cq_context = cq->ibv.cq_context;
    return 0;
}

void ibv_ack_cq_events(ibv_cq *handle, unsigned int nevents)
{
    VerbCall call("ibv_ack_cq_events");
    if (Cq *cq = find_in(call.emu, handle, &Context::cqs))
        cq->ibv.comp_events_completed += nevents;
}

} // extern "C"
