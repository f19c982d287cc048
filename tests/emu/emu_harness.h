/* SPDX-License-Identifier: BSD-3-Clause */
// Test harness: a verbs context on the emulator with the objects a MANA driver creates,
// queue buffers from a tracking allocator, and helpers that post WQEs with gdma and read
// CQEs back the way a driver does.
#pragma once

#include "gdma/gdma.h"
#include "mana_emu.h"

#include <infiniband/manadv.h>
#include <infiniband/verbs.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace emu_test
{

namespace gdma = mana::gdma;

// Counts what the emulator allocated through the application's callbacks.
struct TrackingAllocator {
    std::map<void *, size_t> live;
    size_t allocations = 0;
    static void *alloc(size_t size, void *self);
    static void free(void *ptr, void *self);
    manadv_ctx_allocators callbacks();
};

// Resets the emulator to step mode, default topology, no faults, zero counters.
void reset_emulator(const char *config = nullptr);

struct TxQueue {
    ibv_cq *cq = nullptr;
    ibv_qp *qp = nullptr;
    manadv_qp sq{};
    manadv_cq cqinfo{};
    gdma::WqeRing ring;
    uint32_t head_bu = 0;
    uint32_t cq_head = 0; // driver's free-running head, starts at count
};

struct RxQueue {
    ibv_cq *cq = nullptr;
    ibv_wq *wq = nullptr;
    manadv_rwq rq{};
    manadv_cq cqinfo{};
    gdma::WqeRing ring;
    uint32_t head_bu = 0;
    uint32_t cq_head = 0;
};

struct Completion {
    gdma::CqeType type;
    gdma::CqeTrailerFields trailer;
    std::array<uint32_t, gdma::kCqeOobWords> oob;
};

// One open context with a PD, a parent domain on `ib_port`, registered packet memory.
class Device
{
  public:
    explicit Device(unsigned ib_port = 1, unsigned device_index = 0, bool set_allocators = true);
    ~Device();
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;

    ibv_context *ctx = nullptr;
    ibv_pd *pd = nullptr;
    ibv_pd *parent = nullptr;
    ibv_mr *mr = nullptr;
    std::vector<uint8_t> memory; // registered
    TrackingAllocator allocator;

    TxQueue make_tx(uint32_t depth = 64, uint32_t max_sge = 4);
    // An RX queue; its CQ raises events on `channel` (with `cq_context`) when one is given.
    RxQueue make_rx(uint32_t depth = 64, ibv_comp_channel *channel = nullptr,
                    void *cq_context = nullptr);
    void destroy(TxQueue &q);
    void destroy(RxQueue &q);

    // RSS over `queues` (list repeated to 64 entries by the device).
    ibv_qp *make_rss(std::vector<RxQueue *> queues, uint64_t fields, ibv_rwq_ind_table **table);
    // Destroys what make_rss made, QP then indirection table, then `queues` (the queues
    // behind it), in the order a driver does.
    void destroy_rss(ibv_qp *rss, ibv_rwq_ind_table *table, std::span<RxQueue> queues = {});

    // Posts one TX WQE with the short (or long) OOB; returns its size in BUs.
    uint32_t post_tx(TxQueue &q, std::span<const gdma::Sge> sges, gdma::TxShortOobFields oob,
                     std::optional<gdma::TxLongOobFields> long_oob = std::nullopt,
                     gdma::DmaHeaderFields header = {});
    // Frame copied into registered memory at `offset`; SGE for it.
    gdma::Sge stage(std::span<const uint8_t> frame, size_t offset);
    gdma::TxShortOobFields default_oob(const TxQueue &q, bool suppress = false) const;
    void ring_sq(TxQueue &q);
    // Posts `count` RX buffers of `size` bytes from registered memory at `offset`.
    void post_rx(RxQueue &q, unsigned count, uint32_t size, size_t offset);
    void ring_rq(RxQueue &q);

    static std::optional<Completion> next_cqe(ibv_cq *cq, const manadv_cq &info, uint32_t &head);
};

// An RX queue behind an RSS QP of its own (what a port with one RX queue creates):
// `buffers` buffers of `buffer_size` bytes from registered memory at `offset`, posted and
// rung. Destroyed as the driver does it: QP, indirection table, then the queue.
class RssRxQueue
{
  public:
    RssRxQueue(Device &dev, uint64_t hash_fields, uint32_t depth, unsigned buffers,
               uint32_t buffer_size, size_t offset);
    ~RssRxQueue();
    RssRxQueue(const RssRxQueue &) = delete;
    RssRxQueue &operator=(const RssRxQueue &) = delete;

    // The next completion of the queue, if there is one.
    std::optional<Completion> next();
    // The next completion decoded as an RX one.
    std::optional<gdma::RxCompletionFields> next_rx();

    RxQueue q;

  private:
    Device &dev_;
    ibv_rwq_ind_table *table_ = nullptr;
    ibv_qp *rss_ = nullptr;
};

// A UDP/IPv4 (or TCP) frame with valid checksums.
std::vector<uint8_t> make_udp_frame(uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
                                    uint16_t dport, size_t payload_len, bool tcp = false);

} // namespace emu_test
