/* SPDX-License-Identifier: BSD-3-Clause */
// QP verbs: RAW_PACKET send QPs (their SQ memory from the application's allocator, sized
// as rdma-core 44 sizes it, and a doorbell page of their own) and RSS QPs over an
// indirection table; and the context ops of every queue kind.
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

// The application's view of a new QP of either kind (send_cq and recv_cq: send QPs only).
void init_ibv_qp(Emulator &emu, Qp &qp, void *qp_context)
{
    ibv_qp &ibv = qp.ibv;
    ibv.context = qp.ctx->ibv();
    ibv.qp_context = qp_context;
    ibv.pd = &qp.pd->ibv;
    ibv.handle = emu.next_handle++;
    ibv.qp_num = qp.sq_id;
    ibv.state = IBV_QPS_RESET;
    ibv.qp_type = IBV_QPT_RAW_PACKET;
    pthread_mutex_init(&ibv.mutex, nullptr);
    pthread_cond_init(&ibv.cond, nullptr);
}

ibv_qp *create_send_qp(Emulator &emu, Pd &pd, const ibv_qp_init_attr &attr)
{
    Context &ctx = *pd.ctx;
    const auto &limits = emu.config.limits;
    if (attr.qp_type != IBV_QPT_RAW_PACKET)
        return fail_with<ibv_qp>(EOPNOTSUPP);
    Cq *send_cq = find_in(emu, attr.send_cq, &Context::cqs);
    Cq *recv_cq = attr.recv_cq ? find_in(emu, attr.recv_cq, &Context::cqs) : nullptr;
    if (send_cq == nullptr || send_cq->ctx != &ctx || attr.srq != nullptr ||
        (attr.recv_cq != nullptr && recv_cq == nullptr))
        return fail_with<ibv_qp>(EINVAL);
    const uint32_t wr = attr.cap.max_send_wr;
    const uint32_t sge = std::max(1U, attr.cap.max_send_sge);
    if (wr < 1 || wr > limits.max_qp_wr || sge > limits.max_sge || attr.cap.max_inline_data > 0)
        return fail_with<ibv_qp>(EINVAL);
    if (!ctx.has_allocators) {
        EMU_LOG(error, "create QP: no buffer allocators (manadv_set_context_attr) on the context");
        return fail_with<ibv_qp>(EINVAL);
    }
    if (ctx.qps.size() >= limits.max_qp)
        return fail_with<ibv_qp>(ENOMEM);
    const uint32_t bytes = gdma::sq_buffer_bytes(wr, sge);
    void *buf = allocate_queue_buffer(ctx, bytes);
    if (buf == nullptr)
        return fail_with<ibv_qp>(ENOMEM);
    const unsigned page = ctx.doorbells.allocate_page();
    if (page == 0) {
        free_queue_buffer(ctx, buf);
        return fail_with<ibv_qp>(ENOMEM);
    }
    auto qp = std::make_unique<Qp>();
    qp->ctx = &ctx;
    qp->pd = &pd;
    qp->port = port_of_pd(pd);
    qp->sq_id = emu.next_queue_id++;
    qp->send_cq = send_cq;
    qp->buf = buf;
    qp->buf_bytes = bytes;
    qp->ring = gdma::WqeRing(static_cast<std::byte *>(buf), bytes);
    qp->sq_count = wr;
    qp->max_sge = sge;
    qp->tx_vp_offset = 0x10 + static_cast<uint32_t>(qp->port);
    qp->page = page;
    init_ibv_qp(emu, *qp, attr.qp_context);
    qp->ibv.send_cq = attr.send_cq;
    qp->ibv.recv_cq = attr.recv_cq;
    bind_cq(*send_cq, qp->port);
    if (recv_cq != nullptr && recv_cq != send_cq)
        bind_cq(*recv_cq, qp->port);
    ++pd.users;
    emu.sqs_by_id[qp->sq_id] = qp.get();
    ibv_qp *out = &qp->ibv;
    ctx.qps.push_back(std::move(qp));
    ++emu.live_objects;
    emu.watches_changed();
    return out;
}

