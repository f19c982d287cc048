/* SPDX-License-Identifier: BSD-3-Clause */
// The fixture of the tests that fail the device and watch the driver recover it (or see
// it removed): the ports are probed again with a recovery timeout of their own, and every
// reset and removal event of both ports is recorded in an EventLog until the test ends.
#pragma once

#include "ethdev_harness.h"
#include "event_log.h"

#include <algorithm>
#include <string>
#include <vector>

namespace ethdev_test
{

class ResetEventTest : public EthdevTest
{
  protected:
    // Long enough that no emulated outage of a test outlasts it.
    static constexpr const char *kRecoveryDevargs = "recovery_timeout_ms=5000";

    static constexpr rte_eth_event_type kWatched[] = {
        RTE_ETH_EVENT_ERR_RECOVERING,
        RTE_ETH_EVENT_RECOVERY_SUCCESS,
        RTE_ETH_EVENT_RECOVERY_FAILED,
        RTE_ETH_EVENT_INTR_RMV,
    };

    void SetUp() override
    {
        EthdevTest::SetUp();
        if (HasFatalFailure())
            return;
        // Checked before the reprobe, so that a skipped test costs no second probe.
        if (const char *requirement = unmet_requirement())
            GTEST_SKIP() << requirement;
        reprobe(kRecoveryDevargs);
    }

    void TearDown() override
    {
        unwatch();
        EthdevTest::TearDown();
    }

    // What the environment lacks for every test of the fixture (a device model, lcores),
    // or nullptr when it has it: the tests are then skipped before the ports are reprobed.
    virtual const char *unmet_requirement() const { return nullptr; }

    // Removes the function and probes it again with `devargs`, watching both new ports.
    void reprobe(const std::string &devargs)
    {
        unwatch();
        ASSERT_EQ(remove(), 0);
        ASSERT_EQ(probe(devargs), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort0Name, &port0_), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(kPort1Name, &port1_), 0);
        for (const uint16_t port : {port0_, port1_}) {
            for (const rte_eth_event_type type : kWatched)
                ASSERT_EQ(rte_eth_dev_callback_register(port, type, EventLog::record, &events_), 0);
            watched_.push_back(port);
        }
    }

    // Stops recording the events of every port still watched.
    void unwatch()
    {
        while (!watched_.empty())
            unwatch(watched_.back());
    }

    void unwatch(uint16_t port)
    {
        const auto watched = std::find(watched_.begin(), watched_.end(), port);
        if (watched == watched_.end())
            return;
        watched_.erase(watched);
        for (const rte_eth_event_type type : kWatched)
            EXPECT_EQ(rte_eth_dev_callback_unregister(port, type, EventLog::record, &events_), 0)
                << "port " << port;
    }

    // ethdev keeps a closed port's callbacks for the next port with its id.
    void close_port(uint16_t port)
    {
        unwatch(port);
        EXPECT_EQ(rte_eth_dev_close(port), 0);
    }

    EventLog events_;

  private:
    std::vector<uint16_t> watched_;
};

} // namespace ethdev_test
