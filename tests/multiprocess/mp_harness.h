/* SPDX-License-Identifier: BSD-3-Clause */
// What the multi-process tests share: EAL in a primary or secondary role over the
// threaded emulator, port and pool setup, frames that carry their index, an exchange
// between the two ports that waits for the device model, child processes talking over
// pipes, and end-of-test checks (emulator clean, pools full). Every role prints what
// failed (CHECK) and exits with finish().
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mp_test
{

inline constexpr const char *kBdf = "7870:00:00.0";
inline constexpr const char *kPort0Name = "7870:00:00.0_port1";
inline constexpr const char *kPort1Name = "7870:00:00.0_port2";
inline constexpr const char *kPrimaryPool = "mp_primary_pool";
inline constexpr const char *kSecondaryPool = "mp_secondary_pool";
inline constexpr unsigned kPoolSize = 2047;
inline constexpr uint16_t kDescriptors = 256;
inline constexpr uint16_t kEtherType = 0x88b5; // IEEE local experimental
inline constexpr uint32_t kFrameBytes = 128;
// How long to wait for the threaded device model (or another process) before calling
// something lost: a limit for a failing run, not a speed requirement.
inline constexpr auto kDeliveryLimit = std::chrono::seconds(20);

extern int failures;
void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(condition, ...)                                                                      \
    do {                                                                                           \
        if (!(condition))                                                                          \
            ::mp_test::fail(__VA_ARGS__);                                                          \
    } while (0)

bool before(std::chrono::steady_clock::time_point deadline);
std::string env_or_die(const char *name);
std::string file_prefix();

// Primary on lcore 0, secondaries on lcore 1: the processes share the mempools, and a
// mempool's per-lcore caches are per lcore id, not per process. `devargs` are the
// function's (primary only).
void init_eal(bool secondary, const std::string &devargs = "");
uint16_t port_by_name(const char *name);
rte_mempool *make_pool(const char *name);
void setup_port(uint16_t port, rte_mempool *pool, uint64_t tx_offloads = 0);

// Port MACs, read once by learn_macs: once the primary has closed a port, its ethdev
// data (MAC array included) is gone, and rte_eth_macaddr_get must not be called any more.
extern std::array<rte_ether_addr, RTE_MAX_ETHPORTS> macs;
void learn_macs(uint16_t p0, uint16_t p1);
// The 14 bytes of an Ethernet header from port `from` to port `to` (MACs of learn_macs).
void write_ether_header(uint8_t *bytes, uint16_t from, uint16_t to, uint16_t ether_type);
// An Ethernet frame to `to` whose payload is the frame's index then a pattern from it.
rte_mbuf *make_frame(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t index);
// The index of a frame built by make_frame, or -1 when its bytes are not what was sent.
int64_t frame_index(const rte_mbuf *mbuf);
// One RX burst on queue 0 of `port`: `each` sees every mbuf before it is freed; when
// nothing came, a short sleep lets the device model run. Returns how many came.
uint16_t receive_some(uint16_t port, const std::function<void(const rte_mbuf *)> &each);
// TX bursts of nothing on queue 0 of `port`, which reap its completions.
void reap_completions(uint16_t port);
// Sends frames first..first+count-1 from port `from` to port `to` (queue 0 each) and
// receives them, in order and intact, waiting for the threaded device model.
void exchange(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count);
// How exchange_frames builds a frame of an index and reads the index back (-1: not what
// was built).
struct FrameKind {
    rte_mbuf *(*make)(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t index);
    int64_t (*index)(const rte_mbuf *mbuf);
};
// exchange with frames of `kind`, at most `most_in_flight` sent and not yet received.
void exchange_frames(rte_mempool *pool, uint16_t from, uint16_t to, uint32_t first, uint32_t count,
                     const FrameKind &kind, uint32_t most_in_flight);
rte_eth_stats stats_of(uint16_t port);

struct Child {
    pid_t pid = -1;
    int in = -1;  // its stdin
    int out = -1; // its stdout
};
// In a forked child: runs the program `args` names (PATH searched), or exits 127.
[[noreturn]] void exec_or_exit(const std::vector<std::string> &args);
// What a spawned process is to DPDK, told to its emulator (MANA_EMU_PROCESS), since the
// roles build their EAL arguments in code where the emulator cannot read them.
enum class DpdkRole { primary, secondary };
// Runs a program (this binary in another role), its stdin and stdout piped to us.
Child spawn(const std::vector<std::string> &args, bool pipes, DpdkRole role = DpdkRole::secondary);
std::string self();
// The exit status of a child; a signal is reported as 128 + its number.
int wait_for(pid_t pid);
std::string read_line(int fd);
void say(const char *line);

// Tells a child one line over its stdin (checked).
void tell(const Child &child, const std::string &line);
// Runs this binary as `role` without pipes and checks that it passed.
void run_secondary(const char *role);

// Both ports of the function in this process, EAL started in the given role and the
// MACs learned.
struct Ports {
    uint16_t p0;
    uint16_t p1;
};
Ports attach(bool secondary, const std::string &devargs = "");
// The primary's start: both ports set up on one new pool (kPrimaryPool), returned.
rte_mempool *setup_ports(const Ports &ports, uint64_t p0_tx_offloads = 0);

// Bursts `rounds` times on both ports and checks that nothing is taken or received:
// the device is out of reach (`where` says why, for the messages).
void expect_bursts_stopped(rte_mempool *pool, const Ports &ports, int rounds, const char *where);

void check_emulator_clean(bool closed);
void check_pool_full(const char *name);
// The primary's end: stop both ports, emulator clean and every pool of `pools` full,
// then close, nothing of the device left, `pool` freed and EAL cleaned up.
void stop_close_and_check(const Ports &ports, rte_mempool *pool,
                          std::initializer_list<const char *> pools);
// A secondary's end: closing lets go of the ports in this process only.
void close_secondary(const Ports &ports);
int finish(const char *role);

// Each test program is one binary with several roles (argv[1]): the tests meson runs,
// and the processes they spawn.
struct Role {
    const char *name;
    int (*run)();
};
int run_role(int argc, char **argv, std::initializer_list<Role> roles, const char *usage);

} // namespace mp_test
