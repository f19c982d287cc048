/* SPDX-License-Identifier: BSD-3-Clause */
// mana-bench: cost per packet of a MANA PMD's burst functions, measured through rte_eth_*
// only, over the emulator in step mode. Device work (mana_emu_poll) runs between the timed
// parts of rounds, so a window (rounds summed) measures the driver alone. One JSON line
// per run.
#include "bench_options.h"
#include "bench_traffic.h"
#include "core_clock.h"
#include "perf_counter.h"
#include "stopwatch.h"

#include <mana_emu.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace mana_bench
{
namespace
{

constexpr uint16_t kPort = 0;
constexpr unsigned kEmulatedPort = 0;
constexpr uint32_t kScatterMtu = 9000;

[[noreturn]] void fail(const std::string &what)
{
    std::fprintf(stderr, "mana-bench: %s\n", what.c_str());
    std::exit(1);
}

struct WindowResult {
    uint64_t packets = 0;
    uint64_t cycles = 0;
    uint64_t instructions = 0;
};

// The timed loops live in functions of their own so that callgrind can count exactly them
// (devtools/bench: --toggle-collect='*timed_*').

// Receives straight into `out` (no copies inside the round) until the `waiting`
// completions of the queue are taken; returns how many arrived. So the round holds no
// empty poll: its cost would be charged to however many packets the round has (fewer
// with smaller rings) rather than to the packets.
[[gnu::noinline]] unsigned timed_rx_bursts(uint16_t queue, unsigned waiting, uint16_t burst_size,
                                           rte_mbuf **out)
{
    unsigned count = 0;
    while (count < waiting) {
        const auto want = static_cast<uint16_t>(std::min<unsigned>(burst_size, waiting - count));
        const uint16_t n = rte_eth_rx_burst(kPort, queue, out + count, want);
        if (n == 0)
            break;
        count += n;
    }
    return count;
}

// Sends `count` packets in bursts until done or the ring is full; returns how many the
// queue took.
[[gnu::noinline]] unsigned timed_tx_bursts(uint16_t queue, rte_mbuf **packets, unsigned count,
                                           uint16_t burst_size)
{
    unsigned done = 0;
    while (done < count) {
        const auto want = static_cast<uint16_t>(std::min<unsigned>(burst_size, count - done));
        const uint16_t n = rte_eth_tx_burst(kPort, queue, packets + done, want);
        done += n;
        if (n < want)
            break;
    }
    return done;
}

// io forwarding: what arrives is sent back out of the same queue, until the `waiting`
// completions of the queue are taken (as in timed_rx_bursts).
[[gnu::noinline]] uint64_t timed_fwd_bursts(uint16_t queue, unsigned waiting, uint16_t burst_size,
                                            std::vector<rte_mbuf *> &unsent)
{
    rte_mbuf *burst[kMaxBurst];
    uint64_t forwarded = 0;
    unsigned left = waiting;
    while (left != 0) {
        const auto want = static_cast<uint16_t>(std::min<unsigned>(burst_size, left));
        const uint16_t n = rte_eth_rx_burst(kPort, queue, burst, want);
        if (n == 0)
            break;
        left -= n;
        const uint16_t sent = rte_eth_tx_burst(kPort, queue, burst, n);
        forwarded += sent;
        if (sent < n) [[unlikely]]
            unsent.insert(unsent.end(), burst + sent, burst + n);
    }
    return forwarded;
}

class Bench
{
  public:
    explicit Bench(const Options &options) : options_(options), traffic_(options) {}

    void setup()
    {
        rte_eth_dev_info info{};
        if (rte_eth_dev_count_avail() == 0)
            fail("no ethdev was probed: check --pmd and that the emulator is preloaded");
        if (rte_eth_dev_info_get(kPort, &info) != 0)
            fail("rte_eth_dev_info_get failed");

        const unsigned mbufs = options_.queues * options_.descriptors * 4 + 4096;
        const uint16_t data_room = static_cast<uint16_t>(std::max<unsigned>(
            RTE_MBUF_DEFAULT_BUF_SIZE, options_.frame_size + RTE_PKTMBUF_HEADROOM));
        pool_ = rte_pktmbuf_pool_create("bench_pool", mbufs, mempool_cache(options_), 0, data_room,
                                        static_cast<int>(rte_socket_id()));
        if (pool_ == nullptr)
            fail("cannot create the mbuf pool: " + std::string(rte_strerror(rte_errno)));

        rte_eth_conf conf{};
        if (options_.offloads.checksum) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_CHECKSUM;
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        }
        if (options_.offloads.rss_hash) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
            conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
        } else if (options_.queues > 1) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
        }
        if (options_.offloads.vlan) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
        }
        if (options_.offloads.multi_segment)
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        // Jumbo MTU over default-sized mbufs: every RX WQE carries several buffers, while
        // the measured frames still fit the first one.
        if (options_.offloads.scatter) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
            conf.rxmode.mtu = kScatterMtu;
        }
        const uint64_t missing_rx = conf.rxmode.offloads & ~info.rx_offload_capa;
        const uint64_t missing_tx = conf.txmode.offloads & ~info.tx_offload_capa;
        if (missing_rx != 0 || missing_tx != 0)
            fail("the PMD does not offer the requested offloads (rx 0x" + hex(missing_rx) +
                 ", tx 0x" + hex(missing_tx) + ")");
        conf.rx_adv_conf.rss_conf.rss_hf &= info.flow_type_rss_offloads;

        const int rc = rte_eth_dev_configure(kPort, options_.queues, options_.queues, &conf);
        if (rc != 0)
            fail("rte_eth_dev_configure: " + std::string(rte_strerror(-rc)));
        uint16_t rx_desc = static_cast<uint16_t>(options_.descriptors);
        uint16_t tx_desc = rx_desc;
        rte_eth_dev_adjust_nb_rx_tx_desc(kPort, &rx_desc, &tx_desc);
        descriptors_ = std::min(rx_desc, tx_desc);
        round_packets_ =
            options_.round_packets.value_or(std::min(kDefaultRoundPackets, descriptors_ / 2u));
        if (round_packets_ > descriptors_ / 2u)
            fail("--round-packets " + std::to_string(round_packets_) +
                 " is more than half the ring (" + std::to_string(descriptors_) +
                 " descriptors): a TX queue would be full before the round's last burst");
        for (uint16_t q = 0; q < options_.queues; ++q) {
            if (rte_eth_rx_queue_setup(kPort, q, rx_desc, rte_eth_dev_socket_id(kPort), nullptr,
                                       pool_) != 0)
                fail("rte_eth_rx_queue_setup failed");
            if (rte_eth_tx_queue_setup(kPort, q, tx_desc, rte_eth_dev_socket_id(kPort), nullptr) !=
                0)
                fail("rte_eth_tx_queue_setup failed");
        }
        if (rte_eth_dev_start(kPort) != 0)
            fail("rte_eth_dev_start failed");
        // What the port sends leaves the emulated wire; nothing comes back by itself.
        mana_emu_wire_none(kEmulatedPort);
        if (options_.mode != Mode::tx)
            learn_flows();
    }

    void teardown()
    {
        rte_eth_dev_stop(kPort);
        rte_eth_dev_close(kPort);
        rte_mempool_free(pool_);
    }

    // Warm-up windows first (options_.warmup_windows, and more until warmup_ms have
    // passed), then the measured ones. Each window repeats rounds until it has moved
    // options_.window_packets packets (or a round moved none) and sums their timed parts.
    std::vector<WindowResult> run(PerfCounter &counter)
    {
        const uint64_t warm_from = rte_get_tsc_cycles();
        const uint64_t warm_until = warm_from + rte_get_tsc_hz() / 1000 * options_.warmup_ms;
        while (warmup_windows_run_ < options_.warmup_windows || rte_get_tsc_cycles() < warm_until) {
            ++warmup_windows_run_;
            if (run_window(counter).packets == 0)
                break;
        }
        warmup_elapsed_ms_ = (rte_get_tsc_cycles() - warm_from) * 1000 / rte_get_tsc_hz();
        std::vector<WindowResult> windows;
        for (unsigned w = 0; w < options_.windows; ++w) {
            const WindowResult window = run_window(counter);
            if (window.packets > 0)
                windows.push_back(window);
        }
        return windows;
    }

    // Packets of the warm-up windows too: callgrind counts their instructions as well.
    uint64_t packets_all_windows() const { return packets_all_windows_; }
    unsigned warmup_windows_run() const { return warmup_windows_run_; }
    uint64_t warmup_elapsed_ms() const { return warmup_elapsed_ms_; }
    uint64_t timer_overhead() const { return stopwatch_.overhead(); }
    unsigned round_packets() const { return round_packets_; }

  private:
    WindowResult run_window(PerfCounter &counter)
    {
        WindowResult window;
        while (window.packets < options_.window_packets) {
            const WindowResult round = run_round(counter);
            window.packets += round.packets;
            window.cycles += round.cycles;
            window.instructions += round.instructions;
            if (round.packets == 0)
                break;
        }
        packets_all_windows_ += window.packets;
        return window;
    }

    WindowResult run_round(PerfCounter &counter)
    {
        switch (options_.mode) {
        case Mode::rx:
            return rx_round(counter);
        case Mode::tx:
            return tx_round(counter);
        case Mode::fwd:
            return fwd_round(counter);
        }
        return {};
    }

    static std::string hex(uint64_t value)
    {
        char text[32];
        std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(value));
        return text;
    }

    // A round is one queue's: the device delivers round_packets() to it (or the sender
    // builds that many packets), then the driver works through them; the queues take
    // turns, as a polling loop serves them. A round so touches as much memory with four
    // queues as with one. (Delivering to every queue before polling any would leave the
    // first queue's completions evicted by the others' by the time it is polled: the
    // emulator runs on the measuring core, so what it writes lands in that core's caches,
    // where device DMA never does.) At most half a ring: a TX queue holds the previous
    // round's packets until its first burst reaps them.
    uint16_t next_round_queue() { return static_cast<uint16_t>(next_queue_++ % options_.queues); }

    // Which frames RSS sends to which queue, learnt by sending frames one at a time and
    // seeing which queue completes each: up to a burst of distinct flows per queue, which
    // a round for that queue sends in turn.
    void learn_flows()
    {
        flows_.assign(options_.queues, {});
        const unsigned probes = 64U * options_.queues * options_.burst;
        unsigned full = 0;
        for (unsigned i = 0; i < probes && full < options_.queues; ++i) {
            inject(i);
            mana_emu_poll();
            for (uint16_t q = 0; q < options_.queues; ++q) {
                rte_mbuf *mbuf = nullptr;
                if (rte_eth_rx_burst(kPort, q, &mbuf, 1) == 0)
                    continue;
                rte_pktmbuf_free(mbuf);
                if (flows_[q].size() < options_.burst) {
                    flows_[q].push_back(i);
                    full += flows_[q].size() == options_.burst;
                }
            }
        }
        for (uint16_t q = 0; q < options_.queues; ++q)
            if (flows_[q].empty())
                fail("RSS sends none of " + std::to_string(probes) + " flows to RX queue " +
                     std::to_string(q));
    }

    void inject(unsigned index)
    {
        const auto frame = traffic_.frame(index);
        if (mana_emu_inject(kEmulatedPort, frame.data(), frame.size()) != 0)
            fail("mana_emu_inject failed");
    }

    // Frames arrive from the wire and the device completes them into the queue's RX ring:
    // a round's worth. Returns the completions the queue then has, as the driver counts
    // them (rx_queue_count), or, from a driver without that op (upstream's 22.11), as the
    // device counts the frames it delivered (only this queue receives in a round).
    unsigned arrive(uint16_t queue)
    {
        const std::vector<unsigned> &flows = flows_[queue];
        mana_emu_counters_t before{};
        mana_emu_port_counters(kEmulatedPort, &before);
        for (unsigned i = 0; i < round_packets(); ++i)
            inject(flows[i % flows.size()]);
        mana_emu_poll();
        const int count = rte_eth_rx_queue_count(kPort, queue);
        if (count == -ENOTSUP) {
            mana_emu_counters_t after{};
            mana_emu_port_counters(kEmulatedPort, &after);
            return static_cast<unsigned>(after.rx_frames - before.rx_frames);
        }
        if (count < 0)
            fail("rte_eth_rx_queue_count failed: " + std::string(rte_strerror(-count)));
        return static_cast<unsigned>(count);
    }

    WindowResult rx_round(PerfCounter &counter)
    {
        const uint16_t queue = next_round_queue();
        const unsigned waiting = arrive(queue);
        std::vector<rte_mbuf *> received(waiting);
        WindowResult result;
        counter.start();
        stopwatch_.start();
        const unsigned count = timed_rx_bursts(queue, waiting, options_.burst, received.data());
        result.cycles = stopwatch_.stop();
        result.instructions = counter.stop();
        result.packets = count;
        rte_pktmbuf_free_bulk(received.data(), count);
        return result;
    }

    WindowResult tx_round(PerfCounter &counter)
    {
        const uint16_t queue = next_round_queue();
        const unsigned count = round_packets();
        std::vector<rte_mbuf *> packets = traffic_.make_mbufs(pool_, count);
        WindowResult result;
        counter.start();
        stopwatch_.start();
        const unsigned sent = timed_tx_bursts(queue, packets.data(), count, options_.burst);
        result.cycles = stopwatch_.stop();
        result.instructions = counter.stop();
        result.packets = sent;
        rte_pktmbuf_free_bulk(packets.data() + sent, count - sent);
        // The device sends and completes outside the round; a later round reaps.
        mana_emu_poll();
        return result;
    }

    WindowResult fwd_round(PerfCounter &counter)
    {
        const uint16_t queue = next_round_queue();
        const unsigned waiting = arrive(queue);
        std::vector<rte_mbuf *> unsent;
        WindowResult result;
        counter.start();
        stopwatch_.start();
        result.packets = timed_fwd_bursts(queue, waiting, options_.burst, unsent);
        result.cycles = stopwatch_.stop();
        result.instructions = counter.stop();
        rte_pktmbuf_free_bulk(unsent.data(), static_cast<unsigned>(unsent.size()));
        mana_emu_poll();
        return result;
    }

    const Options &options_;
    Traffic traffic_;
    Stopwatch stopwatch_;
    rte_mempool *pool_ = nullptr;
    uint16_t descriptors_ = 0;
    unsigned round_packets_ = 0;
    uint64_t packets_all_windows_ = 0;
    unsigned warmup_windows_run_ = 0;
    uint64_t warmup_elapsed_ms_ = 0;
    unsigned next_queue_ = 0; // the queue of the next round
    // rx and fwd: frame indices RSS sends to each queue (learn_flows).
    std::vector<std::vector<unsigned>> flows_;
};

