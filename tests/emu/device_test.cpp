/* SPDX-License-Identifier: BSD-3-Clause */
// Topology, the fake sysfs tree, device/port queries, contexts and protection domains.
#include "emu_harness.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace emu_test;
namespace fs = std::filesystem;

namespace
{

std::string read_text(const fs::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class DeviceTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
};

TEST_F(DeviceTest, DefaultTopologyIsOneVfWithTwoPorts)
{
    ASSERT_EQ(mana_emu_port_count(), 2u);
    struct mana_emu_port_info info {
    };
    ASSERT_EQ(mana_emu_port_info(0, &info), 0);
    EXPECT_STREQ(info.pci_bdf, "7870:00:00.0");
    EXPECT_EQ(info.ib_port, 1u);
    const uint8_t mac0[6] = {0x00, 0x15, 0x5d, 0x78, 0x70, 0x00};
    EXPECT_EQ(0, memcmp(info.mac, mac0, 6));
    ASSERT_EQ(mana_emu_port_info(1, &info), 0);
    EXPECT_EQ(info.ib_port, 2u);
    EXPECT_EQ(info.mac[5], 0x01);
    EXPECT_EQ(mana_emu_port_info(2, &info), -EINVAL);
}

TEST_F(DeviceTest, SysfsTreeDescribesTheFunction)
{
    const fs::path pci = mana_emu_sysfs_pci_dir();
    ASSERT_FALSE(pci.empty());
    const char *env = getenv("SYSFS_PCI_DEVICES");
    ASSERT_NE(env, nullptr);
    EXPECT_EQ(fs::path(env), pci);
    const fs::path fn = pci / "7870:00:00.0";
    EXPECT_EQ(read_text(fn / "vendor"), "0x1414\n");
    EXPECT_EQ(read_text(fn / "device"), "0x00ba\n");
    EXPECT_EQ(read_text(fn / "class"), "0x020000\n");
    EXPECT_EQ(read_text(fn / "numa_node"), "0\n");
    std::istringstream resource(read_text(fn / "resource"));
    int lines = 0;
    for (std::string line; std::getline(resource, line);)
        ++lines;
    EXPECT_GE(lines, 6);
    EXPECT_EQ(fs::read_symlink(fn / "driver").filename(), "mana");

    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    ASSERT_EQ(n, 1);
    const fs::path ibdev = list[0]->ibdev_path;
    EXPECT_STREQ(ibv_get_device_name(list[0]), "mana_0");
    ibv_free_device_list(list);
    EXPECT_NE(read_text(ibdev / "device" / "uevent").find("PCI_SLOT_NAME=7870:00:00.0\n"),
              std::string::npos);
    int ports_seen = 0;
    for (const auto &entry : fs::directory_iterator(ibdev / "device" / "net")) {
        const auto dev_port = read_text(entry.path() / "dev_port");
        const auto address = read_text(entry.path() / "address");
        if (dev_port == "0\n")
            EXPECT_EQ(address, "00:15:5d:78:70:00\n");
        else
            EXPECT_EQ(address, "00:15:5d:78:70:01\n");
        ++ports_seen;
    }
    EXPECT_EQ(ports_seen, 2);
}

TEST_F(DeviceTest, ConfigurationBuildsVfsPfsPortsAndMacs)
{
    reset_emulator("vf=7870:00:00.0,ports=1;pf=7870:00:01.0,ports=2,mac=02:00:00:00:00:aa;"
                   "wire=0:loopback;max_wr=512");
    ASSERT_EQ(mana_emu_port_count(), 3u);
    struct mana_emu_port_info info {
    };
    ASSERT_EQ(mana_emu_port_info(1, &info), 0);
    EXPECT_STREQ(info.pci_bdf, "7870:00:01.0");
    EXPECT_EQ(info.mac[5], 0xaa);
    ASSERT_EQ(mana_emu_port_info(2, &info), 0);
    EXPECT_EQ(info.ib_port, 2u);
    const fs::path pf = fs::path(mana_emu_sysfs_pci_dir()) / "7870:00:01.0";
    EXPECT_EQ(read_text(pf / "device"), "0x00b9\n");

    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    ASSERT_EQ(n, 2);
    ibv_context *ctx = ibv_open_device(list[0]);
    ibv_free_device_list(list);
    ASSERT_NE(ctx, nullptr);
    ibv_device_attr attr{};
    ASSERT_EQ(ibv_query_device(ctx, &attr), 0);
    EXPECT_EQ(attr.max_qp_wr, 512);
    EXPECT_EQ(attr.phys_port_cnt, 1);
    // Reconfiguring while a context is open is refused.
    EXPECT_EQ(mana_emu_configure(""), -EBUSY);
    EXPECT_EQ(ibv_close_device(ctx), 0);

    EXPECT_EQ(mana_emu_configure("vf=bad"), -EINVAL);
    EXPECT_EQ(mana_emu_configure("vf=7870:00:00.0,ports=9"), -EINVAL);
    EXPECT_EQ(mana_emu_configure("wire=0-5"), -EINVAL);
    EXPECT_EQ(mana_emu_configure("bogus=1"), -EINVAL);
    EXPECT_EQ(mana_emu_configure("doorbells=sometimes"), -EINVAL);
}

// With netdev=auto (the default) each port has a real kernel netdev, the one the sysfs
// tree names, carrying the port's MAC; the driver sets the MTU on it.
TEST_F(DeviceTest, EachPortGetsAKernelNetdevWithItsMac)
{
    struct mana_emu_port_info info {
    };
    ASSERT_EQ(mana_emu_port_info(0, &info), 0);
    const fs::path kernel = fs::path("/sys/class/net") / info.ifname;
    ASSERT_TRUE(fs::exists(kernel)) << info.ifname << ": no kernel netdev (needs CAP_NET_ADMIN)";
    EXPECT_EQ(read_text(kernel / "address"), "00:15:5d:78:70:00\n");
    EXPECT_EQ(read_text(kernel / "mtu"), "1500\n");
    const fs::path sysfs_net = fs::path(mana_emu_sysfs_pci_dir()) / "7870:00:00.0" / "net";
    EXPECT_TRUE(fs::exists(sysfs_net / info.ifname / "dev_port"));
    EXPECT_EQ(read_text(sysfs_net / info.ifname / "mtu"), "1500\n");
    struct mana_emu_port_info other {
    };
    ASSERT_EQ(mana_emu_port_info(1, &other), 0);
    EXPECT_STRNE(other.ifname, info.ifname);
    EXPECT_EQ(read_text(fs::path("/sys/class/net") / other.ifname / "address"),
              "00:15:5d:78:70:01\n");

    // Reconfiguring keeps the interface but gives it the new MAC and the default MTU.
    reset_emulator("vf=7870:00:00.0,ports=1,mac=02:00:00:00:00:42");
    struct mana_emu_port_info again {
    };
    ASSERT_EQ(mana_emu_port_info(0, &again), 0);
    EXPECT_EQ(read_text(fs::path("/sys/class/net") / again.ifname / "address"),
              "02:00:00:00:00:42\n");
    EXPECT_FALSE(fs::exists(fs::path("/sys/class/net") / other.ifname))
        << "port 1 is gone but its netdev stayed";

    // netdev=none: a name in sysfs only, and the interfaces are deleted.
    reset_emulator("netdev=none");
    struct mana_emu_port_info none {
    };
    ASSERT_EQ(mana_emu_port_info(0, &none), 0);
    EXPECT_STREQ(none.ifname, "manaemu0");
    EXPECT_FALSE(fs::exists(fs::path("/sys/class/net") / none.ifname));
    EXPECT_FALSE(fs::exists(kernel)) << "netdev=none left " << info.ifname << " behind";
    EXPECT_EQ(
        read_text(fs::path(mana_emu_sysfs_pci_dir()) / "7870:00:00.0" / "net" / "manaemu0" / "mtu"),
        "1500\n");
    EXPECT_EQ(mana_emu_configure("netdev=maybe"), -EINVAL);
}

TEST_F(DeviceTest, QueriesReportAzureLikeAttributes)
{
    Device dev;
    ibv_device_attr_ex ex{};
    ASSERT_EQ(ibv_query_device_ex(dev.ctx, nullptr, &ex), 0);
    EXPECT_EQ(ex.orig_attr.vendor_id, 0x1414u);
    EXPECT_EQ(ex.orig_attr.vendor_part_id, 2u);
    // As mana_ib does for an Ethernet (not RDMA-RC) function; drivers skip a device that
    // reports a part id without raw packet support.
    EXPECT_EQ(ex.raw_packet_caps, static_cast<uint32_t>(IBV_RAW_PACKET_CAP_IP_CSUM));
    EXPECT_EQ(ex.orig_attr.phys_port_cnt, 2);
    EXPECT_EQ(ex.orig_attr.max_qp_wr, 256);
    EXPECT_EQ(ex.orig_attr.max_cqe, 256);
    EXPECT_GE(ex.orig_attr.max_sge, 2);
    EXPECT_GE(ex.orig_attr.max_qp, 64);
    EXPECT_GT(ex.orig_attr.max_mr_size, 0u);
    ibv_port_attr port{};
    ASSERT_EQ(ibv_query_port(dev.ctx, 1, &port), 0);
    EXPECT_EQ(port.state, IBV_PORT_ACTIVE);
    EXPECT_EQ(port.link_layer, IBV_LINK_LAYER_ETHERNET);
    EXPECT_EQ(ibv_query_port(dev.ctx, 3, &port), EINVAL);
    EXPECT_EQ(ibv_query_port(dev.ctx, 0, &port), EINVAL);
    // The exported (legacy) entry point works too.
    ibv_port_attr legacy{};
    EXPECT_EQ((ibv_query_port)(dev.ctx, 2, reinterpret_cast<_compat_ibv_port_attr *>(&legacy)), 0);
    EXPECT_EQ(legacy.state, IBV_PORT_ACTIVE);
}

TEST_F(DeviceTest, ContextIsARealVerbsContext)
{
    Device dev;
    verbs_context *vctx = verbs_get_ctx(dev.ctx);
    ASSERT_NE(vctx, nullptr);
    EXPECT_EQ(vctx->sz, sizeof(verbs_context));
    EXPECT_GE(dev.ctx->cmd_fd, 0);
    EXPECT_GE(dev.ctx->async_fd, 0);
    EXPECT_NE(dev.ctx->cmd_fd, dev.ctx->async_fd);
}

TEST_F(DeviceTest, ParentDomainValidatesThePort)
{
    Device dev;
    ibv_parent_domain_init_attr attr{};
    attr.pd = dev.pd;
    attr.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
    attr.pd_context = reinterpret_cast<void *>(uintptr_t{3});
    errno = 0;
    EXPECT_EQ(ibv_alloc_parent_domain(dev.ctx, &attr), nullptr);
    EXPECT_EQ(errno, EINVAL);
    attr.pd_context = nullptr;
    EXPECT_EQ(ibv_alloc_parent_domain(dev.ctx, &attr), nullptr);
    attr.pd_context = reinterpret_cast<void *>(uintptr_t{2});
    attr.comp_mask |= IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS;
    EXPECT_EQ(ibv_alloc_parent_domain(dev.ctx, &attr), nullptr);
    attr.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
    ibv_pd *second = ibv_alloc_parent_domain(dev.ctx, &attr);
    ASSERT_NE(second, nullptr);
    // A PD with parent domains on it cannot go first.
    EXPECT_EQ(ibv_dealloc_pd(dev.pd), EBUSY);
    EXPECT_EQ(ibv_dealloc_pd(second), 0);
}

TEST_F(DeviceTest, LiveObjectsReturnToZero)
{
    struct mana_emu_counters before {
    };
    ASSERT_EQ(mana_emu_counters(&before), 0);
    EXPECT_EQ(before.live_objects, 0u);
    const uint64_t fds_before = before.open_fds;
    {
        Device dev;
        auto tx = dev.make_tx();
        auto rx = dev.make_rx();
        ibv_rwq_ind_table *table = nullptr;
        ibv_qp *rss = dev.make_rss({&rx}, IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4, &table);
        ibv_comp_channel *channel = ibv_create_comp_channel(dev.ctx);
        ASSERT_NE(channel, nullptr);
        struct mana_emu_counters during {
        };
        ASSERT_EQ(mana_emu_counters(&during), 0);
        // context, pd, parent, mr, 2 cq, qp, wq, table, rss qp, channel
        EXPECT_EQ(during.live_objects, 11u);
        EXPECT_GT(during.open_fds, fds_before);
        struct mana_emu_counters port0 {
        };
        ASSERT_EQ(mana_emu_port_counters(0, &port0), 0);
        EXPECT_EQ(port0.live_objects, 6u); // parent domain, 2 CQs, QP, WQ, RSS QP
        dev.destroy_rss(rss, table);
        EXPECT_EQ(ibv_destroy_comp_channel(channel), 0);
        dev.destroy(tx);
        dev.destroy(rx);
    }
    struct mana_emu_counters after {
    };
    ASSERT_EQ(mana_emu_counters(&after), 0);
    EXPECT_EQ(after.live_objects, 0u);
    EXPECT_EQ(after.open_fds, fds_before);
}

TEST_F(DeviceTest, CloseReleasesEverythingLeftBehind)
{
    TrackingAllocator allocator;
    {
        Device dev;
        dev.make_tx();
        dev.make_rx();
        // Objects intentionally leaked: ibv_close_device must release them and free their
        // buffers through the allocator.
        EXPECT_EQ(ibv_dereg_mr(dev.mr), 0);
        dev.mr = nullptr;
        dev.parent = nullptr;
        dev.pd = nullptr;
    }
    struct mana_emu_counters after {
    };
    ASSERT_EQ(mana_emu_counters(&after), 0);
    EXPECT_EQ(after.live_objects, 0u);
}

} // namespace

