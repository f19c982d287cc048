/* SPDX-License-Identifier: BSD-3-Clause */
// What a TX queue does with its completions: reads them (reap), frees the packets they
// complete, counts what the device sent or failed, and lets stats_get read the ones no
// burst has read yet (a sequence lock around each reap).
#include "txq.h"

#include "log.h"
#include "mbuf_cache.h"
#include "tx_ring_entry.h"

#include <rte_lcore.h>

#include <algorithm>
#include <atomic>
#include <sched.h>

namespace mana
{

void TxQueue::reap_all()
{
    while (reap() != 0) {
    }
}

uint32_t TxQueue::abandon_in_flight()
{
    if (mbufs_.data() == nullptr || cq_ == nullptr || db_page_ == nullptr)
        return 0;
    reap_all();
    const uint32_t lost = head_ - tail_;
    if (!in_flight_counted_)
        counters_.errors += lost;
    in_flight_counted_ = true;
    return lost;
}

// The bytes of the packets of WQEs [from, to), from their mbufs (still the queue's).
uint64_t TxQueue::bytes_of(uint32_t from, uint32_t to) const
{
    uint64_t bytes = 0;
    for (uint32_t i = from; i != to; ++i)
        bytes += untagged(mbufs_[i & slot_mask_])->pkt_len;
    return bytes;
}

QueueCounters TxQueue::since_reset(const QueueCounters &counters) const
{
    // A baseline taken with unread completions is ahead of counters_ until a burst reads
    // them: nothing new happened since the reset then.
    const auto since = [](uint64_t now, uint64_t then) { return now > then ? now - then : 0; };
    QueueCounters out;
    out.packets = since(counters.packets, baseline_.packets);
    out.bytes = since(counters.bytes, baseline_.bytes);
    out.errors = since(counters.errors, baseline_.errors);
    out.no_mbuf = since(counters.no_mbuf, baseline_.no_mbuf);
    out.completions = since(counters.completions, baseline_.completions);
    out.doorbells = since(counters.doorbells, baseline_.doorbells);
    out.wqes = since(counters.wqes, baseline_.wqes);
    return out;
}

[[gnu::always_inline]] inline void TxQueue::count_completed(uint32_t old_tail, bool at_request,
                                                            uint32_t failed, uint64_t failed_bytes)
{
    if (tail_ != old_tail) {
        const uint64_t through = at_request ? posted_bytes_[(tail_ - 1) & slot_mask_]
                                            : completed_bytes_ + bytes_of(old_tail, tail_);
        counters_.packets += tail_ - old_tail - failed;
        counters_.bytes += through - completed_bytes_ - failed_bytes;
        completed_bytes_ = through;
    }
    publish_reap_state();
}

// The success CQEs after the cursor the lcore published complete through the WQEs they
// were requested for (the requests the last burst published): those packets were sent.
// The walk stops at the first CQE that is not ready or not a success (the lcore sorts
// those out), and at a request that does not lie ahead of the last one within the ring
// (a success CQE nothing asked for). The sequence lock tells a walk that overlapped a
// reap, which is then done again on the new state.
QueueCounters TxQueue::with_unread_completions() const
{
    for (unsigned spins = 0;; ++spins) {
        const uint32_t sequence = reap_sequence_.load(std::memory_order_acquire);
        if ((sequence & 1U) != 0) {
            if (spins < 1024)
                rte_pause();
            else
                sched_yield(); // the lcore was preempted in the middle of a reap
            continue;
        }
        QueueCounters counters = counters_;
        uint64_t unread_packets = 0;
        uint64_t unread_bytes = 0;
        if (!halted_.load(std::memory_order_acquire) && db_page_ != nullptr) {
            const uint32_t tail = published_.tail.load(std::memory_order_relaxed);
            const uint32_t requests_tail = published_.requests_tail.load(std::memory_order_relaxed);
            const uint32_t requests_head = published_.requests_head.load(std::memory_order_acquire);
            const gdma::CqCursor cursor =
                cq_cursor_.moved_to(published_.cq_head.load(std::memory_order_relaxed));
            uint32_t last = tail - 1;
            for (uint32_t k = 0; k != requests_head - requests_tail && k != cursor.count(); ++k) {
                if (cursor.peek_at(k) != gdma::CqSlot::ready ||
                    cursor.at(k).type() != gdma::CqeType::tx_ok)
                    break;
                const uint32_t request = __atomic_load_n(
                    &cqe_requests_[(requests_tail + k) & slot_mask_], __ATOMIC_RELAXED);
                if (request - tail >= config_.descriptors ||
                    static_cast<int32_t>(request - last) <= 0)
                    break;
                last = request;
            }
            if (last != tail - 1) {
                unread_packets = last + 1 - tail;
                unread_bytes =
                    __atomic_load_n(&posted_bytes_[last & slot_mask_], __ATOMIC_RELAXED) -
                    published_.completed_bytes.load(std::memory_order_relaxed);
            }
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (reap_sequence_.load(std::memory_order_relaxed) == sequence) {
            counters.packets += unread_packets;
            counters.bytes += unread_bytes;
            return counters;
        }
    }
}

// WQEs up to `last` take one BU each, plus what the large ones among them take more.
[[gnu::always_inline]] inline void TxQueue::complete_through(uint32_t last)
{
    uint32_t end_bu = tail_bu_ + (last + 1 - tail_);
    for (; large_tail_ != large_head_; ++large_tail_) {
        const LargeWqe &wqe = large_wqes_[large_tail_ & slot_mask_];
        if (static_cast<int32_t>(wqe.index - last) > 0)
            break;
        end_bu += wqe.size_bu - 1;
    }
    tail_bu_ = end_bu;
    tail_ = last + 1;
}

// Completions arrive in WQE order; a CQE for WQE k completes every earlier WQE
// (spec §4). Successful WQEs posted with the suppress bit produce no CQE, so a success
// CQE belongs to the oldest WQE that asked for one (the front of cqe_requests_). A failed
// WQE always produces one, suppressed or not; its WQE offset (in basic units) says which
// WQE failed. A CQE that fits none of this (nothing in flight, a type TX queues never
// get) is counted and ignored: completing WQEs on its word could free buffers the device
// still reads. At most `limit` packets are freed, together at the end.
uint32_t TxQueue::reap_ready(uint32_t limit)
{
    const uint32_t opened = open_reap_sequence();
    const uint32_t old_tail = tail_;
    uint32_t failed = 0;
    uint64_t failed_bytes = 0;
    // Whether `done` is a WQE that asked for a completion (posted_bytes_ holds its total).
    bool at_request = true;
    const uint32_t first_cqe = cq_cursor_.head();
    // The WQE everything is complete through so far; success CQEs only move this, and
    // tail_ follows once (before an unusual CQE, which works from tail_, and at the end).
    uint32_t done = old_tail - 1;
    // The head CQE is ready (reap() peeked); an overflow behind the last new completion
    // is seen by the next reap().
    do {
        const gdma::Cqe &cqe = cq_cursor_.current();
        if (cqe.type() == gdma::CqeType::tx_ok && requests_tail_ != requests_head_) [[likely]] {
            const uint32_t last = cqe_requests_[requests_tail_ & slot_mask_];
            if (last - old_tail >= limit) [[unlikely]] {
                // More than may be freed now: free the oldest ones and leave the completion
                // unread; read again, it completes the rest (tail_ moves, `last` does not).
                done = old_tail + limit - 1;
                at_request = false;
                break;
            }
            cq_cursor_.advance();
            ++requests_tail_;
            done = last;
            at_request = true;
            continue;
        }
        if (done + 1 != tail_)
            complete_through(done);
        const bool read = reap_unusual(cqe, limit - (tail_ - old_tail), failed, failed_bytes);
        done = tail_ - 1;
        at_request = false;
        if (!read)
            break;
    } while (cq_cursor_.ready());
    if (done + 1 != tail_)
        complete_through(done);
    counters_.completions += cq_cursor_.head() - first_cqe;
    count_completed(old_tail, at_request, failed, failed_bytes);
    close_reap_sequence(opened);
    if (tail_ != old_tail)
        release(old_tail, tail_);
    return tail_ - old_tail;
}

// Completions were lost: in-flight packets can no longer be matched to them. They are
// freed when the port stops.
void TxQueue::report_overflow()
{
    if (overflow_logged_)
        return;
    overflow_logged_ = true;
    ++counters_.errors;
    MANA_DRV_LOG(ERR, "port %u TX queue %u: completion queue overflow; restart the port",
                 config_.port_id, config_.queue_id);
}

bool TxQueue::reap_unusual(const gdma::Cqe &cqe, uint32_t room, uint32_t &failed_packets,
                           uint64_t &failed_bytes)
{
    const gdma::CqeType type = cqe.type();
    const bool failed = gdma::is_tx_error(type);
    if (tail_ == head_ || (type != gdma::CqeType::tx_ok && !failed)) {
        cq_cursor_.advance();
        ++counters_.errors;
        return true;
    }
    const uint32_t requested =
        requests_tail_ != requests_head_ ? cqe_requests_[requests_tail_ & slot_mask_] : head_ - 1;
    uint32_t last = requested;
    if (failed) {
        const uint32_t capacity_mask = sq_.capacity_bu() - 1;
        const uint32_t failed_bu = gdma::decode_tx_completion(cqe.oob).tx_wqe_offset;
        uint32_t start_bu = tail_bu_;
        uint32_t large = large_tail_;
        for (uint32_t i = tail_; i != requested + 1; ++i) {
            if ((start_bu & capacity_mask) == (failed_bu & capacity_mask)) {
                last = i;
                break;
            }
            ++start_bu;
            if (large != large_head_ && large_wqes_[large & slot_mask_].index == i)
                start_bu += large_wqes_[large++ & slot_mask_].size_bu - 1;
        }
    }
    if (last - tail_ >= room) {
        // More than may be freed now: free the oldest ones and leave the completion
        // unread; read again, it completes the rest (tail_ moved, `last` did not).
        if (room != 0)
            complete_through(tail_ + room - 1);
        return false;
    }
    cq_cursor_.advance();
    if (failed) {
        // The failed packet completes with the others but was not sent.
        ++counters_.errors;
        ++failed_packets;
        failed_bytes += untagged(mbufs_[last & slot_mask_])->pkt_len;
        ++events_.tx_error_cqes[static_cast<uint32_t>(type) - kFirstTxErrorCqe];
        MANA_DP_LOG(ERR, "port %u TX queue %u: TX error CQE type %u", config_.port_id,
                    config_.queue_id, static_cast<unsigned>(type));
    }
    complete_through(last);
    // Requests of WQEs that are now complete will get no CQE of their own.
    while (requests_tail_ != requests_head_ &&
           static_cast<int32_t>(cqe_requests_[requests_tail_ & slot_mask_] - tail_) < 0)
        ++requests_tail_;
    return true;
}

// Returns the packets of `count` consecutive ring entries to their pools. Untagged
// entries (the usual case: when none is tagged, all of them) go back into plain_pool_
// (through `cache`, this lcore's cache of it) one run at a time, without touching the
// mbufs; tagged ones through rte_pktmbuf_free.
[[gnu::always_inline]] inline void TxQueue::free_sent(rte_mbuf **entries, uint32_t count,
                                                      rte_mempool_cache *cache)
{
    if (tagged_in_flight_ == 0) [[likely]]
        give_back_mbufs(plain_pool_, cache, entries, count);
    else
        free_sent_tagged(entries, count, cache);
}

// Out of line: rte_pktmbuf_free inlined is kilobytes (segments, indirect and external
// buffers), and only packets that are not plain ones of plain_pool_ need it.
void TxQueue::free_sent_tagged(rte_mbuf **entries, uint32_t count, rte_mempool_cache *cache)
{
    uint32_t run = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (!(reinterpret_cast<uintptr_t>(entries[i]) & kSlowFreeTag))
            continue;
        if (i != run)
            give_back_mbufs(plain_pool_, cache, entries + run, i - run);
        rte_pktmbuf_free(untagged(entries[i]));
        --tagged_in_flight_;
        run = i + 1;
    }
    if (count != run)
        give_back_mbufs(plain_pool_, cache, entries + run, count - run);
}

// Frees the packets of WQEs [from, to): contiguous in the ring, in at most two pieces.
[[gnu::always_inline]] inline void TxQueue::release(uint32_t from, uint32_t to)
{
    const uint32_t first = from & slot_mask_;
    const uint32_t count = to - from;
    const uint32_t before_wrap = std::min(count, config_.descriptors - first);
    // No plain_pool_ yet: every packet in flight is tagged.
    rte_mempool_cache *const cache =
        plain_pool_ != nullptr ? rte_mempool_default_cache(plain_pool_, rte_lcore_id()) : nullptr;
    free_sent(&mbufs_[first], before_wrap, cache);
    if (count != before_wrap)
        free_sent(&mbufs_[0], count - before_wrap, cache);
}

} // namespace mana
