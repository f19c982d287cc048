/* SPDX-License-Identifier: BSD-3-Clause */
// Wire back ends: port-to-port wiring across functions, pcap capture and replay, a Linux
// TAP peer.
#include "emu_harness.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

using namespace emu_test;

namespace
{

constexpr uint64_t kIpv4 = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4;

class WiresTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
};

// Port 0 wired to a TAP of its own and a packet socket on the kernel's side of it; addr
// names the TAP (for bind and sendto).
struct TapPeer {
    int sock = -1;
    sockaddr_ll addr{};
};

// Sets `tap` up with a TAP named `prefix` and this process's pid; nullptr, or what the
// machine lacks for it (the test is then skipped, and port 0 is left unwired).
const char *open_tap_peer(const char *prefix, TapPeer &tap)
{
    const std::string ifname = prefix + std::to_string(getpid() % 100000);
    if (mana_emu_wire_tap(0, ifname.c_str()) != 0)
        return "no TAP device (needs CAP_NET_ADMIN and /dev/net/tun)";
    tap.sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (tap.sock < 0) {
        mana_emu_wire_none(0);
        return "no packet socket";
    }
    tap.addr.sll_family = AF_PACKET;
    tap.addr.sll_protocol = htons(ETH_P_ALL);
    tap.addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    return nullptr;
}

// 64 buffers of 2 KiB, from the upper half of the device's memory.
struct Receiver : RssRxQueue {
    explicit Receiver(Device &dev) : RssRxQueue(dev, kIpv4, 64, 64, 2048, 512 * 1024) {}
};

TEST_F(WiresTest, PortsOfDifferentFunctionsCanBeWired)
{
    reset_emulator("vf=7870:00:00.0,ports=1;vf=7870:00:01.0,ports=1;wire=0:none");
    ASSERT_EQ(mana_emu_wire_ports(0, 1), 0);
    Device a(1, 0);
    Device b(1, 1);
    Receiver rx(b);
    auto tx = a.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 99);
    const gdma::Sge sge = a.stage(frame, 0);
    a.post_tx(tx, std::span(&sge, 1), a.default_oob(tx));
    a.ring_sq(tx);
    mana_emu_poll();
    auto fields = rx.next_rx();
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->packets[0].length, frame.size());
    struct mana_emu_counters port1 {
    };
    ASSERT_EQ(mana_emu_port_counters(1, &port1), 0);
    EXPECT_EQ(port1.rx_frames, 1u);
    // Rewiring port 0 unplugs the old peer.
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    a.post_tx(tx, std::span(&sge, 1), a.default_oob(tx));
    a.ring_sq(tx);
    mana_emu_poll();
    EXPECT_FALSE(rx.next_rx());
    EXPECT_EQ(mana_emu_wire_ports(0, 7), -EINVAL);
    a.destroy(tx);
}

TEST_F(WiresTest, PcapCaptureThenReplay)
{
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("mana_emu_test_" + std::to_string(getpid()) + ".pcap"))
                                 .string();
    {
        Device dev;
        ASSERT_EQ(mana_emu_wire_none(0), 0);
        ASSERT_EQ(mana_emu_pcap_capture(0, path.c_str()), 0);
        auto tx = dev.make_tx();
        for (uint16_t i = 0; i < 3; ++i) {
            const auto frame = make_udp_frame(1, 2, 3, i, 10 + i);
            const gdma::Sge sge = dev.stage(frame, i * 256);
            dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        }
        dev.ring_sq(tx);
        mana_emu_poll();
        dev.destroy(tx);
    }
    reset_emulator(); // closes the capture file
    Device dev;
    Receiver rx(dev);
    ASSERT_EQ(mana_emu_pcap_replay(0, path.c_str()), 0);
    mana_emu_poll();
    for (uint16_t i = 0; i < 3; ++i) {
        auto fields = rx.next_rx();
        ASSERT_TRUE(fields) << i;
        EXPECT_EQ(fields->packets[0].length, make_udp_frame(1, 2, 3, i, 10 + i).size());
    }
    EXPECT_FALSE(rx.next_rx());
    EXPECT_EQ(mana_emu_pcap_replay(0, "/nonexistent/x.pcap"), -EIO);
    std::filesystem::remove(path);
}

