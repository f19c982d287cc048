// SPDX-License-Identifier: BSD-3-Clause
// A Linux TAP interface as the emulator's wire: frames the device transmits are written
// to it, frames the kernel sends to it are what the device receives.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

namespace mana_emu::packet
{

class TapDevice
{
  public:
    TapDevice() = default;
    ~TapDevice() { close(); }
    TapDevice(TapDevice &&other) noexcept;
    TapDevice &operator=(TapDevice &&other) noexcept;
    TapDevice(const TapDevice &) = delete;
    TapDevice &operator=(const TapDevice &) = delete;

    // Creates the TAP interface `ifname`, or attaches to it if it exists (IFF_TAP |
    // IFF_NO_PI: frames are plain Ethernet), with a non-blocking, close-on-exec fd. A name
    // with "%d" (or an empty one) lets the kernel number it; name() gives the result.
    // Returns 0 or a negative errno (-EPERM without CAP_NET_ADMIN, -ENOENT without
    // /dev/net/tun, -EINVAL for a name longer than IFNAMSIZ - 1). A previously opened
    // interface is closed first.
    int open(const std::string &ifname);
    // Sets IFF_UP on the interface (needs CAP_NET_ADMIN). 0 or a negative errno.
    int set_up();
    // Sets how many frames the kernel holds for this fd's reader (the interface's
    // tx_queue_len; needs CAP_NET_ADMIN). 0 or a negative errno.
    int set_queue_frames(unsigned frames);
    // Turns IPv6 off on the interface in the current network namespace (best effort: the
    // kernel then sends no neighbour discovery or listener reports of its own there).
    void disable_ipv6();

    // One frame into `buffer` (a longer frame is truncated by the kernel): its length, or
    // -EAGAIN when none is queued, or another negative errno.
    ssize_t read(std::span<uint8_t> buffer);
    // Sends one frame to the kernel; true when all of it was accepted.
    bool write(std::span<const uint8_t> frame);

    int fd() const { return fd_; }
    const std::string &name() const { return name_; }
    // Closes the fd; the kernel deletes a non-persistent interface with its last fd.
    void close();

  private:
    int fd_ = -1;
    std::string name_;
};

} // namespace mana_emu::packet
