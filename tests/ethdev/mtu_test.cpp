/* SPDX-License-Identifier: BSD-3-Clause */
// The port MTU is the kernel netdev's (as on Azure): rte_eth_dev_set_mtu must change the
// MTU of the netdev the sysfs tree names for the port, reject what the device cannot
// take without touching it, and fail clearly when there is no such netdev. The emulator
// creates a TAP interface per port (netdev=auto, needs CAP_NET_ADMIN); the run with
// MANA_TEST_NO_NETDEV=1 uses netdev=none, where the port has only a name in sysfs.
#include "ethdev_harness.h"

#include <rte_log.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ethdev_test
{
namespace
{

namespace fs = std::filesystem;

std::string netdev_of(unsigned emu_port)
{
    struct mana_emu_port_info info {
    };
    EXPECT_EQ(mana_emu_port_info(emu_port, &info), 0);
    return info.ifname;
}

// The kernel's MTU of `ifname`, or -1 if the interface does not exist.
int kernel_mtu(const std::string &ifname)
{
    std::ifstream in("/sys/class/net/" + ifname + "/mtu");
    int mtu = -1;
    in >> mtu;
    return in ? mtu : -1;
}

bool without_netdev()
{
    return std::getenv("MANA_TEST_NO_NETDEV") != nullptr;
}

uint16_t ethdev_mtu(uint16_t port)
{
    uint16_t mtu = 0;
    EXPECT_EQ(rte_eth_dev_get_mtu(port, &mtu), 0);
    return mtu;
}

// What the driver logs while `action` runs.
template <typename Action>
std::string logged_during(Action action)
{
    char *text = nullptr;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    FILE *previous = rte_log_get_stream();
    rte_openlog_stream(stream);
    action();
    rte_openlog_stream(previous == stderr ? nullptr : previous);
    std::fclose(stream);
    std::string result(text, size);
    std::free(text);
    return result;
}

class Mtu : public EthdevTest
{
  protected:
    void SetUp() override
    {
        EthdevTest::SetUp();
        if (without_netdev())
            GTEST_SKIP() << "this run has netdev=none";
        // ethdev takes an MTU only on a configured port.
        rte_mempool *pool = make_pool(1024);
        ASSERT_EQ(configure(port0_, {}, pool), 0);
        ASSERT_EQ(configure(port1_, {}, pool), 0);
        ifname_ = netdev_of(0);
        ASSERT_EQ(kernel_mtu(ifname_), 1500)
            << "no kernel netdev " << ifname_ << " for port 0 (needs CAP_NET_ADMIN)";
    }
    void TearDown() override
    {
        if (!without_netdev()) {
            EXPECT_EQ(rte_eth_dev_set_mtu(port0_, RTE_ETHER_MTU), 0);
        }
        EthdevTest::TearDown();
    }
    std::string ifname_;
};

TEST_F(Mtu, SetMtuChangesTheKernelNetdevOfThatPortOnly)
{
    ASSERT_EQ(rte_eth_dev_set_mtu(port0_, 4000), 0);
    EXPECT_EQ(kernel_mtu(ifname_), 4000);
    EXPECT_EQ(ethdev_mtu(port0_), 4000);
    EXPECT_EQ(kernel_mtu(netdev_of(1)), 1500) << "the other port's netdev changed";
    EXPECT_EQ(ethdev_mtu(port1_), 1500);

    // The sysfs tree the driver probes from shows the kernel's value too.
    std::ifstream in(fs::path(mana_emu_sysfs_pci_dir()) / kBdf / "net" / ifname_ / "mtu");
    int shown = 0;
    in >> shown;
    EXPECT_EQ(shown, 4000);

    ASSERT_EQ(rte_eth_dev_set_mtu(port0_, 9000), 0); // the largest the VF takes
    EXPECT_EQ(kernel_mtu(ifname_), 9000);
    ASSERT_EQ(rte_eth_dev_set_mtu(port0_, RTE_ETHER_MIN_MTU), 0);
    EXPECT_EQ(kernel_mtu(ifname_), RTE_ETHER_MIN_MTU);
    EXPECT_EQ(ethdev_mtu(port0_), RTE_ETHER_MIN_MTU);
}

TEST_F(Mtu, InvalidMtusAreRejectedAndChangeNothing)
{
    ASSERT_EQ(rte_eth_dev_set_mtu(port0_, 3000), 0);
    for (const uint16_t bad :
         {uint16_t{9001}, uint16_t{20000}, uint16_t{RTE_ETHER_MIN_MTU - 1}, uint16_t{0}}) {
        EXPECT_EQ(rte_eth_dev_set_mtu(port0_, bad), -EINVAL) << "MTU " << bad;
        EXPECT_EQ(kernel_mtu(ifname_), 3000) << "after MTU " << bad;
        EXPECT_EQ(ethdev_mtu(port0_), 3000) << "after MTU " << bad;
    }
}

TEST_F(Mtu, JumboFramesPassAfterTheMtuIsRaised)
{
    // Buffers for a whole 9000-byte-MTU frame (no RX scatter). rte_eth_dev_configure
    // resets the MTU, so it is set after configuring.
    rte_mempool *pool = make_pool(1024, RTE_PKTMBUF_HEADROOM + 9216);
    for (const uint16_t port : {port0_, port1_}) {
        ASSERT_EQ(configure(port, {}, pool), 0);
        ASSERT_EQ(rte_eth_dev_set_mtu(port, 9000), 0);
        ASSERT_EQ(rte_eth_dev_start(port), 0);
    }
    FlowSpec flow;
    flow.src = ipv4(10, 0, 0, 1);
    flow.dst = ipv4(10, 0, 0, 2);
    flow.payload = 9000 - 20 - 8; // IPv4 + UDP headers: an IP packet of exactly the MTU
    const Frame frame = make_frame(flow, mac_of(1), mac_of(0));
    rte_mbuf *mbuf = to_mbuf(pool, frame); // one segment: the harness's pools are smaller
    ASSERT_NE(mbuf, nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port0_, 0, &mbuf, 1), 1);
    mana_emu_poll();
    const auto got = received_frames(port1_, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], frame);
    EXPECT_EQ(stats(port1_).ierrors, 0u);
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    ASSERT_EQ(rte_eth_dev_stop(port1_), 0);
    EXPECT_EQ(rte_eth_dev_set_mtu(port1_, RTE_ETHER_MTU), 0);
}

using MtuWithoutNetdev = EthdevTest;

TEST_F(MtuWithoutNetdev, SetMtuFailsWithENODEVAndSaysWhy)
{
    if (!without_netdev())
        GTEST_SKIP() << "run with MANA_TEST_NO_NETDEV=1 and netdev=none";
    ASSERT_EQ(configure(port0_, {}, make_pool(512)), 0);
    const std::string ifname = netdev_of(0);
    ASSERT_EQ(kernel_mtu(ifname), -1) << ifname << " exists although netdev=none";
    int rc = 0;
    const std::string log = logged_during([&] { rc = rte_eth_dev_set_mtu(port0_, 4000); });
    EXPECT_EQ(rc, -ENODEV);
    EXPECT_EQ(ethdev_mtu(port0_), 1500) << "the port claims an MTU it does not have";
    EXPECT_NE(log.find("no kernel netdev " + ifname), std::string::npos) << log;
    EXPECT_NE(log.find("cannot set MTU 4000"), std::string::npos) << log;
    // Invalid values are still refused before the netdev is looked for.
    EXPECT_EQ(rte_eth_dev_set_mtu(port0_, 9001), -EINVAL);
}

} // namespace
} // namespace ethdev_test
