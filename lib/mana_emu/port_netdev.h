/* SPDX-License-Identifier: BSD-3-Clause */
// The kernel netdev of an emulated port: on Azure a MANA VF port shares a kernel netdev
// (the one the sysfs tree names), and the driver sets the port's MTU on it with
// SIOCSIFMTU. The emulator creates a TAP interface per port with the port's MAC to play
// that part. It carries no traffic (it stays down); it exists for its name, MAC and MTU.
// The TAP is not persistent: the kernel deletes it when the fd closes, also when the
// process is killed.
#pragma once

#include "config.h"

#include <string>

namespace mana_emu
{

// Its fd is not counted in mana_emu_counters.open_fds: like the sysfs tree it belongs to
// the emulated topology, not to an application's verbs objects.
class PortNetdev
{
  public:
    PortNetdev() = default;
    PortNetdev(const PortNetdev &) = delete;
    PortNetdev &operator=(const PortNetdev &) = delete;
    ~PortNetdev();

    // Creates the interface `ifname` (it must not exist yet) with MAC `mac` and MTU 1500.
    // 0 or a negative errno (-EPERM without CAP_NET_ADMIN, -EBUSY if the name is taken).
    int create(const std::string &ifname, const MacAddress &mac);
    // Gives an existing interface a new MAC and the default MTU again (reconfiguration
    // reuses interfaces: creating and deleting netdevs costs milliseconds each).
    int reset(const MacAddress &mac);
    const std::string &name() const { return name_; }

  private:
    int fd_ = -1;
    std::string name_;
};

// The name of port `global_port`'s netdev: unique per process, at most 15 characters.
std::string port_netdev_name(unsigned global_port);

} // namespace mana_emu
