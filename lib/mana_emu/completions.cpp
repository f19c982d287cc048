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
    gdma::Cqe &entry = cq.ring[index];
    std::memcpy(entry.oob.data(), oob.data(), sizeof(entry.oob));
    const uint32_t trailer =
        gdma::encode_cqe_trailer({.wq_num = wq_num, .is_sq = is_sq, .owner_bits = owner});
    // The owner bits publish the entry: everything else must be visible first.
    __atomic_store_n(&entry.trailer, trailer, __ATOMIC_RELEASE);
    ++cq.written;
    t.add(&Counters::cqes);
    ++cq.counters.cqes;
    if (cq.armed) [[unlikely]] {
        cq.armed = false;
        // The driver wakes up and polls without reporting its head until it re-arms: the
        // head of the arming doorbell says nothing about what it consumes from now on.
        cq.head_known = false;
        if (cq.channel != nullptr) {
            cq.channel->pending.push_back(&cq);
            cq.channel->events.signal();
        }
    }
}

void Emulator::write_raw_cqe(Cq &cq, const uint8_t bytes[64])
{
    std::array<uint32_t, gdma::kCqeOobWords> oob;
    std::memcpy(oob.data(), bytes, sizeof(oob));
    uint32_t raw_trailer;
    std::memcpy(&raw_trailer, bytes + 60, sizeof(raw_trailer));
    const auto decoded = gdma::decode_cqe_trailer(raw_trailer);
    write_cqe(cq, oob, decoded.wq_num, decoded.is_sq, port_ptr(cq.port), nullptr);
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
