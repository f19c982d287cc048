/* SPDX-License-Identifier: BSD-3-Clause */
// RX interrupts of a port: the interrupt handle over the queues' completion channels, and
// arming and draining a queue's.
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

void Port::IntrDeleter::operator()(rte_intr_handle *handle) const
{
    rte_intr_free_epoll_fd(handle);
    rte_intr_vec_list_free(handle);
    rte_intr_instance_free(handle);
}

int Port::setup_rx_interrupts()
{
    const uint16_t queues = rx_queue_count();
    rx_interrupts_.reset(rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE));
    rte_intr_handle *handle = rx_interrupts_.get();
    if (handle == nullptr || rte_intr_type_set(handle, RTE_INTR_HANDLE_EXT) != 0 ||
        rte_intr_vec_list_alloc(handle, "mana_rx_intr", queues) != 0) {
        MANA_DRV_LOG(ERR, "port %u: cannot allocate the RX interrupt handle for %u queues",
                     port_id_, queues);
        rx_interrupts_.reset();
        return -ENOMEM;
    }
    for (uint16_t q = 0; q < queues; ++q) {
        if (rte_intr_vec_list_index_set(handle, q, RTE_INTR_VEC_RXTX_OFFSET + q) != 0 ||
            rte_intr_efds_index_set(handle, q, rxq(q)->interrupt_fd()) != 0) {
            MANA_DRV_LOG(ERR, "port %u: RX queue %u cannot be given an interrupt vector", port_id_,
                         q);
            rx_interrupts_.reset();
            return -ENOSPC;
        }
    }
    rte_intr_nb_efd_set(handle, queues);
    rte_intr_max_intr_set(handle, queues + 1);
    rte_eth_devices[port_id_].intr_handle = handle;
    return 0;
}

void Port::teardown_rx_interrupts()
{
    if (rte_eth_devices[port_id_].intr_handle == rx_interrupts_.get())
        rte_eth_devices[port_id_].intr_handle = nullptr;
    rx_interrupts_.reset();
}

// Under the device mutex: a recovery step destroys and recreates the CQ (and its doorbell
// page) that arming rings.
int Port::rx_interrupt_enable(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || !started_ || rx->interrupt_fd() < 0) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: interrupts need intr_conf.rxq = 1 and a "
                     "started port",
                     port_id_, queue);
        return -EINVAL;
    }
    return rx->arm_interrupt();
}

int Port::rx_interrupt_disable(uint16_t queue)
{
    const std::lock_guard guard(device_->mutex);
    RxQueue *rx = rxq(queue);
    if (rx == nullptr || rx->interrupt_fd() < 0)
        return -EINVAL;
    return rx->drain_interrupt();
}

} // namespace mana
