/* SPDX-License-Identifier: BSD-3-Clause */
// The messages primary and secondary processes exchange over DPDK IPC (action
// net_mana_mp): what each operation asks and answers, and the calls both sides make
// (mp_primary.cpp serves secondaries, mp_secondary.cpp attaches to a primary).
#pragma once

#include "ethdev_ops.h"

#include <bus_pci_driver.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_string_fns.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <type_traits>

namespace mana::mp_protocol
{

inline constexpr char kAction[] = "net_mana_mp";
// Long enough for a primary busy registering memory; a secondary that does not answer
// a halt within it is reported.
inline constexpr long kReplySeconds = 5;
inline constexpr std::size_t kMaxPortsPerFunction = 16;

enum class Op : uint32_t {
    attach = 1,      // secondary -> primary: ports of a function and the command fd
    register_memory, // secondary -> primary: the MR covering [addr, addr + len)
    halt,            // primary -> secondaries: stop bursting on port_id
    resume,          // primary -> secondaries: port_id runs again
    event,           // primary -> secondaries: deliver `event` on port_id
    remap,           // primary -> secondaries: the function's new command fd (attached)
};

struct Request {
    Op op;
    uint16_t port_id;
    char bdf[PCI_PRI_STR_SIZE];
    uint64_t addr;
    uint64_t len;
    int32_t event; // rte_eth_event_type
};

struct Reply {
    int32_t result; // 0 or a negative errno
    uint8_t ib_port_count;
    uint8_t ib_ports[kMaxPortsPerFunction];
    uint64_t start;
    uint64_t end;
    uint32_t lkey;
};

static_assert(sizeof(Request) <= RTE_MP_MAX_PARAM_LEN && sizeof(Reply) <= RTE_MP_MAX_PARAM_LEN);
static_assert(std::is_trivially_copyable_v<Request> && std::is_trivially_copyable_v<Reply>);

inline rte_mp_msg make_message(const void *param, std::size_t len)
{
    rte_mp_msg msg{};
    rte_strlcpy(msg.name, kAction, sizeof(msg.name));
    msg.len_param = static_cast<int>(len);
    std::memcpy(msg.param, param, len);
    return msg;
}

inline timespec reply_timeout()
{
    return timespec{.tv_sec = kReplySeconds, .tv_nsec = 0};
}

// The ethdev of a port this process drives with this driver, or nullptr.
inline rte_eth_dev *our_port(uint16_t port_id)
{
    if (port_id >= RTE_MAX_ETHPORTS)
        return nullptr;
    rte_eth_dev *dev = &rte_eth_devices[port_id];
    if (dev->state == RTE_ETH_DEV_UNUSED || dev->data == nullptr ||
        dev->data->dev_private == nullptr)
        return nullptr;
    if (dev->dev_ops != &port_ops() && dev->dev_ops != &secondary_port_ops())
        return nullptr;
    return dev;
}

inline int register_action(rte_mp_t handler)
{
    if (rte_mp_action_register(kAction, handler) == 0 || rte_errno == EEXIST)
        return 0;
    return -rte_errno;
}

} // namespace mana::mp_protocol
