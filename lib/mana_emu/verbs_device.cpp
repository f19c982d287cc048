/* SPDX-License-Identifier: BSD-3-Clause */
// Device-level verbs: device list, contexts, device and port queries, protection and
// parent domains, async events.
#include "emulator.h"
#include "log.h"
#include "verbs_ops.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#undef ibv_query_port

namespace mana_emu
{

void fill_device_attr(const Vf &vf, const DeviceLimits &limits, ibv_device_attr &attr)
{
    attr = ibv_device_attr{};
    std::snprintf(attr.fw_ver, sizeof(attr.fw_ver), "mana_emu-%d", MANA_EMU_API_VERSION);
    uint64_t guid = 0x0215'5dff'fe00'0000ULL | (vf.first_port & 0xffffff);
    attr.node_guid = guid;
    attr.sys_image_guid = guid;
    attr.max_mr_size = limits.max_mr_size;
    attr.page_size_cap = ~0xfffULL;
    attr.vendor_id = 0x1414;
    attr.vendor_part_id = vf.config.vendor_part_id;
    attr.hw_ver = 0;
    attr.max_qp = static_cast<int>(limits.max_qp);
    attr.max_qp_wr = static_cast<int>(limits.max_qp_wr);
    attr.max_sge = static_cast<int>(limits.max_sge);
    attr.max_cq = static_cast<int>(limits.max_cq);
    attr.max_cqe = static_cast<int>(limits.max_cqe);
    attr.max_mr = static_cast<int>(limits.max_mr);
    attr.max_pd = 0x10000;
    attr.phys_port_cnt = static_cast<uint8_t>(vf.config.ports);
}

namespace
{

int check_context(Context *ctx)
{
    if (ctx == nullptr)
        return EINVAL;
    return ctx->dead_errno;
}

void fill_port_attr(ibv_port_attr &attr)
{
    attr.state = IBV_PORT_ACTIVE;
    attr.max_mtu = IBV_MTU_4096;
    attr.active_mtu = IBV_MTU_1024;
    attr.gid_tbl_len = 16;
    attr.port_cap_flags = 0;
    attr.max_msg_sz = 0x40000000;
    attr.pkey_tbl_len = 1;
    attr.active_width = 2;  // 4X
    attr.active_speed = 32; // 100 Gb/s class
    attr.phys_state = 5;    // link up
    attr.link_layer = IBV_LINK_LAYER_ETHERNET;
}

int query_port_common(ibv_context *context, uint8_t port_num, ibv_port_attr *attr,
                      size_t attr_bytes)
{
    VerbCall call("ibv_query_port");
    if (call.error)
        return call.error;
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return e;
    if (attr == nullptr || port_num < 1 || port_num > ctx->vf->config.ports)
        return EINVAL;
    ibv_port_attr full{};
    fill_port_attr(full);
    std::memcpy(attr, &full, std::min(attr_bytes, sizeof(full)));
    return 0;
}

int op_query_port(ibv_context *context, uint8_t port_num, ibv_port_attr *attr, size_t attr_len)
{
    return query_port_common(context, port_num, attr, attr_len);
}

int op_query_device_ex(ibv_context *context, const ibv_query_device_ex_input *input,
                       ibv_device_attr_ex *attr, size_t attr_size)
{
    VerbCall call("ibv_query_device_ex");
    if (call.error)
        return call.error;
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return e;
    if (attr == nullptr || (input != nullptr && input->comp_mask != 0))
        return EINVAL;
    if (attr_size < sizeof(ibv_device_attr))
        return EINVAL;
    std::memset(static_cast<void *>(attr), 0, attr_size);
    fill_device_attr(*ctx->vf, call.emu.config.limits, attr->orig_attr);
    if (attr_size >= sizeof(ibv_device_attr_ex)) {
        attr->rss_caps.supported_qpts = 1U << IBV_QPT_RAW_PACKET;
        attr->rss_caps.max_rwq_indirection_tables = 64;
        attr->rss_caps.max_rwq_indirection_table_size = gdma::kRetaSize;
        attr->rss_caps.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
        attr->rss_caps.rx_hash_fields_mask = kRxHashFields;
        attr->max_wq_type_rq = call.emu.config.limits.max_qp;
        // Kernels that report vendor_part_id report raw packet support (IP checksum) on
        // an Ethernet function; upstream DPDK's net_mana skips a device without it.
        attr->raw_packet_caps =
            attr->orig_attr.vendor_part_id != 0 ? IBV_RAW_PACKET_CAP_IP_CSUM : 0;
    }
    return 0;
}

ibv_pd *op_alloc_parent_domain(ibv_context *context, ibv_parent_domain_init_attr *attr)
{
    VerbCall call("ibv_alloc_parent_domain");
    if (call.error)
        return fail_with<ibv_pd>(call.error);
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return fail_with<ibv_pd>(e);
    Pd *base = attr ? find_in(call.emu, attr->pd, &Context::pds) : nullptr;
    if (base == nullptr || attr->td != nullptr || base->ctx != ctx || base->is_parent())
        return fail_with<ibv_pd>(EINVAL);
    // rdma-core 44's mana provider takes only a pd_context (the port); custom allocators
    // are given to the context instead (manadv_set_context_attr).
    if ((attr->comp_mask & ~static_cast<uint32_t>(IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT)) != 0)
        return fail_with<ibv_pd>(EINVAL);
    unsigned ib_port = 1;
    if (attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT) {
        const auto value = reinterpret_cast<uintptr_t>(attr->pd_context);
        if (value < 1 || value > ctx->vf->config.ports)
            return fail_with<ibv_pd>(EINVAL);
        ib_port = static_cast<unsigned>(value);
    }
    auto pd = std::make_unique<Pd>();
    pd->ibv.context = ctx->ibv();
    pd->ibv.handle = call.emu.next_handle++;
    pd->ctx = ctx;
    pd->base = base;
    pd->port = static_cast<int>(ctx->vf->first_port + ib_port - 1);
    ++base->users;
    ibv_pd *out = &pd->ibv;
    ctx->pds.push_back(std::move(pd));
    ++call.emu.live_objects;
    return out;
}

} // namespace

Context *context_from(Emulator &emu, ibv_context *context)
{
    return emu.context_of(context);
}

void Emulator::destroy_context_objects(Context &ctx, bool return_buffers)
{
    auto free_buffer = [&ctx, return_buffers](void *buf) {
        if (return_buffers && buf != nullptr && ctx.has_allocators &&
            ctx.allocators.free != nullptr)
            ctx.allocators.free(buf, ctx.allocators.data);
    };
    for (auto &qp : ctx.qps) {
        sqs_by_id.erase(qp->sq_id);
        free_buffer(qp->buf);
        ctx.doorbells.release_page(qp->page);
    }
    for (auto &wq : ctx.wqs) {
        rqs_by_id.erase(wq->id);
        free_buffer(wq->buf);
        ctx.doorbells.release_page(wq->page);
        forget_queue(wq.get());
    }
    for (auto &cq : ctx.cqs) {
        cqs_by_id.erase(cq->id);
        free_buffer(cq->buf);
    }
    for (auto &mr : ctx.mrs)
        mrs_by_lkey.erase(mr->ibv.lkey);
    ++mr_generation;
    live_objects -= ctx.qps.size() + ctx.wqs.size() + ctx.tables.size() + ctx.cqs.size() +
                    ctx.channels.size() + ctx.mrs.size() + ctx.pds.size();
    ctx.qps.clear();
    ctx.tables.clear();
    ctx.wqs.clear();
    ctx.cqs.clear();
    ctx.channels.clear();
    ctx.mrs.clear();
    ctx.pds.clear();
    refresh_receive_paths();
    watches_changed();
}

void Emulator::refresh_receive_paths()
{
    for (auto &port : ports)
        port->rss_qp = nullptr;
    // Newest RSS QP wins: walk contexts and their QPs in creation order.
    for (auto &ctx : contexts)
        for (auto &qp : ctx->qps)
            if (qp->rss && qp->port >= 0 && static_cast<unsigned>(qp->port) < ports.size())
                ports[static_cast<unsigned>(qp->port)]->rss_qp = qp.get();
}

} // namespace mana_emu

