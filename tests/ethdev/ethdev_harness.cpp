/* SPDX-License-Identifier: BSD-3-Clause */
#include "ethdev_harness.h"
#include "test_mempool.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace ethdev_test
{

std::array<uint8_t, 6> mac_of(unsigned emu_port)
{
    struct mana_emu_port_info info = {};
    EXPECT_EQ(mana_emu_port_info(emu_port, &info), 0);
    std::array<uint8_t, 6> mac;
    std::memcpy(mac.data(), info.mac, 6);
    return mac;
}

std::array<uint8_t, 6> port_mac(uint16_t port)
{
    rte_ether_addr mac{};
    EXPECT_EQ(rte_eth_macaddr_get(port, &mac), 0);
    std::array<uint8_t, 6> out;
    std::memcpy(out.data(), mac.addr_bytes, 6);
    return out;
}

std::array<uint8_t, 16> ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return {a, b, c, d};
}

Frame make_frame(const FlowSpec &flow, const std::array<uint8_t, 6> &dst_mac,
                 const std::array<uint8_t, 6> &src_mac)
{
    const std::size_t l3 = flow.ipv6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    const std::size_t l4 = flow.tcp ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
    Frame frame(sizeof(rte_ether_hdr) + l3 + l4 + flow.payload);
    auto *eth = reinterpret_cast<rte_ether_hdr *>(frame.data());
    std::memcpy(eth->dst_addr.addr_bytes, dst_mac.data(), 6);
    std::memcpy(eth->src_addr.addr_bytes, src_mac.data(), 6);
    eth->ether_type = rte_cpu_to_be_16(flow.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
    uint8_t *ip = frame.data() + sizeof(rte_ether_hdr);
    uint8_t *l4_header = ip + l3;
    for (std::size_t i = 0; i < flow.payload; ++i)
        l4_header[l4 + i] = static_cast<uint8_t>(flow.fill + i * 7);
    const uint8_t proto = flow.tcp ? IPPROTO_TCP : IPPROTO_UDP;
    if (flow.ipv6) {
        auto *h = reinterpret_cast<rte_ipv6_hdr *>(ip);
        h->vtc_flow = rte_cpu_to_be_32(6U << 28);
        h->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + flow.payload));
        h->proto = proto;
        h->hop_limits = 64;
        std::memcpy(h->src_addr, flow.src.data(), 16);
        std::memcpy(h->dst_addr, flow.dst.data(), 16);
    } else {
        auto *h = reinterpret_cast<rte_ipv4_hdr *>(ip);
        h->version_ihl = RTE_IPV4_VHL_DEF;
        h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3 + l4 + flow.payload));
        h->time_to_live = 64;
        h->next_proto_id = proto;
        std::memcpy(&h->src_addr, flow.src.data(), 4);
        std::memcpy(&h->dst_addr, flow.dst.data(), 4);
    }
    if (flow.tcp) {
        auto *t = reinterpret_cast<rte_tcp_hdr *>(l4_header);
        t->src_port = rte_cpu_to_be_16(flow.sport);
        t->dst_port = rte_cpu_to_be_16(flow.dport);
        t->data_off = 5 << 4;
        t->tcp_flags = RTE_TCP_ACK_FLAG;
        t->rx_win = rte_cpu_to_be_16(1024);
    } else {
        auto *u = reinterpret_cast<rte_udp_hdr *>(l4_header);
        u->src_port = rte_cpu_to_be_16(flow.sport);
        u->dst_port = rte_cpu_to_be_16(flow.dport);
        u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + flow.payload));
    }
    if (flow.zero_checksums)
        return frame;
    uint16_t l4_sum;
    if (flow.ipv6) {
        l4_sum = rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr *>(ip), l4_header);
    } else {
        auto *h = reinterpret_cast<rte_ipv4_hdr *>(ip);
        h->hdr_checksum = rte_ipv4_cksum(h);
        l4_sum = rte_ipv4_udptcp_cksum(h, l4_header);
        if (!flow.valid_checksums)
            h->hdr_checksum ^= 0x5555;
    }
    if (!flow.valid_checksums)
        l4_sum ^= 0x1234;
    if (flow.tcp)
        reinterpret_cast<rte_tcp_hdr *>(l4_header)->cksum = l4_sum;
    else
        reinterpret_cast<rte_udp_hdr *>(l4_header)->dgram_cksum = l4_sum;
    return frame;
}

