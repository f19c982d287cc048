/* SPDX-License-Identifier: BSD-3-Clause */
// net_mana across DPDK processes over the threaded emulator (the device model runs in
// the primary). One binary, several roles (argv[1]):
//   traffic              primary: sets the ports up, runs a secondary (without the
//                        primary's emulator configuration: its emulator joins the
//                        primary's device) that bursts on its
//                        queues with mbufs of a pool of its own, checks the statistics
//                        both saw, runs dpdk-proc-info against itself, checks that every
//                        mbuf of both pools came back
//   primary_exits_first  no EAL: runs hold_primary and outliving_secondary, lets the
//                        primary stop, close and exit while the secondary still runs
//   secondary_traffic, hold_primary, outliving_secondary: the processes above
// Every role prints what failed and exits non-zero on failure.
#include "mp_harness.h"

#include <mana_emu.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <array>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace mp_test;

namespace
{

constexpr uint32_t kPrimaryFrames = 16;
constexpr uint32_t kSecondaryFrames = 200;
// One TCP packet the secondary sends with TSO: the device cuts it into kTsoSegments.
constexpr uint32_t kTsoHeaders = 14 + 20 + 20;
constexpr uint16_t kTsoSegment = 500;
constexpr uint32_t kTsoSegments = 3;
constexpr uint32_t kTsoPacketBytes = kTsoHeaders + kTsoSegment * kTsoSegments;
constexpr uint64_t kTsoOffloads =
    RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

// All output of a program (stdout and stderr) and its exit status.
std::pair<int, std::string> run_capturing(const std::vector<std::string> &args, const char *preload)
{
    int out[2];
    if (pipe(out) != 0)
        return {-1, ""};
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        if (preload != nullptr)
            setenv("LD_PRELOAD", preload, 1);
        // dpdk-proc-info makes itself a secondary in code, out of the emulator's sight.
        setenv("MANA_EMU_PROCESS", "secondary", 1);
        exec_or_exit(args);
    }
    close(out[1]);
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = read(out[0], buffer, sizeof(buffer))) > 0)
        text.append(buffer, static_cast<std::size_t>(n));
    close(out[0]);
    return {wait_for(pid), text};
}

// The number after `label` in the stats block of port `port` of dpdk-proc-info --stats.
long long proc_info_value(const std::string &text, uint16_t port, const std::string &label)
{
    const std::string header = "NIC statistics for port " + std::to_string(port) + " ";
    const auto block = text.find(header);
    if (block == std::string::npos)
        return -1;
    const auto at = text.find(label, block);
    const auto next = text.find("NIC statistics for port", block + header.size());
    if (at == std::string::npos || (next != std::string::npos && at > next))
        return -1;
    return std::atoll(text.c_str() + at + label.size());
}

// ---- roles ----

