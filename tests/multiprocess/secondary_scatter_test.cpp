/* SPDX-License-Identifier: BSD-3-Clause */
// RX scatter across processes: a secondary bursts a scattering queue the primary set up
// (the ring, its per-WQE state and the WQ are the primary's shared memory), over many laps
// of the ring with short and jumbo frames mixed. Roles (argv[1]):
//   scatter            primary: port 1 receives at MTU 9000 into 2048-byte mbufs (WQEs of
//                      five), exchanges frames itself, runs `scatter_secondary`, exchanges
//                      again, then checks that every mbuf came back
//   scatter_secondary  the secondary: the mixed exchange, every frame checked byte for
//                      byte and every jumbo frame as a chain of five segments
#include "mp_harness.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

using namespace mp_test;

namespace
{

constexpr uint16_t kMtu = 9000;
constexpr uint32_t kJumboBytes = 9000;
// 5 buffers of 2048 bytes: a 9000-byte frame fills 4 and part of the fifth.
constexpr uint16_t kJumboSegments = 5;
// More than the ring's WQEs several times over, so that WQEs are posted again many laps.
constexpr uint32_t kPrimaryFrames = 300;
constexpr uint32_t kSecondaryFrames = 3000;

// Every third frame is a jumbo one.
uint32_t frame_bytes(uint32_t index)
{
    return index % 3 == 0 ? kJumboBytes : kFrameBytes;
}

// The frame of `index` (make_frame's layout: Ethernet header, index, pattern), as a chain
// of mbufs of `pool` for a jumbo frame.
rte_mbuf *make_sized_frame(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t index)
{
    const uint32_t bytes = frame_bytes(index);
    if (bytes == kFrameBytes)
        return make_frame(pool, from, to, index);
    std::array<uint8_t, kJumboBytes> frame{};
    write_ether_header(frame.data(), from, to, kEtherType);
    std::memcpy(frame.data() + 14, &index, sizeof(index));
    for (uint32_t i = 18; i < bytes; ++i)
        frame[i] = static_cast<uint8_t>(index + i);
    rte_mbuf *head = nullptr;
    for (uint32_t offset = 0; offset < bytes;) {
        rte_mbuf *segment = rte_pktmbuf_alloc(pool);
        if (segment == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const auto piece = static_cast<uint16_t>(
            std::min<uint32_t>(bytes - offset, rte_pktmbuf_tailroom(segment)));
        std::memcpy(rte_pktmbuf_append(segment, piece), frame.data() + offset, piece);
        offset += piece;
        if (head == nullptr)
            head = segment;
        else if (rte_pktmbuf_chain(head, segment) != 0) {
            rte_pktmbuf_free(segment);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    }
    return head;
}

// The index of a received frame when its bytes are those of make_sized_frame and a jumbo
// frame is a chain of kJumboSegments full segments but the last; else -1.
int64_t sized_frame_index(const rte_mbuf *mbuf)
{
    if (mbuf->pkt_len == kFrameBytes)
        return frame_index(mbuf);
    if (mbuf->pkt_len != kJumboBytes || mbuf->nb_segs != kJumboSegments)
        return -1;
    std::array<uint8_t, kJumboBytes> frame{};
    uint32_t offset = 0;
    for (const rte_mbuf *segment = mbuf; segment != nullptr; segment = segment->next) {
        if (segment->next != nullptr &&
            segment->data_len != rte_pktmbuf_data_room_size(segment->pool) - RTE_PKTMBUF_HEADROOM)
            return -1;
        if (offset + segment->data_len > frame.size())
            return -1;
        std::memcpy(frame.data() + offset, rte_pktmbuf_mtod(segment, const uint8_t *),
                    segment->data_len);
        offset += segment->data_len;
    }
    uint32_t index = 0;
    std::memcpy(&index, frame.data() + 14, sizeof(index));
    if (offset != kJumboBytes || frame_bytes(index) != kJumboBytes)
        return -1;
    for (uint32_t i = 18; i < kJumboBytes; ++i)
        if (frame[i] != static_cast<uint8_t>(index + i))
            return -1;
    return index;
}

// Short and jumbo frames, at most 64 in flight (the ring has room for them).
void exchange_mixed(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count)
{
    exchange_frames(pool, from, to, first, count, {make_sized_frame, sized_frame_index}, 64);
}

int scatter()
{
    const Ports ports = attach(false);
    const auto [p0, p1] = ports;
    rte_mempool *pool = make_pool(kPrimaryPool);
    setup_port(p0, pool, RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
    rte_eth_conf conf{};
    conf.rxmode.mtu = kMtu;
    conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SCATTER;
    CHECK(rte_eth_dev_configure(p1, 1, 1, &conf) == 0, "configure port %u with scatter", p1);
    CHECK(rte_eth_rx_queue_setup(p1, 0, kDescriptors, SOCKET_ID_ANY, nullptr, pool) == 0,
          "RX queue setup on port %u", p1);
    CHECK(rte_eth_tx_queue_setup(p1, 0, kDescriptors, SOCKET_ID_ANY, nullptr) == 0,
          "TX queue setup on port %u", p1);
    CHECK(rte_eth_dev_start(p1) == 0, "start port %u", p1);
    rte_eth_rxq_info info{};
    CHECK(rte_eth_rx_queue_info_get(p1, 0, &info) == 0 && info.scattered_rx == 1,
          "port %u RX queue 0 does not scatter", p1);

    exchange_mixed(pool, p0, p1, 0, kPrimaryFrames);
    run_secondary("scatter_secondary");
    // The queue the secondary left goes on in the primary.
    exchange_mixed(pool, p0, p1, kPrimaryFrames + kSecondaryFrames, kPrimaryFrames);
    const rte_eth_stats s1 = stats_of(p1);
    CHECK(s1.ipackets == 2 * kPrimaryFrames + kSecondaryFrames && s1.ierrors == 0,
          "primary sees %llu packets received (%llu errors), want %u",
          static_cast<unsigned long long>(s1.ipackets), static_cast<unsigned long long>(s1.ierrors),
          2 * kPrimaryFrames + kSecondaryFrames);
    stop_close_and_check(ports, pool, {kPrimaryPool});
    return finish("scatter: a secondary bursts a scattering queue over many laps of the ring");
}

int scatter_secondary()
{
    const Ports ports = attach(true);
    rte_mempool *pool = rte_mempool_lookup(kPrimaryPool);
    CHECK(pool != nullptr, "the primary's pool is not found");
    if (pool != nullptr)
        exchange_mixed(pool, ports.p0, ports.p1, kPrimaryFrames, kSecondaryFrames);
    close_secondary(ports);
    return finish("scatter_secondary");
}

} // namespace

int main(int argc, char **argv)
{
    return run_role(argc, argv, {{"scatter", scatter}, {"scatter_secondary", scatter_secondary}},
                    "scatter");
}
