/* SPDX-License-Identifier: BSD-3-Clause */
#include "mp_harness.h"

#include <mana_emu.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mp_test
{

int failures = 0;

bool before(std::chrono::steady_clock::time_point deadline)
{
    return std::chrono::steady_clock::now() < deadline;
}

void fail(const char *format, ...)
{
    std::va_list args;
    va_start(args, format);
    std::fprintf(stderr, "FAIL [%d]: ", getpid());
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
    ++failures;
}

std::string env_or_die(const char *name)
{
    const char *value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        std::fprintf(stderr, "%s is not set (meson sets it)\n", name);
        std::exit(2);
    }
    return value;
}

std::string file_prefix()
{
    return env_or_die("MANA_MP_PREFIX");
}

// Primary on lcore 0, secondaries on lcore 1: the processes share the mempools, and a
// mempool's per-lcore caches are per lcore id, not per process.
void init_eal(bool secondary, const std::string &devargs)
{
    std::vector<std::string> args = {"multiprocess_test",
                                     "-l",
                                     secondary ? "1" : "0",
                                     "--file-prefix",
                                     file_prefix(),
                                     secondary ? "--proc-type=secondary" : "--proc-type=primary",
                                     "-a",
                                     devargs.empty() ? kBdf : std::string(kBdf) + "," + devargs,
                                     "-d",
                                     env_or_die("MANA_PMD"),
                                     "--log-level=pmd.net.mana.*:info"};
    std::vector<char *> argv;
    for (auto &arg : args)
        argv.push_back(arg.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        std::exit(2);
    }
}

uint16_t port_by_name(const char *name)
{
    uint16_t port = RTE_MAX_ETHPORTS;
    if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
        std::fprintf(stderr, "no ethdev %s in process %d\n", name, getpid());
        std::exit(1);
    }
    return port;
}

rte_mempool *make_pool(const char *name)
{
    // No per-lcore cache: available counts are exact whichever process freed last.
    rte_mempool *pool =
        rte_pktmbuf_pool_create(name, kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "cannot create mempool %s: %s\n", name, rte_strerror(rte_errno));
        std::exit(2);
    }
    return pool;
}

void setup_port(uint16_t port, rte_mempool *pool, uint64_t tx_offloads)
{
    rte_eth_conf conf{};
    conf.txmode.offloads = tx_offloads;
    CHECK(rte_eth_dev_configure(port, 1, 1, &conf) == 0, "configure port %u", port);
    CHECK(rte_eth_rx_queue_setup(port, 0, kDescriptors, SOCKET_ID_ANY, nullptr, pool) == 0,
          "RX queue setup on port %u", port);
    CHECK(rte_eth_tx_queue_setup(port, 0, kDescriptors, SOCKET_ID_ANY, nullptr) == 0,
          "TX queue setup on port %u", port);
    CHECK(rte_eth_dev_start(port) == 0, "start port %u", port);
}

// Port MACs, read once: once the primary has closed a port, its ethdev data (MAC array
// included) is gone, and rte_eth_macaddr_get must not be called any more.
std::array<rte_ether_addr, RTE_MAX_ETHPORTS> macs{};

void learn_macs(uint16_t p0, uint16_t p1)
{
    CHECK(rte_eth_macaddr_get(p0, &macs[p0]) == 0 && rte_eth_macaddr_get(p1, &macs[p1]) == 0,
          "macaddr_get");
}

void write_ether_header(uint8_t *bytes, uint16_t from, uint16_t to, uint16_t ether_type)
{
    std::memcpy(bytes, macs[to].addr_bytes, 6);
    std::memcpy(bytes + 6, macs[from].addr_bytes, 6);
    bytes[12] = static_cast<uint8_t>(ether_type >> 8);
    bytes[13] = static_cast<uint8_t>(ether_type & 0xff);
}

// An Ethernet frame to `to` whose payload is the frame's index then a pattern from it.
rte_mbuf *make_frame(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t index)
{
    rte_mbuf *mbuf = rte_pktmbuf_alloc(pool);
    if (mbuf == nullptr)
        return nullptr;
    auto *bytes = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(mbuf, kFrameBytes));
    write_ether_header(bytes, from, to, kEtherType);
    std::memcpy(bytes + 14, &index, sizeof(index));
    for (uint32_t i = 18; i < kFrameBytes; ++i)
        bytes[i] = static_cast<uint8_t>(index + i);
    return mbuf;
}

// The index of a frame built by make_frame, or -1 when its bytes are not what was sent.
int64_t frame_index(const rte_mbuf *mbuf)
{
    if (mbuf->pkt_len != kFrameBytes || mbuf->nb_segs != 1)
        return -1;
    const auto *bytes = rte_pktmbuf_mtod(mbuf, const uint8_t *);
    uint32_t index = 0;
    std::memcpy(&index, bytes + 14, sizeof(index));
    for (uint32_t i = 18; i < kFrameBytes; ++i)
        if (bytes[i] != static_cast<uint8_t>(index + i))
            return -1;
    return index;
}

