/* SPDX-License-Identifier: BSD-3-Clause */
// A TX queue: the send queue of a RAW_PACKET QP and its CQ, the ring of in-flight
// packets, tx_burst and tx_prepare.
#pragma once

#include "dpdk_memory.h"
#include "gdma/gdma.h"
#include "mr_cache.h"
#include "queue_common.h"
#include "verbs.h"

#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

// The one-segment loop is a function of its own (it keeps the registers to itself). GCC
// would also merge its OOB and address stores through an XMM register and a stack
// spill, three more instructions per packet; clang does not.
#if defined(__GNUC__) && !defined(__clang__)
#define MANA_SIMPLE_TX_LOOP_ATTRIBUTES gnu::noinline, gnu::optimize("no-tree-slp-vectorize")
#else
#define MANA_SIMPLE_TX_LOOP_ATTRIBUTES gnu::noinline
#endif

namespace mana
{

struct TxQueueConfig {
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    uint32_t descriptors = 0; // power of two
    int socket = 0;
    uint32_t max_sges = 1;       // device SGE limit per WQE
    uint32_t max_frame = 0;      // longest frame the device takes (bytes)
    bool vlan_insert = false;    // RTE_ETH_TX_OFFLOAD_VLAN_INSERT
    bool fast_free = false;      // RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE
    bool tso = false;            // RTE_ETH_TX_OFFLOAD_TCP_TSO
    bool deferred_start = false; // tx_deferred_start: created by rte_eth_dev_tx_queue_start
    uint64_t offloads = 0;       // port and queue offloads (reported by txq_info_get)
};

class TxQueue
{
  public:
    TxQueue(const TxQueueConfig &config, MrTable &mr_table);
    ~TxQueue();
    TxQueue(const TxQueue &) = delete;
    TxQueue &operator=(const TxQueue &) = delete;

    int setup();
    int start(const QueueVerbs &verbs);
    // Destroys the verbs objects and frees every packet still in flight.
    void stop();

    // kTso: packets flagged RTE_MBUF_F_TX_TCP_SEG are posted as LSO WQEs. The port picks
    // the variant at start, so queues without TSO never test the flag.
    template <bool kTso>
    uint16_t burst(rte_mbuf **packets, uint16_t count);

    bool running() const { return !halted_.load(std::memory_order_acquire); }
    // A completion is requested at least every this many WQEs.
    uint32_t completion_interval() const { return cqe_interval_mask_ + 1; }
    // Fast-path queries (queue_control.cpp); both read new completions first, like
    // tx_burst, so they belong to the lcore that sends on the queue. done_cleanup frees
    // at most `limit` sent packets (0: all) and returns how many it freed.
    int descriptor_status(uint16_t offset);
    int done_cleanup(uint32_t limit);

    const TxQueueConfig &config() const { return config_; }
    // packets and bytes count what the device sent: a packet is counted when its
    // completion is read (a burst reads them), a failed one goes to errors. counters()
    // is what bursts have read; counters_with_unread_completions() adds the packets whose
    // success completions wait in the CQ, so an idle queue reports all it sent. The
    // latter reads the CQ: only while no control operation can destroy it (the device
    // mutex held, in the process that owns the queues).
    // Both count from the last reset_counters(), which takes the counters as they are
    // then as its baseline (`cqs_readable`: with the unread completions) rather than
    // zeroing what the lcore writes.
    QueueCounters counters() const { return since_reset(counters_); }
    QueueCounters counters_with_unread_completions() const
    {
        return since_reset(with_unread_completions());
    }
    QueueEventCounters event_counters() const { return events_; }
    void reset_counters(bool cqs_readable)
    {
        baseline_ = cqs_readable ? with_unread_completions() : QueueCounters(counters_);
        events_ = {};
    }
    uint32_t in_flight() const { return head_ - tail_; }
    const BurstGate &burst_gate() const { return burst_gate_; }

    // Device reset: takes in what the device completed, then counts every packet still
    // in flight as an error (the device may or may not have sent it) and returns how
    // many; stop() then frees them.
    uint32_t abandon_in_flight();

