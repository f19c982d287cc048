/* SPDX-License-Identifier: BSD-3-Clause */
// mana-soak: long-running multi-queue, multi-lcore traffic over the threaded emulator
// with random frame sizes, offloads and injected faults while the main lcore runs the
// control path (stats, xstats, link, RSS queries) between faults, then conservation and
// leak checks. Driven by devtools/soak (and by devtools/sanitize tsan for a short run).
//
// Port 0 sends and port 1 receives (wired together). Worker lcore w owns TX queue w of
// port 0 and RX queue w of port 1 (RSS spreads the frames over the RX queues); the main
// lcore injects faults and reads the ports' state. At the end, once the device is idle:
//   offered  = opackets + oerrors                      (port 0, every packet tx_burst took)
//   opackets = received + device drops + ierrors       (port 1 and the emulator)
// every mempool is full after stop, and after close no verbs object or emulator fd is
// left and the device saw no DMA or WQE violation.
#include "lcore_launch.h"
#include "test_mempool.h"

#include <mana_emu.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sched.h>
#include <string>
#include <vector>

namespace
{

constexpr const char *kBdf = "7870:00:00.0";
constexpr uint32_t kMagic = 0x50414b53; // marks frames this program sent
constexpr uint16_t kBurst = 32;

struct Options {
    unsigned seconds = 600;
    unsigned workers = 2;
    uint32_t seed = 1;
    std::string pmd;
};

struct alignas(64) WorkerStats {
    uint64_t offered = 0;  // packets tx_burst took
    uint64_t refused = 0;  // rejected by tx_prepare (freed by us, never offered)
    uint64_t received = 0; // packets rx_burst returned
    uint64_t bad_frames = 0;
};

std::atomic<bool> g_running{true};
uint16_t g_tx_port = 0;
uint16_t g_rx_port = 0;
std::vector<rte_mempool *> g_tx_pools;
std::vector<WorkerStats> g_stats;
Options g_options;

// A UDP or TCP frame over IPv4 of `payload` bytes (at least 8, holding the magic), with
// checksums left to the device when `offload` is set.
rte_mbuf *build_frame(rte_mempool *pool, std::mt19937 &random, bool offload, bool vlan,
                      bool two_segments)
{
    rte_mbuf *mbuf = rte_pktmbuf_alloc(pool);
    if (mbuf == nullptr)
        return nullptr;
    const bool tcp = random() % 2 == 0;
    const uint32_t l4 = tcp ? 20 : 8;
    const uint32_t payload = 8 + random() % 1400;
    const uint32_t length = 14 + 20 + l4 + payload;
    auto *frame = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(mbuf, length));
    if (frame == nullptr) {
        rte_pktmbuf_free(mbuf);
        return nullptr;
    }
    std::memset(frame, 0, length);
    struct mana_emu_port_info rx_info {
    }, tx_info{};
    mana_emu_port_info(1, &rx_info);
    mana_emu_port_info(0, &tx_info);
    std::memcpy(frame, rx_info.mac, 6);
    std::memcpy(frame + 6, tx_info.mac, 6);
    frame[12] = 0x08;
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(frame + 14);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + l4 + payload));
    ip->time_to_live = 64;
    ip->next_proto_id = tcp ? IPPROTO_TCP : IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(0x0a000000 | (random() & 0xffff));
    ip->dst_addr = rte_cpu_to_be_32(0x0a010001);
    uint8_t *l4_header = frame + 34;
    const uint16_t sport = static_cast<uint16_t>(random());
    l4_header[0] = static_cast<uint8_t>(sport >> 8);
    l4_header[1] = static_cast<uint8_t>(sport);
    l4_header[3] = 80;
    if (tcp) {
        l4_header[12] = 5 << 4;
    } else {
        auto *udp = reinterpret_cast<rte_udp_hdr *>(l4_header);
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload));
    }
    const uint32_t magic = rte_cpu_to_be_32(kMagic);
    std::memcpy(l4_header + l4, &magic, 4);
    if (offload) {
        mbuf->l2_len = 14;
        mbuf->l3_len = 20;
        mbuf->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                          (tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
    } else {
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        const uint16_t sum = rte_ipv4_udptcp_cksum(ip, l4_header);
        std::memcpy(l4_header + (tcp ? 16 : 6), &sum, 2);
    }
    if (vlan) {
        mbuf->ol_flags |= RTE_MBUF_F_TX_VLAN;
        mbuf->vlan_tci = static_cast<uint16_t>(1 + random() % 4000);
    }
    if (two_segments && length > 200) {
        // Move the tail into a second segment.
        rte_mbuf *tail = rte_pktmbuf_alloc(pool);
        if (tail != nullptr) {
            const uint32_t keep = 100 + random() % 80;
            char *dst = rte_pktmbuf_append(tail, static_cast<uint16_t>(length - keep));
            std::memcpy(dst, frame + keep, length - keep);
            rte_pktmbuf_trim(mbuf, static_cast<uint16_t>(length - keep));
            if (rte_pktmbuf_chain(mbuf, tail) != 0)
                rte_pktmbuf_free(tail);
        }
    }
    return mbuf;
}

