/* SPDX-License-Identifier: BSD-3-Clause */
// Writing completions: owner bits, overflow accounting, and the completion-channel event
// an armed CQ raises.
#include "emulator.h"
#include "log.h"

#include <cstring>

namespace mana_emu
{
namespace
{

// Completions the driver has not consumed according to the head it reported in its last
// CQ doorbell (head mod count*8, where the head started at `count`). A driver that reports
// its head (rings CQ doorbells as it consumes) gets overflows counted; one that never
// does, or only arms for an event, does not.
uint64_t outstanding(const Cq &cq)
{
    const uint64_t period = uint64_t{cq.count} * 8;
    const uint64_t device = (cq.written + cq.count) % period;
    return (device + period - cq.driver_head % period) % period;
}

} // namespace

void Emulator::write_cqe(Cq &cq, const std::array<uint32_t, gdma::kCqeOobWords> &oob,
                         uint32_t wq_num, bool is_sq, Port *port, Counters *queue)
{
    const Tally t = tally(port, queue);
    if (cq.force_overflow) [[unlikely]] {
        // Skip a whole lap: the entry's owner bits are then one generation ahead of what
        // the driver expects, which is how a lapped CQ looks.
        cq.force_overflow = false;
        cq.written += cq.count;
        t.add(&Counters::cq_overflows);
        ++cq.counters.cq_overflows;
    } else if (cq.head_known && outstanding(cq) >= cq.count) [[unlikely]] {
        t.add(&Counters::cq_overflows);
        ++cq.counters.cq_overflows;
    }
    const uint32_t index = static_cast<uint32_t>(cq.written % cq.count);
    const uint8_t owner = gdma::device_owner_bits(cq.written, cq.count);
    if (staged_count_ == staged_.size()) [[unlikely]]
        flush_cqes();
    StagedCqe &staged = staged_[staged_count_++];
    staged.entry = &cq.ring[index];
    staged.value.oob = oob;
    staged.value.trailer =
        gdma::encode_cqe_trailer({.wq_num = wq_num, .is_sq = is_sq, .owner_bits = owner});
    staged.event_cq = nullptr;
    ++cq.written;
    t.add(&Counters::cqes);
    ++cq.counters.cqes;
    if (cq.armed) [[unlikely]] {
        cq.armed = false;
        // The driver wakes up and polls without reporting its head until it re-arms: the
        // head of the arming doorbell says nothing about what it consumes from now on.
        cq.head_known = false;
        staged.event_cq = cq.channel != nullptr ? &cq : nullptr;
    }
    // A batch must not lap a ring (the driver would never see the overwritten entries):
    // CQs smaller than a batch are written through.
    if (cq.count < staged_.size()) [[unlikely]]
        flush_cqes();
}

// Completions are written to the rings in batches (at the end of every pass of the model,
// or when the staging area fills), in the order they were produced. Writing each one as it
// was produced made the model thread wait, at the next load that could not be served from
// the store buffer, for the ownership of the line the driver was polling; batched, those
// line transfers overlap and happen once per batch, not per frame.
void Emulator::flush_cqes()
{
    for (unsigned i = 0; i < staged_count_; ++i) {
        const StagedCqe &staged = staged_[i];
        std::memcpy(staged.entry->oob.data(), staged.value.oob.data(), sizeof(staged.value.oob));
        // The owner bits publish the entry: everything else must be visible first.
        __atomic_store_n(&staged.entry->trailer, staged.value.trailer, __ATOMIC_RELEASE);
        if (staged.event_cq != nullptr) [[unlikely]] {
            Channel &channel = *staged.event_cq->channel;
            channel.pending.push_back(staged.event_cq);
            channel.events.signal();
        }
    }
    staged_count_ = 0;
}

namespace
{

// The receive WQEs a device consumed to write this RX completion: one per packet it
// reports (a coalesced CQE up to four, the list ending at a zero length), one for a
// truncated frame, none for other types.
unsigned rx_wqes_reported(const std::array<uint32_t, gdma::kCqeOobWords> &oob)
{
    const auto type = static_cast<gdma::CqeType>(oob[0] & 0x3f);
    if (type == gdma::CqeType::rx_truncated)
        return 1;
    if (type != gdma::CqeType::rx_ok && type != gdma::CqeType::rx_coalesced)
        return 0;
    const unsigned slots = type == gdma::CqeType::rx_ok ? 1 : gdma::kRxPacketsPerCqe;
    unsigned packets = 0;
    while (packets < slots && (oob[gdma::rx_oob_word::packet_length(packets)] & 0xffff) != 0)
        ++packets;
    return packets;
}

} // namespace

void Emulator::write_raw_cqe(Cq &cq, const uint8_t bytes[64])
{
    std::array<uint32_t, gdma::kCqeOobWords> oob;
    std::memcpy(oob.data(), bytes, sizeof(oob));
    // An arbitrary RX completion stands for a real one whose bytes went bad: the device
    // consumed the WQEs it reports, as it does for any RX completion, so that the driver's
    // view of the ring and the device's stay the same.
    unsigned wqes = rx_wqes_reported(oob);
    for (auto &wq : cq.ctx->wqs) {
        if (wq->cq != &cq)
            continue;
        for (; wqes > 0 && wq->consumed_bu != wq->posted_bu; --wqes) {
            gdma::ParsedWqe wqe;
            if (gdma::parse_wqe(wq->ring, wq->consumed_bu, wq->posted_bu - wq->consumed_bu, wqe) !=
                gdma::WqeParseError::none)
                break;
            wq->consumed_bu += wqe.size_bu;
        }
    }
    uint32_t raw_trailer;
    std::memcpy(&raw_trailer, bytes + 60, sizeof(raw_trailer));
    const auto decoded = gdma::decode_cqe_trailer(raw_trailer);
    write_cqe(cq, oob, decoded.wq_num, decoded.is_sq, port_ptr(cq.port), nullptr);
    flush_cqes();
    // Keep the raw reserved bits too: the caller wants these exact bytes.
    gdma::Cqe &entry = cq.ring[(cq.written - 1) % cq.count];
    const uint32_t owner_bits = entry.trailer & (gdma::kOwnerBitsMask << 29);
    __atomic_store_n(&entry.trailer, (raw_trailer & ~(gdma::kOwnerBitsMask << 29)) | owner_bits,
                     __ATOMIC_RELEASE);
}

void Emulator::arm_cq(Cq &cq)
{
    cq.armed = true;
}

} // namespace mana_emu
