/* SPDX-License-Identifier: BSD-3-Clause */
// What the device does about a fatal error. If its PCI function has left sysfs, it was
// hot-removed (Azure maintenance, accelerated networking toggled): every port gets
// RTE_ETH_EVENT_INTR_RMV. Otherwise Azure is servicing the VF (service reset) and the
// device comes back: the driver recovers on its own, as RTE_ETH_EVENT_ERR_RECOVERING
// promises applications (rte_ethdev.h):
//   1. the interrupt thread sets the dead flag (bursts return 0 from now on) and reports
//      ERR_RECOVERING on every port;
//   2. an EAL alarm (interrupt thread, so the application is never blocked) waits for
//      the bursts that passed the flag before it was set, frees every mbuf the device
//      held, destroys every verbs object of every port and closes the context;
//   3. further alarms, every kRetryInterval, look the RDMA device of the same PCI
//      function up again and open it; once it opens, each port gets its PD, parent
//      domain, memory registrations, queues (same sizes, pools, offloads), RSS (same
//      key, types and RETA) and RX interrupts back, queue counters untouched;
//   4. the dead flag is cleared and RECOVERY_SUCCESS reported; if the device is not back
//      within the recovery timeout (devarg recovery_timeout_ms) or leaves sysfs,
//      RECOVERY_FAILED is reported and the ports behave as removed.
// A new fatal error during the wait starts over from step 1. Start, stop, close, configure,
// queue setup and release, per-queue start and stop and RSS changes take the device mutex
// that every step holds, so they are safe at any point (start is refused until the recovery
// is over); what ethdev itself writes unlocked (the queue counts in rte_eth_dev_configure)
// the steps do not read while the port is stopped. Bursts and the MR table's fast-path
// registrations are kept out of the steps by the dead flag and the burst gates.
#include "log.h"
#include "mp.h"
#include "port.h"