bool frame_is_ours(const rte_mbuf *mbuf)
{
    uint8_t header[64];
    const uint32_t length = std::min<uint32_t>(sizeof(header), mbuf->pkt_len);
    const auto *frame = static_cast<const uint8_t *>(rte_pktmbuf_read(mbuf, 0, length, header));
    if (frame == nullptr || length < 14 + 4 + 20)
        return false;
    std::size_t l3 = 14;
    if (frame[12] == 0x81 && frame[13] == 0x00)
        l3 += 4; // the tag stays in the frame when the queue does not strip it
    const uint8_t proto = frame[l3 + 9];
    const std::size_t payload = l3 + 20 + (proto == IPPROTO_TCP ? 20 : 8);
    if (payload + 4 > length)
        return false;
    uint32_t magic;
    std::memcpy(&magic, frame + payload, 4);
    return rte_be_to_cpu_32(magic) == kMagic;
}

int worker(void *arg)
{
    const auto index = static_cast<unsigned>(reinterpret_cast<uintptr_t>(arg));
    const auto queue = static_cast<uint16_t>(index);
    WorkerStats &stats = g_stats[index];
    std::mt19937 random(g_options.seed * 7919 + index);
    std::array<rte_mbuf *, kBurst> tx;
    std::array<rte_mbuf *, kBurst> rx;
    uint16_t pending = 0; // tx[0..pending) not yet taken
    while (g_running.load(std::memory_order_relaxed)) {
        while (pending < kBurst) {
            const unsigned kind = random() % 16;
            rte_mbuf *m = build_frame(g_tx_pools[index], random, kind < 8, kind == 8, kind >= 14);
            if (m == nullptr)
                break;
            tx[pending++] = m;
        }
        // tx_prepare refuses what tx_burst cannot do; those are ours to free.
        uint16_t ready = rte_eth_tx_prepare(g_tx_port, queue, tx.data(), pending);
        while (ready < pending) {
            rte_pktmbuf_free(tx[ready]);
            ++stats.refused;
            std::memmove(&tx[ready], &tx[ready + 1], (pending - ready - 1) * sizeof(tx[0]));
            --pending;
            ready += rte_eth_tx_prepare(g_tx_port, queue, tx.data() + ready, pending - ready);
        }
        const uint16_t sent = rte_eth_tx_burst(g_tx_port, queue, tx.data(), pending);
        stats.offered += sent;
        std::memmove(tx.data(), tx.data() + sent, (pending - sent) * sizeof(tx[0]));
        pending = static_cast<uint16_t>(pending - sent);
        uint16_t got;
        do {
            got = rte_eth_rx_burst(g_rx_port, queue, rx.data(), kBurst);
            for (uint16_t i = 0; i < got; ++i) {
                stats.bad_frames += frame_is_ours(rx[i]) ? 0 : 1;
                rte_pktmbuf_free(rx[i]);
            }
            stats.received += got;
        } while (got == kBurst);
    }
    for (uint16_t i = 0; i < pending; ++i)
        rte_pktmbuf_free(tx[i]);
    return 0;
}