Frame ipv4_flow_frame(uint32_t index, bool tcp, std::size_t payload)
{
    FlowSpec flow;
    flow.tcp = tcp;
    flow.src = ipv4(10, 0, static_cast<uint8_t>(index >> 8), static_cast<uint8_t>(index));
    flow.dst = ipv4(10, 1, 0, 1);
    flow.sport = static_cast<uint16_t>(1024 + index * 13);
    flow.dport = 80;
    flow.payload = payload;
    flow.fill = static_cast<uint8_t>(index);
    return make_frame(flow, mac_of(1), mac_of(0));
}

std::vector<Frame> ipv4_flow_frames(uint32_t count, bool tcp, uint32_t first)
{
    std::vector<Frame> frames;
    for (uint32_t i = 0; i < count; ++i)
        frames.push_back(ipv4_flow_frame(first + i, tcp));
    return frames;
}

uint32_t toeplitz(const uint8_t *key, const uint8_t *data, std::size_t len)
{
    uint32_t result = 0;
    // The 32-bit window of the key starting at bit i.
    auto window = [&](std::size_t bit) {
        uint32_t w = 0;
        for (std::size_t b = 0; b < 32; ++b) {
            const std::size_t k = bit + b;
            const unsigned key_bit = (key[k / 8] >> (7 - k % 8)) & 1U;
            w = (w << 1) | key_bit;
        }
        return w;
    };
    for (std::size_t i = 0; i < len * 8; ++i)
        if ((data[i / 8] >> (7 - i % 8)) & 1U)
            result ^= window(i);
    return result;
}

std::vector<uint8_t> rss_input(const FlowSpec &flow, bool with_ports)
{
    const std::size_t addr = flow.ipv6 ? 16 : 4;
    std::vector<uint8_t> input(flow.src.begin(), flow.src.begin() + static_cast<long>(addr));
    input.insert(input.end(), flow.dst.begin(), flow.dst.begin() + static_cast<long>(addr));
    if (with_ports) {
        input.push_back(static_cast<uint8_t>(flow.sport >> 8));
        input.push_back(static_cast<uint8_t>(flow.sport));
        input.push_back(static_cast<uint8_t>(flow.dport >> 8));
        input.push_back(static_cast<uint8_t>(flow.dport));
    }
    return input;
}

bool frame_checksums_valid(const uint8_t *frame, std::size_t len)
{
    if (len < sizeof(rte_ether_hdr))
        return false;
    const auto *eth = reinterpret_cast<const rte_ether_hdr *>(frame);
    const uint8_t *ip = frame + sizeof(rte_ether_hdr);
    const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_IPV4) {
        const auto *h = reinterpret_cast<const rte_ipv4_hdr *>(ip);
        if (rte_ipv4_cksum(h) != 0 && h->hdr_checksum != 0) {
            // rte_ipv4_cksum over a header with a correct checksum gives 0.
            rte_ipv4_hdr copy = *h;
            copy.hdr_checksum = 0;
            if (rte_ipv4_cksum(&copy) != h->hdr_checksum)
                return false;
        }
        return rte_ipv4_udptcp_cksum_verify(h, ip + rte_ipv4_hdr_len(h)) == 0;
    }
    if (type == RTE_ETHER_TYPE_IPV6) {
        const auto *h = reinterpret_cast<const rte_ipv6_hdr *>(ip);
        return rte_ipv6_udptcp_cksum_verify(h, ip + sizeof(rte_ipv6_hdr)) == 0;
    }
    return false;
}

