/* SPDX-License-Identifier: BSD-3-Clause */
// An RX queue: a verbs WQ (the device's receive queue) and its CQ, a ring of posted
// mbufs, and rx_burst.
//
// Every RX WQE is one basic unit (header, zero OOB, one SGE) at the slot equal to its
// index, so the ring is written once as a template at start and a refill only stores
// the buffer address and lkey. With RX scatter (sges > 1) every WQE carries that many
// buffers, a frame fills them in order and arrives as an mbuf chain (rx_scatter.cpp); a
// frame that fits one buffer takes only the first, and the others stay in the WQE for its
// next post. Five-buffer WQEs take the 24-byte inline OOB, so that they are 4 BUs and stay
// in place (open()).
#pragma once

#include "dpdk_memory.h"
#include "gdma/gdma.h"
#include "mbuf_cache.h"
#include "mr_cache.h"
#include "queue_common.h"
#include "ring_bits.h"
#include "rx_mbuf_writer.h"
#include "verbs.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_power_intrinsics.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace mana
{

struct RxQueueConfig {
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    uint32_t descriptors = 0; // power of two
    int socket = 0;
    rte_mempool *pool = nullptr;
    bool vlan_strip = false;
    bool checksum_flags = false; // RX checksum offload requested
    bool rss_hash = false;       // RSS hash delivered in mbufs
    bool interrupts = false;     // completion channel for RX interrupts
    bool scatter = false;        // RTE_ETH_RX_OFFLOAD_SCATTER
    uint32_t sges = 1;           // buffers per WQE (> 1 only with scatter)
    bool deferred_start = false; // rx_deferred_start: posted by rte_eth_dev_rx_queue_start
    uint32_t free_threshold = 1; // rx_free_thresh: a burst refills once this many are free
    uint64_t offloads = 0;       // port and queue offloads (reported by rxq_info_get)
};

// rx_free_thresh when the application leaves it 0. Bursts of one packet then share a refill
// (mbuf allocation, registration check, doorbell) eight ways, which saves nine tenths of
// what 32 would; 32 (Intel's default, for rings of 512 and more) left up to an eighth of a
// 256-entry ring unposted, and under overload the device dropped 1.5 to 1.7 % of the
// frames where it dropped 0.8 to 1.0 % refilling every burst (mana-soak).
inline constexpr uint32_t kDefaultRxFreeThreshold = 8;

// The refill threshold of a ring of `descriptors` for the rx_free_thresh `requested`: the
// default is kDefaultRxFreeThreshold, or a quarter of a ring smaller than 32 descriptors.
// 0 when the request cannot be met (a ring that is never refilled before it is empty).
constexpr uint32_t rx_free_threshold(uint32_t requested, uint32_t descriptors)
{
    if (requested == 0)
        return std::min(kDefaultRxFreeThreshold, std::max(descriptors / 4, 1U));
    return requested < descriptors ? requested : 0;
}
static_assert(rx_free_threshold(0, 256) == 8 && rx_free_threshold(0, 32) == 8);
static_assert(rx_free_threshold(0, 16) == 4 && rx_free_threshold(0, 2) == 1);
static_assert(rx_free_threshold(255, 256) == 255 && rx_free_threshold(256, 256) == 0);

// Most buffers a scattered frame is received into: 9022 bytes in 1024-byte buffers.
inline constexpr uint32_t kMaxRxSegments = 9;

// Bytes of one RX buffer: the data room after the headroom.
inline uint32_t rx_buffer_bytes(const rte_mempool *pool)
{
    return rte_pktmbuf_data_room_size(const_cast<rte_mempool *>(pool)) - RTE_PKTMBUF_HEADROOM;
}

// Buffers a frame of `frame` bytes fills (control path only: it divides).
constexpr uint32_t rx_buffers_for(uint32_t frame, uint32_t buffer_bytes)
{
    return (frame + buffer_bytes - 1) / buffer_bytes;
}

class RxQueue
{
  public:
    RxQueue(const RxQueueConfig &config, MrTable &mr_table);
    ~RxQueue();
    RxQueue(const RxQueue &) = delete;
    RxQueue &operator=(const RxQueue &) = delete;

    // Queue setup: the mbuf ring and the pool's memory registration. Negative errno.
    int setup();
    // Device start: creates the CQ and WQ and posts a buffer in every slot.
    int start(const QueueVerbs &verbs);
    // Device stop: destroys the verbs objects and returns every mbuf to its pool.
    void stop();

    // Per-queue control (queue_control.cpp). A stopped queue of a started port keeps a WQ
    // with no buffers in the RSS table, so the device drops what is steered to it.
    // open: creates the CQ and WQ without posting; post_all: fills the ring and starts
    // the bursts; close: destroys CQ and WQ and frees the buffers, keeping the
    // completion channel (its fd is in the port's interrupt handle).
    int open(const QueueVerbs &verbs);
    int post_all();
    void close();
    // Counts the frames the device completed that no burst returned (the queue is
    // closing), as errors and rx_discarded_at_stop.
    void count_discarded_frames();
    bool running() const { return !halted_.load(std::memory_order_acquire); }

    // Fast-path queries (queue_control.cpp): buffers the device has filled that no burst
    // has returned yet, the state of the descriptor `offset` places after the next one a
    // burst returns, and the power-monitor condition that says a completion has arrived.
    // They read the rings, so they enter the burst gate like a burst (call them from the
    // lcore that polls the queue) and answer as for a stopped queue while it is halted.
    uint32_t filled_count();
    int descriptor_status(uint16_t offset);
    int monitor_condition(rte_power_monitor_cond &condition);

    // kScatter: a WQE carries config().sges buffers and packets arrive as mbuf chains.
    template <bool kScatter>
    uint16_t burst(rte_mbuf **packets, uint16_t max);
    // Buffers per WQE from the next start on (the port is stopped).
    void set_sges(uint32_t sges) { config_.sges = sges; }

    // RX interrupts: the completion channel's fd (-1 without), arming the CQ for one
    // event on the next completion, and draining delivered events.
    int interrupt_fd() const { return channel_ ? channel_->fd : -1; }
    int arm_interrupt();
    int drain_interrupt();

    ibv_wq *wq() const { return wq_.get(); }
    const RxQueueConfig &config() const { return config_; }
    // RX VLAN strip switched on or off (vlan_offload.cpp); only while the port is stopped,
    // as bursts read the setting without synchronisation.
    void set_vlan_strip(bool strip);
    QueueCounters counters() const { return counters_; }
    QueueEventCounters event_counters() const { return events_; }
    void reset_counters()
    {
        counters_ = {};
        events_ = {};
    }
    uint32_t posted() const { return head_ - tail_; }
    const BurstGate &burst_gate() const { return burst_gate_; }

  private:
    // Offload flags and packet type of the packets of a CQE, decoded from its flags word.
    // Consecutive CQEs of a flow carry the same word, so the last decode is kept and a
    // CQE costs one comparison unless its flags differ.
    struct DecodedFlags {
        uint32_t flags = 0;
        uint32_t packet_type = 0;
        uint64_t ol_flags = 0;
        uint16_t vlan_tci = 0;    // the stripped tag's VLAN id, 0 without one
        bool restore_tag = false; // a tag was stripped but the application wants it in the frame
    };
    DecodedFlags decode(uint32_t flags) const;

    uint32_t count_filled() const;

    RxMbufWriter mbuf_writer(const DecodedFlags &decoded) const
    {
        return RxMbufWriter(rearm_, decoded.ol_flags, decoded.packet_type, decoded.vlan_tci);
    }

    // Writes a buffer's address and lkey into the template WQE of slot `index`.
    void post_buffer(uint32_t index, uintptr_t address, uint32_t lkey)
    {
        write_sge_buffer(wq_base_ + ((index << gdma::kBasicUnitShift) & wq_bytes_mask_) +
                             kSgeOffset,
                         address, lkey);
    }
    // The buffer half of an SGE; its size is the template's (or written apart).
    static void write_sge_buffer(std::byte *sge, uintptr_t address, uint32_t lkey)
    {
        gdma::store_le64(sge + offsetof(gdma::Sge, address), address);
        gdma::store_le32(sge + offsetof(gdma::Sge, memory_key), lkey);
    }
    // Where a fresh mbuf's data goes, after its headroom. kInlineBuffers: the buffer
    // follows the mbuf, `inline_offset` (inline_buffer_offset_) after it, so the mbuf itself
    // is not read. The offset is a parameter so that loops keep it in a register (their
    // stores to the WQ could alias the queue's members).
    template <bool kInlineBuffers>
    static uintptr_t buffer_address(const rte_mbuf *mbuf, uint32_t inline_offset)
    {
        if constexpr (kInlineBuffers)
            return reinterpret_cast<uintptr_t>(mbuf) + inline_offset;
        else
            return reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
    }
    static uintptr_t buffer_address(const rte_mbuf *mbuf, uint32_t inline_offset)
    {
        return inline_offset != 0 ? buffer_address<true>(mbuf, inline_offset)
                                  : buffer_address<false>(mbuf, inline_offset);
    }
    template <bool kScatter>
    uint32_t receive_simple(rte_mbuf **packets, uint32_t received, uint32_t max);
    template <bool kScatter>
    [[gnu::noinline]] bool receive_any(rte_mbuf **packets, uint32_t &received, uint32_t max);
    rte_mbuf *take_buffer(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                          uint32_t packet);
    // Gives a consumed buffer straight back to the device (error completions).
    bool repost(rte_mbuf *mbuf);
    // Cold: the registered range of a buffer the queue's cache and the table miss,
    // registering the pool's memory; nullopt when the device cannot be given it.
    [[gnu::cold, gnu::noinline]] std::optional<MrRange> register_buffer(uintptr_t address);
    // Cold: says once per start that buffers stay unposted for want of a registration.
    [[gnu::cold, gnu::noinline]] void report_unregistered();
    // Whether a burst refills: once free_threshold WQEs are empty (received from, or left
    // unposted by a refill that ran out of mbufs), so that small bursts share a refill.
    // free_threshold shares its cache line with config_.pool, which every refill reads.
    bool refill_due() const
    {
        return config_.descriptors - (head_ - tail_) >= config_.free_threshold;
    }
    uint32_t refill();
    // Posts `count` fresh mbufs into the slots from head_ on (no wrap), stopping at one
    // whose memory has no registration; returns how many were posted.
    template <bool kInlineBuffers>
    uint32_t post_fresh(rte_mbuf *const *mbufs, uint32_t count, RangeCheck &range);
    [[gnu::noinline]] std::optional<RangeCheck> find_range(uintptr_t address);
    // RX scatter (rx_scatter.cpp). A WQE's ring slots hold the buffers of its SGEs while it
    // is posted. When a frame fills only the first buffer nothing is written to the slots
    // (slot 0 still names the delivered mbuf, as on a queue of single buffers); otherwise
    // the delivered buffers' slots are emptied, the others keep theirs (all of them after
    // an error completion), and the WQE is marked in refill_counts_slots_. The refill tops
    // the WQE up and posts it again.
    // post_chain: the WQE at head_ with `buffers` (config().sges of them), of which the
    // first `fresh` were not in it when it was posted last; false (nothing posted) for
    // memory the device cannot be given.
    [[gnu::always_inline]] bool post_chain(rte_mbuf *const *buffers, uint32_t fresh,
                                           RangeCheck &range);
    // Fresh mbufs a scattering queue's refill takes at once, at most.
    static constexpr uint32_t kChainRefillBatch = 64;
    static_assert(kChainRefillBatch >= kMaxRxSegments);
    using ChainRefillBatch = MbufBatch<kChainRefillBatch>;
    // refill_chains: the refill of a scattering queue, its common case inline (short
    // frames' WQEs in place: post_short_frames); refill_wqes: everything else, WQE by WQE,
    // out of line so that the common case keeps its registers.
    uint32_t refill_chains();
    [[gnu::noinline]] uint32_t refill_wqes(ChainRefillBatch &batch, uint32_t want,
                                           RangeCheck &range);
    template <bool kInlineBuffers>
    uint32_t post_short_frames(ChainRefillBatch &batch, uint32_t want, const RangeCheck &range);
    [[gnu::always_inline]] uint32_t post_short_frames(ChainRefillBatch &batch, uint32_t want,
                                                      const RangeCheck &range);
    void write_chain_template();
    void copy_sges(uint32_t target, uint32_t source, uint32_t from, uint32_t count);
    // Byte offset in the WQ of the scattering queue's WQE `index` (wqe_bu_ BUs each).
    uint32_t chain_wqe_offset(uint32_t index) const
    {
        return ((index * wqe_bu_) << gdma::kBasicUnitShift) & wq_bytes_mask_;
    }
    // The packet of `length` bytes in the WQE at tail_ (one mbuf, or a chain), its head's
    // fields written; nullptr (the buffers left for the refill) if the length cannot be in
    // that WQE.
    rte_mbuf *take_chain(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                         uint32_t packet);
    // Returns every mbuf in the ring to its pool and empties the slots (the queue closes).
    void free_ring();
    uint32_t wqe_bu() const { return config_.sges == 1 ? 1 : wqe_bu_; }
    void write_template();

    // Where the SGE sits in a single-buffer RX WQE: after the DMA header and the 8-byte
    // inline OOB (a scattering queue's is chain_sge_offset_).
    static constexpr uint32_t kSgeOffset = sizeof(gdma::DmaHeader) + gdma::kSmallInlineOobBytes;
    // Hot state first: what every burst reads or writes, in as few cache lines as can be
    // (the lines of queues an lcore serves in turn are often no longer in L1 when the
    // queue's turn comes again).
    gdma::CqCursor cq_cursor_;
    std::byte *wq_base_ = nullptr;
    uint32_t wq_bytes_mask_ = 0;
    uint32_t ring_mask_ = 0;
    uint32_t head_ = 0;       // WQEs posted, free-running
    uint32_t tail_ = 0;       // WQEs completed, free-running
    uint32_t cqe_packet_ = 0; // packets of the head CQE already delivered
    uint32_t wq_id_ = 0;
    void *db_page_ = nullptr;
    uint64_t flag_mask_ = 0;     // mbuf offload flags the configuration allows
    uint64_t ol_flags_base_ = 0; // flags every mbuf of the pool keeps (pinned external buffers)
    uint64_t rearm_ = 0;         // data_off, refcnt, nb_segs and port of a delivered mbuf
    DecodedFlags decoded_;
    uint32_t buffer_bytes_ = 0;
    // From an mbuf of the pool to its buffer's data (sizeof(rte_mbuf), private area,
    // headroom): a direct mbuf's buffer follows it, so a refill need not read buf_addr.
    // 0 for pools whose mbufs carry an external buffer (read from buf_addr).
    uint32_t inline_buffer_offset_ = 0;
    // The registered range the last refill's buffers were in.
    RememberedRange refill_range_;
    uint32_t wqe_bu_ = 1; // BUs per WQE
    // The DMA header of a scattering queue's WQEs (zero OOB, config_.sges SGEs).
    uint64_t chain_wqe_header_ = 0;
    // Where the SGL starts in a scattering queue's WQE: after the header and the inline
    // OOB, 8 bytes or 24 (see open()).
    uint32_t chain_sge_offset_ = kSgeOffset;
    // Whether a WQE's SGEs are still in place when its slot is posted again (open()).
    bool reuse_sges_ = false;
    // Whether every slot's WQE is posted at the same place each time (open()), so that
    // only its fresh buffers' SGEs are written.
    bool chain_in_place_ = false;
    BurstGate burst_gate_;
    QueueCounters counters_;
    // Set while the queue does not run (not started, stopped, deferred): bursts return 0
    // without touching the rings. Shared memory, so secondaries see it too.
    // Written by the control path (or recovery) while an lcore may be bursting: start
    // publishes the rings it reset with a release store, bursts load with acquire (plain
    // moves on x86).
    std::atomic<bool> halted_{true};
    bool overflow_logged_ = false;
    bool unregistered_logged_ = false;
    DpdkArray<rte_mbuf *> ring_;
    // A scattering queue's WQEs whose refill finds the empty slots by reading them: a long
    // frame's, one whose buffers an error completion left, or one never posted. Clear for
    // a posted WQE and for one only the first buffer of which was delivered, so that the
    // refill of a run of short frames reads one word, not their slots.
    RingBits refill_counts_slots_;
    RxQueueConfig config_;
    MrTable &mr_table_;

    MrQueueCache mr_cache_;
    QueueEventCounters events_;
    uint32_t cq_id_ = 0;
    CompChannelOwner channel_;
    CqOwner cq_;
    WqOwner wq_;
};

// The rx_burst entry point DPDK calls.
uint16_t rx_burst(void *queue, rte_mbuf **packets, uint16_t max);
// rx_burst for ports with a scattering RX queue.
uint16_t rx_burst_scatter(void *queue, rte_mbuf **packets, uint16_t max);
// Fast-path queries DPDK calls with the queue pointer (queue_control.cpp).
uint32_t rx_queue_count(void *queue);
int rx_descriptor_status(void *queue, uint16_t offset);
int get_monitor_addr(void *queue, rte_power_monitor_cond *condition);

} // namespace mana
