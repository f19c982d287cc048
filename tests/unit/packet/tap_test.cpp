// SPDX-License-Identifier: BSD-3-Clause
#include "frame_builder.h"
#include "tap.h"

#include <gtest/gtest.h>

#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace mana_emu::packet
{
namespace
{

uint64_t read_counter(const std::string &ifname, const char *counter)
{
    std::ifstream in("/sys/class/net/" + ifname + "/statistics/" + counter);
    uint64_t value = 0;
    in >> value;
    return value;
}

// A name unique to this process, so that concurrent test runs do not share a TAP.
std::string test_tap_name()
{
    return "mpkt" + std::to_string(::getpid() % 100000);
}

TEST(Tap, OpenWriteAndClose)
{
    TapDevice tap;
    const int result = tap.open(test_tap_name());
    // Where TAPs cannot be created (no /dev/net/tun, no CAP_NET_ADMIN) there is nothing to test.
    if (result < 0)
        GTEST_SKIP() << "cannot create a TAP interface: " << std::strerror(-result);
    ASSERT_GE(tap.fd(), 0);
    const std::string name = tap.name();
    EXPECT_EQ(name, test_tap_name());
    EXPECT_NE(if_nametoindex(name.c_str()), 0u);

    ASSERT_EQ(tap.set_up(), 0);
    test::FrameSpec spec;
    spec.protocol = 17;
    spec.payload = test::pattern_payload(64);
    const auto frame = test::build_frame(spec);
    const uint64_t received_before = read_counter(name, "rx_packets");
    EXPECT_TRUE(tap.write(frame));
    // What we write is what the interface receives.
    EXPECT_EQ(read_counter(name, "rx_packets"), received_before + 1);

    // Nothing or kernel chatter (e.g. IPv6 router solicitations) to read, never an error.
    std::vector<uint8_t> buffer(2048);
    const ssize_t n = tap.read(buffer);
    EXPECT_TRUE(n == -EAGAIN || n > 0) << n;

    // Moving transfers the fd; the interface disappears with the last fd.
    TapDevice moved = std::move(tap);
    EXPECT_EQ(tap.fd(), -1);
    EXPECT_FALSE(tap.write(frame));
    EXPECT_GE(moved.fd(), 0);
    EXPECT_EQ(moved.name(), name);
    moved.close();
    EXPECT_EQ(moved.fd(), -1);
    EXPECT_EQ(if_nametoindex(name.c_str()), 0u);
}

TEST(Tap, RejectsOverlongName)
{
    TapDevice tap;
    EXPECT_EQ(tap.open(std::string(IFNAMSIZ, 'x')), -EINVAL);
    EXPECT_EQ(tap.fd(), -1);
    EXPECT_EQ(tap.set_up(), -EBADF);
    std::vector<uint8_t> buffer(64);
    EXPECT_EQ(tap.read(buffer), -EBADF);
}

} // namespace
} // namespace mana_emu::packet
