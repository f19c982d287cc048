/* SPDX-License-Identifier: BSD-3-Clause */
// The MTU of a port: the kernel netdev's, checked against the RX queues' buffers.
#include "port.h"

#include "mp.h"

#include "log.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mana
{

// The VF's MTU is the kernel netdev's (spec §8). The netdev is checked to carry this
// port's MAC first: without it (an emulated device, a netdev renamed or moved to another
// namespace) there is nothing to change and the ioctl could hit an unrelated interface.
// RX queues set up for a smaller MTU: scattering ones need more buffers per WQE, which
// takes effect at the next start, so a running port refuses; others get a warning, as
// at queue setup.
int Port::check_rx_queues_for_mtu(uint16_t mtu, bool apply)
{
    const uint32_t frame = rx_frame_bytes(mtu);
    for (uint16_t i = 0; i < rx_queue_count(); ++i) {
        RxQueue *queue = rxq(i);
        if (queue == nullptr)
            continue;
        const uint32_t buffer = rx_buffer_bytes(queue->config().pool);
        const uint32_t buffers = rx_buffers_for(frame, buffer);
        if (!queue->config().scatter) {
            if (apply && buffers > 1)
                MANA_DRV_LOG(WARNING,
                             "port %u RX queue %u: %u-byte buffers are shorter than a frame at "
                             "MTU %u; longer frames are dropped as truncated (enable "
                             "RTE_ETH_RX_OFFLOAD_SCATTER to receive them as mbuf chains)",
                             port_id_, i, buffer, mtu);
            continue;
        }
        if (buffers <= queue->config().sges)
            continue;
        if (buffers > max_rx_sges()) {
            MANA_DRV_LOG(ERR,
                         "port %u RX queue %u: a frame at MTU %u needs %u buffers of %u bytes; "
                         "the device scatters into at most %u: use larger mbufs",
                         port_id_, i, mtu, buffers, buffer, max_rx_sges());
            return -EINVAL;
        }
        if (started_) {
            MANA_DRV_LOG(ERR,
                         "port %u RX queue %u: MTU %u needs %u buffers per packet, the running "
                         "queue has %u; stop the port to change the MTU",
                         port_id_, i, mtu, buffers, queue->config().sges);
            return -EBUSY;
        }
        if (apply)
            queue->set_sges(buffers);
    }
    return 0;
}

int Port::mtu_set(uint16_t mtu)
{
    if (const int ret = check_rx_queues_for_mtu(mtu, false); ret != 0)
        return ret;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ifreq request{};
    std::strncpy(request.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    int ret = ioctl(fd, SIOCGIFHWADDR, &request);
    if (ret != 0 || std::memcmp(request.ifr_hwaddr.sa_data, mac_.data(), mac_.size()) != 0) {
        const int error = ret != 0 ? errno : ENODEV;
        ::close(fd);
        if (error == ENODEV) {
            // Nothing to apply the MTU to: succeeding would let the application believe in
            // an MTU the VF does not have.
            MANA_DRV_LOG(ERR,
                         "port %u: no kernel netdev %s with MAC %s in this namespace; cannot "
                         "set MTU %u",
                         port_id_, ifname_.c_str(), format_mac(mac_).c_str(), mtu);
            return -ENODEV;
        }
        MANA_DRV_LOG(ERR, "port %u: cannot read netdev %s: %s", port_id_, ifname_.c_str(),
                     strerror(error));
        return -error;
    }
    std::memset(&request.ifr_ifru, 0, sizeof(request.ifr_ifru));
    request.ifr_mtu = mtu;
    ret = ioctl(fd, SIOCSIFMTU, &request);
    const int error = errno;
    ::close(fd);
    if (ret != 0) {
        MANA_DRV_LOG(ERR, "port %u: setting MTU %u on netdev %s failed: %s%s", port_id_, mtu,
                     ifname_.c_str(), strerror(error),
                     error == EPERM ? " (needs CAP_NET_ADMIN)" : "");
        return -error;
    }
    return check_rx_queues_for_mtu(mtu, true);
}

} // namespace mana
