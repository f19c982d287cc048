/* SPDX-License-Identifier: BSD-3-Clause */
// The fake sysfs tree that makes emulated PCI functions visible to DPDK's PCI scan
// (SYSFS_PCI_DEVICES) and lets a driver map its RDMA device to a PCI address and ports
// (ibdev_path/device/uevent, ibdev_path/device/net/<ifname>/{dev_port,address}).
#pragma once

#include "config.h"

#include <string>
#include <sys/types.h>
#include <vector>

namespace mana_emu
{

struct SysfsPort {
    std::string ifname;
    unsigned dev_port = 0; // IB port - 1
    MacAddress mac{};
    bool kernel_netdev = false; // `ifname` exists: its mtu file is the kernel's
};

struct SysfsFunction {
    std::string bdf;
    bool pf = false;
    int numa_node = 0;
    std::string ibdev_name;  // "mana_0"
    std::string uverbs_name; // "uverbs0"
    std::vector<SysfsPort> ports;
};

class SysfsTree
{
  public:
    SysfsTree() = default;
    SysfsTree(const SysfsTree &) = delete;
    SysfsTree &operator=(const SysfsTree &) = delete;
    ~SysfsTree() { remove(); }

    // Builds a fresh tree in a private temporary directory; false (and a log line) on
    // failure.
    bool create(const std::vector<SysfsFunction> &functions);
    // Deletes the whole tree (only in the process that created it: a forked child's
    // exit must not pull the tree from under its parent).
    void remove();
    // Uses the tree another process built at `root` (a DPDK primary's), never removing
    // it; false if it is not there.
    bool adopt(const std::string &root);
    // PCI hot-remove: the function's directory disappears.
    void remove_function(const std::string &bdf);

    const std::string &root() const { return root_; }
    std::string pci_dir() const { return root_.empty() ? std::string() : root_ + "/pci"; }
    std::string ibdev_path(const std::string &ibdev_name) const;
    std::string uverbs_path(const std::string &uverbs_name) const;

  private:
    void publish_for_signal_cleanup() const;
    std::string root_;
    pid_t creator_ = 0;
};

} // namespace mana_emu
