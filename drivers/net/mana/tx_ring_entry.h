/* SPDX-License-Identifier: BSD-3-Clause */
// An entry of a TX queue's ring of in-flight packets: the mbuf, tagged when it must go
// back through rte_pktmbuf_free (see TxQueue::free_sent).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace mana
{

// Ring entries of packets that must go back through rte_pktmbuf_free carry this bit
// (mbufs are cache-line aligned); untagged entries are plain packets of plain_pool_.
constexpr uintptr_t kSlowFreeTag = 1;

inline rte_mbuf *untagged(rte_mbuf *entry)
{
    return reinterpret_cast<rte_mbuf *>(reinterpret_cast<uintptr_t>(entry) & ~kSlowFreeTag);
}

} // namespace mana
