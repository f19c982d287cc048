// SPDX-License-Identifier: BSD-3-Clause
#include "frame_builder.h"
#include "pcap.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace mana_emu::packet
{
namespace
{

// A fresh directory under the build tree's temp area, removed with the fixture.
class Pcap : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        std::string pattern = (std::filesystem::current_path() / "pcap_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        directory_ = pattern;
    }
    void TearDown() override
    {
        if (!directory_.empty())
            std::filesystem::remove_all(directory_);
    }
    std::string path(const char *name) const { return (directory_ / name).string(); }

    static void write_bytes(const std::string &file, const std::vector<uint8_t> &bytes)
    {
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char *>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    }

    std::filesystem::path directory_;
};

TEST_F(Pcap, WriteReadRoundTrip)
{
    test::FrameSpec spec;
    spec.payload = test::pattern_payload(1000);
    const auto big = test::build_frame(spec);
    spec.ipv6 = true;
    spec.payload = test::pattern_payload(3);
    const auto small = test::build_frame(spec);
    const std::vector<uint8_t> empty;

    using namespace std::chrono;
    const auto t0 = system_clock::time_point(seconds(1700000000) + microseconds(123456));
    {
        PcapWriter writer;
        ASSERT_TRUE(writer.open(path("cap.pcap"))) << writer.error();
        EXPECT_TRUE(writer.write(big, t0));
        EXPECT_TRUE(writer.write(small, t0 + microseconds(900000)));
        EXPECT_TRUE(writer.write(empty, t0 + seconds(2)));
    }

    PcapReader reader;
    ASSERT_TRUE(reader.open(path("cap.pcap"))) << reader.error();
    EXPECT_EQ(reader.link_type(), kLinkTypeEthernet);
    EXPECT_FALSE(reader.nanosecond_timestamps());
    EXPECT_FALSE(reader.byte_swapped());

    const auto first = reader.next_record();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->data, big);
    EXPECT_EQ(first->original_length, big.size());
    EXPECT_EQ(first->timestamp, nanoseconds(1700000000123456000));
    const auto second = reader.next_record();
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->data, small);
    EXPECT_EQ(second->timestamp, nanoseconds(1700000001023456000));
    EXPECT_EQ(reader.next(), std::optional<std::vector<uint8_t>>(empty));
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_TRUE(reader.error().empty());
}

TEST_F(Pcap, SnaplenTruncatesButKeepsOriginalLength)
{
    const auto frame = test::pattern_payload(300);
    {
        PcapWriter writer;
        ASSERT_TRUE(writer.open(path("snap.pcap"), 64));
        ASSERT_TRUE(writer.write(frame));
    }
    PcapReader reader;
    ASSERT_TRUE(reader.open(path("snap.pcap")));
    EXPECT_EQ(reader.snaplen(), 64u);
    const auto record = reader.next_record();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->data, std::vector<uint8_t>(frame.begin(), frame.begin() + 64));
    EXPECT_EQ(record->original_length, 300u);
}

// Big-endian file with nanosecond magic, as written by another host's tool.
TEST_F(Pcap, ReadsSwappedNanosecondFiles)
{
    const std::vector<uint8_t> file = {
        0xa1, 0xb2, 0x3c, 0x4d, 0x00, 0x02, 0x00, 0x04, // magic (ns), version 2.4
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // thiszone, sigfigs
        0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, // snaplen 65535, Ethernet
        0x00, 0x00, 0x00, 0x05, 0x3b, 0x9a, 0xc9, 0xff, // 5 s + 999999999 ns
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, // captured 3, original 4
        0xde, 0xad, 0xbe,                               // data
    };
    write_bytes(path("be.pcap"), file);
    PcapReader reader;
    ASSERT_TRUE(reader.open(path("be.pcap"))) << reader.error();
    EXPECT_TRUE(reader.byte_swapped());
    EXPECT_TRUE(reader.nanosecond_timestamps());
    EXPECT_EQ(reader.snaplen(), 65535u);
    EXPECT_EQ(reader.link_type(), 1u);
    const auto record = reader.next_record();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->data, (std::vector<uint8_t>{0xde, 0xad, 0xbe}));
    EXPECT_EQ(record->original_length, 4u);
    EXPECT_EQ(record->timestamp, std::chrono::nanoseconds(5999999999));
    EXPECT_FALSE(reader.next().has_value());
}

TEST_F(Pcap, RejectsGarbageAndTruncation)
{
    PcapReader reader;
    EXPECT_FALSE(reader.open(path("missing.pcap")));
    EXPECT_FALSE(reader.error().empty());

    write_bytes(path("garbage"), std::vector<uint8_t>(40, 0x42));
    EXPECT_FALSE(reader.open(path("garbage")));
    EXPECT_NE(reader.error().find("magic"), std::string::npos);

    write_bytes(path("short"), {0xd4, 0xc3, 0xb2, 0xa1});
    EXPECT_FALSE(reader.open(path("short")));

    {
        PcapWriter writer;
        ASSERT_TRUE(writer.open(path("cut.pcap")));
        ASSERT_TRUE(writer.write(test::pattern_payload(100)));
    }
    std::filesystem::resize_file(path("cut.pcap"), 24 + 16 + 50);
    ASSERT_TRUE(reader.open(path("cut.pcap")));
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_NE(reader.error().find("truncated"), std::string::npos);

    PcapWriter writer;
    EXPECT_FALSE(writer.open(path("no/such/dir/x.pcap")));
    EXPECT_FALSE(writer.error().empty());
    EXPECT_FALSE(writer.write(test::pattern_payload(10)));
}

TEST_F(Pcap, WriterIsMovable)
{
    PcapWriter first;
    ASSERT_TRUE(first.open(path("moved.pcap")));
    PcapWriter second = std::move(first);
    EXPECT_TRUE(second.is_open());
    EXPECT_TRUE(second.write(test::pattern_payload(20)));
    second.close();
    EXPECT_FALSE(second.is_open());

    PcapReader reader;
    ASSERT_TRUE(reader.open(path("moved.pcap")));
    PcapReader moved = std::move(reader);
    EXPECT_EQ(moved.next(), std::optional(test::pattern_payload(20)));
}

} // namespace
} // namespace mana_emu::packet
