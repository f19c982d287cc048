/* SPDX-License-Identifier: BSD-3-Clause */
#include "bench_traffic.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mana_bench
{
namespace
{

constexpr unsigned kFcsLength = 4;
constexpr uint16_t kVlanId = 100;
constexpr unsigned kHeaderLength =
    sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
// Mbufs a sender allocates at a time.
constexpr unsigned kAllocationBurst = 32;

} // namespace

Traffic::Traffic(const Options &options) : options_(options) {}

std::vector<uint8_t> Traffic::untagged_frame(unsigned index) const
{
    const unsigned length = std::max(options_.frame_size - kFcsLength, kHeaderLength);
    std::vector<uint8_t> bytes(length, 0);
    auto *eth = reinterpret_cast<rte_ether_hdr *>(bytes.data());
    const rte_ether_addr dst = {{0x00, 0x15, 0x5d, 0x78, 0x70, 0x00}};
    const rte_ether_addr src = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
    eth->dst_addr = dst;
    eth->src_addr = src;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(length - sizeof(rte_ether_hdr)));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    // 198.18.0.0/15 is set aside for benchmarking (RFC 2544).
    ip->src_addr = rte_cpu_to_be_32(0xc6120000u | (index & 0xffff));
    ip->dst_addr = rte_cpu_to_be_32(0xc6130001u);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto *udp = reinterpret_cast<rte_udp_hdr *>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + (index & 0x3ff)));
    udp->dst_port = rte_cpu_to_be_16(5000);
    udp->dgram_len = rte_cpu_to_be_16(
        static_cast<uint16_t>(length - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
    for (unsigned i = kHeaderLength; i < length; ++i)
        bytes[i] = static_cast<uint8_t>(i);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    return bytes;
}

std::vector<uint8_t> Traffic::frame(unsigned index) const
{
    std::vector<uint8_t> bytes = untagged_frame(index);
    if (!options_.offloads.vlan)
        return bytes;
    // 802.1Q tag after the source MAC.
    const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(kVlanId >> 8),
                            static_cast<uint8_t>(kVlanId & 0xff)};
    bytes.insert(bytes.begin() + 2 * RTE_ETHER_ADDR_LEN, tag, tag + sizeof(tag));
    return bytes;
}

std::vector<rte_mbuf *> Traffic::make_mbufs(rte_mempool *pool, unsigned count) const
{
    std::vector<rte_mbuf *> mbufs(count);
    // In bursts, as a sender allocates: a single get of the lcore cache's size or more
    // bypasses the cache and leaves it to overflow into the ring when the driver frees
    // the sent packets, which would then be timed as driver work.
    for (unsigned done = 0; done < count;) {
        const unsigned n = std::min(count - done, kAllocationBurst);
        if (rte_pktmbuf_alloc_bulk(pool, mbufs.data() + done, n) != 0) {
            std::fprintf(stderr, "mana-bench: mbuf pool exhausted\n");
            std::exit(1);
        }
        done += n;
    }
    for (unsigned i = 0; i < count; ++i) {
        rte_mbuf *m = mbufs[i];
        const std::vector<uint8_t> bytes = untagged_frame(i);
        const unsigned first_length =
            options_.offloads.multi_segment ? kHeaderLength : static_cast<unsigned>(bytes.size());
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(first_length)), bytes.data(),
                    first_length);
        if (options_.offloads.multi_segment && bytes.size() > first_length) {
            rte_mbuf *tail = rte_pktmbuf_alloc(pool);
            if (tail == nullptr) {
                std::fprintf(stderr, "mana-bench: mbuf pool exhausted\n");
                std::exit(1);
            }
            const auto rest = static_cast<uint16_t>(bytes.size() - first_length);
            std::memcpy(rte_pktmbuf_append(tail, rest), bytes.data() + first_length, rest);
            rte_pktmbuf_chain(m, tail);
        }
        m->l2_len = sizeof(rte_ether_hdr);
        m->l3_len = sizeof(rte_ipv4_hdr);
        if (options_.offloads.checksum) {
            m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
            auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
            auto *udp = reinterpret_cast<rte_udp_hdr *>(ip + 1);
            ip->hdr_checksum = 0;
            udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
        }
        if (options_.offloads.vlan) {
            m->ol_flags |= RTE_MBUF_F_TX_VLAN;
            m->vlan_tci = kVlanId;
        }
    }
    return mbufs;
}

} // namespace mana_bench