ibv_qp *create_rss_qp(Emulator &emu, Pd &pd, const ibv_qp_init_attr_ex &attr)
{
    Context &ctx = *pd.ctx;
    IndTable *table = find_in(emu, attr.rwq_ind_tbl, &Context::tables);
    const auto &hash = attr.rx_hash_conf;
    if (attr.qp_type != IBV_QPT_RAW_PACKET)
        return fail_with<ibv_qp>(EOPNOTSUPP);
    if (table == nullptr || table->ctx != &ctx ||
        hash.rx_hash_function != IBV_RX_HASH_FUNC_TOEPLITZ ||
        hash.rx_hash_key_len != gdma::kRssKeySize || hash.rx_hash_key == nullptr ||
        (hash.rx_hash_fields_mask & ~kRxHashFields) != 0)
        return fail_with<ibv_qp>(EINVAL);
    if (ctx.qps.size() >= emu.config.limits.max_qp)
        return fail_with<ibv_qp>(ENOMEM);
    auto qp = std::make_unique<Qp>();
    qp->ctx = &ctx;
    qp->pd = &pd;
    qp->port = port_of_pd(pd);
    qp->rss = true;
    qp->sq_id = emu.next_queue_id++;
    qp->table = table;
    for (size_t i = 0; i < qp->reta.size(); ++i)
        qp->reta[i] = table->wqs[i % table->wqs.size()];
    qp->hash_fields = hash.rx_hash_fields_mask;
    std::memcpy(qp->key.data(), hash.rx_hash_key, qp->key.size());
    qp->coalesce = emu.config.rx_coalescing;
    for (Wq *wq : table->wqs)
        wq->coalesce = qp->coalesce;
    init_ibv_qp(emu, *qp, attr.qp_context);
    ++table->users;
    ++pd.users;
    ibv_qp *out = &qp->ibv;
    ctx.qps.push_back(std::move(qp));
    ++emu.live_objects;
    emu.refresh_receive_paths();
    return out;
}

ibv_qp *op_create_qp_ex(ibv_context *context, ibv_qp_init_attr_ex *attr)
{
    VerbCall call("ibv_create_qp_ex");
    if (call.error)
        return fail_with<ibv_qp>(call.error);
    Context *ctx = call.emu.context_of(context);
    if (int e = context_error(ctx))
        return fail_with<ibv_qp>(e);
    if (attr == nullptr)
        return fail_with<ibv_qp>(EINVAL);
    constexpr uint32_t kRss = IBV_QP_INIT_ATTR_IND_TABLE | IBV_QP_INIT_ATTR_RX_HASH;
    constexpr uint32_t kAllowed = IBV_QP_INIT_ATTR_PD | kRss | IBV_QP_INIT_ATTR_CREATE_FLAGS;
    if ((attr->comp_mask & ~kAllowed) != 0 || !(attr->comp_mask & IBV_QP_INIT_ATTR_PD))
        return fail_with<ibv_qp>(EINVAL);
    if ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) && attr->create_flags != 0)
        return fail_with<ibv_qp>(EOPNOTSUPP);
    Pd *pd = find_in(call.emu, attr->pd, &Context::pds);
    if (pd == nullptr || pd->ctx != ctx)
        return fail_with<ibv_qp>(EINVAL);
    if ((attr->comp_mask & kRss) == kRss)
        return create_rss_qp(call.emu, *pd, *attr);
    if ((attr->comp_mask & kRss) != 0)
        return fail_with<ibv_qp>(EINVAL);
    ibv_qp_init_attr basic{};
    basic.qp_context = attr->qp_context;
    basic.send_cq = attr->send_cq;
    basic.recv_cq = attr->recv_cq;
    basic.srq = attr->srq;
    basic.cap = attr->cap;
    basic.qp_type = attr->qp_type;
    basic.sq_sig_all = attr->sq_sig_all;
    return create_send_qp(call.emu, *pd, basic);
}

