/* SPDX-License-Identifier: BSD-3-Clause */
// doc/guides/nics/features/mana.ini must say exactly what the driver does: every feature
// marked Y is backed by the ethdev op and the capability bits DPDK applications look at,
// and every feature the driver has is marked Y. Features no op or capability can show
// (platforms, documentation, multi-process) are listed with where they are proven.
#include <ethdev_driver.h>
#include <rte_ethdev.h>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace
{

struct Driver {
    const rte_eth_dev *dev; // fast-path functions (descriptor status) live here
    const eth_dev_ops *ops;
    rte_eth_dev_info info;
    uint32_t dev_flags;
};

using Check = std::function<bool(const Driver &)>;

bool rx(const Driver &d, uint64_t offload)
{
    return (d.info.rx_offload_capa & offload) == offload;
}
bool tx(const Driver &d, uint64_t offload)
{
    return (d.info.tx_offload_capa & offload) == offload;
}

// Feature name (DPDK's doc/guides/nics/features/default.ini) -> what shows it.
const std::map<std::string, Check> &observable_features()
{
    static const std::map<std::string, Check> checks = {
        {"Speed capabilities", [](const Driver &d) { return d.info.speed_capa != 0; }},
        {"Link status", [](const Driver &d) { return d.ops->link_update != nullptr; }},
        {"Removal event",
         [](const Driver &d) { return (d.dev_flags & RTE_ETH_DEV_INTR_RMV) != 0; }},
        {"Rx interrupt", [](const Driver &d) { return d.ops->rx_queue_intr_enable != nullptr; }},
        {"Fast mbuf free",
         [](const Driver &d) { return tx(d, RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE); }},
        {"Free Tx mbuf on demand",
         [](const Driver &d) { return d.ops->tx_done_cleanup != nullptr; }},
        {"Queue start/stop",
         [](const Driver &d) {
             return d.ops->rx_queue_start != nullptr && d.ops->tx_queue_start != nullptr;
         }},
        {"Burst mode info",
         [](const Driver &d) {
             return d.ops->rx_burst_mode_get != nullptr && d.ops->tx_burst_mode_get != nullptr;
         }},
        {"Power mgmt address monitor",
         [](const Driver &d) { return d.ops->get_monitor_addr != nullptr; }},
        {"MTU update", [](const Driver &d) { return d.ops->mtu_set != nullptr; }},
        {"Scattered Rx", [](const Driver &d) { return rx(d, RTE_ETH_RX_OFFLOAD_SCATTER); }},
        {"TSO", [](const Driver &d) { return tx(d, RTE_ETH_TX_OFFLOAD_TCP_TSO); }},
        {"Promiscuous mode", [](const Driver &d) { return d.ops->promiscuous_enable != nullptr; }},
        {"Allmulticast mode",
         [](const Driver &d) { return d.ops->allmulticast_enable != nullptr; }},
        {"Unicast MAC filter", [](const Driver &d) { return d.ops->mac_addr_add != nullptr; }},
        {"RSS hash",
         [](const Driver &d) {
             return rx(d, RTE_ETH_RX_OFFLOAD_RSS_HASH) && d.info.flow_type_rss_offloads != 0;
         }},
        {"RSS key update", [](const Driver &d) { return d.ops->rss_hash_update != nullptr; }},
        {"RSS reta update",
         [](const Driver &d) { return d.ops->reta_update != nullptr && d.info.reta_size != 0; }},
        {"VLAN offload",
         [](const Driver &d) {
             return rx(d, RTE_ETH_RX_OFFLOAD_VLAN_STRIP) || tx(d, RTE_ETH_TX_OFFLOAD_VLAN_INSERT);
         }},
        {"L3 checksum offload",
         [](const Driver &d) {
             return rx(d, RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) && tx(d, RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
         }},
        {"L4 checksum offload",
         [](const Driver &d) {
             return rx(d, RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM) &&
                    tx(d, RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
         }},
        {"Packet type parsing",
         [](const Driver &d) { return d.ops->dev_supported_ptypes_get != nullptr; }},
        {"Rx descriptor status",
         [](const Driver &d) { return d.dev->rx_descriptor_status != nullptr; }},
        {"Tx descriptor status",
         [](const Driver &d) { return d.dev->tx_descriptor_status != nullptr; }},
        {"Basic stats", [](const Driver &d) { return d.ops->stats_get != nullptr; }},
        {"Extended stats", [](const Driver &d) { return d.ops->xstats_get != nullptr; }},
        {"FW version", [](const Driver &d) { return d.ops->fw_version_get != nullptr; }},
        {"Registers dump", [](const Driver &d) { return d.ops->get_reg != nullptr; }},
    };
    return checks;
}

// Features no op or capability bit can show, and where each is proven instead.
const std::map<std::string, std::string> &attested_features()
{
    static const std::map<std::string, std::string> proofs = {
        {"Stats per queue", "q_ipackets/q_opackets checked by tests/ethdev"},
        {"Multiprocess aware", "secondary-process tests (tests/multiprocess)"},
        {"Linux", "the only platform of the CI"},
        {"x86-64", "the only architecture of the CI"},
        {"Usage doc", "doc/guides/nics/mana.rst, built by this suite"},
    };
    return proofs;
}

// The [Features] section: name -> value ("Y", "P", ...).
std::map<std::string, std::string> read_matrix(const std::string &path)
{
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::map<std::string, std::string> matrix;
    std::string line;
    bool in_features = false;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == ';')
            continue;
        if (line[0] == '[') {
            in_features = line == "[Features]";
            continue;
        }
        if (!in_features)
            continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            ADD_FAILURE() << "malformed line in " << path << ": " << line;
            continue;
        }
        auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(' '));
            s.erase(s.find_last_not_of(' ') + 1);
            return s;
        };
        matrix[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
    return matrix;
}

TEST(FeatureMatrix, SaysExactlyWhatTheDriverDoes)
{
    const char *matrix_path = std::getenv("MANA_FEATURE_MATRIX");
    ASSERT_NE(matrix_path, nullptr) << "MANA_FEATURE_MATRIX is set by meson";
    const auto matrix = read_matrix(matrix_path);
    ASSERT_FALSE(matrix.empty());

    ASSERT_GE(rte_eth_dev_count_avail(), 1U) << "the emulated MANA port was not probed";
    Driver driver{};
    ASSERT_EQ(rte_eth_dev_info_get(0, &driver.info), 0);
    driver.dev = &rte_eth_devices[0];
    driver.ops = rte_eth_devices[0].dev_ops;
    driver.dev_flags = driver.info.dev_flags != nullptr ? *driver.info.dev_flags : 0;
    ASSERT_NE(driver.ops, nullptr);

    for (const auto &[feature, value] : matrix) {
        const bool observable = observable_features().contains(feature);
        EXPECT_TRUE(observable || attested_features().contains(feature))
            << "mana.ini lists '" << feature << "', which this test cannot check";
        EXPECT_EQ(value, "Y") << feature << ": list only what works, and mark it Y";
    }
    for (const auto &[feature, check] : observable_features()) {
        const bool listed = matrix.contains(feature);
        EXPECT_EQ(listed, check(driver))
            << "'" << feature << "' is " << (listed ? "" : "not ") << "in mana.ini but the driver "
            << (check(driver) ? "has" : "lacks") << " it";
    }
}

} // namespace
