#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's l3fwd-power example in interrupt mode (--interrupt-only) over the emulated VF,
both ports on one lcore, wired to TAP interfaces in network namespaces: with no traffic
the lcore sleeps on the ports' RX interrupts (epoll, 10 ms at a time) and uses well under a busy loop's CPU time (that thread's own time in
/proc/<pid>/task/<tid>/stat, so the emulator's device-model thread does not count); a
frame wakes it ("waked up from rx interrupt"), every frame sent to 2.1.1.0/24 (the
example's route to port 1) and to 1.1.1.0/24 (port 0) is forwarded with TTL
decremented, and once traffic stops the lcore goes back to sleep ("sleeps until interrupt
triggers", which the example prints after a wake-up) and is idle again.

Usage: l3fwd_power_test.py <l3fwd-power> <librte_net_mana.so> <libmana_emu.so>"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

l3fwd_power, pmd, emu = sys.argv[1:4]
FRAMES = 30
IDLE_SECONDS = 3.0
MAX_IDLE_SHARE = 0.2  # of one core; a polling lcore uses ~1.0
ex.require_root_and_tun()
tag, taps = ex.tap_names("pwt")
app, peers = None, []


def fail(why):
    ex.fail(why, app)


def idle_share(tid):
    """CPU time of the lcore thread over IDLE_SECONDS of no traffic, as a share of one core."""
    start_cpu, start = app.thread_cpu_seconds(tid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    return (app.thread_cpu_seconds(tid) - start_cpu) / (time.monotonic() - start)


try:
    app = ex.App([l3fwd_power, *ex.eal_args(pmd, "0"), "--", "-p", "0x3",
                  "--config=(0,0,0),(1,0,0)", "--interrupt-only"],
                 env={"LD_PRELOAD": emu, "MANA_EMU_CONFIG": ex.tap_wires(taps)})
    for i in (0, 1):
        peers.append(ex.TapPeer(taps[i], f"mana-pw{tag}{i}", app))
    app.wait_for(r"entering main interrupt loop on lcore 0", timeout=120)
    time.sleep(1)  # past its first idle polls
    lcore_tid = app.proc.pid  # lcore 0 is the main thread
    share = idle_share(lcore_tid)
    if share > MAX_IDLE_SHARE:
        fail(f"the idle lcore used {share:.0%} of a core")
    for rx_port, net in ((0, "2.1.1"), (1, "1.1.1")):
        tx_port = 1 - rx_port
        since = len(app.output())
        mark = f"power {rx_port}->{tx_port} ".encode()
        frames = [ex.udp_frame(ex.PORT_MACS[rx_port], f"{ex.PEER_MAC}{rx_port}", "198.51.100.9",
                               f"{net}.{1 + i}", sport=5000 + i, ttl=32,
                               payload=mark + bytes([i]) * 20) for i in range(FRAMES)]
        peers[rx_port].send(frames, gap=0.002)
        got = peers[tx_port].receive(FRAMES, timeout=10, keep=ex.marked(mark))
        if len(got) != FRAMES:
            fail(f"{len(got)} of {FRAMES} frames sent into port {rx_port} left port {tx_port}")
        if any(ex.parse_udp(f)["ttl"] != 31 or not ex.parse_udp(f)["checksum_ok"] for f in got):
            fail("forwarded frames have a wrong TTL or IPv4 checksum")
        app.wait_for(rf"lcore 0 is waked up from rx interrupt on port {rx_port} queue 0",
                     timeout=10, since=since)
    # The last word after the last wake-up: asleep again.
    app.wait_for(r"lcore 0 sleeps until interrupt triggers\s*\Z", timeout=30)
    share_after = idle_share(lcore_tid)
    if share_after > MAX_IDLE_SHARE:
        fail(f"after traffic the idle lcore used {share_after:.0%} of a core")
    rc = app.interrupt()
    if rc != 0:
        fail(f"l3fwd-power exited with {rc} after SIGINT")
    print(f"PASS: l3fwd-power's lcore slept ({share:.1%} and {share_after:.1%} of a core idle) "
          f"and woke to forward {FRAMES} frames each way")
except ex.AppError as error:
    fail(str(error))
finally:
    ex.stop(app, peers=peers)
