/* SPDX-License-Identifier: BSD-3-Clause */
// The C control API of include/mana_emu.h.
#include "emulator.h"
#include "log.h"
#include "wires.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

using namespace mana_emu;

namespace
{

// The emulator lock for a control call; announced to the model's thread, which yields
// the lock to waiting callers between passes.
struct Locked {
    Emulator &emu = announce(Emulator::instance());
    std::unique_lock<std::mutex> lock{emu.mutex};
    Locked()
    {
        emu.waiting_callers.fetch_sub(1, std::memory_order_relaxed);
        emu.take_trapped_stores();
    }

    static Emulator &announce(Emulator &e)
    {
        e.waiting_callers.fetch_add(1, std::memory_order_relaxed);
        return e;
    }
};

Cq *find_cq(Emulator &emu, uint32_t id)
{
    const auto it = emu.cqs_by_id.find(id);
    return it == emu.cqs_by_id.end() ? nullptr : it->second;
}

// A PCI function fails: every open context gets IBV_EVENT_DEVICE_FATAL and its verbs
// fail with `error` from now on; its queues stop.
void kill_contexts(Emulator &emu, Vf &vf, int error)
{
    for (auto &ctx : emu.contexts) {
        if (ctx->vf != &vf || ctx->dead_errno != 0)
            continue;
        ctx->dead_errno = error;
        emu.raise_async_event(*ctx, IBV_EVENT_DEVICE_FATAL);
    }
    emu.watches_changed();
}

} // namespace

extern "C" {

int mana_emu_configure(const char *text)
{
    if (text == nullptr)
        return -EINVAL;
    bool threaded = false;
    {
        Locked l;
        if (!l.emu.contexts.empty())
            return -EBUSY;
        std::string error;
        const auto config = parse_config(text, error);
        if (!config) {
            EMU_LOG(error, "mana_emu_configure: %s", error.c_str());
            return -EINVAL;
        }
        if (const int rc = l.emu.apply_config(*config); rc != 0)
            return rc;
        if (config->mode != ModeSetting::unset)
            l.emu.threaded = config->mode == ModeSetting::threaded;
        threaded = l.emu.threaded;
    }
    if (!threaded)
        Emulator::instance().stop_thread();
    return 0;
}

unsigned int mana_emu_port_count(void)
{
    Locked l;
    return static_cast<unsigned>(l.emu.ports.size());
}

int mana_emu_port_info(unsigned int index, struct mana_emu_port_info *info)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || info == nullptr)
        return -EINVAL;
    *info = {};
    std::snprintf(info->pci_bdf, sizeof(info->pci_bdf), "%s", port->vf->config.bdf.c_str());
    info->ib_port = port->ib_port;
    std::memcpy(info->mac, port->mac.data(), sizeof(info->mac));
    std::snprintf(info->ifname, sizeof(info->ifname), "%s", port->ifname.c_str());
    return 0;
}

const char *mana_emu_sysfs_pci_dir(void)
{
    Locked l;
    return l.emu.sysfs_pci_dir.c_str();
}

long mana_emu_joined_primary(void)
{
    Locked l;
    return l.emu.joined_primary;
}

int mana_emu_set_mode(enum mana_emu_mode mode)
{
    if (mode != MANA_EMU_STEP && mode != MANA_EMU_THREADED)
        return -EINVAL;
    bool start = false;
    {
        Locked l;
        l.emu.threaded = mode == MANA_EMU_THREADED;
        start = l.emu.threaded && !l.emu.contexts.empty();
    }
    if (start)
        Emulator::instance().start_thread();
    else if (mode == MANA_EMU_STEP)
        Emulator::instance().stop_thread();
    return 0;
}

enum mana_emu_mode mana_emu_get_mode(void)
{
    Locked l;
    return l.emu.threaded ? MANA_EMU_THREADED : MANA_EMU_STEP;
}

int mana_emu_set_doorbells(enum mana_emu_doorbells how)
{
    if (how != MANA_EMU_DOORBELLS_TRAPPED && how != MANA_EMU_DOORBELLS_SAMPLED)
        return -EINVAL;
    Locked l;
    l.emu.doorbells_override =
        how == MANA_EMU_DOORBELLS_TRAPPED ? DoorbellSetting::trapped : DoorbellSetting::sampled;
    l.emu.apply_doorbell_setting();
    return 0;
}

unsigned int mana_emu_poll(void)
{
    Locked l;
    unsigned total = 0;
    // Each pass finishes what the previous one made possible (a transmitted frame is
    // received in the same pass; new doorbells need a new pass). Bounded so that a
    // driver-less feedback loop cannot hang a test.
    for (int pass = 0; pass < 100000; ++pass) {
        const unsigned work = l.emu.poll_pass();
        total += work;
        if (work == 0)
            break;
    }
    return total;
}

