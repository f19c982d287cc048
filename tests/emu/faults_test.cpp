/* SPDX-License-Identifier: BSD-3-Clause */
// Every fault of the control API: failing verbs, TX errors, RX truncation, raw CQEs,
// stalls, hot-removal and fatal errors with their async events.
#include "emu_harness.h"

#include <poll.h>

#include <chrono>
#include <filesystem>
#include <thread>

using namespace emu_test;

namespace
{

constexpr uint64_t kIpv4 = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4;

class FaultsTest : public ::testing::Test
{
  protected:
    void SetUp() override { reset_emulator(); }
    void TearDown() override { mana_emu_clear_faults(); }
};

TEST_F(FaultsTest, FailVerbSkipsThenFailsThenRecovers)
{
    Device dev;
    ASSERT_EQ(mana_emu_fail_verb("ibv_create_cq", 1, 2, ENOMEM), 0);
    const uint64_t calls = mana_emu_verb_calls();
    ibv_cq *ok = ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 0);
    ASSERT_NE(ok, nullptr);
    for (int i = 0; i < 2; ++i) {
        errno = 0;
        EXPECT_EQ(ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 0), nullptr);
        EXPECT_EQ(errno, ENOMEM);
    }
    ibv_cq *again = ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 0);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(mana_emu_verb_calls(), calls + 4);
    EXPECT_EQ(ibv_destroy_cq(ok), 0);
    EXPECT_EQ(ibv_destroy_cq(again), 0);

    // "*" fails whatever comes next; verbs returning int return the errno.
    ASSERT_EQ(mana_emu_fail_verb("*", 0, 1, EIO), 0);
    ibv_port_attr port{};
    EXPECT_EQ(ibv_query_port(dev.ctx, 1, &port), EIO);
    ASSERT_EQ(mana_emu_fail_verb("manadv_init_obj", 0, 1, EINVAL), 0);
    manadv_obj obj{};
    EXPECT_EQ(manadv_init_obj(&obj, 0), EINVAL);
    ASSERT_EQ(mana_emu_fail_verb("ibv_open_device", 0, 1, EBUSY), 0);
    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    errno = 0;
    EXPECT_EQ(ibv_open_device(list[0]), nullptr);
    EXPECT_EQ(errno, EBUSY);
    ibv_free_device_list(list);
    ASSERT_EQ(mana_emu_fail_verb("ibv_reg_mr", 0, 5, ENOMEM), 0);
    mana_emu_clear_faults();
    ibv_mr *mr = ibv_reg_mr(dev.pd, dev.memory.data(), 64, 0);
    ASSERT_NE(mr, nullptr);
    EXPECT_EQ(ibv_dereg_mr(mr), 0);
    EXPECT_EQ(mana_emu_fail_verb(nullptr, 0, 1, EIO), -EINVAL);
    EXPECT_EQ(mana_emu_fail_verb("ibv_alloc_pd", 0, 1, 0), -EINVAL);
}

TEST_F(FaultsTest, TxErrorFaultCompletesWithTheTypeAndSendsNothing)
{
    Device dev;
    ASSERT_EQ(mana_emu_wire_capture(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    const gdma::Sge sge = dev.stage(frame, 0);
    ASSERT_EQ(mana_emu_fault_tx_error(0, 34, 2), 0);
    EXPECT_EQ(mana_emu_fault_tx_error(0, 32, 1), -EINVAL);
    EXPECT_EQ(mana_emu_fault_tx_error(0, 42, 1), -EINVAL);
    EXPECT_EQ(mana_emu_fault_tx_error(9, 34, 1), -EINVAL);
    for (int i = 0; i < 3; ++i)
        dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx, true)); // suppressed
    dev.ring_sq(tx);
    mana_emu_poll();
    for (int i = 0; i < 2; ++i) {
        auto c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->type, gdma::CqeType::tx_mtu_drop);
    }
    EXPECT_FALSE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head)); // third succeeded silently
    std::vector<uint8_t> buf(2048);
    EXPECT_EQ(mana_emu_capture(0, buf.data(), buf.size()), static_cast<ssize_t>(frame.size()));
    EXPECT_EQ(mana_emu_capture(0, buf.data(), buf.size()), 0);
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_port_counters(0, &k), 0);
    EXPECT_EQ(k.tx_errors, 2u);
    EXPECT_EQ(k.tx_frames, 1u);
    dev.destroy(tx);
}

// 16 buffers of 2 KiB in a 32-entry queue, from the upper half of the device's memory.
struct Rx : RssRxQueue {
    explicit Rx(Device &dev) : RssRxQueue(dev, kIpv4, 32, 16, 2048, 512 * 1024) {}
};

TEST_F(FaultsTest, RxTruncatedFault)
{
    Device dev;
    Rx rx(dev);
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    ASSERT_EQ(mana_emu_fault_rx_truncated(0, 1), 0);
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_inject(0, frame.data(), frame.size());
    mana_emu_poll();
    auto c = rx.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_truncated);
    c = rx.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->type, gdma::CqeType::rx_ok);
}

TEST_F(FaultsTest, WriteCqeGivesTheDriverArbitraryBytes)
{
    Device dev;
    auto tx = dev.make_tx();
    uint8_t raw[64];
    for (int i = 0; i < 64; ++i)
        raw[i] = static_cast<uint8_t>(0xa0 + i);
    ASSERT_EQ(mana_emu_write_cqe(tx.cqinfo.cq_id, raw), 0);
    auto c = Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head);
    ASSERT_TRUE(c);
    EXPECT_EQ(0, std::memcmp(c->oob.data(), raw, 60));
    EXPECT_EQ(c->trailer.wq_num, (raw[60] | raw[61] << 8 | raw[62] << 16) & 0xffffffu);
    EXPECT_EQ(mana_emu_write_cqe(0xffffff, raw), -EINVAL);
    dev.destroy(tx);
}

