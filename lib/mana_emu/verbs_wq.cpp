/* SPDX-License-Identifier: BSD-3-Clause */
// Receive verbs: WQs (each with a doorbell page of its own) and the indirection tables
// that RSS QPs spread over them.
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

ibv_wq *op_create_wq(ibv_context *context, ibv_wq_init_attr *attr)
{
    VerbCall call("ibv_create_wq");
    if (call.error)
        return fail_with<ibv_wq>(call.error);
    auto &emu = call.emu;
    Context *ctx = emu.context_of(context);
    if (int e = context_error(ctx))
        return fail_with<ibv_wq>(e);
    if (attr == nullptr)
        return fail_with<ibv_wq>(EINVAL);
    Pd *pd = find_in(emu, attr->pd, &Context::pds);
    Cq *cq = find_in(emu, attr->cq, &Context::cqs);
    const auto &limits = emu.config.limits;
    if (attr->wq_type != IBV_WQT_RQ)
        return fail_with<ibv_wq>(EOPNOTSUPP);
    if (pd == nullptr || cq == nullptr || pd->ctx != ctx || cq->ctx != ctx || attr->max_wr < 1 ||
        attr->max_wr > limits.max_qp_wr || attr->max_sge < 1 || attr->max_sge > limits.max_sge ||
        (attr->comp_mask != 0 && attr->create_flags != 0))
        return fail_with<ibv_wq>(EINVAL);
    if (!ctx->has_allocators) {
        EMU_LOG(error, "create WQ: no buffer allocators (manadv_set_context_attr) on the context");
        return fail_with<ibv_wq>(EINVAL);
    }
    const uint32_t bytes = gdma::rq_buffer_bytes(attr->max_wr, attr->max_sge);
    void *buf = allocate_queue_buffer(*ctx, bytes);
    if (buf == nullptr)
        return fail_with<ibv_wq>(ENOMEM);
    const unsigned page = ctx->doorbells.allocate_page();
    if (page == 0) {
        free_queue_buffer(*ctx, buf);
        return fail_with<ibv_wq>(ENOMEM);
    }
    auto wq = std::make_unique<Wq>();
    wq->ctx = ctx;
    wq->pd = pd;
    wq->cq = cq;
    wq->id = emu.next_queue_id++;
    wq->port = port_of_pd(*pd);
    wq->buf = buf;
    wq->buf_bytes = bytes;
    wq->ring = gdma::WqeRing(static_cast<std::byte *>(buf), bytes);
    wq->max_wr = attr->max_wr;
    wq->max_sge = attr->max_sge;
    wq->page = page;
    ibv_wq &ibv = wq->ibv;
    ibv.context = ctx->ibv();
    ibv.wq_context = attr->wq_context;
    ibv.pd = attr->pd;
    ibv.cq = attr->cq;
    ibv.wq_num = wq->id;
    ibv.handle = emu.next_handle++;
    ibv.state = IBV_WQS_RESET;
    ibv.wq_type = IBV_WQT_RQ;
    ibv.post_recv = [](ibv_wq *, ibv_recv_wr *wr, ibv_recv_wr **bad) {
        // MANA drivers write RX WQEs into the ring themselves.
        if (bad)
            *bad = wr;
        return EOPNOTSUPP;
    };
    bind_cq(*cq, wq->port);
    ++pd->users;
    emu.rqs_by_id[wq->id] = wq.get();
    ibv_wq *out = &wq->ibv;
    ctx->wqs.push_back(std::move(wq));
    ++emu.live_objects;
    emu.watches_changed();
    return out;
}

int op_modify_wq(ibv_wq *handle, ibv_wq_attr *attr)
{
    VerbCall call("ibv_modify_wq");
    if (call.error)
        return call.error;
    Wq *wq = find_in(call.emu, handle, &Context::wqs);
    if (wq == nullptr || attr == nullptr)
        return EINVAL;
    if (int e = context_error(wq->ctx))
        return e;
    if ((attr->attr_mask & ~static_cast<uint32_t>(IBV_WQ_ATTR_STATE | IBV_WQ_ATTR_CURR_STATE)) != 0)
        return EOPNOTSUPP;
    if (attr->attr_mask & IBV_WQ_ATTR_STATE) {
        if (attr->wq_state > IBV_WQS_ERR)
            return EINVAL;
        wq->ibv.state = attr->wq_state;
    }
    return 0;
}