int mana_emu_wire_none(unsigned int port)
{
    Locked l;
    return l.emu.set_wire(port, WireMode::none, 0, nullptr);
}

int mana_emu_wire_loopback(unsigned int port)
{
    Locked l;
    return l.emu.set_wire(port, WireMode::loopback, 0, nullptr);
}

int mana_emu_wire_ports(unsigned int a, unsigned int b)
{
    Locked l;
    return l.emu.set_wire(a, WireMode::ports, b, nullptr);
}

int mana_emu_wire_tap(unsigned int port, const char *ifname)
{
    Locked l;
    return l.emu.set_wire(port, WireMode::tap, 0, ifname);
}

int mana_emu_wire_capture(unsigned int port)
{
    Locked l;
    return l.emu.set_wire(port, WireMode::capture, 0, nullptr);
}

int mana_emu_pcap_capture(unsigned int index, const char *path)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || path == nullptr)
        return -EINVAL;
    auto sink = std::make_unique<PcapSink>();
    if (!sink->open(path)) {
        EMU_LOG(error, "pcap capture %s: %s", path, sink->error().c_str());
        return -EIO;
    }
    port->pcap = std::move(sink);
    return 0;
}

int mana_emu_pcap_replay(unsigned int index, const char *path)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || path == nullptr)
        return -EINVAL;
    packet::PcapReader reader;
    if (!reader.open(path)) {
        EMU_LOG(error, "pcap replay %s: %s", path, reader.error().c_str());
        return -EIO;
    }
    if (reader.link_type() != packet::kLinkTypeEthernet)
        return -EPROTO;
    while (auto frame = reader.next())
        port->inbound.push_back(std::move(*frame));
    if (!reader.error().empty()) {
        EMU_LOG(error, "pcap replay %s: %s", path, reader.error().c_str());
        return -EIO;
    }
    return 0;
}

int mana_emu_inject(unsigned int index, const void *frame, size_t len)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || (frame == nullptr && len > 0))
        return -EINVAL;
    const auto *bytes = static_cast<const uint8_t *>(frame);
    port->inbound.emplace_back(bytes, bytes + len);
    return 0;
}

ssize_t mana_emu_capture(unsigned int index, void *buf, size_t cap)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || (buf == nullptr && cap > 0))
        return -EINVAL;
    if (port->captured.empty())
        return 0;
    const std::vector<uint8_t> frame = std::move(port->captured.front());
    port->captured.pop_front();
    std::memcpy(buf, frame.data(), std::min(cap, frame.size()));
    return static_cast<ssize_t>(frame.size());
}

int mana_emu_fail_verb(const char *verb, unsigned int skip, unsigned int count, int err)
{
    if (verb == nullptr || *verb == '\0' || err <= 0)
        return -EINVAL;
    Locked l;
    if (count > 0)
        l.emu.verb_faults.add(verb, skip, count, err);
    return 0;
}

uint64_t mana_emu_verb_calls(void)
{
    Locked l;
    return l.emu.verb_calls;
}

void mana_emu_clear_faults(void)
{
    Locked l;
    l.emu.verb_faults.clear();
    for (auto &port : l.emu.ports) {
        port->tx_error_count = 0;
        port->rx_truncate_count = 0;
    }
}

int mana_emu_fault_tx_error(unsigned int index, unsigned int cqe_type, unsigned int count)
{
    Locked l;
    Port *port = l.emu.port(index);
    const auto type = static_cast<gdma::CqeType>(cqe_type);
    if (port == nullptr || cqe_type > 0xff || !gdma::is_tx_error(type))
        return -EINVAL;
    port->tx_error_type = type;
    port->tx_error_count = count;
    return 0;
}

int mana_emu_fault_rx_truncated(unsigned int index, unsigned int count)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr)
        return -EINVAL;
    port->rx_truncate_count = count;
    return 0;
}

int mana_emu_write_cqe(uint32_t cq_id, const uint8_t cqe[64])
{
    Locked l;
    Cq *cq = find_cq(l.emu, cq_id);
    if (cq == nullptr || cqe == nullptr)
        return -EINVAL;
    l.emu.write_raw_cqe(*cq, cqe);
    return 0;
}

int mana_emu_stall(unsigned int index, int stalled)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr)
        return -EINVAL;
    port->stalled = stalled != 0;
    return 0;
}

int mana_emu_force_cq_overflow(unsigned int index)
{
    Locked l;
    if (l.emu.port(index) == nullptr)
        return -EINVAL;
    for (auto &ctx : l.emu.contexts)
        for (auto &cq : ctx->cqs)
            if (cq->port == static_cast<int>(index))
                cq->force_overflow = true;
    return 0;
}

