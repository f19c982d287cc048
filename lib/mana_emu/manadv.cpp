/* SPDX-License-Identifier: BSD-3-Clause */
// libmana's direct-verbs entry points: the queue-buffer allocators of a context and the
// ring/id/doorbell details of created queues.
#include "verbs_ops.h"

#include <cerrno>

using namespace mana_emu;

extern "C" {

int manadv_set_context_attr(ibv_context *context, enum manadv_set_ctx_attr_type type, void *attr)
{
    VerbCall call("manadv_set_context_attr");
    if (call.error)
        return call.error;
    Context *ctx = call.emu.context_of(context);
    if (int e = context_error(ctx))
        return e;
    if (type != MANADV_CTX_ATTR_BUF_ALLOCATORS || attr == nullptr)
        return EINVAL;
    const auto *allocators = static_cast<const manadv_ctx_allocators *>(attr);
    if (allocators->alloc == nullptr || allocators->free == nullptr)
        return EINVAL;
    ctx->allocators = *allocators;
    ctx->has_allocators = true;
    return 0;
}

int manadv_init_obj(manadv_obj *obj, uint64_t obj_type)
{
    VerbCall call("manadv_init_obj");
    if (call.error)
        return call.error;
    constexpr uint64_t kKnown = MANADV_OBJ_QP | MANADV_OBJ_CQ | MANADV_OBJ_RWQ;
    if (obj == nullptr || (obj_type & ~kKnown) != 0)
        return EINVAL;
    auto &emu = call.emu;
    // Validate everything before writing anything.
    Qp *qp = nullptr;
    Cq *cq = nullptr;
    Wq *wq = nullptr;
    if (obj_type & MANADV_OBJ_QP) {
        qp = find_in(emu, obj->qp.in, &Context::qps);
        if (qp == nullptr || qp->rss || obj->qp.out == nullptr)
            return EINVAL;
        if (int e = context_error(qp->ctx))
            return e;
    }
    if (obj_type & MANADV_OBJ_CQ) {
        cq = find_in(emu, obj->cq.in, &Context::cqs);
        if (cq == nullptr || obj->cq.out == nullptr)
            return EINVAL;
        if (int e = context_error(cq->ctx))
            return e;
    }
    if (obj_type & MANADV_OBJ_RWQ) {
        wq = find_in(emu, obj->rwq.in, &Context::wqs);
        if (wq == nullptr || obj->rwq.out == nullptr)
            return EINVAL;
        if (int e = context_error(wq->ctx))
            return e;
    }
    if (qp) {
        manadv_qp &out = *obj->qp.out;
        out.sq_buf = qp->buf;
        out.sq_count = qp->sq_count;
        out.sq_size = qp->buf_bytes;
        out.sq_id = qp->sq_id;
        out.tx_vp_offset = qp->tx_vp_offset;
        out.db_page = qp->ctx->doorbells.driver_page(qp->page);
    }
    if (cq) {
        manadv_cq &out = *obj->cq.out;
        out.buf = cq->buf;
        out.count = cq->count;
        out.cq_id = cq->id;
    }
    if (wq) {
        manadv_rwq &out = *obj->rwq.out;
        out.buf = wq->buf;
        out.count = wq->max_wr;
        out.size = wq->buf_bytes;
        out.wq_id = wq->id;
        out.db_page = wq->ctx->doorbells.driver_page(wq->page);
    }
    return 0;
}

} // extern "C"
