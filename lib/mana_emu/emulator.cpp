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
#include <optional>

namespace mana_emu
{

Emulator &Emulator::instance()
{
    static Emulator emulator;
    return emulator;
}

namespace
{
std::optional<Config> parse_config_text(const char *origin, const std::string &text)
{
    if (text.empty())
        return default_config();
    std::string error;
    if (auto parsed = parse_config(text, error))
        return parsed;
    EMU_LOG(error, "%s: %s; emulating no device", origin, error.c_str());
    return std::nullopt;
}

Config no_device()
{
    Config none = default_config();
    none.functions.clear();
    none.wires_given = true;
    return none;
}
} // namespace

Emulator::Emulator()
{
    tx_frame_.resize(kMaxTxFrameBytes);
    rx_frame_.reserve(kMaxTxFrameBytes);

    dpdk_process = dpdk_process_of_this_process();
    std::optional<PrimaryRecord> primary;
    if (dpdk_process.type != DpdkProcessType::primary)
        primary = running_primary(dpdk_process.file_prefix);
    if (const char *text = std::getenv("MANA_EMU_CONFIG"); text != nullptr)
        loaded_config_text = text;
    Config initial = no_device();
    if (primary) {
        if (auto parsed = parse_config_text("the primary's MANA_EMU_CONFIG", primary->config_text))
            initial = std::move(*parsed);
    } else if (auto parsed = parse_config_text("MANA_EMU_CONFIG", loaded_config_text)) {
        initial = std::move(*parsed);
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
    if (primary) {
        config = std::move(initial);
        if (join_primary(*primary))
            return;
        initial = config;
    } else if (dpdk_process.type == DpdkProcessType::secondary) {
        EMU_LOG(warning,
                "a DPDK secondary process (file prefix %s), but no running primary has opened "
                "an emulated device of that prefix: emulating a device of its own",
                dpdk_process.file_prefix.c_str());
    }
    apply_config(initial);
}

Emulator::~Emulator()
{
    stop_thread();
    std::lock_guard guard(mutex);
    // A joined process's counters are the primary's to report: its own are all zero.
    if (const char *report = std::getenv("MANA_EMU_REPORT");
        report != nullptr && *report != '\0' && joined_primary == 0)
        write_report(report);
    for (auto &ctx : contexts)
        destroy_context_objects(*ctx, false);
    contexts.clear();
    ports.clear();
    if (published_as_primary)
        withdraw_primary(dpdk_process.file_prefix);
    if (sysfs_env_set_by_us)
        unsetenv("SYSFS_PCI_DEVICES");
    sysfs.remove();
}

Emulator::Topology Emulator::build_topology(const Config &new_config, bool netdevs)
{
    Topology topology;
    unsigned global = 0;
    for (const auto &function : new_config.functions) {
        auto vf = std::make_unique<Vf>();
        vf->config = function;
        vf->first_port = global;
        const unsigned index = static_cast<unsigned>(topology.vfs.size());
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
            port->ifname = netdev_for_port(
                global, port->mac, netdevs && new_config.netdev == NetdevSetting::automatic);
            const bool real = !port->ifname.empty();
            if (!real)
                port->ifname = "manaemu" + std::to_string(global);
            sysfs_function.ports.push_back(SysfsPort{
                .ifname = port->ifname, .dev_port = p, .mac = port->mac, .kernel_netdev = real});
            topology.ports.push_back(std::move(port));
        }
        topology.sysfs_functions.push_back(std::move(sysfs_function));
        topology.vfs.push_back(std::move(vf));
    }
    if (netdevs_.size() > global)
        netdevs_.resize(global); // ports that are gone take their netdevs with them
    return topology;
}

void Emulator::install_topology(const Config &new_config, Topology topology)
{
    config = new_config;
    ports = std::move(topology.ports);
    vfs = std::move(topology.vfs);
    for (unsigned i = 0; i < vfs.size(); ++i) {
        ibv_device &dev = vfs[i]->device;
        dev.node_type = IBV_NODE_CA;
        dev.transport_type = IBV_TRANSPORT_IB;
        std::snprintf(dev.name, sizeof(dev.name), "mana_%u", i);
        std::snprintf(dev.dev_name, sizeof(dev.dev_name), "uverbs%u", i);
        std::snprintf(dev.dev_path, sizeof(dev.dev_path), "%s",
                      sysfs.uverbs_path(dev.dev_name).c_str());
        std::snprintf(dev.ibdev_path, sizeof(dev.ibdev_path), "%s",
                      sysfs.ibdev_path(dev.name).c_str());
    }
}

void Emulator::export_sysfs_dir()
{
    sysfs_pci_dir = sysfs.pci_dir();
    const char *current = std::getenv("SYSFS_PCI_DEVICES");
    if (current == nullptr || sysfs_env_set_by_us || sysfs_pci_dir == current) {
        setenv("SYSFS_PCI_DEVICES", sysfs_pci_dir.c_str(), 1);
        sysfs_env_set_by_us = true;
    } else {
        EMU_LOG(info, "SYSFS_PCI_DEVICES is set to %s; the emulated functions are in %s", current,
                sysfs_pci_dir.c_str());
    }
}

// The primary's functions, ports and sysfs tree, without netdevs, TAPs or wires of this
// process's own: frames only move in the primary's device model.
bool Emulator::join_primary(const PrimaryRecord &primary)
{
    if (!sysfs.adopt(primary.sysfs_root)) {
        EMU_LOG(warning,
                "the primary (pid %ld) has no sysfs tree at %s: emulating a device of "
                "its own",
                primary.pid, primary.sysfs_root.c_str());
        return false;
    }
    const Config joined = config;
    install_topology(joined, build_topology(joined, false));
    joined_primary = primary.pid;
    export_sysfs_dir();
    EMU_LOG(info,
            "DPDK secondary process of file prefix %s: joined the emulated device of "
            "process %ld (sysfs tree %s)",
            dpdk_process.file_prefix.c_str(), primary.pid, sysfs_pci_dir.c_str());
    return true;
}

void Emulator::publish_as_primary()
{
    if (published_as_primary || joined_primary != 0 ||
        dpdk_process.type == DpdkProcessType::secondary)
        return;
    published_as_primary =
        publish_primary(dpdk_process.file_prefix, sysfs.root(), loaded_config_text);
}

int Emulator::apply_config(const Config &new_config)
{
    // The published configuration is the one loaded: after a change, secondaries started
    // later would join a device described wrongly, so they find none instead.
    if (published_as_primary) {
        withdraw_primary(dpdk_process.file_prefix);
        published_as_primary = false;
    }
    joined_primary = 0;
    Topology topology = build_topology(new_config, true);
    sysfs.remove();
    if (!sysfs.create(topology.sysfs_functions))
        return -EIO;
    install_topology(new_config, std::move(topology));

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

    export_sysfs_dir();
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