rte_mbuf *to_mbuf(rte_mempool *pool, const Frame &frame)
{
    rte_mbuf *mbuf = rte_pktmbuf_alloc(pool);
    if (mbuf == nullptr)
        return nullptr;
    char *data = rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size()));
    if (data == nullptr) {
        rte_pktmbuf_free(mbuf);
        return nullptr;
    }
    std::memcpy(data, frame.data(), frame.size());
    return mbuf;
}

rte_mbuf *to_chain(rte_mempool *pool, const Frame &frame, unsigned pieces)
{
    rte_mbuf *head = nullptr;
    const std::size_t piece = frame.size() / pieces;
    for (unsigned p = 0; p < pieces; ++p) {
        const auto from = static_cast<long>(p * piece);
        const auto to =
            p + 1 == pieces ? static_cast<long>(frame.size()) : static_cast<long>((p + 1) * piece);
        rte_mbuf *segment = to_mbuf(pool, Frame(frame.begin() + from, frame.begin() + to));
        if (segment == nullptr || (head != nullptr && rte_pktmbuf_chain(head, segment) != 0)) {
            rte_pktmbuf_free(segment);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        if (head == nullptr)
            head = segment;
    }
    return head;
}

Frame from_mbuf(const rte_mbuf *mbuf)
{
    Frame frame(mbuf->pkt_len);
    const void *data = rte_pktmbuf_read(mbuf, 0, mbuf->pkt_len, frame.data());
    if (data != frame.data())
        std::memcpy(frame.data(), data, mbuf->pkt_len);
    return frame;
}

std::vector<rte_mbuf *> take_all(rte_mempool *pool)
{
    std::vector<rte_mbuf *> taken;
    while (rte_mbuf *mbuf = rte_pktmbuf_alloc(pool))
        taken.push_back(mbuf);
    return taken;
}

PortConfig rss_config(uint16_t rx_queues, uint64_t rss_hf, uint16_t tx_queues)
{
    PortConfig config;
    config.rx_queues = rx_queues;
    config.tx_queues = tx_queues;
    config.rss = true;
    config.rss_hf = rss_hf;
    return config;
}

RssHashConf rss_hash_conf(uint16_t port)
{
    RssHashConf conf;
    rte_eth_rss_conf rss{};
    rss.rss_key = conf.key.data();
    rss.rss_key_len = static_cast<uint8_t>(conf.key.size());
    conf.rc = rte_eth_dev_rss_hash_conf_get(port, &rss);
    conf.rss_hf = rss.rss_hf;
    return conf;
}

int reap_tx(uint16_t port)
{
    rte_eth_dev_info info{};
    const int rc = rte_eth_dev_info_get(port, &info);
    for (uint16_t q = 0; rc == 0 && q < info.nb_tx_queues; ++q)
        rte_eth_tx_burst(port, q, nullptr, 0);
    return rc;
}

uint64_t xstat(uint16_t port, const char *name)
{
    uint64_t id = 0;
    uint64_t value = 0;
    EXPECT_EQ(rte_eth_xstats_get_id_by_name(port, name, &id), 0) << name;
    EXPECT_EQ(rte_eth_xstats_get_by_id(port, &id, &value, 1), 1) << name;
    return value;
}

int EthdevTest::probe(const std::string &devargs)
{
    if (rte_eth_dev_count_avail() != 0)
        return 0;
    return rte_eal_hotplug_add("pci", kBdf, devargs.c_str());
}

int EthdevTest::remove()
{
    if (rte_eth_dev_count_avail() == 0)
        return 0;
    return rte_eal_hotplug_remove("pci", kBdf);
}

void EthdevTest::SetUp()
{
    ASSERT_EQ(probe(), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port0_), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port1_), 0);
    mana_emu_clear_faults();
    mana_emu_reset_counters();
    ASSERT_EQ(mana_emu_wire_ports(0, 1), 0);
}

