/* SPDX-License-Identifier: BSD-3-Clause */
// Secondary processes over DPDK IPC. The primary owns the device and every verbs object;
// a secondary attaches to the primary's ethdevs and runs bursts on queues the primary
// set up. Queues and rings are DPDK shared memory (same address everywhere); what is
// process-local goes through `process_ports` (queue_common.h): the doorbell page, which
// a secondary maps from the primary's verbs command fd received over IPC, and the flag
// that stops bursts. Memory a secondary's buffers live in is registered by the primary
// on request, into the port's shared table.
#pragma once

#include <ethdev_driver.h>

#include <cstdint>
#include <string>

struct rte_pci_device;

namespace mana
{

// The ethdev name of an IB port of a PCI function (the same in every process).
std::string port_name(const std::string &bdf, unsigned ib_port);

// Primary: starts answering secondaries (attach, memory registration). Idempotent; a
// process without IPC (--in-memory, --no-shconf) simply has no secondaries.
void serve_secondaries();

class Port;

// Primary: the port answers secondaries (attach, memory registration) from the IPC
// thread from serve_port on; withdraw_port returns once no answer reads it any more.
void serve_port(uint16_t port_id, Port *port);
void withdraw_port(uint16_t port_id);

// Primary: every secondary stops bursting on the port (before its queues go away), or
// may burst again (after start). No-ops without secondaries.
void halt_secondaries(uint16_t port_id);
void resume_secondaries(uint16_t port_id);

// Primary: every secondary delivers `event` of the port to its own callbacks (on its
// interrupt thread). For removal, a service reset starting and a failed recovery, it
// stops bursting on the port first, as the primary does.
void forward_event_to_secondaries(uint16_t port_id, rte_eth_event_type event);

// Primary, after a service reset: every secondary maps the doorbell page of the
// function's new verbs context (its command fd goes along) in place of the old one.
void remap_secondaries(const std::string &bdf, int command_fd);

// Secondary probe: attaches to the primary's ports of this PCI function. Negative errno.
int probe_secondary(rte_pci_device *pci_dev, const std::string &bdf);

// Secondary dev_close: releases what this process holds for the port (the doorbell
// mapping with the last port of the function). The primary's port is left alone.
int close_secondary_port(rte_eth_dev *dev);

} // namespace mana