int traffic()
{
    const Ports ports = attach(false);
    const auto [p0, p1] = ports;
    // TSO on port 0: the secondary must use the TSO burst the primary chose at start.
    rte_mempool *pool = setup_ports(ports, kTsoOffloads);
    exchange(pool, p0, p1, 0, kPrimaryFrames);

    // Started as from another shell: without this process's emulator configuration (it
    // names another function) or sysfs location. Its emulator must join this device.
    const std::string own_config = std::getenv("MANA_EMU_CONFIG");
    setenv("MANA_EMU_CONFIG", "vf=0001:00:02.0;netdev=none", 1);
    setenv("MANA_MP_PRIMARY_SYSFS", mana_emu_sysfs_pci_dir(), 1);
    const std::string own_sysfs = std::getenv("SYSFS_PCI_DEVICES");
    unsetenv("SYSFS_PCI_DEVICES");
    run_secondary("secondary_traffic");
    setenv("MANA_EMU_CONFIG", own_config.c_str(), 1);
    setenv("SYSFS_PCI_DEVICES", own_sysfs.c_str(), 1);

    // What the secondary sent is counted in the primary too.
    const uint32_t frames = kPrimaryFrames + kSecondaryFrames;
    const uint32_t total = frames + 1;               // sent: the frames and the TSO packet
    const uint32_t received = frames + kTsoSegments; // received: its segments
    const rte_eth_stats s0 = stats_of(p0);
    const rte_eth_stats s1 = stats_of(p1);
    CHECK(s0.opackets == total, "primary sees %llu packets sent on port %u, want %u",
          static_cast<unsigned long long>(s0.opackets), p0, total);
    CHECK(s0.obytes == uint64_t{frames} * kFrameBytes + kTsoPacketBytes,
          "primary sees %llu bytes sent", static_cast<unsigned long long>(s0.obytes));
    CHECK(s0.oerrors == 1, "primary sees %llu TX errors, want the secondary's 1",
          static_cast<unsigned long long>(s0.oerrors));
    CHECK(s1.ipackets == received, "primary sees %llu packets received on port %u, want %u",
          static_cast<unsigned long long>(s1.ipackets), p1, received);

    // dpdk-proc-info is a secondary process reading the same statistics.
    const auto [status, text] =
        run_capturing({"dpdk-proc-info", "--file-prefix", file_prefix(), "-a", kBdf, "-d",
                       env_or_die("MANA_PMD"), "--log-level=pmd.net.mana.*:info", "--", "--stats"},
                      env_or_die("MANA_EMU_LIB").c_str());
    CHECK(status == 0, "dpdk-proc-info exited with %d", status);
    CHECK(proc_info_value(text, p0, "TX-packets:") == total,
          "dpdk-proc-info shows TX-packets %lld on port %u, want %u",
          proc_info_value(text, p0, "TX-packets:"), p0, total);
    CHECK(proc_info_value(text, p1, "RX-packets:") == received,
          "dpdk-proc-info shows RX-packets %lld on port %u, want %u",
          proc_info_value(text, p1, "RX-packets:"), p1, received);
    if (failures != 0)
        std::fprintf(stderr, "dpdk-proc-info output:\n%s\n", text.c_str());

    // The ports still work after both secondaries have gone.
    exchange(pool, p0, p1, frames, kPrimaryFrames);

    // Mbufs of the secondary's pool that were still in flight came back on stop.
    stop_close_and_check(ports, pool, {kPrimaryPool, kSecondaryPool});
    return finish("traffic: secondary bursts, shared statistics, dpdk-proc-info");
}

// A packet in memory that only this process has (its heap): it cannot be registered
// through the primary, so tx_burst takes it, frees it and counts an error.
void send_unregistrable(rte_mempool *pool, uint16_t from, uint16_t to)
{
    static bool freed = false;
    std::vector<uint8_t> heap(4096);
    rte_mbuf *mbuf = rte_pktmbuf_alloc(pool);
    CHECK(mbuf != nullptr, "alloc");
    if (mbuf == nullptr)
        return;
    uint16_t len = static_cast<uint16_t>(heap.size());
    rte_mbuf_ext_shared_info *shinfo = rte_pktmbuf_ext_shinfo_init_helper(
        heap.data(), &len, [](void *, void *) { freed = true; }, nullptr);
    rte_pktmbuf_attach_extbuf(mbuf, heap.data(), RTE_BAD_IOVA, len, shinfo);
    rte_pktmbuf_reset_headroom(mbuf);
    rte_mbuf *model = make_frame(pool, from, to, 0);
    std::memcpy(rte_pktmbuf_append(mbuf, kFrameBytes), rte_pktmbuf_mtod(model, void *),
                kFrameBytes);
    rte_pktmbuf_free(model);
    CHECK(rte_eth_tx_burst(from, 0, &mbuf, 1) == 1, "tx_burst did not take the heap packet");
    CHECK(freed, "the heap packet was not freed");
}