namespace
{

// Runs in a child process started by EnvironmentIsReadAndTreeRemovedAtExit.
TEST(ProcessTest, DISABLED_Child)
{
    std::printf("SYSFS=%s\n", mana_emu_sysfs_pci_dir());
    std::printf("ENV=%s\n", getenv("SYSFS_PCI_DEVICES"));
    struct mana_emu_port_info info {
    };
    ASSERT_EQ(mana_emu_port_info(0, &info), 0);
    EXPECT_STREQ(info.pci_bdf, "1234:00:05.0");
    EXPECT_EQ(mana_emu_port_count(), 1u);
    EXPECT_EQ(mana_emu_get_mode(), MANA_EMU_STEP);
    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    ASSERT_EQ(n, 1);
    ibv_context *ctx = ibv_open_device(list[0]);
    ibv_free_device_list(list);
    ASSERT_NE(ctx, nullptr);
    ibv_pd *first = ibv_alloc_pd(ctx); // skipped
    EXPECT_NE(first, nullptr);
    errno = 0;
    EXPECT_EQ(ibv_alloc_pd(ctx), nullptr); // failed by MANA_EMU_FAIL
    EXPECT_EQ(errno, ENOMEM);
    ibv_pd *third = ibv_alloc_pd(ctx);
    EXPECT_NE(third, nullptr);
    EXPECT_EQ(ibv_dealloc_pd(first), 0);
    EXPECT_EQ(ibv_dealloc_pd(third), 0);
    EXPECT_EQ(ibv_close_device(ctx), 0);
}

// Run in child processes by the signal tests: print the tree, then die by a signal.
void print_tree_and_die(int signo)
{
    std::printf("SYSFS=%s\n", mana_emu_sysfs_pci_dir());
    std::fflush(stdout);
    raise(signo);
}

TEST(ProcessTest, DISABLED_ChildKilledBySigterm)
{
    print_tree_and_die(SIGTERM);
}

TEST(ProcessTest, DISABLED_ChildKilledBySigint)
{
    print_tree_and_die(SIGINT);
}

// Handles SIGTERM itself and keeps running: the tree must stay while it does.
TEST(ProcessTest, DISABLED_ChildWithItsOwnSigtermHandler)
{
    static volatile sig_atomic_t got = 0;
    signal(SIGTERM, [](int) { got = 1; });
    raise(SIGTERM);
    std::printf("GOT=%d\n", static_cast<int>(got));
    std::printf("STILL_THERE=%d\n", fs::exists(mana_emu_sysfs_pci_dir()) ? 1 : 0);
}

std::string run_child(const std::string &environment, int &status,
                      const std::string &test = "DISABLED_Child")
{
    const std::string self = fs::read_symlink("/proc/self/exe");
    const std::string command =
        "env " + environment +
        " MANA_EMU_MODE=step MANA_EMU_LOG=error "
        "MANA_EMU_FAIL=ibv_alloc_pd:1:1:ENOMEM MANA_EMU_CONFIG='vf=1234:00:05.0,ports=1' " +
        self + " --gtest_also_run_disabled_tests --gtest_filter=ProcessTest." + test + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    std::string output;
    if (pipe == nullptr) {
        status = -1;
        return output;
    }
    char buf[512];
    while (std::fgets(buf, sizeof(buf), pipe) != nullptr)
        output += buf;
    status = pclose(pipe);
    return output;
}

std::string field(const std::string &output, const std::string &name)
{
    const auto at = output.find(name + "=");
    if (at == std::string::npos)
        return {};
    const auto start = at + name.size() + 1;
    return output.substr(start, output.find('\n', start) - start);
}

TEST(ProcessTest, EnvironmentIsReadAndTreeRemovedAtExit)
{
    int status = 0;
    const std::string output = run_child("-u SYSFS_PCI_DEVICES", status);
    EXPECT_EQ(status, 0) << output;
    const std::string dir = field(output, "SYSFS");
    ASSERT_FALSE(dir.empty()) << output;
    EXPECT_NE(dir, mana_emu_sysfs_pci_dir());
    EXPECT_EQ(field(output, "ENV"), dir); // set by the emulator
    EXPECT_FALSE(fs::exists(dir)) << "left behind: " << dir;
}

TEST(ProcessTest, PresetSysfsPciDevicesIsLeftAlone)
{
    int status = 0;
    const std::string output = run_child("SYSFS_PCI_DEVICES=/preset/by/user", status);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(field(output, "ENV"), "/preset/by/user");
    const std::string dir = field(output, "SYSFS");
    EXPECT_FALSE(dir.empty());
    EXPECT_NE(dir, "/preset/by/user");
    EXPECT_FALSE(fs::exists(dir)) << "left behind: " << dir;
}

// A private $TMPDIR for a child's tree, removed afterwards.
class PrivateTmp
{
  public:
    PrivateTmp()
    {
        std::string pattern = (fs::temp_directory_path() / "mana_emu_test.XXXXXX").string();
        if (mkdtemp(pattern.data()) != nullptr)
            path = pattern;
    }
    ~PrivateTmp()
    {
        std::error_code ignored;
        if (!path.empty())
            fs::remove_all(path, ignored);
    }
    fs::path path;
};

TEST(ProcessTest, TreeIsRemovedWhenKilledBySigtermOrSigint)
{
    for (const char *test : {"DISABLED_ChildKilledBySigterm", "DISABLED_ChildKilledBySigint"}) {
        PrivateTmp tmp;
        ASSERT_FALSE(tmp.path.empty());
        int status = 0;
        const std::string output = run_child("TMPDIR=" + tmp.path.string(), status, test);
        EXPECT_NE(status, 0) << test << " was not killed:\n" << output;
        const std::string dir = field(output, "SYSFS");
        ASSERT_FALSE(dir.empty()) << output;
        EXPECT_TRUE(dir.starts_with(tmp.path.string())) << dir;
        EXPECT_FALSE(fs::exists(dir)) << test << " left behind " << dir;
        EXPECT_TRUE(fs::is_empty(tmp.path)) << test << " left something in " << tmp.path;
    }
}

TEST(ProcessTest, ApplicationSignalHandlersKeepTheTree)
{
    PrivateTmp tmp;
    int status = 0;
    const std::string output =
        run_child("TMPDIR=" + tmp.path.string(), status, "DISABLED_ChildWithItsOwnSigtermHandler");
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(field(output, "GOT"), "1") << output;
    EXPECT_EQ(field(output, "STILL_THERE"), "1") << output;
    EXPECT_TRUE(fs::is_empty(tmp.path)) << "removed at exit";
}

// Trees of processes that are gone (SIGKILL, crash) are removed by the next process that
// loads the emulator; trees of running processes and trees without an owner record stay.
TEST(ProcessTest, StaleTreesOfDeadProcessesAreRemovedAtLoad)
{
    PrivateTmp tmp;
    ASSERT_FALSE(tmp.path.empty());
    const pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    ASSERT_GT(dead, 0);
    ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
    struct stat ns {
    };
    ASSERT_EQ(stat("/proc/self/ns/pid", &ns), 0);
    std::ifstream stat_file("/proc/self/stat");
    std::string stat_text((std::istreambuf_iterator<char>(stat_file)),
                          std::istreambuf_iterator<char>());
    std::istringstream fields(stat_text.substr(stat_text.rfind(')') + 1));
    std::string start_time;
    for (int i = 3; i <= 22; ++i)
        fields >> start_time;

    auto make_tree = [&](const std::string &name, const std::string &owner) {
        const fs::path root = tmp.path / name;
        fs::create_directories(root / "pci" / "7870:00:00.0");
        std::ofstream(root / "pci" / "7870:00:00.0" / "vendor") << "0x1414\n";
        if (!owner.empty())
            std::ofstream(root / "owner") << owner;
        return root;
    };
    const std::string our_ns = std::to_string(ns.st_ino);
    const fs::path stale = make_tree("mana_emu_sysfs." + std::to_string(dead) + ".aaaaaa",
                                     std::to_string(dead) + " 12345 " + our_ns + "\n");
    const fs::path reused =
        make_tree("mana_emu_sysfs.1.bbbbbb", std::to_string(getpid()) + " 1 " + our_ns + "\n");
    const fs::path live =
        make_tree("mana_emu_sysfs.2.cccccc",
                  std::to_string(getpid()) + " " + start_time + " " + our_ns + "\n");
    const fs::path other_ns =
        make_tree("mana_emu_sysfs.3.dddddd", std::to_string(dead) + " 12345 " + our_ns + "1\n");
    const fs::path no_owner = make_tree("mana_emu_sysfs.4.eeeeee", "");
    const fs::path unrelated = make_tree("something_else", std::to_string(dead) + " 1 1\n");

    int status = 0;
    const std::string output = run_child("TMPDIR=" + tmp.path.string(), status);
    EXPECT_EQ(status, 0) << output;
    EXPECT_FALSE(fs::exists(stale)) << "the tree of exited process " << dead << " stayed";
    EXPECT_FALSE(fs::exists(reused)) << "a reused pid was taken for the owner";
    EXPECT_TRUE(fs::exists(live / "pci" / "7870:00:00.0" / "vendor"));
    EXPECT_TRUE(fs::exists(other_ns));
    EXPECT_TRUE(fs::exists(no_owner));
    EXPECT_TRUE(fs::exists(unrelated));
}

} // namespace