TEST_F(FaultsTest, StalledPortRemembersDoorbellsAndFrames)
{
    Device dev;
    Rx rx(dev);
    ASSERT_EQ(mana_emu_wire_loopback(0), 0);
    auto tx = dev.make_tx();
    const auto frame = make_udp_frame(1, 2, 3, 4, 10);
    const gdma::Sge sge = dev.stage(frame, 0);
    ASSERT_EQ(mana_emu_stall(0, 1), 0);
    dev.post_tx(tx, std::span(&sge, 1), dev.default_oob(tx));
    dev.ring_sq(tx);
    mana_emu_inject(0, frame.data(), frame.size());
    EXPECT_EQ(mana_emu_poll(), 0u);
    EXPECT_FALSE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    ASSERT_EQ(mana_emu_stall(0, 0), 0);
    EXPECT_GE(mana_emu_poll(), 2u);
    EXPECT_TRUE(Device::next_cqe(tx.cq, tx.cqinfo, tx.cq_head));
    EXPECT_TRUE(rx.next());
    EXPECT_TRUE(rx.next());
    dev.destroy(tx);
}

void async_event_is(ibv_context *ctx, ibv_event_type expected)
{
    pollfd pfd{ctx->async_fd, POLLIN, 0};
    EXPECT_EQ(poll(&pfd, 1, 0), 1);
    ibv_async_event event{};
    EXPECT_EQ(ibv_get_async_event(ctx, &event), 0);
    EXPECT_EQ(event.event_type, expected);
    ibv_ack_async_event(&event);
    EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST_F(FaultsTest, RemovedDeviceFailsVerbsButReleases)
{
    const std::filesystem::path fn =
        std::filesystem::path(mana_emu_sysfs_pci_dir()) / "7870:00:00.0";
    {
        Device dev;
        Rx rx(dev);
        auto tx = dev.make_tx();
        pollfd pfd{dev.ctx->async_fd, POLLIN, 0};
        EXPECT_EQ(poll(&pfd, 1, 0), 0);
        ASSERT_TRUE(std::filesystem::exists(fn));
        ASSERT_EQ(mana_emu_remove_device("7870:00:00.0"), 0);
        EXPECT_EQ(mana_emu_remove_device("7870:00:00.0"), -EALREADY);
        EXPECT_EQ(mana_emu_remove_device("0000:00:00.0"), -ENODEV);
        EXPECT_FALSE(std::filesystem::exists(fn));
        async_event_is(dev.ctx, IBV_EVENT_DEVICE_FATAL);
        errno = 0;
        EXPECT_EQ(ibv_alloc_pd(dev.ctx), nullptr);
        EXPECT_EQ(errno, ENODEV);
        ibv_port_attr attr{};
        EXPECT_EQ(ibv_query_port(dev.ctx, 1, &attr), ENODEV);
        // No more work: frames and doorbells are ignored.
        const auto frame = make_udp_frame(1, 2, 3, 4, 10);
        mana_emu_inject(0, frame.data(), frame.size());
        mana_emu_poll();
        EXPECT_FALSE(rx.next());
        int n = -1;
        ibv_device **list = ibv_get_device_list(&n);
        EXPECT_EQ(n, 0);
        ibv_free_device_list(list);
        dev.destroy(tx);
    }
    struct mana_emu_counters k {
    };
    ASSERT_EQ(mana_emu_counters(&k), 0);
    EXPECT_EQ(k.live_objects, 0u);
}

TEST_F(FaultsTest, FatalErrorThenRecovery)
{
    {
        Device dev;
        ASSERT_EQ(mana_emu_device_fatal("7870:00:00.0", 50), 0);
        async_event_is(dev.ctx, IBV_EVENT_DEVICE_FATAL);
        errno = 0;
        EXPECT_EQ(ibv_create_cq(dev.ctx, 8, nullptr, nullptr, 0), nullptr);
        EXPECT_EQ(errno, EIO);
        EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(mana_emu_sysfs_pci_dir()) /
                                            "7870:00:00.0"));
        int n = 0;
        ibv_device **list = ibv_get_device_list(&n);
        ASSERT_EQ(n, 1);
        errno = 0;
        EXPECT_EQ(ibv_open_device(list[0]), nullptr);
        EXPECT_EQ(errno, EIO);
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        ibv_context *fresh = ibv_open_device(list[0]);
        ibv_free_device_list(list);
        ASSERT_NE(fresh, nullptr);
        EXPECT_EQ(ibv_close_device(fresh), 0);
    }
    // recover_ms 0: it never comes back.
    ASSERT_EQ(mana_emu_device_fatal("7870:00:00.0", 0), 0);
    int n = 0;
    ibv_device **list = ibv_get_device_list(&n);
    ASSERT_EQ(n, 1);
    errno = 0;
    EXPECT_EQ(ibv_open_device(list[0]), nullptr);
    EXPECT_EQ(errno, EIO);
    ibv_free_device_list(list);
    EXPECT_EQ(mana_emu_device_fatal("1234:00:00.0", 0), -ENODEV);
}

} // namespace
