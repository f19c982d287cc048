/* SPDX-License-Identifier: BSD-3-Clause */
// A secondary's side of multi-process support: attaching to the primary's ports (its
// doorbell page mapped from the primary's command fd), the process-local burst table,
// halting and resuming the fast path when the primary says so, events and doorbell remaps
// from the primary, and memory registration through it.
#include "mp.h"
#include "mp_protocol.h"

#include "ethdev_ops.h"
#include "log.h"
#include "port.h"
#include "queue_common.h"
#include "rxq.h"
#include "txq.h"

#include <bus_pci_driver.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_string_fns.h>

#include <rte_alarm.h>

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

namespace mana
{

std::array<ProcessPort, RTE_MAX_ETHPORTS> process_ports;

namespace
{

using namespace mp_protocol;

// One PCI function attached in this process: the doorbell page mapped from the primary's
// command fd, shared by its ports.
struct AttachedFunction {
    std::string bdf;
    void *doorbell_page = nullptr;
    std::size_t bytes = 0;
    unsigned ports = 0;
};

std::mutex attached_mutex;
std::vector<AttachedFunction> attached;

// While the primary has a port stopped or closed, this process's fast-path entry for it
// points here and at a table of null queues: rte_eth_rx_burst reads the queue pointer
// from the ethdev's queue array before it calls the driver, and a closed port's arrays
// and queues are freed memory (DPDK may unmap it in every process). Start and stop are
// primary operations, so the ethdev layer never updates a secondary's entry itself.
uint16_t halted_rx_burst(void *, rte_mbuf **, uint16_t)
{
    return 0;
}

uint16_t halted_tx_burst(void *, rte_mbuf **, uint16_t)
{
    return 0;
}

void *no_queues[RTE_MAX_QUEUES_PER_PORT];

// This process's stop flag of each port (ProcessPort::stop_bursts points here): bursts
// read it after entering the queue's burst gate, so once it is set and every burst that
// entered before has left, none runs on the port's queues.
std::array<std::atomic<bool>, RTE_MAX_ETHPORTS> halted_here{};

// Waits until the bursts of this process that entered the port's queues before the stop
// flag was set have left (a burst waiting on the primary for a memory registration holds
// this up to the IPC timeout).
void wait_for_bursts_here(const rte_eth_dev_data &data)
{
    fence_all_threads();
    for (uint16_t i = 0; data.rx_queues != nullptr && i < data.nb_rx_queues; ++i)
        if (const auto *queue = static_cast<const RxQueue *>(data.rx_queues[i]))
            queue->burst_gate().wait_for_exit();
    for (uint16_t i = 0; data.tx_queues != nullptr && i < data.nb_tx_queues; ++i)
        if (const auto *queue = static_cast<const TxQueue *>(data.tx_queues[i]))
            queue->burst_gate().wait_for_exit();
}

// One pointer of the fast-path entry, stored whole (an lcore may be reading it).
template <typename T>
void publish(T &field, std::type_identity_t<T> value)
{
    __atomic_store_n(&field, value, __ATOMIC_RELEASE);
}

// Bursts on the port return 0 without touching shared memory, and none still runs.
void halt_fast_path(uint16_t port_id)
{
    halted_here[port_id].store(true, std::memory_order_seq_cst);
    wait_for_bursts_here(*rte_eth_devices[port_id].data);
    struct rte_eth_fp_ops &ops = rte_eth_fp_ops[port_id];
    publish(ops.rx_pkt_burst, halted_rx_burst);
    publish(ops.tx_pkt_burst, halted_tx_burst);
    // The other queue functions are skipped when null (-ENOTSUP).
    publish(ops.tx_pkt_prepare, nullptr);
    publish(ops.rx_queue_count, nullptr);
    publish(ops.rx_descriptor_status, nullptr);
    publish(ops.tx_descriptor_status, nullptr);
    publish(ops.rxq.data, no_queues);
    publish(ops.txq.data, no_queues);
}

// The TX burst the primary picked at start (with or without TSO), from the shared queues.
eth_tx_burst_t primary_tx_burst(const rte_eth_dev_data *data)
{
    for (uint16_t i = 0; data->tx_queues != nullptr && i < data->nb_tx_queues; ++i) {
        const auto *queue = static_cast<const TxQueue *>(data->tx_queues[i]);
        if (queue != nullptr && queue->config().tso)
            return tx_burst_tso;
    }
    return tx_burst;
}

// Likewise the RX burst (with or without scatter).
eth_rx_burst_t primary_rx_burst(const rte_eth_dev_data *data)
{
    for (uint16_t i = 0; data->rx_queues != nullptr && i < data->nb_rx_queues; ++i) {
        const auto *queue = static_cast<const RxQueue *>(data->rx_queues[i]);
        if (queue != nullptr && queue->config().sges > 1)
            return rx_burst_scatter;
    }
    return rx_burst;
}

// Bursts go to the queues the primary lists now (they may have been set up again), through
// the functions this process's ethdev names (set at attach; the bursts as the primary
// picked them at its latest start).
void resume_fast_path(uint16_t port_id)
{
    struct rte_eth_fp_ops &ops = rte_eth_fp_ops[port_id];
    rte_eth_dev &dev = rte_eth_devices[port_id];
    dev.tx_pkt_burst = primary_tx_burst(dev.data);
    dev.rx_pkt_burst = primary_rx_burst(dev.data);
    publish(ops.rxq.data, dev.data->rx_queues);
    publish(ops.txq.data, dev.data->tx_queues);
    publish(ops.rx_queue_count, dev.rx_queue_count);
    publish(ops.rx_descriptor_status, dev.rx_descriptor_status);
    publish(ops.tx_descriptor_status, dev.tx_descriptor_status);
    publish(ops.tx_pkt_prepare, dev.tx_pkt_prepare);
    publish(ops.tx_pkt_burst, dev.tx_pkt_burst);
    publish(ops.rx_pkt_burst, dev.rx_pkt_burst);
    halted_here[port_id].store(false, std::memory_order_release);
}

// Events the primary forwarded, delivered to this process's callbacks on its interrupt
// thread (as the primary delivers its own), not on the IPC thread: a callback may well
// call into DPDK IPC (hot-unplug, for one), which would deadlock the IPC thread.
std::mutex pending_mutex;
std::deque<std::pair<uint16_t, rte_eth_event_type>> pending_events;

void deliver_pending_events(void *)
{
    for (;;) {
        std::pair<uint16_t, rte_eth_event_type> next;
        {
            std::lock_guard guard(pending_mutex);
            if (pending_events.empty())
                return;
            next = pending_events.front();
            pending_events.pop_front();
        }
        if (process_ports[next.first].doorbell_page != nullptr)
            rte_eth_dev_callback_process(&rte_eth_devices[next.first], next.second, nullptr);
    }
}

// The device is gone (removed), going (service reset) or will not come back: bursts stop
// here before the application hears of it, as in the primary.
bool stops_bursts(rte_eth_event_type event)
{
    return event == RTE_ETH_EVENT_INTR_RMV || event == RTE_ETH_EVENT_ERR_RECOVERING ||
           event == RTE_ETH_EVENT_RECOVERY_FAILED;
}

int32_t forward_event(const Request &request)
{
    const auto event = static_cast<rte_eth_event_type>(request.event);
    if (request.event < 0 || request.event >= RTE_ETH_EVENT_MAX)
        return -EINVAL;
    if (stops_bursts(event))
        halt_fast_path(request.port_id);
    {
        std::lock_guard guard(pending_mutex);
        pending_events.emplace_back(request.port_id, event);
    }
    const int ret = rte_eal_alarm_set(1, deliver_pending_events, nullptr);
    if (ret != 0)
        MANA_DRV_LOG(ERR, "port %u: cannot deliver event %d in this secondary process: %s",
                     request.port_id, request.event, strerror(-ret));
    return ret;
}

// After a service reset the function's doorbells are those of the primary's new context:
// its page replaces the old one for every port of the function (halted meanwhile).
int32_t remap_doorbells(const Request &request, int fd)
{
    const std::string bdf(request.bdf, strnlen(request.bdf, sizeof(request.bdf)));
    const auto bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::lock_guard guard(attached_mutex);
    for (AttachedFunction &function : attached) {
        if (function.bdf != bdf)
            continue;
        void *page = mmap(nullptr, bytes, PROT_WRITE, MAP_SHARED, fd, 0);
        if (page == MAP_FAILED) {
            const int error = errno;
            MANA_DRV_LOG(ERR,
                         "%s: cannot map the doorbell page of the primary's recovered device: "
                         "%s; this process's bursts on its ports stay stopped",
                         bdf.c_str(), strerror(error));
            return -error;
        }
        for (ProcessPort &local : process_ports)
            if (local.doorbell_page == function.doorbell_page)
                local.doorbell_page = page;
        munmap(function.doorbell_page, function.bytes);
        function.doorbell_page = page;
        function.bytes = bytes;
        return 0;
    }
    return 0; // a function this process has not attached
}

int on_primary_request(const rte_mp_msg *msg, const void *peer_name)
{
    Request request{};
    Reply reply{};
    const int fd = msg->num_fds > 0 ? msg->fds[0] : -1;
    if (msg->len_param != static_cast<int>(sizeof(request))) {
        reply.result = -EINVAL;
    } else {
        std::memcpy(&request, msg->param, sizeof(request));
        const bool per_port =
            request.op == Op::halt || request.op == Op::resume || request.op == Op::event;
        if (request.op == Op::remap)
            reply.result = fd >= 0 ? remap_doorbells(request, fd) : -EINVAL;
        else if (!per_port || request.port_id >= RTE_MAX_ETHPORTS)
            reply.result = -EINVAL;
        // Ports this process has not attached are none of its business.
        else if (process_ports[request.port_id].doorbell_page == nullptr)
            reply.result = 0;
        else if (request.op == Op::halt)
            halt_fast_path(request.port_id);
        else if (request.op == Op::resume)
            resume_fast_path(request.port_id);
        else
            reply.result = forward_event(request);
    }
    for (int i = 0; i < msg->num_fds; ++i)
        close(msg->fds[i]);
    rte_mp_msg out = make_message(&reply, sizeof(reply));
    return rte_mp_reply(&out, static_cast<const char *>(peer_name));
}

// One request to the primary; the reply's fd (if any) goes to `fd`. Negative errno.
int ask_primary(const Request &request, Reply &reply, int *fd)
{
    rte_mp_msg msg = make_message(&request, sizeof(request));
    struct rte_mp_reply replies {
    };
    timespec timeout = reply_timeout();
    if (rte_mp_request_sync(&msg, &replies, &timeout) != 0)
        return -(rte_errno != 0 ? rte_errno : EIO);
    int ret = 0;
    if (replies.nb_received != 1 || replies.msgs[0].len_param != static_cast<int>(sizeof(reply))) {
        ret = -EPROTO;
    } else {
        std::memcpy(&reply, replies.msgs[0].param, sizeof(reply));
        for (int i = 0; i < replies.msgs[0].num_fds; ++i) {
            if (fd != nullptr && *fd < 0)
                *fd = replies.msgs[0].fds[i];
            else
                close(replies.msgs[0].fds[i]);
        }
    }
    std::free(replies.msgs);
    return ret;
}

// The primary registers the buffer's memory in the port's table on our behalf.
std::optional<MrRange> register_through_primary(const MrTable &table, uintptr_t addr,
                                                std::size_t len)
{
    for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
        if (process_ports[p].doorbell_page == nullptr)
            continue;
        rte_eth_dev *dev = our_port(p);
        if (dev == nullptr || Port::of(dev).memory_regions() != &table)
            continue;
        Request request{};
        request.op = Op::register_memory;
        request.port_id = p;
        request.addr = addr;
        request.len = len;
        Reply reply{};
        const int ret = ask_primary(request, reply, nullptr);
        if (ret != 0 || reply.result != 0) {
            MANA_DP_LOG(DEBUG, "port %u: the primary did not register memory %#lx+%zu: %s", p,
                        static_cast<unsigned long>(addr), len,
                        strerror(-(ret != 0 ? ret : reply.result)));
            return std::nullopt;
        }
        const MrRange range{.start = reply.start, .end = reply.end, .lkey = reply.lkey};
        if (!range.contains(addr, len))
            return std::nullopt;
        return range;
    }
    return std::nullopt;
}

void release_function(const std::string &bdf)
{
    std::lock_guard guard(attached_mutex);
    for (auto it = attached.begin(); it != attached.end(); ++it) {
        if (it->bdf != bdf)
            continue;
        if (--it->ports == 0) {
            munmap(it->doorbell_page, it->bytes);
            attached.erase(it);
        }
        return;
    }
}

} // namespace