struct Summary {
    double median = 0;
    double min = 0;
    double max = 0;
};

Summary summarize(std::vector<double> values)
{
    Summary summary;
    if (values.empty())
        return summary;
    std::sort(values.begin(), values.end());
    summary.min = values.front();
    summary.max = values.back();
    summary.median = values[values.size() / 2];
    return summary;
}

void print_json(const Options &options, const Bench &bench,
                const std::vector<WindowResult> &windows, const PerfCounter &counter,
                const CoreClock &clock)
{
    uint64_t packets = 0;
    uint64_t instructions = 0;
    std::vector<double> cycles_per_packet;
    for (const WindowResult &w : windows) {
        packets += w.packets;
        instructions += w.instructions;
        cycles_per_packet.push_back(static_cast<double>(w.cycles) / static_cast<double>(w.packets));
    }
    const Summary cycles = summarize(cycles_per_packet);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::string ipp = "null";
    std::string ipc = "null"; // instructions per core cycle
    if (counter.available() && packets > 0) {
        char text[32];
        const double per_packet = static_cast<double>(instructions) / static_cast<double>(packets);
        std::snprintf(text, sizeof(text), "%.2f", per_packet);
        ipp = text;
        if (cycles.median > 0 && clock.core_per_tsc() > 0) {
            std::snprintf(text, sizeof(text), "%.2f",
                          per_packet / (cycles.median * clock.core_per_tsc()));
            ipc = text;
        }
    }
    std::printf("{\"mode\": \"%s\", \"pmd\": \"%s\", \"frame_size\": %u, \"burst\": %u, "
                "\"descriptors\": %u, \"queues\": %u, \"offloads\": \"%s\", "
                "\"mempool_cache\": %u, \"hugepages\": %s, \"windows\": %zu, "
                "\"warmup_ms\": %u, \"warmup_windows\": %u, \"warmup_elapsed_ms\": %llu, "
                "\"window_packets\": %u, \"round_packets\": %u, \"packets\": %llu, "
                "\"packets_all_windows\": %llu, "
                "\"cycles_per_packet\": {\"median\": %.2f, \"min\": %.2f, \"max\": %.2f}, "
                "\"timer_overhead_cycles\": %llu, "
                "\"instructions_per_packet\": %s, \"peak_rss_kib\": %ld, "
                "\"core_ghz\": %.3f, \"tsc_ghz\": %.3f, \"core_clock_linearity\": %.3f, "
                "\"core_cycles_per_packet\": %.2f, \"instructions_per_core_cycle\": %s}\n",
                mode_name(options.mode), options.pmd_path.c_str(), options.frame_size,
                options.burst, options.descriptors, options.queues,
                options.offloads.describe().c_str(), mempool_cache(options),
                uses_hugepages(options) ? "true" : "false", windows.size(), options.warmup_ms,
                bench.warmup_windows_run(),
                static_cast<unsigned long long>(bench.warmup_elapsed_ms()), options.window_packets,
                bench.round_packets(), static_cast<unsigned long long>(packets),
                static_cast<unsigned long long>(bench.packets_all_windows()), cycles.median,
                cycles.min, cycles.max, static_cast<unsigned long long>(bench.timer_overhead()),
                ipp.c_str(), usage.ru_maxrss, clock.core_ghz, clock.tsc_ghz, clock.linearity,
                cycles.median * clock.core_per_tsc(), ipc.c_str());
}

} // namespace
} // namespace mana_bench