// One TCP/IPv4 packet of kTsoSegments * kTsoSegment payload bytes, prepared and sent
// with TSO; port `to` must receive it cut into kTsoSegments frames, payload intact.
void send_tso(rte_mempool *pool, uint16_t from, uint16_t to)
{
    rte_mbuf *mbuf = rte_pktmbuf_alloc(pool);
    CHECK(mbuf != nullptr, "alloc");
    if (mbuf == nullptr)
        return;
    auto *bytes = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(mbuf, kTsoPacketBytes));
    write_ether_header(bytes, from, to, RTE_ETHER_TYPE_IPV4);
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(bytes + 14);
    *ip = rte_ipv4_hdr{};
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(kTsoPacketBytes - 14);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1));
    ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 2));
    auto *tcp = reinterpret_cast<rte_tcp_hdr *>(bytes + 34);
    *tcp = rte_tcp_hdr{};
    tcp->src_port = rte_cpu_to_be_16(1000);
    tcp->dst_port = rte_cpu_to_be_16(2000);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = RTE_TCP_ACK_FLAG;
    for (uint32_t i = kTsoHeaders; i < kTsoPacketBytes; ++i)
        bytes[i] = static_cast<uint8_t>(i * 7);
    mbuf->l2_len = 14;
    mbuf->l3_len = 20;
    mbuf->l4_len = 20;
    mbuf->tso_segsz = kTsoSegment;
    mbuf->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    CHECK(rte_eth_tx_prepare(from, 0, &mbuf, 1) == 1, "tx_prepare refused the TSO packet: %s",
          rte_strerror(rte_errno));
    CHECK(rte_eth_tx_burst(from, 0, &mbuf, 1) == 1, "tx_burst did not take the TSO packet");

    uint32_t segments = 0;
    uint32_t bad = 0;
    const auto deadline = std::chrono::steady_clock::now() + kDeliveryLimit;
    while (segments < kTsoSegments && before(deadline)) {
        rte_eth_tx_burst(from, 0, nullptr, 0);
        receive_some(to, [&](const rte_mbuf *mbuf) {
            const auto *data = rte_pktmbuf_mtod(mbuf, const uint8_t *);
            bool intact = mbuf->pkt_len == kTsoHeaders + kTsoSegment && mbuf->nb_segs == 1;
            for (uint32_t b = 0; intact && b < kTsoSegment; ++b)
                intact = data[kTsoHeaders + b] ==
                         static_cast<uint8_t>((kTsoHeaders + segments * kTsoSegment + b) * 7);
            bad += !intact;
            ++segments;
        });
    }
    reap_completions(from);
    CHECK(segments == kTsoSegments, "the TSO packet arrived as %u frames, want %u", segments,
          kTsoSegments);
    CHECK(bad == 0, "%u TSO segments arrived with wrong length or payload", bad);
}

int secondary_traffic()
{
    // The emulator joined the primary's device: its sysfs tree, nothing of its own.
    CHECK(mana_emu_joined_primary() == getppid(), "the emulator joined process %ld, want %d",
          mana_emu_joined_primary(), getppid());
    CHECK(env_or_die("MANA_MP_PRIMARY_SYSFS") == mana_emu_sysfs_pci_dir(),
          "the emulator uses the sysfs tree %s, want the primary's %s", mana_emu_sysfs_pci_dir(),
          env_or_die("MANA_MP_PRIMARY_SYSFS").c_str());
    const Ports ports = attach(true);
    const auto [p0, p1] = ports;
    CHECK(rte_eth_dev_count_avail() == 2, "%u ports in the secondary, want 2",
          rte_eth_dev_count_avail());
    rte_eth_dev_info info{};
    CHECK(rte_eth_dev_info_get(p0, &info) == 0, "dev_info_get in the secondary");
    CHECK(info.driver_name != nullptr && std::strcmp(info.driver_name, "net_mana") == 0,
          "driver name %s", info.driver_name ? info.driver_name : "(null)");
    CHECK(info.max_rx_queues > 0 && info.tx_desc_lim.nb_max == kDescriptors,
          "device limits in the secondary: %u RX queues, %u TX descriptors", info.max_rx_queues,
          info.tx_desc_lim.nb_max);

    // The primary's frames are counted already.
    CHECK(stats_of(p0).opackets == kPrimaryFrames, "secondary sees %llu packets sent, want %u",
          static_cast<unsigned long long>(stats_of(p0).opackets), kPrimaryFrames);

    // Mbufs from a pool this process created: their memory is registered by the primary.
    rte_mempool *pool = make_pool(kSecondaryPool);
    exchange(pool, p0, p1, kPrimaryFrames, kSecondaryFrames);
    send_unregistrable(pool, p0, p1);
    send_tso(pool, p0, p1);

    const uint32_t frames = kPrimaryFrames + kSecondaryFrames;
    const rte_eth_stats s0 = stats_of(p0);
    const rte_eth_stats s1 = stats_of(p1);
    CHECK(s0.opackets == frames + 1 && s0.q_opackets[0] == frames + 1,
          "secondary sees %llu packets sent, want %u", static_cast<unsigned long long>(s0.opackets),
          frames + 1);
    CHECK(s0.oerrors == 1, "secondary sees %llu TX errors, want 1",
          static_cast<unsigned long long>(s0.oerrors));
    CHECK(s1.ipackets == frames + kTsoSegments, "secondary sees %llu packets received, want %u",
          static_cast<unsigned long long>(s1.ipackets), frames + kTsoSegments);
    close_secondary(ports);
    return finish("secondary_traffic");
}

