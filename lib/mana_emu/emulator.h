/* SPDX-License-Identifier: BSD-3-Clause */
// The emulator's state: the configured functions and ports, the live verbs objects, the
// device model and its faults and counters. One instance per process.
//
// Locking: one mutex guards all of it. Verbs calls and control calls take it for their
// duration; the device model takes it once per pass over all queues (never per frame),
// so the driver's fast path, which makes no calls into the emulator, never waits on it.
#pragma once

#include "config.h"
#include "faults.h"
#include "objects.h"
#include "primary_registry.h"
#include "sysfs_tree.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mana_emu
{

class FrameTap;   // wires.cpp
class PortNetdev; // port_netdev.cpp
class PcapSink;   // wires.cpp

// Largest frame the device gathers from one TX WQE (a TSO super-frame) and the largest it
// puts on the wire or receives (9000-byte MTU, Ethernet header, one VLAN tag, FCS room).
inline constexpr size_t kMaxTxFrameBytes = 256 * 1024;
inline constexpr size_t kMaxWireFrameBytes = 9000 + 14 + 4 + 4;

struct Vf {
    FunctionConfig config;
    unsigned first_port = 0; // global index of IB port 1
    ibv_device device{};
    bool removed = false;
    bool fatal = false;
    std::chrono::steady_clock::time_point recover_at{}; // fatal: when opens work again
    bool recovers = false;
};

enum class WireMode { none, loopback, ports, capture, tap };

struct Port {
    unsigned index = 0;
    Vf *vf = nullptr;
    unsigned ib_port = 0;
    MacAddress mac{};
    std::string ifname;

    WireMode wire = WireMode::none;
    unsigned peer = 0;
    std::unique_ptr<FrameTap> tap;
    std::unique_ptr<PcapSink> pcap;
    std::deque<std::vector<uint8_t>> captured; // wire capture, for mana_emu_capture
    std::deque<std::vector<uint8_t>> inbound;  // frames waiting to be received
    // A frame read from the TAP whose receive queue had no buffer: it waits there, and the
    // TAP is not read again until it is taken (flow control; see mana_emu_wire_counters).
    std::vector<uint8_t> tap_waiting;
    WireCounters wire_counters{};

    unsigned tx_error_count = 0;
    gdma::CqeType tx_error_type = gdma::CqeType::tx_ok;
    unsigned rx_truncate_count = 0;
    bool stalled = false;
    Qp *rss_qp = nullptr; // the receive path: the newest live RSS QP of the port
    Counters counters{};
};

// Adds to the emulator's totals, a port's and a queue's counters at once.
struct Tally {
    Counters *scopes[3] = {};
    void add(uint64_t Counters::*field, uint64_t n = 1) const
    {
        for (Counters *c : scopes)
            if (c != nullptr)
                c->*field += n;
    }
};

class Emulator
{
  public:
    static Emulator &instance();
    Emulator();
    ~Emulator();
    Emulator(const Emulator &) = delete;
    Emulator &operator=(const Emulator &) = delete;

    std::mutex mutex;
    std::atomic<int> waiting_callers{0}; // the model's thread yields the lock to them

    // ---- topology (emulator.cpp)
    int apply_config(const Config &config); // rebuilds functions, ports, sysfs
    Config config;
    // ---- a DPDK secondary's emulator joins its primary's device (emulator.cpp)
    DpdkProcess dpdk_process;
    std::string loaded_config_text; // MANA_EMU_CONFIG as loaded: what a primary publishes
    long joined_primary = 0;        // pid of the primary whose device this process uses
    bool published_as_primary = false;
    void publish_as_primary(); // on opening a device: secondaries of the prefix find it
    // MANA_EMU_DOORBELLS or mana_emu_set_doorbells(): outlasts reconfiguration.
    std::optional<DoorbellSetting> doorbells_override;
    DoorbellSetting doorbell_setting() const
    {
        return doorbells_override.value_or(config.doorbells);
    }
    void apply_doorbell_setting(); // to the open devices (device_model.cpp)
    std::vector<std::unique_ptr<Vf>> vfs;
    std::vector<std::unique_ptr<Port>> ports;
    SysfsTree sysfs;
    Vf *vf_of(const ibv_device *device);
    Vf *vf_by_bdf(const std::string &bdf);
    Port *port(unsigned index) { return index < ports.size() ? ports[index].get() : nullptr; }

    // ---- objects (verbs_*.cpp)
    std::list<std::unique_ptr<Context>> contexts;
    std::unordered_map<uint32_t, Cq *> cqs_by_id;
    std::unordered_map<uint32_t, Qp *> sqs_by_id;
    std::unordered_map<uint32_t, Wq *> rqs_by_id;
    std::unordered_map<uint32_t, Mr *> mrs_by_lkey;
    uint64_t mr_generation = 1; // bumped whenever a region goes away
    Mr *find_mr(uint32_t lkey, MrCache &cache)
    {
        if (cache.mr != nullptr && cache.lkey == lkey && cache.generation == mr_generation)
            [[likely]]
            return cache.mr;
        const auto it = mrs_by_lkey.find(lkey);
        if (it == mrs_by_lkey.end())
            return nullptr;
        cache = MrCache{lkey, mr_generation, it->second};
        return it->second;
    }
    uint32_t next_queue_id = 0x801; // above 0x3ff so VSQ frame numbers are non-zero
    uint32_t next_key = 0x1000;
    uint32_t next_handle = 1;
    uint64_t next_context_serial = 1;
    uint64_t live_objects = 0;

    Context *context_of(ibv_context *ctx);
    bool owns(const Context *ctx, const void *object) const;
    // Releases every object of a context; queue buffers go back through the application's
    // free callback unless the process is exiting (the application's allocator, e.g. DPDK
    // memory, may already be gone by then).
    void destroy_context_objects(Context &ctx, bool return_buffers = true);
    void refresh_receive_paths();
    void raise_async_event(Context &ctx, ibv_event_type type);

    // ---- faults and counters (faults.cpp, counters.cpp)
    VerbFaults verb_faults;
    uint64_t verb_calls = 0;
    Counters totals{};
    Tally tally(Port *port, Counters *queue)
    {
        return Tally{{&totals, port ? &port->counters : nullptr, queue}};
    }
    Port *port_ptr(int index) { return index < 0 ? nullptr : port(static_cast<unsigned>(index)); }
    void fill_live_counts(Counters &out, int port_filter) const;

    // ---- device model (device_model.cpp)
    unsigned poll_pass();
    void start_thread();
    void stop_thread();
    bool threaded = true;
    bool sysfs_env_set_by_us = false;
    std::string sysfs_pci_dir; // what mana_emu_sysfs_pci_dir() hands out

    // ---- TX, RX, completions (tx_engine.cpp, rx_engine.cpp, completions.cpp)
    unsigned process_sq(Qp &qp, unsigned budget);
    gdma::CqeType transmit_wqe(Qp &qp, Port *port, const gdma::ParsedWqe &wqe, bool &suppress);
    void transmit(Port &port, std::span<const uint8_t> frame, Counters *queue);
    // How a frame that finds its receive queue without a buffer is treated: dropped and
    // counted (a wire, as on hardware), or given back to the caller to wait (a TAP).
    enum class NoBuffer { drop, wait };
    // False only when the frame must wait (NoBuffer::wait and no buffer posted).
    bool receive(Port &port, std::span<const uint8_t> frame, NoBuffer no_buffer = NoBuffer::drop);
    bool deliver(Wq &wq, Port &port, std::span<const uint8_t> data, uint32_t hash,
                 gdma::RxCompletionFields &fields, NoBuffer no_buffer);
    void write_report(const char *path) const; // MANA_EMU_REPORT (counters.cpp)
    unsigned poll_tap(Port &port);             // wires.cpp
    void flush_pending(Wq &wq);
    void flush_coalesced();
    void write_cqe(Cq &cq, const std::array<uint32_t, gdma::kCqeOobWords> &oob, uint32_t wq_num,
                   bool is_sq, Port *port, Counters *queue);
    void write_raw_cqe(Cq &cq, const uint8_t bytes[64]);
    void flush_cqes(); // puts the staged completions into their rings
    void arm_cq(Cq &cq);
    bool queue_alive(const Context *ctx) const { return ctx->dead_errno == 0; }

    // ---- wires (wires.cpp)
    int set_wire(unsigned port, WireMode mode, unsigned peer, const char *ifname);
    unsigned poll_wires();

  private:
    // Kernel netdevs of the ports, by global port (kept across reconfiguration).
    std::vector<std::unique_ptr<PortNetdev>> netdevs_;
    bool netdevs_unavailable_ = false; // creating one failed: fall back for good
    std::string netdev_for_port(unsigned global_port, const MacAddress &mac, bool wanted);
    // Functions and ports of `config` (with kernel netdevs if `netdevs`), and the sysfs
    // description of them.
    struct Topology {
        std::vector<std::unique_ptr<Vf>> vfs;
        std::vector<std::unique_ptr<Port>> ports;
        std::vector<SysfsFunction> sysfs_functions;
    };
    Topology build_topology(const Config &config, bool netdevs);
    void install_topology(const Config &config, Topology topology); // device names from sysfs
    void export_sysfs_dir();                                        // SYSFS_PCI_DEVICES
    bool join_primary(const PrimaryRecord &primary);

    // The pages the model samples each pass (those of live contexts' queues).
    struct Watch {
        Context *ctx;
        unsigned page_index;
    };
    std::vector<Watch> watches_;
    bool watches_dirty_ = true;
    void rebuild_watches();
    unsigned scan_doorbells();
    void take_trapped_store(const TrappedStore &store);
    void take_doorbell(Context &ctx, unsigned page, unsigned slot, uint64_t value);
    void on_doorbell(Context &ctx, unsigned slot, uint64_t value);
    void on_short_doorbell(Context &ctx, unsigned slot, uint32_t value);
    std::vector<Wq *> coalescing_;
    // Completions produced but not yet in their rings (see flush_cqes). Never left staged
    // when the lock is released, so a CQ cannot go away under a staged entry.
    struct StagedCqe {
        gdma::Cqe *entry;
        gdma::Cqe value;
        Cq *event_cq; // armed CQ whose channel gets an event once the entry is visible
    };
    std::array<StagedCqe, 64> staged_{};
    unsigned staged_count_ = 0;
    std::vector<uint8_t> tx_frame_;
    std::vector<uint8_t> rx_frame_;
    std::vector<uint8_t> tap_buffer_ = std::vector<uint8_t>(65536);

    std::mutex thread_control_; // start/stop of the thread, never held with `mutex`
    std::thread thread_;
    std::atomic<bool> stop_{false};
    void thread_main();

  public:
    // The write trap's queue was full: takes what it holds, then `store`, on the storing
    // thread under the lock.
    static void take_overflowed_store(const TrappedStore &store);
    // Takes the stores the write trap queued. Every verbs and control call does so first:
    // on hardware a doorbell written before a command reaches the device before it.
    void take_trapped_stores();
    void watches_changed() { watches_dirty_ = true; }
    void note_coalescing(Wq *wq) { coalescing_.push_back(wq); }
    void forget_queue(const void *queue);
};

// One verbs call: takes the emulator lock, counts the call and applies injected faults.
class VerbCall
{
  public:
    explicit VerbCall(const char *name);
    Emulator &emu;
    std::unique_lock<std::mutex> lock;
    int error = 0; // non-zero: fail the call with this errno

  private:
    static Emulator &enter(Emulator &emu);
};

// Helpers for verbs returning a pointer or an int errno.
template <typename T>
T *fail_with(int error)
{
    errno = error;
    return nullptr;
}

} // namespace mana_emu