uint16_t receive_some(uint16_t port, const std::function<void(const rte_mbuf *)> &each)
{
    std::array<rte_mbuf *, 32> got{};
    const uint16_t n = rte_eth_rx_burst(port, 0, got.data(), got.size());
    for (uint16_t i = 0; i < n; ++i)
        each(got[i]);
    rte_pktmbuf_free_bulk(got.data(), n);
    if (n == 0)
        usleep(10); // let the device model run
    return n;
}

void reap_completions(uint16_t port)
{
    for (int i = 0; i < 100; ++i)
        rte_eth_tx_burst(port, 0, nullptr, 0);
}

// Sends frames first..first+count-1 from port `from` to port `to` (queue 0 each) and
// receives them, in order and intact, waiting for the threaded device model.
void exchange(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count)
{
    exchange_frames(pool, from, to, first, count, {make_frame, frame_index}, count);
}

void exchange_frames(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count,
                     const FrameKind &kind, uint32_t most_in_flight)
{
    uint32_t sent = 0;
    uint32_t received = 0;
    uint32_t bad = 0;
    const auto deadline = std::chrono::steady_clock::now() + kDeliveryLimit;
    while (received < count && before(deadline)) {
        if (sent < count && sent - received < most_in_flight) {
            std::array<rte_mbuf *, 32> burst{};
            const uint32_t n = std::min<uint32_t>(32, count - sent);
            uint32_t made = 0;
            while (made < n && (burst[made] = kind.make(pool, from, to, first + sent + made)))
                ++made;
            const uint16_t taken = rte_eth_tx_burst(from, 0, burst.data(), made);
            rte_pktmbuf_free_bulk(burst.data() + taken, made - taken);
            sent += taken;
        } else {
            rte_eth_tx_burst(from, 0, nullptr, 0); // reaps completions
        }
        receive_some(to, [&](const rte_mbuf *mbuf) {
            if (kind.index(mbuf) != static_cast<int64_t>(first + received))
                ++bad;
            ++received;
        });
    }
    reap_completions(from);
    CHECK(sent == count, "sent %u of %u frames on port %u", sent, count, from);
    CHECK(received == count, "received %u of %u frames on port %u", received, count, to);
    CHECK(bad == 0, "%u frames arrived changed or out of order", bad);
}

rte_eth_stats stats_of(uint16_t port)
{
    rte_eth_stats stats{};
    CHECK(rte_eth_stats_get(port, &stats) == 0, "stats_get on port %u", port);
    return stats;
}

