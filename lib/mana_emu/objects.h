/* SPDX-License-Identifier: BSD-3-Clause */
// The verbs objects the emulator hands out. Each starts with the rdma-core struct the
// application sees, so the pointer the application passes back converts to ours; every
// conversion is checked against the emulator's registry of live objects first.
#pragma once

#include "resources.h"
#include "rss_flow_cache.h"

#include "gdma/gdma.h"
#include "mana_emu.h"

#include <infiniband/manadv.h>
#include <infiniband/verbs.h>

#include <array>
#include <deque>
#include <memory>
#include <vector>

namespace mana_emu
{

namespace gdma = mana::gdma;
using Counters = struct mana_emu_counters;
using WireCounters = struct mana_emu_wire_counters;

struct Context;
struct Cq;
struct Vf;

inline constexpr int kNoPort = -1;

struct Pd {
    ibv_pd ibv{};
    Context *ctx = nullptr;
    Pd *base = nullptr; // a parent domain's protection domain (nullptr for a plain PD)
    int port = kNoPort; // global port of a parent domain (its pd_context)
    unsigned users = 0; // MRs, queues and parent domains that reference it

    bool is_parent() const { return base != nullptr; }
    // The protection domain that owns memory registrations.
    const Pd *protection_domain() const { return base ? base : this; }
};

struct Mr {
    ibv_mr ibv{};
    Context *ctx = nullptr;
    Pd *pd = nullptr;
    uint64_t start = 0;        // IOVA range the device accepts in SGEs
    uint64_t end = 0;          // one past the last byte
    std::byte *host = nullptr; // what IOVA `start` is in this process

    // Host memory of an SGE, or nullptr when [iova, iova + size) is not inside the region.
    std::byte *translate(uint64_t iova, uint32_t size) const
    {
        if (iova < start || iova > end || end - iova < size)
            return nullptr;
        return host + (iova - start);
    }
};

struct Channel {
    ibv_comp_channel ibv{};
    Context *ctx = nullptr;
    EventCounter events;
    std::deque<Cq *> pending; // CQs with an undelivered completion event, in order
    unsigned cqs = 0;
};

struct Cq {
    ibv_cq ibv{};
    Context *ctx = nullptr;
    uint32_t id = 0;
    uint32_t count = 0; // entries, as requested
    gdma::Cqe *ring = nullptr;
    void *buf = nullptr;
    size_t buf_bytes = 0;
    Channel *channel = nullptr;
    int port = kNoPort; // the port of the first queue bound to it
    unsigned users = 0; // QPs and WQs

    uint64_t written = 0;     // completions written so far (n of device_owner_bits)
    uint32_t driver_head = 0; // from the CQ doorbell: head mod (count * 8)
    bool head_known = false;  // the driver has rung a CQ doorbell
    bool armed = false;       // next completion raises an event on the channel
    bool force_overflow = false;
    Counters counters{};
};

// The last memory region a queue's SGEs hit: most SGEs of a queue fall in one region, so
// this skips the lkey map on the hot path. Valid while no region has been deregistered
// since (the emulator's MR generation is unchanged).
struct MrCache {
    uint32_t lkey = 0;
    uint64_t generation = 0;
    Mr *mr = nullptr;
};

// What a send queue (a send Qp) and a receive queue (a Wq) share: a ring of WQEs in the
// application's memory with a doorbell page of its own, the device's head and the tail the
// doorbells posted (both in basic units, free-running), and the region its SGEs last hit.
struct WqeQueue {
    void *buf = nullptr;
    uint32_t buf_bytes = 0;
    gdma::WqeRing ring;
    uint32_t max_sge = 0;
    unsigned page = 0;
    uint32_t consumed_bu = 0; // device head
    uint32_t posted_bu = 0;   // from the doorbells
    MrCache mr_cache;

    // A long doorbell: the new tail, in bytes. A short one: how far the tail moves, in
    // bytes. Either is refused, changing nothing, when it is not a whole number of basic
    // units or would post more than the ring holds.
    bool post_tail(uint32_t tail_bytes)
    {
        return post(tail_bytes >> gdma::kBasicUnitShift, tail_bytes);
    }
    bool post_increment(uint32_t increment_bytes)
    {
        return post(posted_bu + (increment_bytes >> gdma::kBasicUnitShift), increment_bytes);
    }

  private:
    bool post(uint32_t tail_bu, uint32_t bytes)
    {
        if ((bytes & (gdma::kBasicUnitBytes - 1)) != 0 ||
            tail_bu - consumed_bu > ring.capacity_bu())
            return false;
        posted_bu = tail_bu;
        return true;
    }
};

struct Wq; // RQ

// A raw-packet QP: either a send queue (TX) or an RSS receive QP over an indirection table.
struct IndTable {
    ibv_rwq_ind_table ibv{};
    Context *ctx = nullptr;
    std::vector<Wq *> wqs;
    unsigned users = 0;
};

// Packets waiting to be reported together in one coalesced RX CQE.
struct PendingRxCqe {
    unsigned packets = 0;
    gdma::RxCompletionFields fields{};
};

struct Wq : WqeQueue {
    ibv_wq ibv{};
    Context *ctx = nullptr;
    Pd *pd = nullptr;
    Cq *cq = nullptr;
    uint32_t id = 0;
    int port = kNoPort;
    uint32_t max_wr = 0;
    unsigned users = 0;    // indirection tables
    bool coalesce = false; // set while an RSS QP with coalescing uses it
    PendingRxCqe pending;
    Counters counters{};
};

struct Qp : WqeQueue {
    ibv_qp ibv{};
    Context *ctx = nullptr;
    Pd *pd = nullptr;
    int port = kNoPort;
    bool rss = false;

    // Send queue (rss == false; its ring is the WqeQueue).
    uint32_t sq_id = 0;
    Cq *send_cq = nullptr;
    uint32_t sq_count = 0;
    uint32_t tx_vp_offset = 0;

    // RSS (rss == true).
    IndTable *table = nullptr;
    std::array<Wq *, gdma::kRetaSize> reta{}; // the device's table: the list repeated
    uint64_t hash_fields = 0;
    std::array<uint8_t, gdma::kRssKeySize> key{};
    bool coalesce = false;
    RssFlowCache rss_cache;

    Counters counters{};
};

struct Context {
    verbs_context vctx{}; // vctx.context is what the application holds
    Vf *vf = nullptr;
    uint64_t serial = 0; // unique per process, unlike the context's address
    int dead_errno = 0;  // ENODEV after removal, EIO after a fatal error
    manadv_ctx_allocators allocators{};
    bool has_allocators = false;
    EventCounter async_events;
    std::deque<ibv_async_event> async_pending;
    DoorbellArea doorbells;

    std::vector<std::unique_ptr<Pd>> pds;
    std::vector<std::unique_ptr<Mr>> mrs;
    std::vector<std::unique_ptr<Channel>> channels;
    std::vector<std::unique_ptr<Cq>> cqs;
    std::vector<std::unique_ptr<Wq>> wqs;
    std::vector<std::unique_ptr<IndTable>> tables;
    std::vector<std::unique_ptr<Qp>> qps;

    ibv_context *ibv() { return &vctx.context; }
};

} // namespace mana_emu