#include <bus_pci_driver.h>
#include <rte_alarm.h>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace mana
{
namespace
{

constexpr auto kRetryInterval = std::chrono::milliseconds(10);

Port *port_of(uint16_t port_id)
{
    if (!rte_eth_dev_is_valid_port(port_id))
        return nullptr;
    return static_cast<Port *>(rte_eth_devices[port_id].data->dev_private);
}

bool membarrier_usable()
{
    static const bool registered =
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return registered;
}

} // namespace

void fence_all_threads()
{
    if (membarrier_usable() &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return;
    // Without membarrier (old kernel, seccomp): store buffers drain in far less.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

Device::~Device()
{
    // Drops a pending step, or waits for one running on the interrupt thread (which
    // finds no device to work on: its reference count is zero).
    rte_eal_alarm_cancel(on_recovery_alarm, this);
}

void Device::quiesce_port_bursts(uint16_t port_id)
{
    fence_all_threads();
    if (const Port *port = port_of(port_id))
        port->wait_for_bursts();
}

bool Device::function_present() const
{
    const std::string function = std::string(rte_pci_get_sysfs_path()) + "/" + bdf;
    return access(function.c_str(), F_OK) == 0;
}

// Secondaries first: a removal or a reset stops their bursts too, before the application
// of any process hears of it (and may close the port from its callback).
void Device::notify(const std::vector<uint16_t> &targets, rte_eth_event_type event) const
{
    for (const uint16_t port : targets) {
        if (!rte_eth_dev_is_valid_port(port))
            continue;
        forward_event_to_secondaries(port, event);
        rte_eth_dev_callback_process(&rte_eth_devices[port], event, nullptr);
    }
}

void Device::on_fatal()
{
    dead.store(true, std::memory_order_seq_cst);
    const bool removed = !function_present();
    std::vector<uint16_t> targets;
    bool was_recovering = false;
    bool recovering = false;
    {
        const std::lock_guard guard(mutex);
        targets = ports;
        was_recovering =
            recovery == RecoveryPhase::releasing || recovery == RecoveryPhase::reopening;
        rte_eal_alarm_cancel(on_recovery_alarm, this); // not running: same thread
        if (!removed && recovery_timeout.count() != 0) {
            recovery = RecoveryPhase::releasing;
            recovery_deadline = std::chrono::steady_clock::now() + recovery_timeout;
            recovering = rte_eal_alarm_set(1, on_recovery_alarm, this) == 0;
        }
        if (!recovering)
            recovery = was_recovering ? RecoveryPhase::failed : RecoveryPhase::none;
    }
    // Only local copies from here: an application may close the ports (and so this
    // object) from its callbacks.
    if (removed) {
        MANA_DRV_LOG(NOTICE, "%s: PCI function removed; notifying %zu port(s)", bdf.c_str(),
                     targets.size());
        if (was_recovering)
            notify(targets, RTE_ETH_EVENT_RECOVERY_FAILED);
        notify(targets, RTE_ETH_EVENT_INTR_RMV);
        return;
    }
    if (!recovering) {
        MANA_DRV_LOG(ERR,
                     "%s: the device reported a fatal error (service reset?); its ports stop "
                     "working: stop, close and probe the device again",
                     bdf.c_str());
        // No event to report, but the secondaries' bursts stop as the primary's have.
        for (const uint16_t port : targets)
            halt_secondaries(port);
        if (was_recovering)
            notify(targets, RTE_ETH_EVENT_RECOVERY_FAILED);
        return;
    }
    MANA_DRV_LOG(NOTICE,
                 "%s: the device reported a fatal error (service reset); recovering %zu port(s), "
                 "waiting up to %lld ms for the device",
                 bdf.c_str(), targets.size(), static_cast<long long>(recovery_timeout.count()));
    notify(targets, RTE_ETH_EVENT_ERR_RECOVERING);
}

void Device::on_recovery_alarm(void *device)
{
    // Holds the device through callbacks that close its last port. Empty when the
    // device is being destroyed on another thread (its destructor waits for us).
    const std::shared_ptr<Device> self = static_cast<Device *>(device)->weak_from_this().lock();
    if (self)
        self->recovery_step();
}

void Device::release_locked()
{
    dead.store(true, std::memory_order_seq_cst);
    fence_all_threads();
    for (const uint16_t port_id : ports)
        if (const Port *port = port_of(port_id))
            port->wait_for_bursts();
    for (const uint16_t port_id : ports)
        if (Port *port = port_of(port_id))
            port->release_for_recovery();
    events.reset();
    {
        const std::lock_guard guard(command_fd_mutex);
        command_fd = -1;
    }
    context.reset();
}

int Device::reopen_locked()
{
    const DeviceList list;
    ibv_device *device = find_rdma_device(list, bdf);
    if (device == nullptr)
        return -ENODEV;
    int ret = attach(device, false);
    // Secondaries ring the new context's doorbells from now on (their bursts are halted
    // until each started port is rebuilt and resumes them).
    if (ret == 0)
        remap_secondaries(bdf, context->cmd_fd);
    for (auto it = ports.begin(); it != ports.end() && ret == 0; ++it)
        if (Port *port = port_of(*it))
            ret = port->rebuild_after_recovery();
    return ret;
}

void Device::recovery_step()
{
    std::vector<uint16_t> targets;
    bool recovered = false;
    bool removed = false;
    {
        const std::lock_guard guard(mutex);
        if (recovery == RecoveryPhase::releasing) {
            release_locked();
            recovery = RecoveryPhase::reopening;
        }
        if (recovery != RecoveryPhase::reopening)
            return;
        if (reopen_locked() == 0) {
            recovery = RecoveryPhase::none;
            dead.store(false, std::memory_order_release);
            recovered = true;
            for (const uint16_t port_id : ports)
                if (Port *port = port_of(port_id))
                    port->link_update();
        } else {
            release_locked(); // what was rebuilt before the failure
            removed = !function_present();
            if (!removed && std::chrono::steady_clock::now() < recovery_deadline &&
                rte_eal_alarm_set(std::chrono::microseconds(kRetryInterval).count(),
                                  on_recovery_alarm, this) == 0)
                return;
            recovery = RecoveryPhase::failed;
        }
        targets = ports;
    }
    if (recovered) {
        MANA_DRV_LOG(NOTICE, "%s: recovered from the service reset; %zu port(s) running again",
                     bdf.c_str(), targets.size());
        notify(targets, RTE_ETH_EVENT_RECOVERY_SUCCESS);
        return;
    }
    MANA_DRV_LOG(ERR,
                 "%s: the device did not come back from the service reset within %lld ms%s; "
                 "its ports stay down: close them",
                 bdf.c_str(), static_cast<long long>(recovery_timeout.count()),
                 removed ? " (PCI function removed)" : "");
    notify(targets, RTE_ETH_EVENT_RECOVERY_FAILED);
    if (removed)
        notify(targets, RTE_ETH_EVENT_INTR_RMV);
}

} // namespace mana