int op_post_send(ibv_qp *, ibv_send_wr *wr, ibv_send_wr **bad)
{
    if (bad)
        *bad = wr;
    return EOPNOTSUPP;
}

} // namespace

void install_context_ops(verbs_context &vctx)
{
    vctx.create_qp_ex = op_create_qp_ex;
    vctx.context.ops.post_send = op_post_send;
    install_cq_ops(vctx);
    install_wq_ops(vctx);
}

} // namespace mana_emu

using namespace mana_emu;

extern "C" {

ibv_qp *ibv_create_qp(ibv_pd *pd_handle, ibv_qp_init_attr *attr)
{
    VerbCall call("ibv_create_qp");
    if (call.error)
        return fail_with<ibv_qp>(call.error);
    Pd *pd = find_in(call.emu, pd_handle, &Context::pds);
    if (pd == nullptr || attr == nullptr)
        return fail_with<ibv_qp>(EINVAL);
    if (int e = context_error(pd->ctx))
        return fail_with<ibv_qp>(e);
    return create_send_qp(call.emu, *pd, *attr);
}

int ibv_modify_qp(ibv_qp *handle, ibv_qp_attr *attr, int attr_mask)
{
    VerbCall call("ibv_modify_qp");
    if (call.error)
        return call.error;
    Qp *qp = find_in(call.emu, handle, &Context::qps);
    if (qp == nullptr || attr == nullptr)
        return EINVAL;
    if (int e = context_error(qp->ctx))
        return e;
    if (attr_mask & IBV_QP_STATE) {
        if (attr->qp_state > IBV_QPS_ERR)
            return EINVAL;
        qp->ibv.state = attr->qp_state;
    }
    return 0;
}

int ibv_query_qp(ibv_qp *handle, ibv_qp_attr *attr, int, ibv_qp_init_attr *init_attr)
{
    VerbCall call("ibv_query_qp");
    if (call.error)
        return call.error;
    Qp *qp = find_in(call.emu, handle, &Context::qps);
    if (qp == nullptr || attr == nullptr || init_attr == nullptr)
        return EINVAL;
    *attr = ibv_qp_attr{};
    attr->qp_state = qp->ibv.state;
    attr->cap.max_send_wr = qp->sq_count;
    attr->cap.max_send_sge = qp->max_sge;
    *init_attr = ibv_qp_init_attr{};
    init_attr->qp_context = qp->ibv.qp_context;
    init_attr->send_cq = qp->ibv.send_cq;
    init_attr->recv_cq = qp->ibv.recv_cq;
    init_attr->cap = attr->cap;
    init_attr->qp_type = IBV_QPT_RAW_PACKET;
    return 0;
}

int ibv_destroy_qp(ibv_qp *handle)
{
    VerbCall call("ibv_destroy_qp");
    if (call.error)
        return call.error;
    auto &emu = call.emu;
    Qp *qp = find_in(emu, handle, &Context::qps);
    if (qp == nullptr)
        return EINVAL;
    Context &ctx = *qp->ctx;
    if (qp->rss) {
        --qp->table->users;
        for (Wq *wq : qp->table->wqs)
            wq->coalesce = false;
    } else {
        --qp->send_cq->users;
        Cq *recv_cq = find_in(emu, qp->ibv.recv_cq, &Context::cqs);
        if (recv_cq != nullptr && recv_cq != qp->send_cq)
            --recv_cq->users;
        emu.sqs_by_id.erase(qp->sq_id);
        free_queue_buffer(ctx, qp->buf);
        ctx.doorbells.release_page(qp->page);
    }
    --qp->pd->users;
    pthread_mutex_destroy(&qp->ibv.mutex);
    pthread_cond_destroy(&qp->ibv.cond);
    erase_owned(ctx.qps, qp);
    --emu.live_objects;
    emu.refresh_receive_paths();
    emu.watches_changed();
    return 0;
}

} // extern "C"
