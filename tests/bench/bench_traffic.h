/* SPDX-License-Identifier: BSD-3-Clause */
// The frames mana-bench moves: Ethernet/IPv4/UDP, one flow per index so RSS spreads them.
#pragma once

#include "bench_options.h"

#include <cstdint>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

namespace mana_bench
{

class Traffic
{
  public:
    explicit Traffic(const Options &options);

    // Bytes of frame `index` as it arrives from the wire (VLAN-tagged when the VLAN offload
    // is measured, so stripping has work to do). Without FCS: frame_size - 4 bytes.
    std::vector<uint8_t> frame(unsigned index) const;

    // `count` mbufs ready for tx_burst with the offload flags of the options set (checksum
    // fields seeded as tx_prepare would, VLAN tag to insert, two segments for mseg).
    std::vector<rte_mbuf *> make_mbufs(rte_mempool *pool, unsigned count) const;

  private:
    std::vector<uint8_t> untagged_frame(unsigned index) const;
    const Options &options_;
};

} // namespace mana_bench