using namespace mp_protocol;

int probe_secondary(rte_pci_device *pci_dev, const std::string &bdf)
{
    int ret = register_action(on_primary_request);
    if (ret != 0) {
        MANA_INIT_LOG(ERR, "%s: cannot register the DPDK IPC action %s: %s", bdf.c_str(), kAction,
                      strerror(-ret));
        return ret;
    }
    Request request{};
    request.op = Op::attach;
    rte_strlcpy(request.bdf, bdf.c_str(), sizeof(request.bdf));
    Reply reply{};
    int fd = -1;
    ret = ask_primary(request, reply, &fd);
    if (ret != 0 || reply.result != 0) {
        if (fd >= 0)
            close(fd);
        MANA_INIT_LOG(ERR,
                      "%s: the primary process did not hand over its ports (%s); start the "
                      "primary first, with net_mana and the same --file-prefix",
                      bdf.c_str(), strerror(-(ret != 0 ? ret : reply.result)));
        return ret != 0 ? ret : reply.result;
    }
    if (fd < 0) {
        MANA_INIT_LOG(ERR, "%s: the primary process sent no command fd", bdf.c_str());
        return -EPROTO;
    }
    // Offset 0 of the command fd is the context's doorbell page (spec §7).
    const auto bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void *page = mmap(nullptr, bytes, PROT_WRITE, MAP_SHARED, fd, 0);
    const int map_error = errno;
    close(fd);
    if (page == MAP_FAILED) {
        MANA_INIT_LOG(ERR, "%s: cannot map the doorbell page of the primary's device: %s",
                      bdf.c_str(), strerror(map_error));
        return -map_error;
    }
    {
        std::lock_guard guard(attached_mutex);
        attached.push_back(AttachedFunction{.bdf = bdf, .doorbell_page = page, .bytes = bytes});
    }
    remote_mr_lookup = register_through_primary;

    for (unsigned i = 0; i < reply.ib_port_count && i < kMaxPortsPerFunction; ++i) {
        const std::string name = port_name(bdf, reply.ib_ports[i]);
        rte_eth_dev *eth_dev = rte_eth_dev_attach_secondary(name.c_str());
        if (eth_dev == nullptr) {
            MANA_INIT_LOG(ERR, "%s: cannot attach to the primary's ethdev %s", bdf.c_str(),
                          name.c_str());
            continue;
        }
        {
            std::lock_guard guard(attached_mutex);
            for (auto &function : attached)
                if (function.bdf == bdf)
                    ++function.ports;
        }
        process_ports[eth_dev->data->port_id].doorbell_page = page;
        process_ports[eth_dev->data->port_id].stop_bursts = &halted_here[eth_dev->data->port_id];
        eth_dev->device = &pci_dev->device;
        eth_dev->dev_ops = &secondary_port_ops();
        eth_dev->rx_pkt_burst = primary_rx_burst(eth_dev->data);
        eth_dev->tx_pkt_burst = primary_tx_burst(eth_dev->data);
        eth_dev->tx_pkt_prepare = tx_prepare;
        eth_dev->rx_queue_count = rx_queue_count;
        eth_dev->rx_descriptor_status = rx_descriptor_status;
        eth_dev->tx_descriptor_status = tx_descriptor_status;
        rte_eth_dev_probing_finish(eth_dev);
        // A stopped port has no rings to poll until the primary starts it.
        if (eth_dev->data->dev_started == 0)
            halt_fast_path(eth_dev->data->port_id);
        MANA_INIT_LOG(INFO, "%s: port %u (%s) attached in this secondary process", bdf.c_str(),
                      eth_dev->data->port_id, name.c_str());
    }
    std::lock_guard guard(attached_mutex);
    for (auto it = attached.begin(); it != attached.end(); ++it) {
        if (it->bdf == bdf && it->ports == 0) {
            munmap(it->doorbell_page, it->bytes);
            attached.erase(it);
            return -ENODEV;
        }
    }
    return 0;
}

int close_secondary_port(rte_eth_dev *dev)
{
    ProcessPort &local = process_ports[dev->data->port_id];
    if (local.doorbell_page == nullptr)
        return 0;
    local.doorbell_page = nullptr;
    local.stop_bursts = &kDeviceAlive;
    if (dev->device != nullptr)
        release_function(dev->device->name);
    return 0;
}

} // namespace mana
