/* SPDX-License-Identifier: BSD-3-Clause */
// Fuzz target: arbitrary mbuf chains through rte_eth_tx_prepare and rte_eth_tx_burst of
// the real plugin under EAL, over the step-mode emulator: segment counts and lengths,
// data offsets, nb_segs and pkt_len that may contradict the chain, ol_flags, tso_segsz,
// l2/l3/l4 lengths, VLAN tags, segments in memory outside every mempool (an external
// buffer on the heap) and memory registration that fails. Some bursts go through
// tx_prepare first, others straight to tx_burst, as an application that skips it would.
//
// One EAL for the whole process (LLVMFuzzerInitialize): port 0 sends (one TX queue with
// every TX offload the device has), port 1 receives, wired together. An input is a list
// of 24-byte records, each one packet (see Record) or a control step:
//   op 0, 1  build the packet and add it to the pending burst (flushed when full)
//   op 2     flush the pending burst (through tx_prepare when bit 2 of the control byte
//            is set; with the next memory registration failing when bit 3 is)
//   op 3     let the device run and drain port 1
// Invariants checked (abort = crash found; ASan/UBSan catch overruns in the build.sh
// build):
//   every packet tx_burst took is counted once, in opackets or oerrors;
//   every packet tx_prepare refused is left to the application, untouched;
//   received mbufs are consistent single segments inside their buffers;
//   after the ports stop at the end of the input every mempool is full and every
//   external buffer has been released exactly once (nothing lost, nothing freed twice).
#include "fuzz_eal.h"

#include <rte_mempool.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace
{

constexpr uint16_t kDescriptors = 64;
constexpr std::size_t kRecord = 24;
constexpr std::size_t kMaxRecords = 48;
constexpr std::size_t kBurst = 16;
constexpr unsigned kMaxSegments = 36; // a few more than the device gathers
constexpr std::size_t kExternalBuffers = 8;
constexpr std::size_t kExternalBytes = 16384;

uint16_t g_tx_port = 0;
uint16_t g_rx_port = 0;
rte_mempool *g_rx_pool = nullptr;
rte_mempool *g_tx_pool = nullptr;

[[noreturn]] void fail(const char *what)
{
    fuzz::fail("fuzz_tx", what);
}

// Heap memory that belongs to no mempool, attached to mbufs as external buffers; the free
// callback records each release.
struct ExternalBuffer {
    alignas(64) rte_mbuf_ext_shared_info shinfo{};
    uint8_t *bytes = nullptr;
    bool attached = false;
    unsigned releases = 0;
};
std::array<ExternalBuffer, kExternalBuffers> g_external;

void release_external(void *, void *opaque)
{
    auto *buffer = static_cast<ExternalBuffer *>(opaque);
    if (!buffer->attached)
        fail("an external buffer was released twice");
    buffer->attached = false;
    ++buffer->releases;
}

// One packet, as the record's bytes describe it.
struct Record {
    // Bits 0-1 the op. Ops 0, 1: bit 2 puts the first segment in an external buffer, bit 3
    // sends a burst this packet fills through tx_prepare, bits 5-7 make the header lie
    // (4: one segment of its data_len, 5: nb_segs one less, 6: one more, 7: pkt_len off by
    // pkt_len_delta - 128).
    uint8_t control;
    uint8_t segments;      // % kMaxSegments + 1
    uint8_t first_len[2];  // little endian, % 9300
    uint8_t other_len;     // unit of the other segments' lengths (x 8 bytes)
    uint8_t len_spread;    // how the other segments' lengths vary
    uint8_t data_off;      // % (headroom + 1)
    uint8_t headers;       // template: bits 0-1 ethertype, bits 2-3 L4 protocol
    uint8_t ol_flags[8];   // masked to the TX flags
    uint8_t tso_segsz[2];  // little endian
    uint8_t l2_len;        // % 128
    uint8_t l3_len;        // % 512
    uint8_t l4_len;        // % 256
    uint8_t vlan_tci[2];   // little endian
    uint8_t pkt_len_delta; // for lie 7
};
static_assert(sizeof(Record) == kRecord);

uint16_t le16(const uint8_t *bytes)
{
    return static_cast<uint16_t>(bytes[0] | bytes[1] << 8);
}

// The first bytes of the packet: Ethernet to port 1's MAC, then an IPv4 or IPv6 header
// with TCP or UDP after it, as the template bits choose (lengths left to the fuzzer).
std::vector<uint8_t> header_template(uint8_t choice)
{
    mana_emu_port_info_t rx{}, tx{};
    mana_emu_port_info(1, &rx);
    mana_emu_port_info(0, &tx);
    std::vector<uint8_t> bytes(14);
    std::memcpy(bytes.data(), rx.mac, 6);
    std::memcpy(bytes.data() + 6, tx.mac, 6);
    static constexpr uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100, 0x88b5};
    const uint16_t type = kTypes[choice & 3];
    bytes[12] = static_cast<uint8_t>(type >> 8);
    bytes[13] = static_cast<uint8_t>(type);
    static constexpr uint8_t kProtocols[] = {6, 17, 1, 6};
    const uint8_t protocol = kProtocols[(choice >> 2) & 3];
    if (type == 0x0800) {
        const uint8_t ip[20] = {0x45, 0, 0,  40, 0, 1, 0,  0, 64, protocol,
                                0,    0, 10, 0,  0, 1, 10, 0, 0,  2};
        bytes.insert(bytes.end(), ip, ip + sizeof(ip));
    } else if (type == 0x86dd) {
        std::vector<uint8_t> ip(40, 0);
        ip[0] = 0x60;
        ip[5] = 20;
        ip[6] = protocol;
        ip[7] = 64;
        ip[23] = 1;
        ip[39] = 2;
        bytes.insert(bytes.end(), ip.begin(), ip.end());
    }
    const uint8_t l4[20] = {0x13, 0x88, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff};
    bytes.insert(bytes.end(), l4, l4 + sizeof(l4));
    return bytes;
}

