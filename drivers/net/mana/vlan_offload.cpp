/* SPDX-License-Identifier: BSD-3-Clause */
// RX VLAN strip switched after setup (rte_eth_dev_set_vlan_offload, testpmd's `vlan set
// strip`). The device always removes an 802.1Q tag and reports its id; "strip off" is the
// driver putting the tag back into the frame. So the switch is a per-queue setting of the
// driver's alone, nothing the device needs to be told.
#include "log.h"
#include "port.h"
#include "rxq.h"

#include <rte_ethdev.h>

namespace mana
{

void RxQueue::set_vlan_strip(bool strip)
{
    config_.vlan_strip = strip;
    if (strip)
        config_.offloads |= RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    else
        config_.offloads &= ~RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    decoded_ = decode(decoded_.flags);
}

// ethdev has already checked the offload against the port's capabilities and written the
// new setting into dev_conf (it restores the old one when this fails).
int Port::vlan_offload_set(int mask)
{
    if ((mask & RTE_ETH_VLAN_STRIP_MASK) == 0)
        return 0;
    const bool strip = (data_->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) != 0;
    if (started_) {
        // Bursts read the setting without locks: changing it under them would race.
        MANA_DRV_LOG(ERR, "port %u: stop the port to switch VLAN strip %s", port_id_,
                     strip ? "on" : "off");
        return -EBUSY;
    }
    for (uint16_t i = 0; i < rx_queue_count(); ++i)
        if (RxQueue *queue = rxq(i))
            queue->set_vlan_strip(strip);
    return 0;
}

} // namespace mana
