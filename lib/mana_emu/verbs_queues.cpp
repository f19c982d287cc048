/* SPDX-License-Identifier: BSD-3-Clause */
// Queue verbs: completion channels and CQs, send QPs, receive WQs, indirection tables and
// RSS QPs. Queue memory comes from the application's allocator (manadv_set_context_attr),
// sized as rdma-core 44 sizes it; each QP and WQ gets a doorbell page of its own.
#include "log.h"
#include "verbs_ops.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace mana_emu
{
namespace
{

// Queue memory through the application's allocator; zeroed so a new CQ reads as empty.
void *allocate_queue_buffer(Context &ctx, size_t bytes)
{
    void *buf = ctx.allocators.alloc(bytes, ctx.allocators.data);
    if (buf != nullptr)
        std::memset(buf, 0, bytes);
    return buf;
}

void free_queue_buffer(Context &ctx, void *buf)
{
    if (buf != nullptr && ctx.allocators.free != nullptr)
        ctx.allocators.free(buf, ctx.allocators.data);
}

int port_of_pd(const Pd &pd)
{
    // A queue on a plain PD belongs to IB port 1 of the function.
    return pd.port != kNoPort ? pd.port : static_cast<int>(pd.ctx->vf->first_port);
}

void bind_cq(Cq &cq, int port)
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
    ibv_qp &ibv = qp->ibv;
    ibv.context = ctx.ibv();
    ibv.qp_context = attr.qp_context;
    ibv.pd = &pd.ibv;
    ibv.send_cq = attr.send_cq;
    ibv.recv_cq = attr.recv_cq;
    ibv.handle = emu.next_handle++;
    ibv.qp_num = qp->sq_id;
    ibv.state = IBV_QPS_RESET;
    ibv.qp_type = IBV_QPT_RAW_PACKET;
    pthread_mutex_init(&ibv.mutex, nullptr);
    pthread_cond_init(&ibv.cond, nullptr);
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
    constexpr uint64_t kSupportedFields = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
                                          IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6 |
                                          IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
                                          IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
    if (attr.qp_type != IBV_QPT_RAW_PACKET)
        return fail_with<ibv_qp>(EOPNOTSUPP);
    if (table == nullptr || table->ctx != &ctx ||
        hash.rx_hash_function != IBV_RX_HASH_FUNC_TOEPLITZ || hash.rx_hash_key_len != 40 ||
        hash.rx_hash_key == nullptr || (hash.rx_hash_fields_mask & ~kSupportedFields) != 0)
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
    ibv_qp &ibv = qp->ibv;
    ibv.context = ctx.ibv();
    ibv.qp_context = attr.qp_context;
    ibv.pd = &pd.ibv;
    ibv.handle = emu.next_handle++;
    ibv.qp_num = qp->sq_id;
    ibv.state = IBV_QPS_RESET;
    ibv.qp_type = IBV_QPT_RAW_PACKET;
    pthread_mutex_init(&ibv.mutex, nullptr);
    pthread_cond_init(&ibv.cond, nullptr);
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
    if (attr == nullptr || attr->ind_tbl == nullptr || attr->log_ind_tbl_size > 6 ||
        attr->comp_mask != 0)
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

int op_post_send(ibv_qp *, ibv_send_wr *wr, ibv_send_wr **bad)
{
    if (bad)
        *bad = wr;
    return EOPNOTSUPP;
}

int op_post_recv(ibv_qp *, ibv_recv_wr *wr, ibv_recv_wr **bad)
{
    if (bad)
        *bad = wr;
    return EOPNOTSUPP;
}

} // namespace

void install_context_ops(verbs_context &vctx)
{
    vctx.create_qp_ex = op_create_qp_ex;
    vctx.create_wq = op_create_wq;
    vctx.modify_wq = op_modify_wq;
    vctx.destroy_wq = op_destroy_wq;
    vctx.create_rwq_ind_table = op_create_rwq_ind_table;
    vctx.destroy_rwq_ind_table = op_destroy_rwq_ind_table;
    vctx.context.ops.poll_cq = op_poll_cq;
    vctx.context.ops.req_notify_cq = op_req_notify_cq;
    vctx.context.ops.post_send = op_post_send;
    vctx.context.ops.post_recv = op_post_recv;
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
    uint64_t one = 0;
    while (true) {
        const ssize_t got = read(fd, &one, sizeof(one));
        if (got == sizeof(one))
            break;
        if (got < 0 && errno == EINTR)
            continue;
        if (got >= 0)
            errno = EIO;
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
