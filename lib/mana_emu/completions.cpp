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

void Emulator::write_raw_cqe(Cq &cq, const uint8_t bytes[64])
{
    std::array<uint32_t, gdma::kCqeOobWords> oob;
    std::memcpy(oob.data(), bytes, sizeof(oob));
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
