/* SPDX-License-Identifier: BSD-3-Clause */
#include "sysfs_discovery.h"

#include <algorithm>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <unistd.h>

namespace mana
{
namespace
{

std::string_view trim_newline(std::string_view text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

} // namespace

std::optional<std::string> pci_slot_from_uevent(std::string_view uevent)
{
    constexpr std::string_view kKey = "PCI_SLOT_NAME=";
    while (!uevent.empty()) {
        const std::size_t end = uevent.find('\n');
        std::string_view line = uevent.substr(0, end);
        if (line.starts_with(kKey)) {
            line.remove_prefix(kKey.size());
            if (line.empty())
                return std::nullopt;
            return std::string(line);
        }
        if (end == std::string_view::npos)
            break;
        uevent.remove_prefix(end + 1);
    }
    return std::nullopt;
}

std::optional<unsigned> parse_dev_port(std::string_view text)
{
    text = trim_newline(text);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<MacAddress> parse_address_file(std::string_view text)
{
    return parse_mac(trim_newline(text));
}

std::optional<std::string> read_small_file(const std::string &path)
{
    constexpr std::size_t kLimit = 4096;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string contents(kLimit, '\0');
    std::size_t filled = 0;
    while (filled < kLimit) {
        const ssize_t got = read(fd, contents.data() + filled, kLimit - filled);
        if (got < 0) {
            close(fd);
            return std::nullopt;
        }
        if (got == 0)
            break;
        filled += static_cast<std::size_t>(got);
    }
    close(fd);
    contents.resize(filled);
    return contents;
}

std::vector<NetdevPort> list_netdev_ports(const std::string &ibdev_path)
{
    std::vector<NetdevPort> ports;
    const std::string net_dir = ibdev_path + "/device/net";
    struct DirCloser {
        void operator()(DIR *d) const { closedir(d); }
    };
    std::unique_ptr<DIR, DirCloser> dir(opendir(net_dir.c_str()));
    if (!dir)
        return ports;
    while (const dirent *entry = readdir(dir.get())) {
        const std::string ifname = entry->d_name;
        if (ifname == "." || ifname == "..")
            continue;
        const std::string base = net_dir + "/" + ifname + "/";
        const auto dev_port_text = read_small_file(base + "dev_port");
        const auto address_text = read_small_file(base + "address");
        if (!dev_port_text || !address_text)
            continue;
        const auto dev_port = parse_dev_port(*dev_port_text);
        const auto mac = parse_address_file(*address_text);
        if (!dev_port || !mac)
            continue;
        ports.push_back({*dev_port + 1, ifname, *mac});
    }
    std::sort(ports.begin(), ports.end(),
              [](const NetdevPort &a, const NetdevPort &b) { return a.ib_port < b.ib_port; });
    return ports;
}

} // namespace mana