TEST_F(WiresTest, TapPeerSeesTransmittedFramesAndFeedsReceive)
{
    TapPeer tap;
    if (const char *missing = open_tap_peer("memu", tap))
        GTEST_SKIP() << missing;
    ASSERT_GT(tap.addr.sll_ifindex, 0);
    ASSERT_EQ(bind(tap.sock, reinterpret_cast<sockaddr *>(&tap.addr), sizeof(tap.addr)), 0);
    {
        Device dev;
        Receiver rx(dev);
        auto tx = dev.make_tx();
        auto frame = make_udp_frame(0x0a0b0c0d, 0x0a0b0c0e, 4321, 9, 64);
        const gdma::Sge sge = dev.stage(frame, 0);
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
        dev.ring_sq(tx);
        mana_emu_poll();
        // The kernel side of the TAP receives it.
        bool seen = false;
        std::vector<uint8_t> buf(4096);
        for (int tries = 0; tries < 50 && !seen; ++tries) {
            pollfd pfd{tap.sock, POLLIN, 0};
            if (poll(&pfd, 1, 20) <= 0)
                continue;
            const ssize_t n = recv(tap.sock, buf.data(), buf.size(), 0);
            seen = n == static_cast<ssize_t>(frame.size()) &&
                   std::equal(frame.begin(), frame.end(), buf.begin());
        }
        EXPECT_TRUE(seen);
        // What the kernel sends into the TAP arrives at the port.
        frame[frame.size() - 1] ^= 1; // a different frame (bad UDP checksum is fine)
        ASSERT_EQ(sendto(tap.sock, frame.data(), frame.size(), 0,
                         reinterpret_cast<sockaddr *>(&tap.addr), sizeof(tap.addr)),
                  static_cast<ssize_t>(frame.size()));
        bool received = false;
        for (int tries = 0; tries < 50 && !received; ++tries) {
            mana_emu_poll();
            while (auto fields = rx.next_rx())
                received |= fields->packets[0].length == frame.size();
            if (!received)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(received);
        dev.destroy(tx);
    }
    close(tap.sock);
    EXPECT_EQ(mana_emu_wire_none(0), 0);
}

// A TAP wire has flow control: frames the kernel sends while the receive queue has no
// buffer wait (in the emulator, then in the kernel's queue) and arrive once buffers are
// posted, where a wire drops them. Once dropped and counted as rx_drops_no_buffer: a TCP
// sender behind the TAP lost a frame each time the application polled a moment late.
TEST_F(WiresTest, TapFramesWaitForReceiveBuffersInsteadOfBeingDropped)
{
    TapPeer tap;
    if (const char *missing = open_tap_peer("memw", tap))
        GTEST_SKIP() << missing;
    ASSERT_GT(tap.addr.sll_ifindex, 0);
    {
        Device dev;
        constexpr unsigned kPosted = 2;
        constexpr unsigned kSent = 6;
        RssRxQueue rx(dev, kIpv4, 64, kPosted, 2048, 512 * 1024);
        mana_emu_reset_counters();
        for (unsigned i = 0; i < kSent; ++i) {
            const auto frame = make_udp_frame(0x0a000001 + i, 0x0a000002, 1000, 2000, 64);
            ASSERT_EQ(sendto(tap.sock, frame.data(), frame.size(), 0,
                             reinterpret_cast<sockaddr *>(&tap.addr), sizeof(tap.addr)),
                      static_cast<ssize_t>(frame.size()));
        }
        // Only the posted buffers fill; the rest wait, none is dropped.
        unsigned received = 0;
        const auto drain = [&] {
            for (int tries = 0; tries < 20; ++tries) {
                mana_emu_poll();
                while (rx.next_rx())
                    ++received;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        };
        drain();
        EXPECT_EQ(received, kPosted);
        struct mana_emu_counters k {
        };
        ASSERT_EQ(mana_emu_port_counters(0, &k), 0);
        EXPECT_EQ(k.rx_drops_no_buffer, 0u);
        struct mana_emu_wire_counters wire {
        };
        ASSERT_EQ(mana_emu_wire_counters(0, &wire, sizeof(wire)), 0);
        EXPECT_EQ(wire.rx_waited, 1u) << "the TAP was read on while a frame waited";
        // Buffers for the rest: every frame arrives.
        dev.post_rx(rx.q, kSent, 2048, 512 * 1024 + 64 * 2048);
        dev.ring_rq(rx.q);
        drain();
        EXPECT_EQ(received, kSent);
        ASSERT_EQ(mana_emu_port_counters(0, &k), 0);
        EXPECT_EQ(k.rx_frames, kSent);
        EXPECT_EQ(k.rx_drops_no_buffer, 0u);
        // A caller that knows a shorter structure gets only what it has room for.
        uint64_t first = 0;
        ASSERT_EQ(mana_emu_wire_counters(0, reinterpret_cast<mana_emu_wire_counters_t *>(&first),
                                         sizeof(first)),
                  0);
        EXPECT_EQ(first, 0u); // tx_refused
    }
    close(tap.sock);
    EXPECT_EQ(mana_emu_wire_none(0), 0);
}

} // namespace