void EthdevTest::TearDown()
{
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port)
    {
        EXPECT_EQ(rte_eth_dev_stop(port), 0);
    }
    mana_emu_poll();
    struct mana_emu_counters counters = {};
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.dma_violations, 0U);
    EXPECT_EQ(counters.wqe_violations, 0U);
    if (check_on_teardown_) {
        for (rte_mempool *pool : pools_) {
            EXPECT_EQ(rte_mempool_avail_count(pool), pool->size)
                << "mbufs of " << pool->name << " missing after stop";
        }
    }
    EXPECT_EQ(remove(), 0);
    ASSERT_EQ(mana_emu_counters(&counters), 0);
    EXPECT_EQ(counters.live_objects, 0U) << "verbs objects left after close";
    EXPECT_EQ(counters.open_fds, 0U) << "emulator fds left open after close";
    for (rte_mempool *pool : pools_) {
        if (check_on_teardown_) {
            EXPECT_EQ(rte_mempool_avail_count(pool), pool->size);
        }
        rte_mempool_free(pool);
    }
    pools_.clear();
    mana_emu_clear_faults();
}

rte_mempool *EthdevTest::make_pool(unsigned mbufs, uint16_t data_room)
{
    static std::atomic<unsigned> serial{0};
    const std::string name = "test_pool_" + std::to_string(serial++);
    rte_mempool *pool = test_mempool::create(name.c_str(), mbufs, 0, data_room, SOCKET_ID_ANY);
    EXPECT_NE(pool, nullptr) << rte_strerror(rte_errno);
    if (pool != nullptr)
        pools_.push_back(pool);
    return pool;
}

int EthdevTest::configure(uint16_t port, const PortConfig &config, rte_mempool *pool)
{
    rte_eth_conf conf{};
    conf.rxmode.mtu = config.mtu;
    conf.rxmode.offloads = config.rx_offloads;
    conf.txmode.offloads = config.tx_offloads;
    conf.intr_conf.rxq = config.rx_interrupts ? 1 : 0;
    if (config.rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = config.rss_hf;
        conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t *>(config.rss_key);
        conf.rx_adv_conf.rss_conf.rss_key_len = config.rss_key != nullptr ? 40 : 0;
    }
    int ret = rte_eth_dev_configure(port, config.rx_queues, config.tx_queues, &conf);
    if (ret != 0)
        return ret;
    rte_eth_dev_info info{};
    ret = rte_eth_dev_info_get(port, &info);
    if (ret != 0)
        return ret;
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.rx_free_thresh = config.rx_free_thresh;
    for (uint16_t q = 0; q < config.rx_queues; ++q) {
        ret = rte_eth_rx_queue_setup(port, q, config.rx_descriptors, SOCKET_ID_ANY,
                                     config.rx_free_thresh != 0 ? &rxconf : nullptr, pool);
        if (ret != 0)
            return ret;
    }
    for (uint16_t q = 0; q < config.tx_queues; ++q) {
        ret = rte_eth_tx_queue_setup(port, q, config.tx_descriptors, SOCKET_ID_ANY, nullptr);
        if (ret != 0)
            return ret;
    }
    return 0;
}