  private:
    // Reads completions and frees what they complete, at most `limit` packets. The test
    // for none is inline; reap_ready() starts from a ready CQE.
    uint32_t reap(uint32_t limit = UINT32_MAX)
    {
        const gdma::CqSlot slot = cq_cursor_.peek();
        if (slot == gdma::CqSlot::ready)
            return reap_ready(limit);
        if (slot == gdma::CqSlot::overflow) [[unlikely]]
            report_overflow();
        return 0;
    }
    uint32_t reap_ready(uint32_t limit);
    // counters_ plus the packets of the success completions no burst has read yet.
    QueueCounters with_unread_completions() const;
    QueueCounters since_reset(const QueueCounters &counters) const;
    void empty_ring();
    // Reads every completion there is (stop, reset).
    void reap_all();
    // Counts the packets and bytes of WQEs [old_tail, tail_) that did not fail (`failed`
    // of them, `failed_bytes`) as sent and publishes the reap for
    // counters_with_unread_completions(); the caller opened the reap sequence.
    // `at_request`: tail_ - 1 asked for a completion, so posted_bytes_ has its total;
    // otherwise the mbufs' lengths are added up.
    void count_completed(uint32_t old_tail, bool at_request, uint32_t failed,
                         uint64_t failed_bytes);
    [[gnu::cold]] uint64_t bytes_of(uint32_t from, uint32_t to) const;
    // Only the lcore (or the control path with the queue halted) writes the sequence, so
    // the value open returns is the one close moves on from.
    uint32_t open_reap_sequence()
    {
        const uint32_t opened = reap_sequence_.load(std::memory_order_relaxed) + 1;
        reap_sequence_.store(opened, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        return opened;
    }
    void close_reap_sequence(uint32_t opened)
    {
        reap_sequence_.store(opened + 1, std::memory_order_release);
    }
    // What counters_with_unread_completions() reads of the lcore's cursor state, copied
    // at the end of each reap (relaxed atomics: it reads them while a reap may run).
    void publish_reap_state()
    {
        published_.tail.store(tail_, std::memory_order_relaxed);
        published_.cq_head.store(cq_cursor_.head(), std::memory_order_relaxed);
        published_.requests_tail.store(requests_tail_, std::memory_order_relaxed);
        published_.completed_bytes.store(completed_bytes_, std::memory_order_relaxed);
    }
    [[gnu::cold, gnu::noinline]] void report_overflow();
    // Handles a CQE that is not a plain success for a pending CQE request; false when
    // the CQE was left unread because it completes more than `room` packets.
    // A failed WQE's packet goes to errors; `failed_packets` and `failed_bytes` collect it for
    // count_completed().
    bool reap_unusual(const gdma::Cqe &cqe, uint32_t room, uint32_t &failed_packets,
                      uint64_t &failed_bytes);
    void complete_through(uint32_t last);
    void release(uint32_t from, uint32_t to);
    void free_sent(rte_mbuf **entries, uint32_t count, rte_mempool_cache *cache);
    [[gnu::noinline, gnu::cold]] void free_sent_tagged(rte_mbuf **entries, uint32_t count,
                                                       rte_mempool_cache *cache);
    bool plain(const rte_mbuf *mbuf);
    // kWriteHeader false: the BU holds a one-segment WQE's header already (see
    // headers_in_place_from_bu_), and only the words after it are written.
    template <bool kWriteHeader = true>
    void write_simple_wqe(std::byte *wqe, const rte_mbuf *mbuf, uintptr_t address, uint32_t len,
                          uint32_t lkey) const;
    struct SimpleRun {
        uint64_t bytes = 0;
        uint32_t written = 0;
        bool outside_range = false; // stopped at a buffer outside the range
    };
    template <bool kWriteHeader>
    [[MANA_SIMPLE_TX_LOOP_ATTRIBUTES]] SimpleRun write_simple_wqes(rte_mbuf *const *entries,
                                                                   uint32_t count, std::byte *wqe,
                                                                   const RangeCheck &range) const;
    uint32_t post_simple(rte_mbuf **packets, uint32_t taken, uint32_t count, bool &lkey_failed);
    template <bool kTso>
    [[gnu::noinline]] uint32_t post_others(rte_mbuf **packets, uint32_t taken, uint32_t count,
                                           bool lkey_failed, uint32_t &dropped);
    // What became of a packet the general path was given: posted, or dropped because the
    // device cannot send what its header describes, its chain contradicts the header, or
    // a segment's memory has no key.
    enum class PostResult : uint8_t { posted, unsendable, malformed_chain, unregistered_memory };
    // Posts a packet of `sge_count` SGEs at most through the general WQE writer.
    PostResult post(rte_mbuf *mbuf, bool request_cqe, uint32_t sge_count);
    // The packet's SGEs, into `room`; `count` says how many were written.
    PostResult gather(const rte_mbuf *mbuf, uint32_t split, std::span<gdma::Sge> room,
                      uint32_t &count);
    void count_drop(PostResult why);
    void finish_wqe(rte_mbuf *mbuf, const gdma::DmaHeaderFields &header,
                    const gdma::TxShortOobFields &fields, std::span<const gdma::Sge> sgl,
                    bool request_cqe);
    bool has_room(const rte_mbuf *mbuf, uint32_t sges) const;
    // Posts a packet flagged for TSO as one LSO WQE of `sge_count` SGEs at most
    // (tx_tso.cpp).
    PostResult post_tso(rte_mbuf *mbuf, bool request_cqe, uint32_t sge_count);
    void record(rte_mbuf *mbuf, uint32_t size_bu, bool request_cqe);
    // Bytes posted through WQE `index` (see posted_bytes_).
    void record_posted_bytes(uint32_t index, uint64_t through)
    {
        std::atomic_ref(posted_bytes_[index & slot_mask_])
            .store(through, std::memory_order_relaxed);
    }
    void request_completion(uint32_t index, uint32_t start_bu);
    // Queues WQE `index` as the next one a success CQE completes through (a relaxed
    // atomic store: counters_with_unread_completions() reads the entries).
    void push_cqe_request(uint32_t index)
    {
        __atomic_store_n(&cqe_requests_[requests_head_++ & slot_mask_], index, __ATOMIC_RELAXED);
    }
    // BU index where the newest in-flight WQE starts: one BU before head_bu_, unless it
    // is the newest large WQE.
    uint32_t newest_start_bu() const
    {
        if (large_head_ != large_tail_) {
            const LargeWqe &large = large_wqes_[(large_head_ - 1) & slot_mask_];
            if (large.index == head_ - 1)
                return head_bu_ - large.size_bu;
        }
        return head_bu_ - 1;
    }
    // A WQE of more than one basic unit (anything the one-segment loop does not post).
    struct LargeWqe {
        uint32_t index;
        uint32_t size_bu;
    };

    // Hot state first: what every burst reads or writes, in as few cache lines as can be
    // (the lines of queues an lcore serves in turn are often no longer in L1 when the
    // queue's turn comes again).
    gdma::CqCursor cq_cursor_;
    gdma::WqeRing sq_;
    uint32_t head_ = 0;    // WQEs posted, free-running
    uint32_t tail_ = 0;    // WQEs completed
    uint32_t head_bu_ = 0; // BUs posted
    uint32_t tail_bu_ = 0; // BUs completed
    uint32_t slot_mask_ = 0;
    uint32_t cqe_interval_mask_ = 0; // request a CQE when (head & mask) == mask
    // WQEs that asked for a CQE, oldest first: a success CQE completes through the oldest
    // (free-running indices into cqe_requests_).
    uint32_t requests_head_ = 0;
    uint32_t requests_tail_ = 0;
    uint32_t sq_id_ = 0;
    void *db_page_ = nullptr;
    // Where untagged sent packets go back, and how many in-flight entries are tagged.
    rte_mempool *plain_pool_ = nullptr;
    uint32_t tagged_in_flight_ = 0;
    // In-flight WQEs larger than one BU, oldest first (free-running indices into
    // large_wqes_). Every other WQE takes exactly one BU, so the one-segment loop
    // records nothing per packet, and where any in-flight WQE starts or ends follows
    // from tail_bu_ and this list.
    uint32_t large_head_ = 0;
    uint32_t large_tail_ = 0;
    // From this BU index (free-running) on, every BU of the SQ holds the header of a
    // one-segment WQE, the same 8 bytes for all of them: the one-segment loop has written
    // a whole lap of the ring since start (the SQ memory is not ours to assume anything
    // about before) and since the last WQE of any other shape. The loop then leaves the
    // header words as they are.
    uint32_t headers_in_place_from_bu_ = 0;
    // Set while the queue does not run (not started, stopped, deferred): bursts return 0
    // and take nothing. Shared memory, so secondaries see it too.
    // Written by the control path (or recovery) while an lcore may be bursting: start
    // publishes the rings it reset with a release store, bursts load with acquire (plain
    // moves on x86).
    std::atomic<bool> halted_{true};
    BurstGate burst_gate_;
    // Packet of each in-flight WQE; bit 0 set (tagged) when it is not plain(), see
    // free_sent().
    DpdkArray<rte_mbuf *> mbufs_;
    DpdkArray<uint32_t> cqe_requests_; // WQE indices, see requests_head_
    // The range the last one-segment packet's buffer was in, for buffers of up to
    // max_frame bytes.
    RememberedRange range_;
    QueueCounters counters_;
    QueueCounters baseline_; // see reset_counters()
    // ol_flags that keep a packet out of the one-segment loop.
    uint64_t not_simple_flags_ = 0;
    TxQueueConfig config_;
    MrTable &mr_table_;
    // Indexed by ol_flags bits 52-56 (the checksum requests): the OOB's 64 bits for
    // those requests, and what the transport offset (l2_len + l3_len) is multiplied by
    // to land in its field (0 without a checksum request: the field stays 0).
    std::array<uint64_t, 32> oob_words_{};
    std::array<uint64_t, 32> transport_offset_scales_{};

    gdma::TxShortOobFields oob_template_{};
    bool overflow_logged_ = false;
    MrQueueCache mr_cache_;
    DpdkArray<LargeWqe> large_wqes_; // see large_head_
    QueueEventCounters events_;
    // Bytes posted since start, through in-flight WQE k (by slot), for every k that asks
    // for a completion (and the last of each stretch of the one-segment loop, which ends
    // at such a WQE): what a success completion through k sent is posted_bytes_[k] minus
    // completed_bytes_. Stored with relaxed atomics, as counters_with_unread_completions()
    // reads them while bursts post.
    DpdkArray<uint64_t> posted_bytes_;
    uint64_t posted_total_ = 0;    // bytes posted through head_ - 1
    uint64_t completed_bytes_ = 0; // bytes posted through tail_ - 1
    // abandon_in_flight() counted the packets in flight as errors; stop() frees them
    // without counting them again.
    bool in_flight_counted_ = false;
    // A sequence lock around each reap (odd while one runs), and the cursor state it
    // publishes, for counters_with_unread_completions().
    std::atomic<uint32_t> reap_sequence_{0};
    struct PublishedReap {
        std::atomic<uint32_t> tail{0};
        std::atomic<uint32_t> cq_head{0};
        std::atomic<uint32_t> requests_tail{0};
        std::atomic<uint32_t> requests_head{0}; // published by each burst
        std::atomic<uint64_t> completed_bytes{0};
    } published_;
    CqOwner cq_;
    QpOwner qp_;
};

uint16_t tx_burst(void *queue, rte_mbuf **packets, uint16_t count);
// tx_burst for ports with a TSO queue.
uint16_t tx_burst_tso(void *queue, rte_mbuf **packets, uint16_t count);
uint16_t tx_prepare(void *queue, rte_mbuf **packets, uint16_t count);
// Fast-path queries DPDK calls with the queue pointer (queue_control.cpp).
int tx_descriptor_status(void *queue, uint16_t offset);
int tx_done_cleanup(void *queue, uint32_t free_count);

// Most SGEs a TX WQE gets from this driver, whatever larger limit the device reports.
inline constexpr uint32_t kMaxTxSegments = 32;

} // namespace mana
