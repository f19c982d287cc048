// SPDX-License-Identifier: BSD-3-Clause
// Every entry point on truncated and randomly corrupted frames: no out-of-bounds access
// (run under AddressSanitizer to make that observable) and self-consistent results.
#include "checksum.h"
#include "frame_builder.h"
#include "frame_layout.h"
#include "rss.h"
#include "toeplitz.h"
#include "tso.h"
#include "tx_offload.h"
#include "vlan.h"

#include <gtest/gtest.h>

#include <bit>
#include <random>

namespace mana_emu::packet
{
namespace
{

std::vector<std::vector<uint8_t>> sample_frames()
{
    std::vector<std::vector<uint8_t>> frames;
    for (const bool ipv6 : {false, true}) {
        for (const uint8_t protocol : {uint8_t{6}, uint8_t{17}}) {
            test::FrameSpec spec;
            spec.ipv6 = ipv6;
            spec.protocol = protocol;
            spec.vlan_tci = ipv6 ? std::optional<uint16_t>(3) : std::nullopt;
            spec.ipv4_options_len = 4;
            spec.tcp_options_len = 4;
            if (ipv6)
                spec.ipv6_extensions = {{0, 8}};
            spec.payload = test::pattern_payload(90);
            frames.push_back(test::build_frame(spec));
        }
    }
    return frames;
}

// Runs every function on `bytes` (a heap copy of exactly that size) and checks invariants.
void exercise(std::span<const uint8_t> input)
{
    std::vector<uint8_t> bytes(input.begin(), input.end());
    const auto layout = parse_frame(bytes);
    const auto status = validate_checksums(bytes);
    EXPECT_FALSE(status.ip_ok && status.ip_failed);
    EXPECT_FALSE(status.tcp_ok && status.tcp_failed);
    EXPECT_FALSE(status.udp_ok && status.udp_failed);

    const auto hash = rss_hash(bytes, ~uint64_t{0}, kDefaultRssKey);
    if (hash) {
        ASSERT_TRUE(layout.has_value());
        EXPECT_NE(layout->l3, FrameLayout::L3::none);
        EXPECT_EQ(std::popcount(hash->hash_type), 1);
    }

    for (const auto &segment : segment_tcp(bytes, 40)) {
        ASSERT_TRUE(layout.has_value());
        EXPECT_EQ(layout->l4, FrameLayout::L4::tcp);
        EXPECT_LE(segment.size(), size_t{layout->l4_offset} + layout->l4_len + 40);
    }

    if (layout && layout->l4 != FrameLayout::L4::none) {
        auto copy = bytes;
        const bool ipv4 = layout->l3 == FrameLayout::L3::ipv4;
        apply_tx_checksums(copy, {.outer_ipv4 = ipv4,
                                  .outer_ipv6 = !ipv4,
                                  .ip = ipv4,
                                  .tcp = layout->l4 == FrameLayout::L4::tcp,
                                  .udp = layout->l4 == FrameLayout::L4::udp,
                                  .transport_offset = layout->l4_offset});
        EXPECT_EQ(copy.size(), bytes.size());
    }

    auto tagged = insert_vlan(bytes, 1, false, 2);
    if (!tagged.empty()) {
        EXPECT_EQ(strip_vlan(tagged), std::optional<uint16_t>(make_vlan_tci(1, false, 2)));
        EXPECT_EQ(tagged, bytes);
    }
}

TEST(Robustness, EveryPrefixOfEveryFunction)
{
    for (const auto &frame : sample_frames())
        for (size_t length = 0; length <= frame.size(); ++length)
            exercise(std::span(frame).first(length));
}

TEST(Robustness, RandomCorruption)
{
    std::mt19937 random(12345); // fixed seed: reproducible failures
    const auto frames = sample_frames();
    for (int round = 0; round < 4000; ++round) {
        auto frame = frames[static_cast<size_t>(round) % frames.size()];
        const int flips = 1 + static_cast<int>(random() % 6);
        for (int i = 0; i < flips; ++i) {
            // Bias towards the headers, where the parsing decisions are.
            const size_t limit =
                random() % 4 == 0 ? frame.size() : std::min<size_t>(frame.size(), 80);
            frame[random() % limit] = static_cast<uint8_t>(random());
        }
        frame.resize(frame.size() - random() % 40);
        exercise(frame);
        if (HasFailure())
            FAIL() << "round " << round;
    }
}

} // namespace
} // namespace mana_emu::packet
