/* SPDX-License-Identifier: BSD-3-Clause */
// 64-bit doorbells: value and page offset for SQ, RQ and CQ (armed and wrapped).
#include "vector_file.h"

#include <gdma/gdma.h>

#include <gtest/gtest.h>

namespace mana::test
{
namespace
{

using namespace mana::gdma;

TEST(DoorbellVectors, ValuesAndOffsetsMatch)
{
    const auto vectors = load_vector_file("doorbell.json");
    ASSERT_FALSE(vectors.empty());
    for (const auto &entry : vectors) {
        SCOPED_TRACE(entry.at("name").get<std::string>());
        const auto &f = entry.at("fields");
        const auto queue = f.at("queue").get<std::string>();
        const auto id = static_cast<uint32_t>(number_field(f, "id"));
        uint64_t value = 0;
        DoorbellQueue kind{};
        if (queue == "sq") {
            kind = DoorbellQueue::sq;
            value = sq_doorbell(id, static_cast<uint32_t>(number_field(f, "tail")));
        } else if (queue == "rq") {
            kind = DoorbellQueue::rq;
            value = rq_doorbell(id, static_cast<uint32_t>(number_field(f, "tail")));
        } else if (queue == "cq") {
            kind = DoorbellQueue::cq;
            value = cq_doorbell(id, static_cast<uint32_t>(number_field(f, "head")),
                                static_cast<uint32_t>(number_field(f, "cq_count")),
                                flag_field(f, "arm"));
        } else {
            FAIL() << "unknown queue kind " << queue;
        }
        EXPECT_EQ(doorbell_offset_of(kind), entry.at("page_offset").get<uint32_t>());
        EXPECT_EQ(to_hex(&value, sizeof(value)), entry.at("value_bytes").get<std::string>());

        // The device side decodes the same fields back.
        const auto golden = hex_bytes(entry.at("value_bytes").get<std::string>());
        ASSERT_EQ(golden.size(), sizeof(uint64_t));
        const auto decoded = decode_doorbell(kind, load_le64(golden.data()));
        EXPECT_EQ(decoded.id, id);
        EXPECT_EQ(decoded.tail, static_cast<uint32_t>(number_field(f, "tail")));
        EXPECT_EQ(decoded.arm, flag_field(f, "arm"));
        EXPECT_EQ(decoded.wqe_cnt, 0);
    }
}

} // namespace
} // namespace mana::test
