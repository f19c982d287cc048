/* SPDX-License-Identifier: BSD-3-Clause */
// The primary's side of multi-process support: answers secondaries (attach: the ports of a
// function and the verbs command fd; memory registration on their behalf) and tells them
// to halt, resume, deliver an event or map a new doorbell page.
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
namespace
{

using namespace mp_protocol;

// The ports secondaries may ask about. The IPC thread answers from a Port with the mutex
// held, and a closing port withdraws under it, so no answer reads a Port (or its memory
// table) being destroyed. Never held across IPC, and the device mutex is never taken
// under it (the IPC thread must stay free to receive the secondaries' replies).
std::mutex served_mutex;
std::array<Port *, RTE_MAX_ETHPORTS> served{};

Reply answer_attach(const Request &request, rte_mp_msg &out)
{
    Reply reply{};
    const std::string bdf(request.bdf, strnlen(request.bdf, sizeof(request.bdf)));
    int fd = -1;
    const std::lock_guard guard(served_mutex);
    for (const Port *port : served) {
        if (port == nullptr || port->bdf() != bdf)
            continue;
        if (reply.ib_port_count < kMaxPortsPerFunction)
            reply.ib_ports[reply.ib_port_count++] = static_cast<uint8_t>(port->ib_port());
        if (fd < 0)
            fd = port->dup_command_fd();
    }
    if (reply.ib_port_count == 0 || fd < 0) {
        if (fd >= 0)
            close(fd);
        // No context while a service reset has the device closed.
        reply.result = reply.ib_port_count == 0 ? -ENODEV : -EAGAIN;
        return reply;
    }
    out.num_fds = 1;
    out.fds[0] = fd;
    return reply;
}

Reply answer_registration(const Request &request)
{
    Reply reply{};
    const std::lock_guard guard(served_mutex);
    Port *port = request.port_id < RTE_MAX_ETHPORTS ? served[request.port_id] : nullptr;
    MrTable *table = port != nullptr ? port->memory_regions() : nullptr;
    if (table == nullptr) {
        reply.result = -ENODEV;
        return reply;
    }
    // Only DPDK memory is the same memory in both processes: whatever the primary has at
    // another address of the secondary's is something else entirely.
    const auto *first = reinterpret_cast<const void *>(request.addr);
    const auto *last = reinterpret_cast<const void *>(request.addr + request.len - 1);
    if (request.len == 0 || request.addr + request.len < request.addr ||
        rte_mem_virt2memseg(first, nullptr) == nullptr ||
        rte_mem_virt2memseg(last, nullptr) == nullptr) {
        reply.result = -EINVAL;
        return reply;
    }
    errno = 0;
    const auto range = table->find_or_register(request.addr, request.len);
    if (!range) {
        reply.result = errno != 0 ? -errno : -ENOSPC;
        MANA_DRV_LOG(DEBUG,
                     "port %u: memory %#" PRIx64 "+%" PRIu64
                     " of a secondary process cannot be registered: %s",
                     request.port_id, request.addr, request.len, strerror(-reply.result));
        return reply;
    }
    reply.start = range->start;
    reply.end = range->end;
    reply.lkey = range->lkey;
    return reply;
}

int on_secondary_request(const rte_mp_msg *msg, const void *peer_name)
{
    Request request{};
    Reply reply{};
    rte_mp_msg out = make_message(&reply, sizeof(reply));
    if (msg->len_param != static_cast<int>(sizeof(request))) {
        reply.result = -EINVAL;
    } else {
        std::memcpy(&request, msg->param, sizeof(request));
        switch (request.op) {
        case Op::attach:
            reply = answer_attach(request, out);
            break;
        case Op::register_memory:
            reply = answer_registration(request);
            break;
        default:
            reply.result = -EINVAL;
        }
    }
    std::memcpy(out.param, &reply, sizeof(reply));
    const int ret = rte_mp_reply(&out, static_cast<const char *>(peer_name));
    // The duplicate of the command fd went with the reply (SCM_RIGHTS makes its own).
    for (int i = 0; i < out.num_fds; ++i)
        close(out.fds[i]);
    return ret;
}

const char *what_secondaries_do(Op op)
{
    switch (op) {
    case Op::halt:
        return "stop bursts";
    case Op::resume:
        return "resume bursts";
    case Op::event:
        return "deliver an event";
    case Op::remap:
        return "map the new doorbell page";
    default:
        return "act";
    }
}

// One request to every secondary, waiting for their replies; `fd` (if not -1) goes with it.
void tell_secondaries(const Request &request, int fd = -1)
{
    if (rte_eal_process_type() != RTE_PROC_PRIMARY)
        return;
    rte_mp_msg msg = make_message(&request, sizeof(request));
    if (fd >= 0) {
        msg.num_fds = 1;
        msg.fds[0] = fd;
    }
    struct rte_mp_reply replies {
    };
    timespec timeout = reply_timeout();
    if (rte_mp_request_sync(&msg, &replies, &timeout) != 0) {
        // ENOTSUP: IPC is off (--in-memory), so there are no secondaries to tell.
        if (rte_errno != ENOTSUP)
            MANA_DRV_LOG(WARNING, "port %u: cannot tell secondary processes to %s: %s",
                         request.port_id, what_secondaries_do(request.op), rte_strerror(rte_errno));
        return;
    }
    if (replies.nb_received < replies.nb_sent)
        MANA_DRV_LOG(WARNING,
                     "port %u: %d of %d secondary processes did not confirm that they %s "
                     "(no net_mana in them, or hung)",
                     request.port_id, replies.nb_sent - replies.nb_received, replies.nb_sent,
                     what_secondaries_do(request.op));
    std::free(replies.msgs);
}

void tell_secondaries(Op op, uint16_t port_id)
{
    Request request{};
    request.op = op;
    request.port_id = port_id;
    tell_secondaries(request);
}

} // namespace

using namespace mp_protocol;

std::string port_name(const std::string &bdf, unsigned ib_port)
{
    return bdf + "_port" + std::to_string(ib_port);
}

void serve_secondaries()
{
    static std::once_flag once;
    std::call_once(once, [] {
        const int ret = register_action(on_secondary_request);
        // ENOTSUP: IPC is off (--in-memory, --no-shconf), so there are no secondaries.
        if (ret != 0 && ret != -ENOTSUP)
            MANA_INIT_LOG(WARNING, "cannot serve secondary processes (DPDK IPC action %s): %s",
                          kAction, strerror(-ret));
    });
}

void serve_port(uint16_t port_id, Port *port)
{
    const std::lock_guard guard(served_mutex);
    served[port_id] = port;
}

void withdraw_port(uint16_t port_id)
{
    const std::lock_guard guard(served_mutex);
    served[port_id] = nullptr;
}

void halt_secondaries(uint16_t port_id)
{
    tell_secondaries(Op::halt, port_id);
}

void resume_secondaries(uint16_t port_id)
{
    tell_secondaries(Op::resume, port_id);
}

void forward_event_to_secondaries(uint16_t port_id, rte_eth_event_type event)
{
    Request request{};
    request.op = Op::event;
    request.port_id = port_id;
    request.event = event;
    tell_secondaries(request);
}

void remap_secondaries(const std::string &bdf, int command_fd)
{
    Request request{};
    request.op = Op::remap;
    request.port_id = RTE_MAX_ETHPORTS;
    rte_strlcpy(request.bdf, bdf.c_str(), sizeof(request.bdf));
    tell_secondaries(request, command_fd);
}

} // namespace mana
