/* SPDX-License-Identifier: BSD-3-Clause */
#include "sysfs_tree.h"

#include "log.h"
#include "sysfs_cleanup.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace mana_emu
{
namespace fs = std::filesystem;
namespace
{

constexpr const char *kPciVendorMicrosoft = "0x1414";
constexpr const char *kPciDeviceVf = "0x00ba";
constexpr const char *kPciDevicePf = "0x00b9";

void write_file(const fs::path &path, const std::string &contents)
{
    std::ofstream out(path);
    out << contents;
    if (!out)
        throw fs::filesystem_error("cannot write", path, std::make_error_code(std::errc::io_error));
}

void write_function(const fs::path &root, const SysfsFunction &function)
{
    const fs::path pci = root / "pci" / function.bdf;
    fs::create_directories(pci);
    write_file(pci / "vendor", std::string(kPciVendorMicrosoft) + "\n");
    write_file(pci / "device", std::string(function.pf ? kPciDevicePf : kPciDeviceVf) + "\n");
    write_file(pci / "subsystem_vendor", std::string(kPciVendorMicrosoft) + "\n");
    write_file(pci / "subsystem_device",
               std::string(function.pf ? kPciDevicePf : kPciDeviceVf) + "\n");
    write_file(pci / "class", "0x020000\n");
    write_file(pci / "numa_node", std::to_string(function.numa_node) + "\n");
    write_file(pci / "irq", "0\n");
    // DPDK's PCI scan reads six BAR lines (start end flags); BAR 0 is the doorbell area
    // of a real VF, the rest unused. Nothing maps them: the PMD needs no BAR mapping.
    std::string resource = "0x00000000fc000000 0x00000000fc0fffff 0x000000000014220c\n";
    for (int bar = 1; bar < 13; ++bar)
        resource += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
    write_file(pci / "resource", resource);
    write_file(pci / "uevent", "DRIVER=mana\nPCI_CLASS=20000\nPCI_ID=1414:" +
                                   std::string(function.pf ? "00B9" : "00BA") +
                                   "\nPCI_SLOT_NAME=" + function.bdf + "\n");
    fs::create_symlink("../../drivers/mana", pci / "driver");
    for (const auto &port : function.ports) {
        const fs::path net = pci / "net" / port.ifname;
        fs::create_directories(net);
        write_file(net / "dev_port", std::to_string(port.dev_port) + "\n");
        write_file(net / "address", mana::format_mac(port.mac) + "\n");
        if (port.kernel_netdev)
            fs::create_symlink(fs::path("/sys/class/net") / port.ifname / "mtu", net / "mtu");
        else
            write_file(net / "mtu", "1500\n");
        write_file(net / "operstate", "up\n");
    }
    fs::create_directories(pci / "infiniband" / function.ibdev_name);

    const fs::path ibdev = root / "class" / "infiniband" / function.ibdev_name;
    fs::create_directories(ibdev);
    fs::create_symlink(fs::path("../../../pci") / function.bdf, ibdev / "device");
    write_file(ibdev / "node_type", "1: CA\n");
    for (const auto &port : function.ports) {
        const fs::path port_dir = ibdev / "ports" / std::to_string(port.dev_port + 1);
        fs::create_directories(port_dir);
        write_file(port_dir / "link_layer", "Ethernet\n");
        write_file(port_dir / "state", "4: ACTIVE\n");
    }
    const fs::path uverbs = root / "class" / "infiniband_verbs" / function.uverbs_name;
    fs::create_directories(uverbs);
    write_file(uverbs / "ibdev", function.ibdev_name + "\n");
    write_file(uverbs / "abi_version", "1\n");
    fs::create_symlink(fs::path("../../../pci") / function.bdf, uverbs / "device");
}

} // namespace

bool SysfsTree::create(const std::vector<SysfsFunction> &functions)
{
    remove();
    const char *tmp = std::getenv("TMPDIR");
    // The pid in the name tells a person whose tree it is; the owner record inside is what
    // the stale-tree cleanup of later processes goes by.
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/mana_emu_sysfs." +
                          std::to_string(getpid()) + ".XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        EMU_LOG(error, "cannot create the fake sysfs tree under %s", pattern.c_str());
        return false;
    }
    root_ = pattern;
    creator_ = getpid();
    try {
        write_file(fs::path(root_) / "owner", owner_record_of_this_process());
        fs::create_directories(fs::path(root_) / "pci");
        fs::create_directories(fs::path(root_) / "drivers" / "mana");
        for (const auto &function : functions)
            write_function(root_, function);
        publish_for_signal_cleanup();
    } catch (const fs::filesystem_error &e) {
        EMU_LOG(error, "cannot build the fake sysfs tree: %s", e.what());
        remove();
        return false;
    }
    return true;
}

void SysfsTree::remove()
{
    if (root_.empty())
        return;
    if (creator_ == getpid()) {
        publish_tree_for_signal_cleanup({});
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    root_.clear();
}

bool SysfsTree::adopt(const std::string &root)
{
    remove();
    std::error_code error;
    if (!fs::is_directory(root + "/pci", error))
        return false;
    root_ = root;
    creator_ = 0;
    return true;
}

void SysfsTree::remove_function(const std::string &bdf)
{
    if (root_.empty())
        return;
    std::error_code ignored;
    fs::remove_all(fs::path(root_) / "pci" / bdf, ignored);
}

void SysfsTree::publish_for_signal_cleanup() const
{
    // Pre-order listing reversed: every entry comes before the directory holding it.
    std::vector<std::string> paths;
    for (const auto &entry : fs::recursive_directory_iterator(root_))
        paths.push_back(entry.path().string());
    std::reverse(paths.begin(), paths.end());
    paths.push_back(root_);
    publish_tree_for_signal_cleanup(std::move(paths));
}

std::string SysfsTree::ibdev_path(const std::string &ibdev_name) const
{
    return root_ + "/class/infiniband/" + ibdev_name;
}

std::string SysfsTree::uverbs_path(const std::string &uverbs_name) const
{
    return root_ + "/class/infiniband_verbs/" + uverbs_name;
}

} // namespace mana_emu
