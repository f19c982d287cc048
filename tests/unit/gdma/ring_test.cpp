/* SPDX-License-Identifier: BSD-3-Clause */
// Ring arithmetic: WQE sizes, free space across 32-bit wrap, SGL wrap, parser safety.
#include <gdma/gdma.h>

#include <gtest/gtest.h>

#include <vector>

namespace mana::gdma
{
namespace
{

TEST(WqeGeometry, SizeFollowsOobAndSgeCount)
{
    EXPECT_EQ(wqe_size_bytes(kSmallInlineOobBytes, 0), 32U); // dummy SGE
    EXPECT_EQ(wqe_size_bytes(kSmallInlineOobBytes, 1), 32U);
    EXPECT_EQ(wqe_size_bytes(kSmallInlineOobBytes, 2), 64U);
    EXPECT_EQ(wqe_size_bytes(kLargeInlineOobBytes, 1), 64U);
    EXPECT_EQ(wqe_size_bytes(kLargeInlineOobBytes, 2), 64U);
    EXPECT_EQ(wqe_size_bytes(kLargeInlineOobBytes, 3), 96U);
    EXPECT_EQ(inline_oob_bytes(0), kSmallInlineOobBytes);
    EXPECT_EQ(inline_oob_bytes(8), kSmallInlineOobBytes);
    EXPECT_EQ(inline_oob_bytes(9), kLargeInlineOobBytes);
    EXPECT_EQ(max_sges_in(sq_wqe_bytes(30), kLargeInlineOobBytes), 30U);
}

TEST(WqeGeometry, FreeSpaceIsCorrectAcrossCounterWrap)
{
    EXPECT_EQ(free_bu(128, 0, 0), 128U);
    EXPECT_EQ(free_bu(128, 100, 0), 28U);
    EXPECT_EQ(free_bu(128, 5, 0xFFFFFFF0U), 107U); // head wrapped past 2^32, tail not yet
    EXPECT_EQ(free_bu(128, 0xFFFFFFF0U + 128, 0xFFFFFFF0U), 0U);
}

TEST(WqeRing, OffsetMasksFreeRunningHead)
{
    std::vector<std::byte> mem(4096);
    const WqeRing ring(mem.data(), 4096);
    EXPECT_TRUE(ring.valid());
    EXPECT_EQ(ring.capacity_bu(), 128U);
    EXPECT_EQ(ring.offset_of(0), 0U);
    EXPECT_EQ(ring.offset_of(127), 4064U);
    EXPECT_EQ(ring.offset_of(128), 0U);
    EXPECT_EQ(ring.offset_of(0xFFFFFFFFU), 4064U);
    EXPECT_FALSE(WqeRing(mem.data(), 3000).valid());
}

TEST(WqeRing, WriterAndParserAgreeAtEveryPosition)
{
    std::vector<std::byte> mem(4096);
    const WqeRing ring(mem.data(), 4096);
    const std::array<Sge, 5> sges{
        {{0x1000, 1, 10}, {0x2000, 2, 20}, {0x3000, 3, 30}, {0x4000, 4, 40}, {0x5000, 5, 50}}};
    const auto oob = TxLongOob::encode({.vcq_number = 7}, {.inject_vlan = true, .vlan_id = 5});
    for (uint32_t head = 0xFFFFFF00U; head != 0x100U; ++head) {
        const uint32_t size = write_wqe(ring, head, {.client_data_unit = 1448},
                                        std::as_bytes(std::span(&oob, 1)), sges);
        ASSERT_EQ(size, 4U);
        ParsedWqe wqe;
        ASSERT_EQ(parse_wqe(ring, head, size, wqe), WqeParseError::none);
        EXPECT_EQ(wqe.header.client_data_unit, 1448);
        EXPECT_EQ(wqe.oob_bytes(), kLargeInlineOobBytes);
        for (uint32_t i = 0; i < sges.size(); ++i)
            ASSERT_EQ(read_sge(ring, wqe, i).address, sges[i].address) << "head " << head;
    }
}

TEST(WqeParser, RejectsMalformedHeadersWithoutReadingOutside)
{
    std::vector<std::byte> mem(4096);
    const WqeRing ring(mem.data(), 4096);
    ParsedWqe wqe;
    EXPECT_EQ(parse_wqe(ring, 0, 1, wqe), WqeParseError::bad_oob_size); // zeroed ring

    store_le32(mem.data() + 4,
               DmaHeader::encode({.num_sgl_entries = 0, .inline_oob_dwords = 2}).word1);
    EXPECT_EQ(parse_wqe(ring, 0, 0, wqe), WqeParseError::exceeds_posted);
    EXPECT_EQ(parse_wqe(ring, 0, 1, wqe), WqeParseError::none); // empty SGL: dummy slot
    EXPECT_EQ(wqe.size_bu, 1U);

    store_le32(mem.data() + 4,
               DmaHeader::encode({.num_sgl_entries = 255, .inline_oob_dwords = 6}).word1);
    EXPECT_EQ(parse_wqe(ring, 0, 128, wqe), WqeParseError::exceeds_posted);

    store_le32(mem.data() + 4,
               DmaHeader::encode({.num_sgl_entries = 3, .inline_oob_dwords = 2}).word1);
    EXPECT_EQ(parse_wqe(ring, 0, 1, wqe), WqeParseError::exceeds_posted);
    EXPECT_EQ(parse_wqe(ring, 0, 2, wqe), WqeParseError::none);

    store_le32(mem.data(), 0x00000001U); // reserved bits of word 0
    EXPECT_EQ(parse_wqe(ring, 0, 2, wqe), WqeParseError::reserved_bits);
}

TEST(QueueSizing, MatchesRdmaCore44)
{
    EXPECT_EQ(rq_wqe_bytes(1), 32U);
    EXPECT_EQ(sq_wqe_bytes(1), 64U);
    EXPECT_EQ(cq_buffer_bytes(256), 16384U);
    EXPECT_EQ(cq_buffer_bytes(100), 8192U);
    EXPECT_EQ(rq_buffer_bytes(64, 1), 4096U);
    EXPECT_EQ(sq_buffer_bytes(256, 30), 131072U);
}

} // namespace
} // namespace mana::gdma
