/* SPDX-License-Identifier: BSD-3-Clause */
// The emulator instance: configuration from the environment, the functions and ports it
// implies, the fake sysfs tree, and the bookkeeping every verbs call goes through.
#include "emulator.h"

#include "log.h"
#include "port_netdev.h"
#include "sysfs_cleanup.h"
#include "wires.h"

#include <cstdlib>
#include <cstring>

namespace mana_emu
{

Emulator &Emulator::instance()
{
    static Emulator emulator;
    return emulator;
}

Emulator::Emulator()
{
    tx_frame_.resize(kMaxTxFrameBytes);
    rx_frame_.reserve(kMaxTxFrameBytes);

    Config initial = default_config();
    if (const char *text = std::getenv("MANA_EMU_CONFIG"); text != nullptr && *text != '\0') {
        std::string error;
        if (auto parsed = parse_config(text, error)) {
            initial = std::move(*parsed);
        } else {
            EMU_LOG(error, "MANA_EMU_CONFIG: %s; emulating no device", error.c_str());
            initial.functions.clear();
            initial.wires_given = true;
        }
    }
    if (initial.mode == ModeSetting::step)
        threaded = false;
    if (const char *mode = std::getenv("MANA_EMU_MODE"); mode != nullptr) {
        if (std::strcmp(mode, "step") == 0)
            threaded = false;
        else if (std::strcmp(mode, "threaded") == 0)
            threaded = true;
        else
            EMU_LOG(warning, "MANA_EMU_MODE=%s: want step or threaded", mode);
    }
    if (const char *doorbells = std::getenv("MANA_EMU_DOORBELLS"); doorbells != nullptr) {
        doorbells_override = parse_doorbell_setting(doorbells);
        if (!doorbells_override)
            EMU_LOG(warning, "MANA_EMU_DOORBELLS=%s: want trapped or sampled", doorbells);
    }
    if (const char *faults = std::getenv("MANA_EMU_FAIL"); faults != nullptr) {
        if (!verb_faults.parse(faults))
            EMU_LOG(error, "MANA_EMU_FAIL=%s: want verb:skip:count:ERRNO[,...]", faults);
    }
    const char *tmp = std::getenv("TMPDIR");
    remove_stale_trees(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
    install_signal_cleanup();
    apply_config(initial);
}

Emulator::~Emulator()
{
    stop_thread();
    std::lock_guard guard(mutex);
    if (const char *report = std::getenv("MANA_EMU_REPORT"); report != nullptr && *report != '\0')
        write_report(report);
    for (auto &ctx : contexts)
        destroy_context_objects(*ctx, false);
    contexts.clear();
    ports.clear();
    if (sysfs_env_set_by_us)
        unsetenv("SYSFS_PCI_DEVICES");
    sysfs.remove();
}

int Emulator::apply_config(const Config &new_config)
{
    std::vector<std::unique_ptr<Vf>> new_vfs;
    std::vector<std::unique_ptr<Port>> new_ports;
    std::vector<SysfsFunction> sysfs_functions;
    unsigned global = 0;
    for (const auto &function : new_config.functions) {
        auto vf = std::make_unique<Vf>();
        vf->config = function;
        vf->first_port = global;
        const unsigned index = static_cast<unsigned>(new_vfs.size());
        SysfsFunction sysfs_function{.bdf = function.bdf,
                                     .pf = function.pf,
                                     .numa_node = function.numa_node,
                                     .ibdev_name = "mana_" + std::to_string(index),
                                     .uverbs_name = "uverbs" + std::to_string(index),
                                     .ports = {}};
        for (unsigned p = 0; p < function.ports; ++p, ++global) {
            auto port = std::make_unique<Port>();
            port->index = global;
            port->vf = vf.get();
            port->ib_port = p + 1;
            port->mac =
                p < function.macs.size() ? function.macs[p] : default_mac(function.bdf, global);
            port->ifname =
                netdev_for_port(global, port->mac, new_config.netdev == NetdevSetting::automatic);
            const bool real = !port->ifname.empty();
            if (!real)
                port->ifname = "manaemu" + std::to_string(global);
            sysfs_function.ports.push_back(SysfsPort{
                .ifname = port->ifname, .dev_port = p, .mac = port->mac, .kernel_netdev = real});
            new_ports.push_back(std::move(port));
        }
        sysfs_functions.push_back(std::move(sysfs_function));
        new_vfs.push_back(std::move(vf));
    }
    if (netdevs_.size() > global)
        netdevs_.resize(global); // ports that are gone take their netdevs with them

    sysfs.remove();
    if (!sysfs.create(sysfs_functions))
        return -EIO;
    config = new_config;
    ports = std::move(new_ports);
    vfs = std::move(new_vfs);

    for (unsigned i = 0; i < vfs.size(); ++i) {
        Vf &vf = *vfs[i];
        ibv_device &dev = vf.device;
        dev.node_type = IBV_NODE_CA;
        dev.transport_type = IBV_TRANSPORT_IB;
        std::snprintf(dev.name, sizeof(dev.name), "mana_%u", i);
        std::snprintf(dev.dev_name, sizeof(dev.dev_name), "uverbs%u", i);
        std::snprintf(dev.dev_path, sizeof(dev.dev_path), "%s",
                      sysfs.uverbs_path(dev.dev_name).c_str());
        std::snprintf(dev.ibdev_path, sizeof(dev.ibdev_path), "%s",
                      sysfs.ibdev_path(dev.name).c_str());
    }

    if (!config.wires_given) {
        for (unsigned p = 0; p + 1 < ports.size(); p += 2)
            set_wire(p, WireMode::ports, p + 1, nullptr);
        if (ports.size() % 2 == 1)
            set_wire(static_cast<unsigned>(ports.size() - 1), WireMode::loopback, 0, nullptr);
    } else {
        for (const auto &wire : config.wires) {
            switch (wire.kind) {
            case WireKind::none:
                set_wire(wire.port, WireMode::none, 0, nullptr);
                break;
            case WireKind::loopback:
                set_wire(wire.port, WireMode::loopback, 0, nullptr);
                break;
            case WireKind::ports:
                set_wire(wire.port, WireMode::ports, wire.peer, nullptr);
                break;
            case WireKind::capture:
                set_wire(wire.port, WireMode::capture, 0, nullptr);
                break;
            case WireKind::tap:
                set_wire(wire.port, WireMode::tap, 0, wire.tap_ifname.c_str());
                break;
            }
        }
    }

    sysfs_pci_dir = sysfs.pci_dir();
    const char *current = std::getenv("SYSFS_PCI_DEVICES");
    if (current == nullptr || sysfs_env_set_by_us) {
        setenv("SYSFS_PCI_DEVICES", sysfs.pci_dir().c_str(), 1);
        sysfs_env_set_by_us = true;
    } else {
        EMU_LOG(info, "SYSFS_PCI_DEVICES is set to %s; the emulated functions are in %s", current,
                sysfs.pci_dir().c_str());
    }
    return 0;
}

std::string Emulator::netdev_for_port(unsigned global_port, const MacAddress &mac, bool wanted)
{
    if (!wanted) {
        if (global_port < netdevs_.size())
            netdevs_[global_port].reset();
        return {};
    }
    if (global_port < netdevs_.size() && netdevs_[global_port] != nullptr) {
        if (netdevs_[global_port]->reset(mac) == 0)
            return netdevs_[global_port]->name();
        netdevs_[global_port].reset();
    }
    if (netdevs_unavailable_)
        return {};
    auto netdev = std::make_unique<PortNetdev>();
    const std::string name = port_netdev_name(global_port);
    if (const int rc = netdev->create(name, mac); rc != 0) {
        netdevs_unavailable_ = true;
        EMU_LOG(warning,
                "cannot create kernel netdev %s for port %u (%s%s); ports get a name in sysfs "
                "only, so setting the MTU through the kernel netdev fails (netdev=none in "
                "MANA_EMU_CONFIG silences this)",
                name.c_str(), global_port, strerror(-rc),
                rc == -EPERM ? ": needs CAP_NET_ADMIN" : "");
        return {};
    }
    if (netdevs_.size() <= global_port)
        netdevs_.resize(global_port + 1);
    netdevs_[global_port] = std::move(netdev);
    return netdevs_[global_port]->name();
}

Vf *Emulator::vf_of(const ibv_device *device)
{
    for (auto &vf : vfs)
        if (&vf->device == device)
            return vf.get();
    return nullptr;
}

Vf *Emulator::vf_by_bdf(const std::string &bdf)
{
    for (auto &vf : vfs)
        if (vf->config.bdf == bdf)
            return vf.get();
    return nullptr;
}

Context *Emulator::context_of(ibv_context *ctx)
{
    if (ctx == nullptr)
        return nullptr;
    for (auto &owned : contexts)
        if (owned->ibv() == ctx)
            return owned.get();
    return nullptr;
}

bool Emulator::owns(const Context *ctx, const void *object) const
{
    if (ctx == nullptr || object == nullptr)
        return false;
    auto in = [object](const auto &list) {
        for (const auto &item : list)
            if (static_cast<const void *>(&item->ibv) == object)
                return true;
        return false;
    };
    return in(ctx->pds) || in(ctx->mrs) || in(ctx->channels) || in(ctx->cqs) || in(ctx->wqs) ||
           in(ctx->tables) || in(ctx->qps);
}

void Emulator::raise_async_event(Context &ctx, ibv_event_type type)
{
    ibv_async_event event{};
    event.event_type = type;
    event.element.port_num = 1;
    ctx.async_pending.push_back(event);
    ctx.async_events.signal();
}

void Emulator::forget_queue(const void *queue)
{
    std::erase_if(coalescing_, [queue](const Wq *wq) { return wq == queue; });
    watches_changed();
}

VerbCall::VerbCall(const char *name) : emu(enter(Emulator::instance())), lock(emu.mutex)
{
    emu.waiting_callers.fetch_sub(1, std::memory_order_relaxed);
    emu.take_trapped_stores();
    ++emu.verb_calls;
    error = emu.verb_faults.on_call(name);
    if (error != 0)
        EMU_LOG(info, "%s fails with injected errno %d", name, error);
}

Emulator &VerbCall::enter(Emulator &emu)
{
    emu.waiting_callers.fetch_add(1, std::memory_order_relaxed);
    return emu;
}

namespace
{
// Build the sysfs tree when the library is loaded: DPDK scans PCI devices during
// rte_eal_init, before any verbs call could create it lazily.
[[gnu::constructor]] void create_at_load()
{
    Emulator::instance();
}
} // namespace

} // namespace mana_emu
