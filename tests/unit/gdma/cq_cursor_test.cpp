/* SPDX-License-Identifier: BSD-3-Clause */
// The driver's CQ cursor: ready/empty/overflow classification and doorbell heads.
#include <gdma/gdma.h>

#include <gtest/gtest.h>

#include <vector>

namespace mana::gdma
{
namespace
{

// Writes the device's n-th completion into the ring.
void device_write(std::vector<Cqe> &ring, uint64_t n)
{
    const auto count = static_cast<uint32_t>(ring.size());
    ring[n % count].trailer =
        encode_cqe_trailer({.wq_num = 9, .is_sq = true, .owner_bits = device_owner_bits(n, count)});
}

TEST(CqCursor, ZeroedRingIsEmpty)
{
    std::vector<Cqe> ring(64);
    const CqCursor cursor(ring.data(), 64);
    EXPECT_EQ(cursor.peek(), CqSlot::empty);
    EXPECT_FALSE(cursor.ready());
}

TEST(CqCursor, DetectsDeviceLappingTheDriver)
{
    std::vector<Cqe> ring(4);
    CqCursor cursor(ring.data(), 4);
    for (uint64_t n = 0; n < 5; ++n) // one more than the ring holds: entry 0 overwritten
        device_write(ring, n);
    EXPECT_EQ(cursor.peek(), CqSlot::overflow);
    EXPECT_FALSE(cursor.ready());
}

TEST(CqCursor, StaysInStepOverManyOwnerPeriods)
{
    // ready() is the hot path's shortcut for peek() == ready: both must agree on every
    // entry of every owner period, for the smallest and largest rings the driver uses.
    for (uint32_t count : {1U, 16U, 256U}) {
        std::vector<Cqe> ring(count);
        CqCursor cursor(ring.data(), count);
        for (uint64_t n = 0; n < count * 8ULL * 5 + 3; ++n) {
            device_write(ring, n);
            ASSERT_EQ(cursor.peek(), CqSlot::ready) << n;
            ASSERT_TRUE(cursor.ready()) << n;
            cursor.advance();
            ASSERT_EQ(cursor.peek(), CqSlot::empty) << n;
            ASSERT_FALSE(cursor.ready()) << n;
        }
    }
}

TEST(CqCursor, ClassificationWorksForAnyCount)
{
    // The emulator serves drivers that may ask for a count that is not a power of two.
    for (uint32_t count : {3U, 100U, 255U}) {
        for (uint64_t n = 0; n < count * 20ULL; n += 7) {
            const auto head = static_cast<uint32_t>(count + n);
            EXPECT_EQ(classify_owner_bits(device_owner_bits(n, count), head, count), CqSlot::ready);
            EXPECT_EQ(classify_owner_bits(empty_owner_bits(head, count), head, count),
                      CqSlot::empty);
        }
    }
}

TEST(CqDoorbell, HeadIsReportedModuloEightRingLengths)
{
    EXPECT_EQ(decode_doorbell(DoorbellQueue::cq, cq_doorbell(5, 256 * 8 + 17, 256, false)).tail,
              17U);
    EXPECT_EQ(decode_doorbell(DoorbellQueue::cq, cq_doorbell(5, 3, 256, true)).arm, true);
}

TEST(ShortDoorbell, PacksIncrementIdAndArm)
{
    EXPECT_EQ(short_doorbell(0xABC, 0x1234), 0x0ABC1234U);
    EXPECT_EQ(short_doorbell(0x1ABC, 0x11234, true), 0x8ABC1234U); // fields truncated
    EXPECT_EQ(short_doorbell_offset_of(DoorbellQueue::cq), 0x810U);
    EXPECT_EQ(short_doorbell_offset_of(DoorbellQueue::eq), 0xFF0U);
}

} // namespace
} // namespace mana::gdma