void exec_or_exit(const std::vector<std::string> &args)
{
    std::vector<char *> argv;
    for (const auto &arg : args)
        argv.push_back(const_cast<char *>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::perror(argv[0]);
    _exit(127);
}

// Runs a program (this binary in another role), its stdin and stdout piped to us.
Child spawn(const std::vector<std::string> &args, bool pipes, DpdkRole role)
{
    int to_child[2] = {-1, -1};
    int from_child[2] = {-1, -1};
    // Close-on-exec: a later child must not hold this child's stdin open.
    if (pipes && (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)) {
        std::perror("pipe");
        std::exit(2);
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        if (pipes) {
            dup2(to_child[0], STDIN_FILENO);
            dup2(from_child[1], STDOUT_FILENO);
            close(to_child[0]);
            close(to_child[1]);
            close(from_child[0]);
            close(from_child[1]);
        }
        setenv("MANA_EMU_PROCESS", role == DpdkRole::secondary ? "secondary" : "primary", 1);
        exec_or_exit(args);
    }
    Child child{.pid = pid};
    if (pipes) {
        close(to_child[0]);
        close(from_child[1]);
        child.in = to_child[1];
        child.out = from_child[0];
    }
    return child;
}

std::string self()
{
    std::array<char, 4096> path{};
    const ssize_t n = readlink("/proc/self/exe", path.data(), path.size() - 1);
    return n > 0 ? std::string(path.data(), n) : "multiprocess_test";
}

// The exit status of a child; a signal is reported as 128 + its number.
int wait_for(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

std::string read_line(int fd)
{
    std::string line;
    char c = 0;
    while (read(fd, &c, 1) == 1 && c != '\n')
        line += c;
    return line;
}

void say(const char *line)
{
    std::printf("%s\n", line);
    std::fflush(stdout);
}

void tell(const Child &child, const std::string &line)
{
    const std::string text = line + "\n";
    CHECK(write(child.in, text.c_str(), text.size()) == static_cast<ssize_t>(text.size()),
          "write '%s' to process %d", line.c_str(), child.pid);
}

void run_secondary(const char *role)
{
    const Child secondary = spawn({self(), role}, false);
    CHECK(wait_for(secondary.pid) == 0, "the secondary failed (see its output above)");
}

Ports attach(bool secondary, const std::string &devargs)
{
    init_eal(secondary, devargs);
    const Ports ports{.p0 = port_by_name(kPort0Name), .p1 = port_by_name(kPort1Name)};
    learn_macs(ports.p0, ports.p1);
    return ports;
}

rte_mempool *setup_ports(const Ports &ports, uint64_t p0_tx_offloads)
{
    rte_mempool *pool = make_pool(kPrimaryPool);
    setup_port(ports.p0, pool, p0_tx_offloads);
    setup_port(ports.p1, pool);
    return pool;
}

void expect_bursts_stopped(rte_mempool *pool, const Ports &ports, int rounds, const char *where)
{
    uint32_t taken = 0;
    uint32_t received = 0;
    for (int i = 0; i < rounds; ++i) {
        std::array<rte_mbuf *, 8> packets{};
        uint16_t made = 0;
        while (made < packets.size() &&
               (packets[made] = make_frame(pool, ports.p0, ports.p1, static_cast<uint32_t>(i))))
            ++made;
        const uint16_t n = rte_eth_tx_burst(ports.p0, 0, packets.data(), made);
        taken += n;
        rte_pktmbuf_free_bulk(packets.data() + n, made - n);
        std::array<rte_mbuf *, 32> got{};
        for (const uint16_t port : {ports.p0, ports.p1}) {
            const uint16_t r = rte_eth_rx_burst(port, 0, got.data(), got.size());
            received += r;
            rte_pktmbuf_free_bulk(got.data(), r);
        }
    }
    CHECK(taken == 0, "tx_burst took %u packets %s", taken, where);
    CHECK(received == 0, "rx_burst returned %u packets %s", received, where);
}

void check_emulator_clean(bool closed)
{
    struct mana_emu_counters counters {
    };
    CHECK(mana_emu_counters(&counters) == 0, "emulator counters");
    CHECK(counters.dma_violations == 0, "%llu DMA violations",
          static_cast<unsigned long long>(counters.dma_violations));
    CHECK(counters.wqe_violations == 0, "%llu WQE violations",
          static_cast<unsigned long long>(counters.wqe_violations));
    if (closed) {
        CHECK(counters.live_objects == 0, "%llu verbs objects left after close",
              static_cast<unsigned long long>(counters.live_objects));
        CHECK(counters.open_fds == 0, "%llu emulator fds left after close",
              static_cast<unsigned long long>(counters.open_fds));
    }
}

void check_pool_full(const char *name)
{
    const rte_mempool *pool = rte_mempool_lookup(name);
    CHECK(pool != nullptr, "mempool %s not found", name);
    if (pool != nullptr)
        CHECK(rte_mempool_avail_count(pool) == pool->size, "mempool %s: %u of %u mbufs back", name,
              rte_mempool_avail_count(pool), pool->size);
}

void stop_close_and_check(const Ports &ports, rte_mempool *pool,
                          std::initializer_list<const char *> pools)
{
    CHECK(rte_eth_dev_stop(ports.p0) == 0 && rte_eth_dev_stop(ports.p1) == 0, "stop");
    check_emulator_clean(false);
    // Mbufs still in flight (a secondary's included) come back on stop.
    for (const char *name : pools)
        check_pool_full(name);
    CHECK(rte_eth_dev_close(ports.p0) == 0 && rte_eth_dev_close(ports.p1) == 0, "close");
    check_emulator_clean(true);
    // A secondary's pool stays: freeing a mempool calls back into the process that
    // created it (memory-chunk release), which is gone.
    rte_mempool_free(pool);
    rte_eal_cleanup();
}

void close_secondary(const Ports &ports)
{
    CHECK(rte_eth_dev_close(ports.p0) == 0 && rte_eth_dev_close(ports.p1) == 0,
          "close in the secondary");
    rte_eal_cleanup();
}

int run_role(int argc, char **argv, std::initializer_list<Role> roles, const char *usage)
{
    const std::string role = argc > 1 ? argv[1] : "";
    for (const Role &candidate : roles)
        if (role == candidate.name)
            return candidate.run();
    std::fprintf(stderr, "usage: %s %s (through with_hugepages.sh)\n", argv[0], usage);
    return 2;
}

int finish(const char *role)
{
    if (failures == 0)
        std::fprintf(stderr, "PASS: %s\n", role);
    return failures == 0 ? 0 : 1;
}

} // namespace mp_test