bool parse_options(int argc, char **argv, Options &options)
{
    if (const char *pmd = std::getenv("MANA_PMD"))
        options.pmd = pmd;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc)
            return false;
        const char *value = argv[++i];
        if (arg == "--seconds")
            options.seconds = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
        else if (arg == "--workers")
            options.workers = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
        else if (arg == "--seed")
            options.seed = static_cast<uint32_t>(std::strtoul(value, nullptr, 10));
        else if (arg == "--pmd")
            options.pmd = value;
        else
            return false;
    }
    return !options.pmd.empty() && options.workers >= 1 && options.workers <= 8;
}

// "(0-W)@(cpus)": every lcore may run on the CPUs this process has (at most two), so
// the program runs with more lcores than cores.
std::string lcore_map(unsigned workers)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    std::string cpus;
    for (int cpu = 0, found = 0; cpu < CPU_SETSIZE && found < 2; ++cpu) {
        if (CPU_ISSET(cpu, &set)) {
            cpus += (found++ ? "," : "") + std::to_string(cpu);
        }
    }
    return "(0-" + std::to_string(workers) + ")@(" + cpus + ")";
}

int configure_port(uint16_t port, uint16_t queues, bool rx, rte_mempool *pool)
{
    rte_eth_conf conf{};
    if (rx) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM | RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    } else {
        conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
                               RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_VLAN_INSERT |
                               RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    int ret = rte_eth_dev_configure(port, rx ? queues : 0, rx ? 0 : queues, &conf);
    for (uint16_t q = 0; q < queues && ret == 0; ++q)
        ret = rx ? rte_eth_rx_queue_setup(port, q, 256, SOCKET_ID_ANY, nullptr, pool)
                 : rte_eth_tx_queue_setup(port, q, 256, SOCKET_ID_ANY, nullptr);
    if (ret == 0)
        ret = rte_eth_dev_start(port);
    return ret;
}

// The control path DPDK allows while lcores burst, for `microseconds`: statistics and
// extended statistics, link, RSS key and RETA. Every call must succeed and ipackets must
// never run backwards (opackets may: a TX error completion takes back a packet counted
// as sent); returns how many rounds ran.
uint64_t read_port_state(unsigned microseconds, int &violations)
{
    static uint64_t last_ipackets = 0;
    static std::vector<rte_eth_xstat> xstats;
    const uint64_t end = rte_get_timer_cycles() + microseconds * rte_get_timer_hz() / 1000000;
    uint64_t rounds = 0;
    auto check = [&](bool ok, const char *what) {
        if (!ok) {
            std::fprintf(stderr, "soak: VIOLATION: %s\n", what);
            ++violations;
        }
        return ok;
    };
    while (rte_get_timer_cycles() < end) {
        ++rounds;
        rte_eth_stats tx{}, rx{};
        if (!check(rte_eth_stats_get(g_tx_port, &tx) == 0 && rte_eth_stats_get(g_rx_port, &rx) == 0,
                   "stats_get failed") ||
            !check(rx.ipackets >= last_ipackets, "ipackets ran backwards"))
            return rounds;
        last_ipackets = rx.ipackets;
        const int count = rte_eth_xstats_get(g_rx_port, nullptr, 0);
        xstats.resize(count > 0 ? static_cast<std::size_t>(count) : 0);
        if (!check(count > 0 &&
                       rte_eth_xstats_get(g_rx_port, xstats.data(), xstats.size()) == count,
                   "xstats_get failed"))
            return rounds;
        rte_eth_link link{};
        if (!check(rte_eth_link_get_nowait(g_rx_port, &link) == 0 &&
                       link.link_status == RTE_ETH_LINK_UP,
                   "link_get_nowait failed or link down"))
            return rounds;
        uint8_t key[40];
        rte_eth_rss_conf rss{};
        rss.rss_key = key;
        rss.rss_key_len = sizeof(key);
        std::array<rte_eth_rss_reta_entry64, 1> reta{};
        reta[0].mask = ~0ULL;
        if (!check(rte_eth_dev_rss_hash_conf_get(g_rx_port, &rss) == 0 &&
                       rte_eth_dev_rss_reta_query(g_rx_port, reta.data(), 64) == 0,
                   "RSS queries failed"))
            return rounds;
        rte_delay_us_sleep(500);
    }
    return rounds;
}

