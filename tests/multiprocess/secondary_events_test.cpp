/* SPDX-License-Identifier: BSD-3-Clause */
// Device events reach secondary processes. Roles (argv[1]):
//   removal            primary: the VF is hot-removed while a secondary bursts; the
//                      secondary must get RTE_ETH_EVENT_INTR_RMV on both ports and its
//                      bursts must return 0 and take nothing
//   recovery           primary (recovery_timeout_ms=5000): a service reset while a
//                      secondary bursts; the secondary must get ERR_RECOVERING then
//                      RECOVERY_SUCCESS and carry traffic again (through the doorbell page
//                      of the recovered device)
//   events_secondary   the secondary of both, told over stdin what to expect
#include "mp_harness.h"

#include <mana_emu.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace mp_test;

namespace
{

constexpr rte_eth_event_type kWatched[] = {
    RTE_ETH_EVENT_INTR_RMV,
    RTE_ETH_EVENT_ERR_RECOVERING,
    RTE_ETH_EVENT_RECOVERY_SUCCESS,
    RTE_ETH_EVENT_RECOVERY_FAILED,
};

// Events of this process's ports as its interrupt thread delivers them.
std::mutex events_mutex;
std::vector<std::pair<uint16_t, rte_eth_event_type>> events;

int record(uint16_t port, rte_eth_event_type type, void *, void *)
{
    const std::lock_guard guard(events_mutex);
    events.emplace_back(port, type);
    return 0;
}

std::vector<rte_eth_event_type> events_of(uint16_t port)
{
    const std::lock_guard guard(events_mutex);
    std::vector<rte_eth_event_type> out;
    for (const auto &[p, type] : events)
        if (p == port)
            out.push_back(type);
    return out;
}

void watch(uint16_t port)
{
    for (const rte_eth_event_type type : kWatched)
        CHECK(rte_eth_dev_callback_register(port, type, record, nullptr) == 0,
              "callback_register on port %u", port);
}

void unwatch(uint16_t port)
{
    for (const rte_eth_event_type type : kWatched)
        rte_eth_dev_callback_unregister(port, type, record, nullptr);
}

// Waits until both ports have had exactly `want`.
bool wait_for_events(uint16_t p0, uint16_t p1, const std::vector<rte_eth_event_type> &want)
{
    const auto deadline = std::chrono::steady_clock::now() + kDeliveryLimit;
    while (before(deadline)) {
        if (events_of(p0) == want && events_of(p1) == want)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
}

std::string names(const std::vector<rte_eth_event_type> &list)
{
    std::string out;
    for (const rte_eth_event_type type : list)
        out += std::to_string(type) + " ";
    return out;
}

// The secondary: traffic, then what the primary says happened.
int events_secondary()
{
    const Ports ports = attach(true);
    const auto [p0, p1] = ports;
    watch(p0);
    watch(p1);
    rte_mempool *pool = make_pool(kSecondaryPool);
    exchange(pool, p0, p1, 0, 32);
    say("ready");
    const std::string what = read_line(STDIN_FILENO);
    if (what == "removed") {
        const std::vector<rte_eth_event_type> want = {RTE_ETH_EVENT_INTR_RMV};
        CHECK(wait_for_events(p0, p1, want), "removal not reported here: port %u had %s", p0,
              names(events_of(p0)).c_str());
        // Neither burst touches the device: nothing taken, nothing received.
        expect_bursts_stopped(pool, ports, 50, "on a stopped device");
    } else if (what == "recovered") {
        const std::vector<rte_eth_event_type> want = {RTE_ETH_EVENT_ERR_RECOVERING,
                                                      RTE_ETH_EVENT_RECOVERY_SUCCESS};
        CHECK(wait_for_events(p0, p1, want), "recovery not reported here: port %u had %s", p0,
              names(events_of(p0)).c_str());
        // Through the recovered device's queues and doorbell page.
        exchange(pool, p0, p1, 32, 64);
    } else {
        fail("unexpected word from the primary: '%s'", what.c_str());
    }
    check_pool_full(kSecondaryPool);
    say("done");
    unwatch(p0);
    unwatch(p1);
    close_secondary(ports);
    return finish(what == "removed" ? "events_secondary: removal" : "events_secondary: recovery");
}

// The primary of both scenarios: `devargs` for the function, `fault` injected while the
// secondary runs, `word` the secondary is told after the primary saw `want` itself.
int run_primary(const char *devargs, void (*fault)(), const char *word,
                const std::vector<rte_eth_event_type> &want, const char *role)
{
    const Ports ports = attach(false, devargs);
    const auto [p0, p1] = ports;
    watch(p0);
    watch(p1);
    rte_mempool *pool = setup_ports(ports);

    Child secondary = spawn({self(), "events_secondary"}, true);
    CHECK(read_line(secondary.out) == "ready", "the secondary did not get going");
    fault();
    CHECK(wait_for_events(p0, p1, want), "primary: port %u had events %s", p0,
          names(events_of(p0)).c_str());
    tell(secondary, word);
    CHECK(read_line(secondary.out) == "done", "the secondary did not finish");
    close(secondary.in);
    CHECK(wait_for(secondary.pid) == 0, "the secondary failed (see its output above)");

    unwatch(p0);
    unwatch(p1);
    stop_close_and_check(ports, pool, {kPrimaryPool, kSecondaryPool});
    return finish(role);
}

int removal()
{
    return run_primary(
        "", [] { CHECK(mana_emu_remove_device(kBdf) == 0, "remove the VF"); }, "removed",
        {RTE_ETH_EVENT_INTR_RMV}, "removal: a secondary learns of it and stops bursting");
}

int recovery()
{
    return run_primary(
        "recovery_timeout_ms=5000",
        [] { CHECK(mana_emu_device_fatal(kBdf, 50) == 0, "service reset"); }, "recovered",
        {RTE_ETH_EVENT_ERR_RECOVERING, RTE_ETH_EVENT_RECOVERY_SUCCESS},
        "recovery: a secondary learns of it and carries traffic again");
}

} // namespace

int main(int argc, char **argv)
{
    return run_role(
        argc, argv,
        {{"removal", removal}, {"recovery", recovery}, {"events_secondary", events_secondary}},
        "removal|recovery");
}