// A segment: a mempool mbuf, or one attached to a free external buffer when `external`
// asks and one is free. nullptr when the pool is dry.
rte_mbuf *new_segment(bool external)
{
    rte_mbuf *m = rte_pktmbuf_alloc(g_tx_pool);
    if (m == nullptr || !external)
        return m;
    for (auto &buffer : g_external) {
        if (buffer.attached)
            continue;
        buffer.attached = true;
        rte_mbuf_ext_refcnt_set(&buffer.shinfo, 1);
        rte_pktmbuf_attach_extbuf(m, buffer.bytes, RTE_BAD_IOVA, kExternalBytes, &buffer.shinfo);
        rte_pktmbuf_reset_headroom(m);
        break;
    }
    return m;
}

// The packet the record describes, or nullptr when the pool ran dry (nothing left
// allocated then).
rte_mbuf *build(const Record &r)
{
    const unsigned segments = r.segments % kMaxSegments + 1;
    const std::vector<uint8_t> head = header_template(r.headers);
    rte_mbuf *first = nullptr;
    rte_mbuf *last = nullptr;
    uint32_t offset = 0; // bytes of the packet written so far
    uint32_t total = 0;
    for (unsigned i = 0; i < segments; ++i) {
        rte_mbuf *m = new_segment(i == 0 && (r.control & 4) != 0);
        if (m == nullptr) {
            rte_pktmbuf_free(first);
            return nullptr;
        }
        const uint16_t headroom = rte_pktmbuf_headroom(m);
        m->data_off = static_cast<uint16_t>(r.data_off % (headroom + 1));
        const uint32_t room = m->buf_len - m->data_off;
        uint32_t len = i == 0 ? le16(r.first_len) % 9300U
                              : (r.other_len * 8U * ((i * (r.len_spread | 1U)) % 5U)) % 4096U;
        if (len > room)
            len = room;
        m->data_len = static_cast<uint16_t>(len);
        auto *data = rte_pktmbuf_mtod(m, uint8_t *);
        for (uint32_t b = 0; b < len; ++b, ++offset)
            data[b] = offset < head.size() ? head[offset] : static_cast<uint8_t>(offset * 7);
        total += len;
        if (first == nullptr) {
            first = m;
        } else {
            last->next = m;
            ++first->nb_segs;
        }
        last = m;
    }
    first->pkt_len = total;
    switch (r.control >> 5) {
    case 4: // a one-segment packet as its first segment tells it, whatever hangs from next
        first->nb_segs = 1;
        first->pkt_len = first->data_len;
        break;
    case 5:
        --first->nb_segs; // may say 0, or 1 with a next pointer
        break;
    case 6:
        ++first->nb_segs;
        break;
    case 7:
        first->pkt_len = total + r.pkt_len_delta - 128U;
        break;
    default:
        break;
    }
    uint64_t flags;
    std::memcpy(&flags, r.ol_flags, sizeof(flags));
    first->ol_flags |= flags & RTE_MBUF_F_TX_OFFLOAD_MASK;
    first->tso_segsz = le16(r.tso_segsz);
    first->l2_len = r.l2_len % 128U;
    first->l3_len = r.l3_len;
    first->l4_len = r.l4_len;
    first->vlan_tci = le16(r.vlan_tci);
    return first;
}

void drain_rx()
{
    std::array<rte_mbuf *, 32> burst;
    uint16_t n;
    while ((n = rte_eth_rx_burst(g_rx_port, 0, burst.data(), burst.size())) != 0) {
        for (uint16_t i = 0; i < n; ++i)
            fuzz::check_received("fuzz_tx", burst[i]);
        rte_pktmbuf_free_bulk(burst.data(), n);
    }
}

