/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_netdev.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mana_emu
{
namespace
{

constexpr int kDefaultMtu = 1500;

ifreq request_for(const std::string &ifname)
{
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    return request;
}

// One interface ioctl on a throw-away socket: 0 or a negative errno.
int interface_ioctl(unsigned long command, ifreq &request)
{
    const int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (control < 0)
        return -errno;
    const int rc = ::ioctl(control, command, &request) == 0 ? 0 : -errno;
    ::close(control);
    return rc;
}

int set_mac_and_mtu(const std::string &ifname, const MacAddress &mac)
{
    ifreq request = request_for(ifname);
    request.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(request.ifr_hwaddr.sa_data, mac.data(), mac.size());
    if (const int rc = interface_ioctl(SIOCSIFHWADDR, request); rc != 0)
        return rc;
    request = request_for(ifname);
    request.ifr_mtu = kDefaultMtu;
    return interface_ioctl(SIOCSIFMTU, request);
}

} // namespace

std::string port_netdev_name(unsigned global_port)
{
    // "mana" + pid (at most 7 digits) + "p" + port (at most 2 digits): 14 characters.
    return "mana" + std::to_string(::getpid()) + "p" + std::to_string(global_port);
}

PortNetdev::~PortNetdev()
{
    if (fd_ >= 0)
        ::close(fd_); // the kernel deletes the interface
}

int PortNetdev::create(const std::string &ifname, const MacAddress &mac)
{
    if (fd_ >= 0 || ifname.empty() || ifname.size() >= IFNAMSIZ)
        return -EINVAL;
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ifreq request = request_for(ifname);
    // IFF_TUN_EXCL: fail rather than attach to someone else's interface of that name.
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
    if (::ioctl(fd, TUNSETIFF, &request) != 0) {
        const int error = errno;
        ::close(fd);
        return -error;
    }
    if (const int rc = set_mac_and_mtu(ifname, mac); rc != 0) {
        ::close(fd);
        return rc;
    }
    fd_ = fd;
    name_ = ifname;
    return 0;
}

int PortNetdev::reset(const MacAddress &mac)
{
    if (fd_ < 0)
        return -EBADF;
    return set_mac_and_mtu(name_, mac);
}

} // namespace mana_emu