// One fault from the menu, at random; returns whether one was injected.
bool inject_fault(std::mt19937 &random, rte_mempool *rx_pool)
{
    switch (random() % 4) {
    case 0:
        return mana_emu_fault_tx_error(0, 33 + random() % 9, 1 + random() % 4) == 0;
    case 1:
        return mana_emu_fault_rx_truncated(1, 1 + random() % 4) == 0;
    case 2: {
        const unsigned port = random() % 2;
        if (mana_emu_stall(port, 1) != 0)
            return false;
        rte_delay_us_sleep(500 + random() % 3000);
        return mana_emu_stall(port, 0) == 0;
    }
    default: {
        // Starve RX refills for a moment.
        std::vector<rte_mbuf *> hoard;
        while (rte_mbuf *m = rte_pktmbuf_alloc(rx_pool))
            hoard.push_back(m);
        rte_delay_us_sleep(1000 + random() % 4000);
        for (rte_mbuf *m : hoard)
            rte_pktmbuf_free(m);
        return true;
    }
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (!parse_options(argc, argv, g_options)) {
        std::fprintf(stderr,
                     "usage: %s [--seconds N] [--workers N] [--seed N] --pmd librte_net_mana.so "
                     "(or MANA_PMD)\n",
                     argv[0]);
        return 2;
    }
    mana_emu_set_mode(MANA_EMU_THREADED);
    std::vector<std::string> args = {"mana-soak",
                                     "--no-huge",
                                     "-m",
                                     "1024",
                                     "--no-shconf",
                                     "--lcores",
                                     lcore_map(g_options.workers),
                                     "-a",
                                     kBdf,
                                     "-d",
                                     g_options.pmd,
                                     "--log-level=pmd.net.mana.*:error"};
    std::vector<char *> eal_argv;
    for (auto &arg : args)
        eal_argv.push_back(arg.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "soak: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    int violations = 0;
    auto check = [&](bool ok, const char *what) {
        if (!ok) {
            std::fprintf(stderr, "soak: VIOLATION: %s\n", what);
            ++violations;
        }
    };
    if (rte_eth_dev_get_port_by_name("7870:00:00.0_port1", &g_tx_port) != 0 ||
        rte_eth_dev_get_port_by_name("7870:00:00.0_port2", &g_rx_port) != 0) {
        std::fprintf(stderr, "soak: net_mana ports not found (is MANA_PMD right?)\n");
        return 2;
    }
    mana_emu_wire_ports(0, 1);
    const auto queues = static_cast<uint16_t>(g_options.workers);
    rte_mempool *rx_pool =
        test_mempool::create("soak_rx", 4096, 256, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    for (unsigned w = 0; w < g_options.workers; ++w)
        g_tx_pools.push_back(test_mempool::create(("soak_tx" + std::to_string(w)).c_str(), 2048,
                                                  128, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    if (rx_pool == nullptr || configure_port(g_tx_port, queues, false, rx_pool) != 0 ||
        configure_port(g_rx_port, queues, true, rx_pool) != 0) {
        std::fprintf(stderr, "soak: port setup failed\n");
        return 2;
    }
    g_stats.resize(g_options.workers);

    unsigned w = 0;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore)
    {
        if (w < g_options.workers)
            lcore_launch::launch(worker, reinterpret_cast<void *>(uintptr_t{w++}), lcore);
    }
    std::mt19937 random(g_options.seed);
    uint64_t faults = 0;
    uint64_t control_rounds = 0;
    const uint64_t end = rte_get_timer_cycles() + g_options.seconds * rte_get_timer_hz();
    while (rte_get_timer_cycles() < end) {
        control_rounds += read_port_state(20000 + random() % 30000, violations);
        faults += inject_fault(random, rx_pool) ? 1 : 0;
    }
    g_running = false;
    lcore_launch::wait_all();

    // Let the device finish and reap everything until the counters stop moving.
    mana_emu_clear_faults();
    mana_emu_stall(0, 0);
    mana_emu_stall(1, 0);
    uint64_t late_received = 0;
    uint64_t late_bad = 0;
    // Quiet means: nothing received and the device did no work for 20 rounds in a row
    // (on a loaded host the emulator thread may not run for a while).
    uint64_t device_work = UINT64_MAX;
    for (int quiet = 0, round = 0; quiet < 20 && round < 3000; ++round) {
        rte_delay_us_sleep(10000);
        mana_emu_counters_t now{};
        mana_emu_counters(&now);
        const uint64_t work =
            now.wqes + now.cqes + now.rx_frames + now.rx_drops_no_buffer + now.rx_drops_other;
        const bool device_idle = work == device_work;
        device_work = work;
        uint64_t moved = 0;
        for (uint16_t q = 0; q < queues; ++q) {
            rte_eth_tx_burst(g_tx_port, q, nullptr, 0);
            std::array<rte_mbuf *, kBurst> rx;
            uint16_t got;
            while ((got = rte_eth_rx_burst(g_rx_port, q, rx.data(), kBurst)) != 0) {
                for (uint16_t i = 0; i < got; ++i) {
                    late_bad += frame_is_ours(rx[i]) ? 0 : 1;
                    rte_pktmbuf_free(rx[i]);
                }
                moved += got;
            }
        }
        late_received += moved;
        quiet = moved == 0 && device_idle ? quiet + 1 : 0;
    }

    WorkerStats total;
    for (const WorkerStats &s : g_stats) {
        total.offered += s.offered;
        total.refused += s.refused;
        total.received += s.received;
        total.bad_frames += s.bad_frames;
    }
    total.received += late_received;
    total.bad_frames += late_bad;
    rte_eth_stats tx{}, rx{};
    rte_eth_stats_get(g_tx_port, &tx);
    rte_eth_stats_get(g_rx_port, &rx);
    mana_emu_counters_t emu{};
    mana_emu_counters(&emu);
    check(total.offered == tx.opackets + tx.oerrors, "offered != opackets + oerrors");
    check(total.received == rx.ipackets, "received != ipackets");
    check(tx.opackets == emu.tx_frames, "opackets != frames on the wire");
    check(tx.opackets == total.received + emu.rx_drops_no_buffer + emu.rx_drops_other + rx.ierrors,
          "frames on the wire != received + device drops + ierrors");
    check(total.bad_frames == 0, "received frames this program did not send");
    check(emu.dma_violations == 0 && emu.wqe_violations == 0, "device saw DMA/WQE violations");

    rte_eth_dev_stop(g_tx_port);
    rte_eth_dev_stop(g_rx_port);
    uint64_t leaks = 0;
    for (rte_mempool *pool : g_tx_pools)
        leaks += pool->size - rte_mempool_avail_count(pool);
    leaks += rx_pool->size - rte_mempool_avail_count(rx_pool);
    rte_eth_dev_close(g_tx_port);
    rte_eth_dev_close(g_rx_port);
    mana_emu_counters(&emu);
    leaks += emu.live_objects + emu.open_fds;
    check(leaks == 0, "mbufs, verbs objects or fds leaked");
    std::printf("soak: %u s, %u lcores: packets moved %" PRIu64 ", faults injected %" PRIu64
                ", leaks %" PRIu64 " (offered %" PRIu64 ", oerrors %" PRIu64 ", ierrors %" PRIu64
                ", device drops %" PRIu64 ", control rounds %" PRIu64 ", violations %d)\n",
                g_options.seconds, g_options.workers, total.received, faults, leaks, total.offered,
                tx.oerrors, rx.ierrors, emu.rx_drops_no_buffer + emu.rx_drops_other, control_rounds,
                violations);
    for (rte_mempool *pool : g_tx_pools)
        rte_mempool_free(pool);
    rte_mempool_free(rx_pool);
    rte_eal_cleanup();
    return violations == 0 ? 0 : 1;
}
