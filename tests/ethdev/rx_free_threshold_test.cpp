/* SPDX-License-Identifier: BSD-3-Clause */
// rx_free_thresh: an RX burst refills its ring once that many descriptors are free, so
// bursts of a few packets share one mbuf allocation and one doorbell. The default (0) is
// 8 (a quarter of a ring smaller than 32, which ethdev does not allow here); a threshold
// the ring cannot reach is
// refused at setup. Nothing a refill waits for is lost: frames keep arriving into the
// buffers still posted, and the slots come back at the threshold.
#include "ethdev_harness.h"

#include <rte_ethdev.h>

namespace ethdev_test
{
namespace
{

uint16_t free_threshold(uint16_t port, uint16_t queue = 0)
{
    rte_eth_rxq_info info{};
    EXPECT_EQ(rte_eth_rx_queue_info_get(port, queue, &info), 0);
    return info.conf.rx_free_thresh;
}

class RxFreeThreshold : public EthdevTest
{
  protected:
    // One packet per burst, `count` times; each burst must return one.
    void receive_one_by_one(unsigned count)
    {
        for (unsigned i = 0; i < count; ++i) {
            rte_mbuf *mbuf = nullptr;
            ASSERT_EQ(rte_eth_rx_burst(port1_, 0, &mbuf, 1), 1) << "packet " << i;
            rte_pktmbuf_free(mbuf);
        }
    }
};

TEST_F(RxFreeThreshold, DefaultIsEightForEveryRing)
{
    rte_mempool *pool = start_port(port1_, {}, 2048);
    EXPECT_EQ(free_threshold(port1_), 8);
    setup_and_start(port0_, {.rx_descriptors = 32}, pool);
    EXPECT_EQ(free_threshold(port0_), 8);
    // The rings between, as queues of one port.
    ASSERT_EQ(rte_eth_dev_stop(port0_), 0);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port0_, 2, 1, &conf), 0);
    for (const uint16_t queue : {uint16_t{0}, uint16_t{1}}) {
        const auto descriptors = static_cast<uint16_t>(64U << queue);
        ASSERT_EQ(rte_eth_rx_queue_setup(port0_, queue, descriptors, SOCKET_ID_ANY, nullptr, pool),
                  0);
        EXPECT_EQ(free_threshold(port0_, queue), 8) << descriptors << " descriptors";
    }

    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port1_, &info), 0);
    EXPECT_EQ(info.default_rxconf.rx_free_thresh, 0) << "0 asks for the driver's default";
}

TEST_F(RxFreeThreshold, SmallBurstsShareOneRefillAndDoorbell)
{
    start_port(port0_, {}, 2048);
    rte_mempool *rx_pool = start_port(port1_, {}, 1024);
    const unsigned posted_at_start = rx_pool->size - rte_mempool_avail_count(rx_pool);
    EXPECT_EQ(posted_at_start, 256U);
    send(port0_, 0, ipv4_flow_frames(64, false));
    const uint64_t doorbells = xstat(port1_, "rx_q0_doorbells");

    // 7 single-packet bursts free 7 descriptors: no refill yet, no doorbell.
    receive_one_by_one(7);
    EXPECT_EQ(xstat(port1_, "rx_q0_doorbells"), doorbells);
    EXPECT_EQ(rte_eth_rx_queue_count(port1_, 0), 57);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 56), RTE_ETH_RX_DESC_DONE);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 248), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 249), RTE_ETH_RX_DESC_UNAVAIL);
    EXPECT_EQ(rx_pool->size - rte_mempool_avail_count(rx_pool), 249U)
        << "the 7 received mbufs are back in the pool, none taken for the ring";

    // The 8th refills the 8 slots in one batch and rings once; 8 more do it again.
    receive_one_by_one(1);
    EXPECT_EQ(xstat(port1_, "rx_q0_doorbells"), doorbells + 1);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 255), RTE_ETH_RX_DESC_AVAIL);
    EXPECT_EQ(rx_pool->size - rte_mempool_avail_count(rx_pool), 256U);
    receive_one_by_one(8);
    EXPECT_EQ(xstat(port1_, "rx_q0_doorbells"), doorbells + 2);

    // Every frame arrives.
    auto rest = receive_all(port1_, 1);
    EXPECT_EQ(rest.size(), 48U);
    free_all(rest);
    const auto s = stats(port1_);
    EXPECT_EQ(s.ipackets, 64U);
    EXPECT_EQ(s.imissed + s.ierrors + s.rx_nombuf, 0U);
}

TEST_F(RxFreeThreshold, ThresholdOfOneRefillsAfterEveryBurst)
{
    start_ports({}, {.rx_free_thresh = 1}, 2048);
    EXPECT_EQ(free_threshold(port1_), 1);
    send(port0_, 0, ipv4_flow_frames(8, false));
    const uint64_t doorbells = xstat(port1_, "rx_q0_doorbells");
    receive_one_by_one(8);
    EXPECT_EQ(xstat(port1_, "rx_q0_doorbells"), doorbells + 8);
    EXPECT_EQ(rte_eth_rx_descriptor_status(port1_, 0, 255), RTE_ETH_RX_DESC_AVAIL);
}

TEST_F(RxFreeThreshold, LargerThanTheRingIsRefusedAndTakesNothing)
{
    rte_mempool *pool = make_pool(1024);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port1_, 1, 1, &conf), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port1_, &info), 0);
    rte_eth_rxconf rxconf = info.default_rxconf;
    for (const uint16_t refused : {uint16_t{64}, uint16_t{1000}}) {
        rxconf.rx_free_thresh = refused;
        EXPECT_EQ(rte_eth_rx_queue_setup(port1_, 0, 64, SOCKET_ID_ANY, &rxconf, pool), -EINVAL)
            << "rx_free_thresh " << refused << " with 64 descriptors";
        EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
    }
    rxconf.rx_free_thresh = 63;
    ASSERT_EQ(rte_eth_rx_queue_setup(port1_, 0, 64, SOCKET_ID_ANY, &rxconf, pool), 0);
    EXPECT_EQ(free_threshold(port1_), 63);
}

} // namespace
} // namespace ethdev_test