int op_destroy_wq(ibv_wq *handle)
{
    VerbCall call("ibv_destroy_wq");
    if (call.error)
        return call.error;
    Wq *wq = find_in(call.emu, handle, &Context::wqs);
    if (wq == nullptr)
        return EINVAL;
    if (wq->users > 0)
        return EBUSY;
    Context &ctx = *wq->ctx;
    --wq->cq->users;
    --wq->pd->users;
    call.emu.rqs_by_id.erase(wq->id);
    free_queue_buffer(ctx, wq->buf);
    ctx.doorbells.release_page(wq->page);
    call.emu.forget_queue(wq);
    pthread_mutex_destroy(&wq->ibv.mutex);
    pthread_cond_destroy(&wq->ibv.cond);
    erase_owned(ctx.wqs, wq);
    --call.emu.live_objects;
    return 0;
}

ibv_rwq_ind_table *op_create_rwq_ind_table(ibv_context *context, ibv_rwq_ind_table_init_attr *attr)
{
    VerbCall call("ibv_create_rwq_ind_table");
    if (call.error)
        return fail_with<ibv_rwq_ind_table>(call.error);
    Context *ctx = call.emu.context_of(context);
    if (int e = context_error(ctx))
        return fail_with<ibv_rwq_ind_table>(e);
    if (attr == nullptr || attr->ind_tbl == nullptr ||
        attr->log_ind_tbl_size > gdma::kLogRetaSize || attr->comp_mask != 0)
        return fail_with<ibv_rwq_ind_table>(EINVAL);
    auto table = std::make_unique<IndTable>();
    const size_t entries = size_t{1} << attr->log_ind_tbl_size;
    for (size_t i = 0; i < entries; ++i) {
        Wq *wq = find_in(call.emu, attr->ind_tbl[i], &Context::wqs);
        if (wq == nullptr || wq->ctx != ctx)
            return fail_with<ibv_rwq_ind_table>(EINVAL);
        table->wqs.push_back(wq);
    }
    for (Wq *wq : table->wqs)
        ++wq->users;
    table->ctx = ctx;
    table->ibv.context = ctx->ibv();
    table->ibv.ind_tbl_handle = static_cast<int>(call.emu.next_handle++);
    table->ibv.ind_tbl_num = table->ibv.ind_tbl_handle;
    ibv_rwq_ind_table *out = &table->ibv;
    ctx->tables.push_back(std::move(table));
    ++call.emu.live_objects;
    return out;
}

int op_destroy_rwq_ind_table(ibv_rwq_ind_table *handle)
{
    VerbCall call("ibv_destroy_rwq_ind_table");
    if (call.error)
        return call.error;
    IndTable *table = find_in(call.emu, handle, &Context::tables);
    if (table == nullptr)
        return EINVAL;
    if (table->users > 0)
        return EBUSY;
    for (Wq *wq : table->wqs)
        --wq->users;
    erase_owned(table->ctx->tables, table);
    --call.emu.live_objects;
    return 0;
}

int op_post_recv(ibv_qp *, ibv_recv_wr *wr, ibv_recv_wr **bad)
{
    if (bad)
        *bad = wr;
    return EOPNOTSUPP;
}

} // namespace

void install_wq_ops(verbs_context &vctx)
{
    vctx.create_wq = op_create_wq;
    vctx.modify_wq = op_modify_wq;
    vctx.destroy_wq = op_destroy_wq;
    vctx.create_rwq_ind_table = op_create_rwq_ind_table;
    vctx.destroy_rwq_ind_table = op_destroy_rwq_ind_table;
    vctx.context.ops.post_recv = op_post_recv;
}

} // namespace mana_emu
