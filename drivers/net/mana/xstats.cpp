/* SPDX-License-Identifier: BSD-3-Clause */
// Extended statistics: the counters every queue keeps, per configured RX queue and then
// per configured TX queue, named in DPDK's direction_queue_counter style (rx_q0_packets,
// tx_q3_mtu_drop_errors). The id of a statistic is its position in that order, so ids stay
// valid until the port is reconfigured with other queue counts. Values are read from the
// polling lcores' plain counters without stopping them, through the ethdev data's queue
// arrays (shared memory), so secondary processes read them too.
#include "log.h"
#include "port.h"

#include <rte_ethdev.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <optional>

namespace mana
{
namespace
{

struct QueueView {
    QueueCounters basic;
    QueueEventCounters events;
};

struct XstatField {
    const char *name; // after "rx_qN_" / "tx_qN_"
    uint64_t (*value)(const QueueView &);
};

// WQEs that produced no completion, in thousandths of the WQEs posted: how much of the
// completion traffic TX suppression saves (0 when nothing was posted).
uint64_t cqe_suppression_permille(const QueueView &q)
{
    const uint64_t wqes = q.basic.wqes;
    if (wqes == 0 || q.basic.completions >= wqes)
        return 0;
    return (wqes - q.basic.completions) * 1000 / wqes;
}

template <uint32_t Type>
uint64_t tx_error_cqes(const QueueView &q)
{
    return q.events.tx_error_cqes[Type - kFirstTxErrorCqe];
}

constexpr XstatField kRxFields[] = {
    {"packets", [](const QueueView &q) -> uint64_t { return q.basic.packets; }},
    {"bytes", [](const QueueView &q) -> uint64_t { return q.basic.bytes; }},
    {"errors", [](const QueueView &q) -> uint64_t { return q.basic.errors; }},
    {"truncated_errors", [](const QueueView &q) -> uint64_t { return q.events.rx_truncated; }},
    {"mbuf_allocation_errors", [](const QueueView &q) -> uint64_t { return q.basic.no_mbuf; }},
    {"discarded_at_stop_errors",
     [](const QueueView &q) -> uint64_t { return q.events.rx_discarded_at_stop; }},
    {"completions", [](const QueueView &q) -> uint64_t { return q.basic.completions; }},
    {"doorbells", [](const QueueView &q) -> uint64_t { return q.basic.doorbells; }},
};

using gdma::CqeType;
constexpr uint32_t type(CqeType t)
{
    return static_cast<uint32_t>(t);
}

constexpr XstatField kTxFields[] = {
    {"packets", [](const QueueView &q) -> uint64_t { return q.basic.packets; }},
    {"bytes", [](const QueueView &q) -> uint64_t { return q.basic.bytes; }},
    {"errors", [](const QueueView &q) -> uint64_t { return q.basic.errors; }},
    {"wqes", [](const QueueView &q) -> uint64_t { return q.basic.wqes; }},
    {"completions", [](const QueueView &q) -> uint64_t { return q.basic.completions; }},
    {"cqe_suppression_permille", cqe_suppression_permille},
    {"doorbells", [](const QueueView &q) -> uint64_t { return q.basic.doorbells; }},
    {"malformed_chain_errors",
     [](const QueueView &q) -> uint64_t { return q.events.tx_malformed_chains; }},
    {"unregistered_memory_errors",
     [](const QueueView &q) -> uint64_t { return q.events.tx_unregistered_memory; }},
    {"unsendable_errors", [](const QueueView &q) -> uint64_t { return q.events.tx_unsendable; }},
    {"discarded_at_stop_errors",
     [](const QueueView &q) -> uint64_t { return q.events.tx_discarded_at_stop; }},
    {"sa_drop_errors", tx_error_cqes<type(CqeType::tx_sa_drop)>},
    {"mtu_drop_errors", tx_error_cqes<type(CqeType::tx_mtu_drop)>},
    {"invalid_oob_errors", tx_error_cqes<type(CqeType::tx_invalid_oob)>},
    {"invalid_ethertype_errors", tx_error_cqes<type(CqeType::tx_invalid_ethertype)>},
    {"header_processing_errors", tx_error_cqes<type(CqeType::tx_header_processing_error)>},
    {"vf_disabled_errors", tx_error_cqes<type(CqeType::tx_vf_disabled)>},
    {"vport_index_out_of_range_errors", tx_error_cqes<type(CqeType::tx_vport_index_out_of_range)>},
    {"vport_disabled_errors", tx_error_cqes<type(CqeType::tx_vport_disabled)>},
    {"vlan_tagging_violation_errors", tx_error_cqes<type(CqeType::tx_vlan_tagging_violation)>},
};
static_assert(std::size(kTxFields) == 11 + kTxErrorCqeTypes, "one statistic per TX error type");

constexpr uint64_t kRxPerQueue = std::size(kRxFields);
constexpr uint64_t kTxPerQueue = std::size(kTxFields);

// Where an id points: direction, queue and field.
struct XstatPlace {
    bool rx;
    uint16_t queue;
    const XstatField *field;
};

} // namespace

uint64_t Port::xstats_count() const
{
    return rx_queue_count() * kRxPerQueue + tx_queue_count() * kTxPerQueue;
}

namespace
{

std::optional<XstatPlace> place_of(uint64_t id, uint16_t rx_queues, uint16_t tx_queues)
{
    const uint64_t rx_total = rx_queues * kRxPerQueue;
    if (id < rx_total)
        return XstatPlace{true, static_cast<uint16_t>(id / kRxPerQueue),
                          &kRxFields[id % kRxPerQueue]};
    id -= rx_total;
    if (id < tx_queues * kTxPerQueue)
        return XstatPlace{false, static_cast<uint16_t>(id / kTxPerQueue),
                          &kTxFields[id % kTxPerQueue]};
    return std::nullopt;
}

// Whether `id` names one of the port's `count` statistics; logs the ones that do not.
bool known_id(uint16_t port_id, uint64_t id, uint64_t count)
{
    if (id < count)
        return true;
    MANA_DRV_LOG(
        ERR, "port %u: no extended statistic with id %" PRIu64 " (%" PRIu64 " driver statistics)",
        port_id, id, count);
    return false;
}

void write_name(const XstatPlace &place, rte_eth_xstat_name &out)
{
    std::snprintf(out.name, sizeof(out.name), "%s_q%u_%s", place.rx ? "rx" : "tx", place.queue,
                  place.field->name);
}

} // namespace

uint64_t Port::xstat_value(uint64_t id, const std::unique_lock<std::mutex> &cqs) const
{
    const auto place = place_of(id, rx_queue_count(), tx_queue_count());
    QueueView view{};
    if (place->rx) {
        if (const RxQueue *queue = shared_rxq(place->queue))
            view = {queue->counters(), queue->event_counters()};
    } else {
        if (const TxQueue *queue = shared_txq(place->queue))
            view = {tx_counters(*queue, cqs), queue->event_counters()};
    }
    return place->field->value(view);
}

int Port::xstats_get(rte_eth_xstat *stats, unsigned n) const
{
    const uint64_t count = xstats_count();
    if (stats == nullptr || n < count)
        return static_cast<int>(count);
    const std::unique_lock cqs = lock_cqs_for_counters();
    for (uint64_t id = 0; id < count; ++id)
        stats[id] = rte_eth_xstat{.id = id, .value = xstat_value(id, cqs)};
    return static_cast<int>(count);
}

int Port::xstats_get_names(rte_eth_xstat_name *names, unsigned size) const
{
    const uint64_t count = xstats_count();
    if (names == nullptr || size < count)
        return static_cast<int>(count);
    for (uint64_t id = 0; id < count; ++id)
        write_name(*place_of(id, rx_queue_count(), tx_queue_count()), names[id]);
    return static_cast<int>(count);
}

int Port::xstats_get_by_id(const uint64_t *ids, uint64_t *values, unsigned n) const
{
    const uint64_t count = xstats_count();
    const std::unique_lock cqs = lock_cqs_for_counters();
    for (unsigned i = 0; i < n; ++i) {
        if (!known_id(port_id_, ids[i], count))
            return -EINVAL;
        values[i] = xstat_value(ids[i], cqs);
    }
    return static_cast<int>(n);
}

int Port::xstats_get_names_by_id(const uint64_t *ids, rte_eth_xstat_name *names,
                                 unsigned size) const
{
    const uint64_t count = xstats_count();
    for (unsigned i = 0; i < size; ++i) {
        if (!known_id(port_id_, ids[i], count))
            return -EINVAL;
        write_name(*place_of(ids[i], rx_queue_count(), tx_queue_count()), names[i]);
    }
    return static_cast<int>(size);
}

} // namespace mana