using namespace mana_emu;

extern "C" {

ibv_device **ibv_get_device_list(int *num_devices)
{
    VerbCall call("ibv_get_device_list");
    if (call.error) {
        if (num_devices)
            *num_devices = 0;
        return fail_with<ibv_device *>(call.error);
    }
    auto &emu = call.emu;
    auto **list = static_cast<ibv_device **>(std::calloc(emu.vfs.size() + 1, sizeof(ibv_device *)));
    if (list == nullptr)
        return fail_with<ibv_device *>(ENOMEM);
    int n = 0;
    for (auto &vf : emu.vfs)
        if (!vf->removed)
            list[n++] = &vf->device;
    if (num_devices)
        *num_devices = n;
    return list;
}

void ibv_free_device_list(ibv_device **list)
{
    VerbCall call("ibv_free_device_list");
    std::free(list);
}

const char *ibv_get_device_name(ibv_device *device)
{
    VerbCall call("ibv_get_device_name");
    if (call.error || call.emu.vf_of(device) == nullptr)
        return fail_with<const char>(call.error ? call.error : EINVAL);
    return device->name;
}

__be64 ibv_get_device_guid(ibv_device *device)
{
    VerbCall call("ibv_get_device_guid");
    Vf *vf = call.emu.vf_of(device);
    if (vf == nullptr)
        return 0;
    ibv_device_attr attr;
    fill_device_attr(*vf, call.emu.config.limits, attr);
    return attr.node_guid;
}

int ibv_fork_init(void)
{
    VerbCall call("ibv_fork_init");
    return call.error;
}

ibv_context *ibv_open_device(ibv_device *device)
{
    bool start_thread = false;
    ibv_context *out = nullptr;
    {
        VerbCall call("ibv_open_device");
        if (call.error)
            return fail_with<ibv_context>(call.error);
        auto &emu = call.emu;
        if (emu.joined_primary != 0) {
            // Objects made here would live in no device model: the primary's model never
            // sees them. A secondary asks its primary (DPDK IPC) instead.
            EMU_LOG(error,
                    "this process joined the emulated device of process %ld: verbs "
                    "objects are created there, not in a secondary",
                    emu.joined_primary);
            return fail_with<ibv_context>(EOPNOTSUPP);
        }
        Vf *vf = emu.vf_of(device);
        if (vf == nullptr || vf->removed)
            return fail_with<ibv_context>(ENODEV);
        if (vf->fatal) {
            if (!vf->recovers || std::chrono::steady_clock::now() < vf->recover_at)
                return fail_with<ibv_context>(EIO);
            vf->fatal = false;
        }
        auto ctx = std::make_unique<Context>();
        ctx->serial = emu.next_context_serial++;
        if (!ctx->doorbells.open(emu.doorbell_setting() == DoorbellSetting::trapped, ctx->serial,
                                 &Emulator::take_overflowed_store) ||
            !ctx->async_events.open())
            return fail_with<ibv_context>(ENOMEM);
        ctx->vf = vf;
        verbs_context &vctx = ctx->vctx;
        vctx.sz = sizeof(verbs_context);
        install_context_ops(vctx);
        vctx.query_port = op_query_port;
        vctx.query_device_ex = op_query_device_ex;
        vctx.alloc_parent_domain = op_alloc_parent_domain;
        ibv_context &ibctx = vctx.context;
        ibctx.device = device;
        ibctx.cmd_fd = ctx->doorbells.fd();
        ibctx.async_fd = ctx->async_events.fd();
        ibctx.num_comp_vectors = 1;
        pthread_mutex_init(&ibctx.mutex, nullptr);
        ibctx.abi_compat = __VERBS_ABI_IS_EXTENDED;
        out = &ibctx;
        emu.contexts.push_back(std::move(ctx));
        ++emu.live_objects;
        emu.watches_changed();
        emu.publish_as_primary();
        start_thread = emu.threaded;
    }
    if (start_thread)
        Emulator::instance().start_thread();
    return out;
}

int ibv_close_device(ibv_context *context)
{
    bool last = false;
    {
        VerbCall call("ibv_close_device");
        if (call.error)
            return call.error;
        auto &emu = call.emu;
        Context *ctx = emu.context_of(context);
        if (ctx == nullptr)
            return EINVAL;
        emu.destroy_context_objects(*ctx);
        pthread_mutex_destroy(&ctx->ibv()->mutex);
        emu.contexts.remove_if([ctx](const auto &owned) { return owned.get() == ctx; });
        --emu.live_objects;
        emu.watches_changed();
        last = emu.contexts.empty();
    }
    if (last)
        Emulator::instance().stop_thread();
    return 0;
}

int ibv_query_device(ibv_context *context, ibv_device_attr *attr)
{
    VerbCall call("ibv_query_device");
    if (call.error)
        return call.error;
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return e;
    if (attr == nullptr)
        return EINVAL;
    fill_device_attr(*ctx->vf, call.emu.config.limits, *attr);
    return 0;
}

// The exported symbol old binaries call with the legacy (shorter) port attribute struct;
// verbs.h's inline wrapper prefers the context's query_port op.
int ibv_query_port(ibv_context *context, uint8_t port_num, _compat_ibv_port_attr *attr)
{
    return query_port_common(context, port_num, reinterpret_cast<ibv_port_attr *>(attr),
                             offsetof(ibv_port_attr, port_cap_flags2));
}

int ibv_query_gid(ibv_context *context, uint8_t port_num, int index, ibv_gid *gid)
{
    VerbCall call("ibv_query_gid");
    if (call.error)
        return call.error;
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return e;
    if (gid == nullptr || port_num < 1 || port_num > ctx->vf->config.ports || index < 0 ||
        index >= 16)
        return EINVAL;
    *gid = ibv_gid{};
    if (index == 0) {
        // IPv6 link-local address derived from the port's MAC (EUI-64).
        const auto &mac = call.emu.ports[ctx->vf->first_port + port_num - 1u]->mac;
        gid->raw[0] = 0xfe;
        gid->raw[1] = 0x80;
        gid->raw[8] = mac[0] ^ 2;
        gid->raw[9] = mac[1];
        gid->raw[10] = mac[2];
        gid->raw[11] = 0xff;
        gid->raw[12] = 0xfe;
        gid->raw[13] = mac[3];
        gid->raw[14] = mac[4];
        gid->raw[15] = mac[5];
    }
    return 0;
}

ibv_pd *ibv_alloc_pd(ibv_context *context)
{
    VerbCall call("ibv_alloc_pd");
    if (call.error)
        return fail_with<ibv_pd>(call.error);
    Context *ctx = call.emu.context_of(context);
    if (int e = check_context(ctx))
        return fail_with<ibv_pd>(e);
    auto pd = std::make_unique<Pd>();
    pd->ibv.context = ctx->ibv();
    pd->ibv.handle = call.emu.next_handle++;
    pd->ctx = ctx;
    ibv_pd *out = &pd->ibv;
    ctx->pds.push_back(std::move(pd));
    ++call.emu.live_objects;
    return out;
}

int ibv_dealloc_pd(ibv_pd *pd)
{
    VerbCall call("ibv_dealloc_pd");
    if (call.error)
        return call.error;
    Pd *ours = find_in(call.emu, pd, &Context::pds);
    if (ours == nullptr)
        return EINVAL;
    Context *ctx = ours->ctx;
    if (ours->users > 0)
        return EBUSY;
    if (ours->base)
        --ours->base->users;
    std::erase_if(ctx->pds, [ours](const auto &owned) { return owned.get() == ours; });
    --call.emu.live_objects;
    return 0;
}

int ibv_get_async_event(ibv_context *context, ibv_async_event *event)
{
    int fd = -1;
    {
        VerbCall call("ibv_get_async_event");
        Context *ctx = call.emu.context_of(context);
        const int error = call.error                             ? call.error
                          : (ctx == nullptr || event == nullptr) ? EINVAL
                                                                 : 0;
        if (error) {
            errno = error;
            return -1;
        }
        fd = ctx->async_events.fd();
    }
    // Wait without the lock (or fail with EAGAIN if the application made async_fd
    // non-blocking); each event was signalled once on the fd.
    if (const int error = EventCounter::take(fd)) {
        errno = error;
        return -1;
    }
    Emulator &emu = Emulator::instance();
    std::lock_guard guard(emu.mutex);
    Context *ctx = emu.context_of(context);
    if (ctx == nullptr || ctx->async_pending.empty()) {
        errno = EIO;
        return -1;
    }
    *event = ctx->async_pending.front();
    ctx->async_pending.pop_front();
    return 0;
}

void ibv_ack_async_event(ibv_async_event *event)
{
    VerbCall call("ibv_ack_async_event");
    (void)event;
}

} // extern "C"
