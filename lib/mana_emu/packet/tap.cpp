// SPDX-License-Identifier: BSD-3-Clause
#include "tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mana_emu::packet
{
namespace
{

// ifreq with `name` copied in; false if the name does not fit.
bool make_ifreq(const std::string &name, ifreq &request)
{
    std::memset(&request, 0, sizeof(request));
    if (name.size() >= IFNAMSIZ)
        return false;
    std::memcpy(request.ifr_name, name.data(), name.size());
    return true;
}

// Closes an fd on scope exit (for the short-lived control socket).
class ScopedFd
{
  public:
    explicit ScopedFd(int fd) : fd_(fd) {}
    ~ScopedFd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    ScopedFd(const ScopedFd &) = delete;
    ScopedFd &operator=(const ScopedFd &) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// An interface setting of `name` changed through a datagram socket's ioctls: the request
// read with `read_request` (none when 0), given to `change`, written with
// `write_request`. 0 or a negative errno.
template <typename Change>
int change_interface(const std::string &name, unsigned long read_request,
                     unsigned long write_request, Change change)
{
    ScopedFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (control.get() < 0)
        return -errno;
    ifreq request;
    if (!make_ifreq(name, request))
        return -EINVAL;
    if (read_request != 0 && ::ioctl(control.get(), read_request, &request) < 0)
        return -errno;
    change(request);
    if (::ioctl(control.get(), write_request, &request) < 0)
        return -errno;
    return 0;
}

} // namespace

TapDevice::TapDevice(TapDevice &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_))
{
    other.name_.clear();
}

TapDevice &TapDevice::operator=(TapDevice &&other) noexcept
{
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
        other.name_.clear();
    }
    return *this;
}

void TapDevice::close()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    name_.clear();
}

int TapDevice::open(const std::string &ifname)
{
    close();
    ifreq request;
    if (!make_ifreq(ifname, request))
        return -EINVAL;
    request.ifr_flags = IFF_TAP | IFF_NO_PI;

    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (::ioctl(fd, TUNSETIFF, &request) < 0) {
        const int error = errno;
        ::close(fd);
        return -error;
    }
    fd_ = fd;
    name_.assign(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ));
    return 0;
}

void TapDevice::disable_ipv6()
{
    if (name_.empty())
        return;
    const std::string path = "/proc/sys/net/ipv6/conf/" + name_ + "/disable_ipv6";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    [[maybe_unused]] const ssize_t written = ::write(fd, "1", 1);
    ::close(fd);
}

int TapDevice::set_up()
{
    if (fd_ < 0)
        return -EBADF;
    return change_interface(name_, SIOCGIFFLAGS, SIOCSIFFLAGS, [](ifreq &request) {
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    });
}

int TapDevice::set_queue_frames(unsigned frames)
{
    if (fd_ < 0)
        return -EBADF;
    return change_interface(name_, 0, SIOCSIFTXQLEN, [frames](ifreq &request) {
        request.ifr_qlen = static_cast<int>(frames);
    });
}

ssize_t TapDevice::read(std::span<uint8_t> buffer)
{
    if (fd_ < 0)
        return -EBADF;
    for (;;) {
        const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

bool TapDevice::write(std::span<const uint8_t> frame)
{
    if (fd_ < 0)
        return false;
    for (;;) {
        const ssize_t n = ::write(fd_, frame.data(), frame.size());
        if (n >= 0)
            return static_cast<size_t>(n) == frame.size();
        if (errno != EINTR)
            return false;
    }
}

} // namespace mana_emu::packet
