/* SPDX-License-Identifier: BSD-3-Clause */
// Owner bits over several wraps of the CQ (and of the 3-bit owner value): what the
// device writes, what the driver expects at its head, what "empty" looks like, and a
// CqCursor walking a ring the way the device fills it.
#include "vector_file.h"

#include <gdma/gdma.h>

#include <gtest/gtest.h>

#include <vector>

namespace mana::test
{
namespace
{

using namespace mana::gdma;

TEST(CqOwnerVectors, ArithmeticMatchesEverySequence)
{
    const auto sequences = load_vector_file("cq_owner_bits.json");
    ASSERT_FALSE(sequences.empty());
    for (const auto &seq : sequences) {
        SCOPED_TRACE(seq.at("name").get<std::string>());
        const auto count = seq.at("cq_count").get<uint32_t>();
        const auto initial_head = seq.at("initial_head").get<uint32_t>();
        ASSERT_FALSE(seq.at("sequence").empty());
        for (const auto &step : seq.at("sequence")) {
            const auto n = step.at("completion").get<uint32_t>();
            SCOPED_TRACE(n);
            const uint32_t head = initial_head + n;
            EXPECT_EQ(head % count, step.at("index").get<uint32_t>());
            EXPECT_EQ(device_owner_bits(n, count), step.at("owner_bits_written").get<uint32_t>());
            EXPECT_EQ(expected_owner_bits(head, count), step.at("driver_expects").get<uint32_t>());
            EXPECT_EQ(empty_owner_bits(head, count), step.at("empty_value").get<uint32_t>());
        }
    }
}

TEST(CqOwnerVectors, CursorConsumesWhatTheDeviceWrites)
{
    for (const auto &seq : load_vector_file("cq_owner_bits.json")) {
        SCOPED_TRACE(seq.at("name").get<std::string>());
        const auto count = seq.at("cq_count").get<uint32_t>();
        std::vector<Cqe> ring(count);
        CqCursor cursor(ring.data(), count);
        EXPECT_EQ(cursor.head(), seq.at("initial_head").get<uint32_t>());
        EXPECT_EQ(cursor.peek(), CqSlot::empty);
        for (const auto &step : seq.at("sequence")) {
            const auto index = step.at("index").get<uint32_t>();
            ring[index].trailer =
                encode_cqe_trailer({.wq_num = 1,
                                    .is_sq = false,
                                    .owner_bits = static_cast<uint8_t>(
                                        step.at("owner_bits_written").get<uint32_t>())});
            ASSERT_EQ(cursor.peek(), CqSlot::ready);
            ASSERT_TRUE(cursor.ready());
            cursor.advance();
            EXPECT_EQ(cursor.peek(), CqSlot::empty);
            EXPECT_FALSE(cursor.ready());
        }
    }
}

} // namespace
} // namespace mana::test
