/* SPDX-License-Identifier: BSD-3-Clause */
// The device's main loop: take doorbells (those the write trap queued, then any a sampled
// page shows), run send queues, deliver frames waiting on wires, flush coalesced
// completions. Step mode runs it from mana_emu_poll(); threaded
// mode from a background thread that busy-polls while there is work.
#include "emulator.h"
#include "log.h"

#include <cstring>
#include <immintrin.h>
#include <pthread.h>

namespace mana_emu
{
namespace
{

constexpr unsigned kSqSlot = 0, kRqSlot = 1, kCqSlot = 2;
constexpr uint32_t kSlotOffset[3] = {gdma::doorbell_offset::sq, gdma::doorbell_offset::rq,
                                     gdma::doorbell_offset::cq};
// Bits 24-31 of a CQ doorbell's low word are zero when the driver writes one. The model
// sets them after reading a CQ doorbell so that the driver writing the same value again
// (re-arming at an unchanged head) is still seen as a new doorbell.
constexpr uint64_t kCqDoorbellSeenMark = 0xff000000ULL;
constexpr unsigned kSqBudgetPerPass = 256;
constexpr uint32_t kShortSlotOffset[3] = {gdma::doorbell_offset::sq_short,
                                          gdma::doorbell_offset::rq_short,
                                          gdma::doorbell_offset::cq_short};

uint64_t load_slot(std::byte *page, unsigned slot)
{
    return __atomic_load_n(reinterpret_cast<uint64_t *>(page + kSlotOffset[slot]),
                           __ATOMIC_ACQUIRE);
}

} // namespace

void Emulator::rebuild_watches()
{
    watches_.clear();
    for (auto &ctx : contexts) {
        if (ctx->dead_errno != 0)
            continue;
        watches_.push_back(Watch{ctx.get(), 0});
        for (auto &qp : ctx->qps)
            if (!qp->rss)
                watches_.push_back(Watch{ctx.get(), qp->page});
        for (auto &wq : ctx->wqs)
            watches_.push_back(Watch{ctx.get(), wq->page});
    }
    watches_dirty_ = false;
}

void Emulator::on_doorbell(Context &ctx, unsigned slot, uint64_t value)
{
    const gdma::DoorbellQueue kind = slot == kSqSlot   ? gdma::DoorbellQueue::sq
                                     : slot == kRqSlot ? gdma::DoorbellQueue::rq
                                                       : gdma::DoorbellQueue::cq;
    const auto doorbell = gdma::decode_doorbell(kind, value);
    if (slot == kSqSlot) {
        const auto it = sqs_by_id.find(doorbell.id);
        if (it == sqs_by_id.end() || it->second->ctx != &ctx) {
            ++totals.wqe_violations;
            return;
        }
        Qp &qp = *it->second;
        const Tally t = tally(port_ptr(qp.port), &qp.counters);
        t.add(&Counters::doorbells);
        if (!qp.post_tail(doorbell.tail)) {
            t.add(&Counters::wqe_violations);
            EMU_LOG(debug, "SQ %#x: doorbell tail %#x out of range", qp.sq_id, doorbell.tail);
        }
    } else if (slot == kRqSlot) {
        const auto it = rqs_by_id.find(doorbell.id);
        if (it == rqs_by_id.end() || it->second->ctx != &ctx) {
            ++totals.wqe_violations;
            return;
        }
        Wq &wq = *it->second;
        const Tally t = tally(port_ptr(wq.port), &wq.counters);
        t.add(&Counters::doorbells);
        if (doorbell.wqe_cnt != 0 || !wq.post_tail(doorbell.tail))
            t.add(&Counters::wqe_violations);
    } else {
        const auto it = cqs_by_id.find(doorbell.id);
        if (it == cqs_by_id.end() || it->second->ctx != &ctx) {
            ++totals.wqe_violations;
            return;
        }
        Cq &cq = *it->second;
        tally(port_ptr(cq.port), &cq.counters).add(&Counters::doorbells);
        cq.driver_head = doorbell.tail;
        cq.head_known = true;
        if (doorbell.arm)
            arm_cq(cq);
    }
}

// 32-bit short doorbells carry an increment, not a position, so each write must be taken
// exactly once: trapped ones never reach the page; on a sampled page the model swaps the
// slot back to zero when it reads it (and two writes between two passes merge).
void Emulator::on_short_doorbell(Context &ctx, unsigned slot, uint32_t value)
{
    const uint32_t increment = gdma::get_bits(value, 0, 16);
    const uint32_t short_id = gdma::get_bits(value, 16, 12);
    const bool arm = gdma::get_flag(value, 31);
    auto matches = [short_id](uint32_t id) { return (id & 0xfff) == short_id; };
    if (slot == kSqSlot) {
        for (auto &qp : ctx.qps) {
            if (qp->rss || !matches(qp->sq_id))
                continue;
            const Tally t = tally(port_ptr(qp->port), &qp->counters);
            t.add(&Counters::doorbells);
            if (!qp->post_increment(increment))
                t.add(&Counters::wqe_violations);
            return;
        }
    } else if (slot == kRqSlot) {
        for (auto &wq : ctx.wqs) {
            if (!matches(wq->id))
                continue;
            const Tally t = tally(port_ptr(wq->port), &wq->counters);
            t.add(&Counters::doorbells);
            if (!wq->post_increment(increment))
                t.add(&Counters::wqe_violations);
            return;
        }
    } else {
        for (auto &cq : ctx.cqs) {
            if (!matches(cq->id))
                continue;
            tally(port_ptr(cq->port), &cq->counters).add(&Counters::doorbells);
            if (cq->head_known)
                cq->driver_head = (cq->driver_head + increment) % (cq->count * 8);
            if (arm)
                arm_cq(*cq);
            return;
        }
    }
    ++totals.wqe_violations; // no such queue on this context
}

// A long doorbell, taken once. The model marks a CQ doorbell it took (bits 24-31, zero in
// what drivers write) so that a sampled page re-armed at an unchanged head still shows a
// new value.
void Emulator::take_doorbell(Context &ctx, unsigned page, unsigned slot, uint64_t value)
{
    uint64_t &taken = ctx.doorbells.taken(page)[slot];
    taken = value;
    if (value == 0)
        return; // a fresh page: nothing rung yet (no queue has id 0)
    on_doorbell(ctx, slot, value);
    if (slot == kCqSlot) {
        auto *word = reinterpret_cast<uint64_t *>(ctx.doorbells.page(page) + kSlotOffset[slot]);
        const uint64_t marked = value | kCqDoorbellSeenMark;
        if (__atomic_compare_exchange_n(word, &value, marked, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            taken = marked;
    }
}

// A store the write trap completed: every one is a doorbell of its own, even one that
// writes what the slot already holds.
void Emulator::take_trapped_store(const TrappedStore &store)
{
    Context *ctx = nullptr;
    for (auto &candidate : contexts)
        if (candidate->serial == store.tag)
            ctx = candidate.get();
    const unsigned page = store.offset / DoorbellArea::kPageBytes;
    const uint32_t in_page = store.offset % DoorbellArea::kPageBytes;
    if (ctx == nullptr || ctx->dead_errno != 0 || !ctx->doorbells.in_use(page))
        return; // the device is gone or the page no longer belongs to a queue
    std::byte *at = ctx->doorbells.page(page) + in_page;
    for (unsigned slot = 0; slot < 3; ++slot) {
        if (store.width == 8 && in_page == kSlotOffset[slot]) {
            __atomic_store_n(reinterpret_cast<uint64_t *>(at), store.value, __ATOMIC_RELEASE);
            take_doorbell(*ctx, page, slot, store.value);
            return;
        }
        if (store.width == 4 && in_page == kShortSlotOffset[slot]) {
            on_short_doorbell(*ctx, slot, static_cast<uint32_t>(store.value));
            return;
        }
    }
    std::memcpy(at, &store.value, store.width); // not a doorbell: the device ignores it
}

void Emulator::take_trapped_stores()
{
    TrappedStore store;
    while (next_trapped_store(store))
        take_trapped_store(store);
}

void Emulator::take_overflowed_store(const TrappedStore &store)
{
    Emulator &emu = instance();
    emu.waiting_callers.fetch_add(1);
    std::lock_guard guard(emu.mutex);
    emu.waiting_callers.fetch_sub(1);
    emu.take_trapped_stores();
    emu.take_trapped_store(store);
}

void Emulator::apply_doorbell_setting()
{
    take_trapped_stores(); // what was queued happened before any store the scan will see
    const bool trapped = doorbell_setting() == DoorbellSetting::trapped;
    for (auto &ctx : contexts)
        ctx->doorbells.set_trapped(trapped);
}

unsigned Emulator::scan_doorbells()
{
    take_trapped_stores();
    if (watches_dirty_)
        rebuild_watches();
    unsigned seen = 0;
    for (const Watch &watch : watches_) {
        Context &ctx = *watch.ctx;
        std::byte *page = ctx.doorbells.page(watch.page_index);
        const uint64_t *taken = ctx.doorbells.taken(watch.page_index);
        for (unsigned slot = 0; slot < 3; ++slot) {
            const uint64_t value = load_slot(page, slot);
            if (value == taken[slot]) [[likely]]
                continue;
            ++seen;
            take_doorbell(ctx, watch.page_index, slot, value);
        }
        for (unsigned slot = 0; slot < 3; ++slot) {
            auto *word = reinterpret_cast<uint32_t *>(page + kShortSlotOffset[slot]);
            if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0) [[likely]]
                continue;
            const uint32_t value = __atomic_exchange_n(word, 0U, __ATOMIC_ACQ_REL);
            ++seen;
            on_short_doorbell(ctx, slot, value);
        }
    }
    return seen;
}

unsigned Emulator::poll_pass()
{
    scan_doorbells();
    unsigned work = 0;
    for (auto &ctx : contexts) {
        if (ctx->dead_errno != 0)
            continue;
        for (auto &qp : ctx->qps) {
            if (qp->rss || qp->consumed_bu == qp->posted_bu)
                continue;
            Port *p = port_ptr(qp->port);
            if (p != nullptr && p->stalled)
                continue;
            work += process_sq(*qp, kSqBudgetPerPass);
        }
    }
    work += poll_wires();
    flush_coalesced();
    flush_cqes();
    return work;
}

void Emulator::start_thread()
{
    std::lock_guard guard(thread_control_);
    if (thread_.joinable())
        return;
    stop_.store(false);
    thread_ = std::thread([this] { thread_main(); });
}

void Emulator::stop_thread()
{
    std::lock_guard guard(thread_control_);
    if (!thread_.joinable())
        return;
    stop_.store(true);
    thread_.join();
}

void Emulator::thread_main()
{
    using Clock = std::chrono::steady_clock;
    pthread_setname_np(pthread_self(), "mana-emu");
    unsigned idle_passes = 0;
    Clock::time_point idle_since{};
    while (!stop_.load(std::memory_order_relaxed)) {
        if (waiting_callers.load(std::memory_order_relaxed) > 0)
            std::this_thread::yield(); // let a verbs/control call take the lock
        unsigned work;
        {
            std::lock_guard guard(mutex);
            work = poll_pass();
        }
        if (work != 0) {
            idle_passes = 0;
            continue;
        }
        // Idle: keep spinning for a while (the driver is usually about to ring again; a
        // yield or sleep here would cost the next burst a scheduler round trip), then
        // sleep in growing steps so that an idle emulator does not hold a core.
        if (idle_passes++ == 0)
            idle_since = Clock::now();
        if ((idle_passes & 63) != 0) {
            _mm_pause();
            continue;
        }
        const auto idle = Clock::now() - idle_since;
        if (idle < std::chrono::microseconds(500))
            _mm_pause();
        else if (idle < std::chrono::milliseconds(50))
            std::this_thread::sleep_for(std::chrono::microseconds(10));
        else
            std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
}

} // namespace mana_emu