// Sends the pending packets (through tx_prepare when `prepare`); what tx_prepare refuses
// and what the ring cannot take after a few device passes the application frees.
void flush(std::vector<rte_mbuf *> &pending, bool prepare, bool registration_fails, uint64_t &taken)
{
    std::vector<rte_mbuf *> ready;
    if (prepare) {
        std::size_t from = 0;
        while (from < pending.size()) {
            rte_mbuf **rest = pending.data() + from;
            const auto left = static_cast<uint16_t>(pending.size() - from);
            // What tx_prepare refuses must still be the application's, whole: it is freed
            // here, which would fault or double-free if the driver had taken it.
            const uint16_t ok = rte_eth_tx_prepare(g_tx_port, 0, rest, left);
            if (ok > left)
                fail("tx_prepare accepted more packets than it was given");
            ready.insert(ready.end(), rest, rest + ok);
            from += ok;
            if (from < pending.size()) {
                if (rte_errno == 0)
                    fail("tx_prepare stopped without rte_errno");
                rte_pktmbuf_free(pending[from++]);
            }
        }
    } else {
        ready = pending;
    }
    pending.clear();
    if (registration_fails)
        mana_emu_fail_verb("ibv_reg_mr", 0, 1, ENOMEM);
    std::size_t sent = 0;
    for (int attempt = 0; attempt < 4 && sent < ready.size(); ++attempt) {
        const auto left = static_cast<uint16_t>(ready.size() - sent);
        const uint16_t took = rte_eth_tx_burst(g_tx_port, 0, ready.data() + sent, left);
        if (took > left)
            fail("tx_burst took more packets than it was given");
        sent += took;
        taken += took;
        mana_emu_poll();
        drain_rx();
    }
    mana_emu_clear_faults();
    for (std::size_t i = sent; i < ready.size(); ++i)
        rte_pktmbuf_free(ready[i]);
}

void start_ports()
{
    if (rte_eth_dev_start(g_tx_port) != 0 || rte_eth_dev_start(g_rx_port) != 0)
        fail("port start");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    const fuzz::Ports ports = fuzz::start_eal("fuzz_tx", *argv);
    g_tx_port = ports.tx;
    g_rx_port = ports.rx;
    g_rx_pool = rte_pktmbuf_pool_create("fuzz_tx_rx", 4 * kDescriptors, 0, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    g_tx_pool = rte_pktmbuf_pool_create("fuzz_tx_tx", kBurst * kMaxSegments + 2 * kDescriptors, 0,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_rx_pool == nullptr || g_tx_pool == nullptr)
        fail("mempools");
    for (auto &buffer : g_external) {
        buffer.bytes = static_cast<uint8_t *>(std::aligned_alloc(4096, kExternalBytes));
        if (buffer.bytes == nullptr)
            fail("external buffers");
        buffer.shinfo.free_cb = release_external;
        buffer.shinfo.fcb_opaque = &buffer;
    }
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(g_tx_port, &info) != 0)
        fail("dev_info");
    rte_eth_conf tx_conf{};
    tx_conf.txmode.offloads = info.tx_offload_capa & ~RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    const rte_eth_conf rx_conf{};
    if (rte_eth_dev_configure(g_tx_port, 0, 1, &tx_conf) != 0 ||
        rte_eth_tx_queue_setup(g_tx_port, 0, kDescriptors, SOCKET_ID_ANY, nullptr) != 0 ||
        rte_eth_dev_configure(g_rx_port, 1, 0, &rx_conf) != 0 ||
        rte_eth_rx_queue_setup(g_rx_port, 0, kDescriptors, SOCKET_ID_ANY, nullptr, g_rx_pool) != 0)
        fail("port setup");
    start_ports();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t taken = 0; // packets tx_burst took
    std::vector<rte_mbuf *> pending;
    const std::size_t records = std::min(size / kRecord, kMaxRecords);
    for (std::size_t i = 0; i < records; ++i) {
        Record r;
        std::memcpy(&r, data + i * kRecord, kRecord);
        switch (r.control & 3) {
        case 2:
            flush(pending, (r.control & 4) != 0, (r.control & 8) != 0, taken);
            break;
        case 3:
            mana_emu_poll();
            drain_rx();
            rte_eth_tx_burst(g_tx_port, 0, nullptr, 0); // reap TX completions
            break;
        default:
            if (rte_mbuf *m = build(r))
                pending.push_back(m);
            if (pending.size() == kBurst)
                flush(pending, (r.control & 8) != 0, false, taken);
            break;
        }
    }
    flush(pending, false, false, taken);
    mana_emu_poll();
    drain_rx();
    // Stop frees every packet still in flight: the pools must be exactly full.
    if (rte_eth_dev_stop(g_tx_port) != 0 || rte_eth_dev_stop(g_rx_port) != 0)
        fail("port stop");
    mana_emu_poll();
    rte_eth_stats stats{};
    if (rte_eth_stats_get(g_tx_port, &stats) != 0)
        fail("stats");
    if (stats.opackets + stats.oerrors != taken)
        fail("a packet tx_burst took is not counted once in opackets or oerrors");
    if (rte_mempool_avail_count(g_rx_pool) != g_rx_pool->size)
        fail("RX mempool not full after stop (mbuf lost or freed twice)");
    if (rte_mempool_avail_count(g_tx_pool) != g_tx_pool->size)
        fail("TX mempool not full after stop (mbuf lost or freed twice)");
    for (const auto &buffer : g_external)
        if (buffer.attached)
            fail("an external buffer was never released");
    rte_eth_stats_reset(g_tx_port);
    rte_eth_stats_reset(g_rx_port);
    start_ports();
    return 0;
}