void EthdevTest::setup_and_start(uint16_t port, const PortConfig &config, rte_mempool *pool)
{
    ASSERT_EQ(configure(port, config, pool), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
}

rte_mempool *EthdevTest::start_port(uint16_t port, const PortConfig &config, unsigned mbufs,
                                    uint16_t data_room)
{
    rte_mempool *pool = make_pool(mbufs, data_room);
    setup_and_start(port, config, pool);
    return pool;
}

rte_mempool *EthdevTest::start_ports(const PortConfig &port0, const PortConfig &port1,
                                     unsigned mbufs)
{
    rte_mempool *pool = make_pool(mbufs);
    setup_and_start(port0_, port0, pool);
    setup_and_start(port1_, port1, pool);
    return pool;
}

void EthdevTest::send(uint16_t port, uint16_t queue, const std::vector<Frame> &frames,
                      uint64_t ol_flags)
{
    send_from(make_pool(static_cast<unsigned>(frames.size()) + 64), port, queue, frames, 64,
              ol_flags);
}

void EthdevTest::send_from(rte_mempool *pool, uint16_t port, uint16_t queue,
                           const std::vector<Frame> &frames, uint16_t burst, uint64_t ol_flags)
{
    std::vector<rte_mbuf *> mbufs;
    for (const Frame &frame : frames) {
        rte_mbuf *mbuf = to_mbuf(pool, frame);
        ASSERT_NE(mbuf, nullptr);
        mbuf->ol_flags |= ol_flags;
        mbufs.push_back(mbuf);
    }
    std::size_t sent = 0;
    while (sent < mbufs.size()) {
        const uint16_t n = rte_eth_tx_burst(
            port, queue, mbufs.data() + sent,
            static_cast<uint16_t>(std::min<std::size_t>(mbufs.size() - sent, burst)));
        if (n == 0)
            mana_emu_poll(); // ring full: let the device complete
        sent += n;
    }
    mana_emu_poll();
}

std::vector<std::vector<rte_mbuf *>> EthdevTest::receive(uint16_t port, uint16_t queues)
{
    std::vector<std::vector<rte_mbuf *>> result(queues);
    for (int round = 0; round < 4; ++round) {
        mana_emu_poll();
        for (uint16_t q = 0; q < queues; ++q) {
            std::array<rte_mbuf *, 32> burst;
            uint16_t n;
            while ((n = rte_eth_rx_burst(port, q, burst.data(), burst.size())) != 0)
                result[q].insert(result[q].end(), burst.begin(), burst.begin() + n);
        }
    }
    return result;
}

std::vector<rte_mbuf *> EthdevTest::receive_all(uint16_t port, uint16_t queues)
{
    std::vector<rte_mbuf *> all;
    for (auto &queue : receive(port, queues))
        all.insert(all.end(), queue.begin(), queue.end());
    return all;
}

std::vector<Frame> EthdevTest::received_frames(uint16_t port, uint16_t queues)
{
    std::vector<rte_mbuf *> mbufs = receive_all(port, queues);
    std::vector<Frame> frames;
    for (const rte_mbuf *mbuf : mbufs)
        frames.push_back(from_mbuf(mbuf));
    free_all(mbufs);
    return frames;
}

void EthdevTest::free_all(std::vector<rte_mbuf *> &mbufs)
{
    for (rte_mbuf *mbuf : mbufs)
        rte_pktmbuf_free(mbuf);
    mbufs.clear();
}

// No TX burst first: what a test asserts is what rte_eth_stats_get gives an application
// (the driver counts the success completions no burst has read yet; tests that need
// failed completions counted or sent mbufs freed call reap_tx themselves).
rte_eth_stats EthdevTest::stats(uint16_t port)
{
    rte_eth_stats s{};
    EXPECT_EQ(rte_eth_stats_get(port, &s), 0);
    return s;
}

} // namespace ethdev_test

int main(int argc, char **argv)
{
    testing::InitGoogleTest(&argc, argv);
    const char *mode = std::getenv("MANA_EMU_MODE");
    if (mode == nullptr || std::strcmp(mode, "threaded") != 0)
        mana_emu_set_mode(MANA_EMU_STEP);
    const char *lcores = std::getenv("MANA_TEST_LCORES");
    const char *pmd = std::getenv("MANA_PMD");
    if (pmd == nullptr) {
        std::fprintf(stderr, "set MANA_PMD to the path of librte_net_mana.so\n");
        return 2;
    }
    std::string allow = ethdev_test::kBdf;
    if (const char *devargs = std::getenv("MANA_TEST_DEVARGS"))
        allow += std::string(",") + devargs;
    std::vector<std::string> args = {"ethdev_test",
                                     "--no-huge",
                                     "-m",
                                     "512",
                                     "--no-shconf",
                                     "--lcores",
                                     lcores ? lcores : "0",
                                     "-a",
                                     allow,
                                     "-d",
                                     pmd,
                                     "--log-level=pmd.net.mana.*:debug"};
    std::vector<char *> argv_eal;
    for (auto &arg : args)
        argv_eal.push_back(arg.data());
    if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