int main(int argc, char **argv)
{
    using namespace mana_bench;
    const Options options = parse_options(argc, argv);
    if (mana_emu_set_mode(MANA_EMU_STEP) != 0)
        fail("cannot put the emulator in step mode: is libmana_emu.so loaded?");

    std::vector<std::string> eal_args = eal_arguments(options);
    std::vector<char *> eal_argv;
    for (std::string &arg : eal_args)
        eal_argv.push_back(arg.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
        fail("rte_eal_init failed: " + std::string(rte_strerror(rte_errno)));

    // Before the device model and the driver warm anything: a quiet core.
    const CoreClock clock = measure_core_clock();
    Bench bench(options);
    bench.setup();
    // On hardware a doorbell is one posted store; a trapped one adds a fault per burst to
    // what is measured. Set-up ran trapped (upstream's driver rings all its RQs on one page
    // at start); from here every round is on one queue and the model runs after it, so
    // sampling loses nothing: long doorbells carry absolute positions.
    if (mana_emu_set_doorbells(MANA_EMU_DOORBELLS_SAMPLED) != 0)
        fail("cannot make the emulator sample doorbells");
    PerfCounter counter;
    const auto windows = bench.run(counter);
    if (windows.empty())
        fail("no packets moved: the PMD or the emulator did not pass traffic");
    print_json(options, bench, windows, counter, clock);
    // The result is out before teardown: a PMD that crashes while closing (upstream 22.11's
    // interrupt handle, freed under EAL's interrupt thread) still leaves its figures.
    std::fflush(stdout);
    bench.teardown();
    rte_eal_cleanup();
    return 0;
}