int hold_primary()
{
    const Ports ports = attach(false);
    const auto [p0, p1] = ports;
    rte_mempool *pool = setup_ports(ports);
    say("ready");
    // A restart while the secondary is attached: it must stop polling, then poll the
    // queues of the new start.
    CHECK(read_line(STDIN_FILENO) == "restart", "no restart request");
    CHECK(rte_eth_dev_stop(p0) == 0 && rte_eth_dev_stop(p1) == 0, "stop for the restart");
    CHECK(rte_eth_dev_start(p0) == 0 && rte_eth_dev_start(p1) == 0, "start again");
    say("restarted");
    while (!read_line(STDIN_FILENO).empty()) {
    }
    // The secondary is still attached and may still call bursts.
    CHECK(rte_eth_dev_stop(p0) == 0 && rte_eth_dev_stop(p1) == 0, "stop");
    CHECK(rte_eth_dev_close(p0) == 0 && rte_eth_dev_close(p1) == 0, "close");
    check_emulator_clean(true);
    check_pool_full(kPrimaryPool);
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return finish("hold_primary");
}

int outliving_secondary()
{
    const Ports ports = attach(true);
    const auto [p0, p1] = ports;
    rte_mempool *pool = make_pool(kSecondaryPool);
    exchange(pool, p0, p1, 0, 32);
    say("bursting");
    CHECK(read_line(STDIN_FILENO) == "again", "no word after the restart");
    exchange(pool, p0, p1, 32, 32); // on the queues of the primary's second start
    say("bursting again");
    read_line(STDIN_FILENO); // the primary has exited

    // The ports are gone with the primary: bursts take and return nothing.
    expect_bursts_stopped(pool, ports, 100, "after the primary exited");
    check_pool_full(kSecondaryPool);
    rte_eth_stats stats{};
    CHECK(rte_eth_stats_get(p0, &stats) != 0, "stats of a port the primary closed");
    rte_eal_cleanup();
    return finish("outliving_secondary");
}

int primary_exits_first()
{
    Child primary = spawn({self(), "hold_primary"}, true, DpdkRole::primary);
    CHECK(read_line(primary.out) == "ready", "the primary did not get ready");
    Child secondary = spawn({self(), "outliving_secondary"}, true);
    CHECK(read_line(secondary.out) == "bursting", "the secondary did not get going");
    tell(primary, "restart");
    CHECK(read_line(primary.out) == "restarted", "the primary did not restart its ports");
    tell(secondary, "again");
    CHECK(read_line(secondary.out) == "bursting again",
          "the secondary did not get going after the restart");
    close(primary.in);
    const int primary_status = wait_for(primary.pid);
    CHECK(primary_status == 0, "the primary exited with %d", primary_status);
    tell(secondary, "go");
    close(secondary.in);
    const int secondary_status = wait_for(secondary.pid);
    CHECK(secondary_status == 0, "the secondary exited with %d after the primary%s",
          secondary_status, secondary_status > 128 ? " (killed by a signal)" : "");
    return finish("primary_exits_first: the secondary follows a restart and outlives the primary");
}

} // namespace

int main(int argc, char **argv)
{
    return run_role(argc, argv,
                    {{"traffic", traffic},
                     {"secondary_traffic", secondary_traffic},
                     {"primary_exits_first", primary_exits_first},
                     {"hold_primary", hold_primary},
                     {"outliving_secondary", outliving_secondary}},
                    "traffic|primary_exits_first");
}