int mana_emu_remove_device(const char *pci_bdf)
{
    if (pci_bdf == nullptr)
        return -EINVAL;
    Locked l;
    Vf *vf = l.emu.vf_by_bdf(pci_bdf);
    if (vf == nullptr)
        return -ENODEV;
    if (vf->removed)
        return -EALREADY;
    vf->removed = true;
    l.emu.sysfs.remove_function(vf->config.bdf);
    kill_contexts(l.emu, *vf, ENODEV);
    return 0;
}

int mana_emu_device_fatal(const char *pci_bdf, unsigned int recover_ms)
{
    if (pci_bdf == nullptr)
        return -EINVAL;
    Locked l;
    Vf *vf = l.emu.vf_by_bdf(pci_bdf);
    if (vf == nullptr || vf->removed)
        return -ENODEV;
    vf->fatal = true;
    vf->recovers = recover_ms > 0;
    vf->recover_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(recover_ms);
    kill_contexts(l.emu, *vf, EIO);
    return 0;
}

int mana_emu_counters(struct mana_emu_counters *out)
{
    if (out == nullptr)
        return -EINVAL;
    Locked l;
    *out = l.emu.totals;
    l.emu.fill_live_counts(*out, -1);
    return 0;
}

int mana_emu_port_counters(unsigned int index, struct mana_emu_counters *out)
{
    Locked l;
    Port *port = l.emu.port(index);
    if (port == nullptr || out == nullptr)
        return -EINVAL;
    *out = port->counters;
    l.emu.fill_live_counts(*out, static_cast<int>(index));
    return 0;
}

int mana_emu_wire_counters(unsigned int index, struct mana_emu_wire_counters *out, size_t size)
{
    Locked l;
    const Port *port = l.emu.port(index);
    if (port == nullptr || out == nullptr)
        return -EINVAL;
    std::memcpy(out, &port->wire_counters, std::min(size, sizeof(port->wire_counters)));
    return 0;
}

int mana_emu_port_queues(unsigned int index, enum mana_emu_queue_kind kind, uint32_t *ids,
                         unsigned int max)
{
    Locked l;
    if (l.emu.port(index) == nullptr || (ids == nullptr && max > 0))
        return -EINVAL;
    const int port = static_cast<int>(index);
    unsigned n = 0;
    auto add = [&](uint32_t id) {
        if (n < max)
            ids[n] = id;
        ++n;
    };
    for (auto &ctx : l.emu.contexts) {
        switch (kind) {
        case MANA_EMU_QUEUE_SQ:
            for (auto &qp : ctx->qps)
                if (!qp->rss && qp->port == port)
                    add(qp->sq_id);
            break;
        case MANA_EMU_QUEUE_RQ:
            for (auto &wq : ctx->wqs)
                if (wq->port == port)
                    add(wq->id);
            break;
        case MANA_EMU_QUEUE_CQ:
            for (auto &cq : ctx->cqs)
                if (cq->port == port)
                    add(cq->id);
            break;
        default:
            return -EINVAL;
        }
    }
    return static_cast<int>(n);
}

int mana_emu_queue_counters(enum mana_emu_queue_kind kind, uint32_t id,
                            struct mana_emu_counters *out)
{
    if (out == nullptr)
        return -EINVAL;
    Locked l;
    const Counters *found = nullptr;
    if (kind == MANA_EMU_QUEUE_SQ) {
        const auto it = l.emu.sqs_by_id.find(id);
        found = it == l.emu.sqs_by_id.end() ? nullptr : &it->second->counters;
    } else if (kind == MANA_EMU_QUEUE_RQ) {
        const auto it = l.emu.rqs_by_id.find(id);
        found = it == l.emu.rqs_by_id.end() ? nullptr : &it->second->counters;
    } else if (kind == MANA_EMU_QUEUE_CQ) {
        Cq *cq = find_cq(l.emu, id);
        found = cq ? &cq->counters : nullptr;
    }
    if (found == nullptr)
        return -ENOENT;
    *out = *found;
    out->live_objects = 0;
    out->open_fds = 0;
    return 0;
}

void mana_emu_reset_counters(void)
{
    Locked l;
    l.emu.totals = Counters{};
    for (auto &port : l.emu.ports) {
        port->counters = Counters{};
        port->wire_counters = WireCounters{};
    }
    for (auto &ctx : l.emu.contexts) {
        for (auto &qp : ctx->qps)
            qp->counters = Counters{};
        for (auto &wq : ctx->wqs)
            wq->counters = Counters{};
        for (auto &cq : ctx->cqs)
            cq->counters = Counters{};
    }
}

} // extern "C"
