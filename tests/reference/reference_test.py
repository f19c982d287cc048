#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Upstream DPDK's net_mana of the installed release (built by devtools/reference-pmd from
Debian's source package, never part of our sources) over the threaded emulator: a driver
that ran on real hardware, so where it and the emulator disagree one of them is wrong.

  probe   testpmd probes both ports of the function with the upstream driver: it skips a
          device whose kernel reports a part id without raw packet support, so this pins
          the emulator's raw_packet_caps. `show port info` shows the driver, both MACs,
          link up. It also records a defect of upstream 22.11.11 that its own testpmd
          exposes: the driver never marks its queues started, so `show rxq info` says
          "stopped" and testpmd disables every forwarding stream (nothing is forwarded).
          The test asserts that, so that it notices when the pinned release changes.
          Then `port stop 0` / `port start 0` (queues destroyed and created again), the
          port up again, and `show port stats` at zero.
  rx, tx, fwd
          the benchmark harness (mana-bench, which drives rte_eth_rx_burst/tx_burst
          directly) moves traffic through the upstream driver, one queue: every frame it
          sends or receives passes the emulator's checks of WQEs, SGEs and doorbells.
  fwd4    the same with four queues and RSS: mana-bench first learns which flows RSS puts
          on each queue, so every queue must receive. Upstream rings all four RQ doorbells
          on one page at start, one right after the other; this failed while the emulator
          sampled doorbell slots (the writes merged and only the last queue got buffers).

Usage: reference_test.py <repo> <mana-bench> <libmana_emu.so> <case>"""
import json
import os
import subprocess
import sys

repo, bench, emu, case = sys.argv[1:5]
sys.path.insert(0, os.path.join(repo, "tests", "testpmd"))
from testpmd_session import Testpmd  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_plugin  # noqa: E402


def fail(why, output=""):
    if output:
        print(output)
    print(f"FAIL ({case}): {why}")
    sys.exit(1)


plugin = reference_plugin.build(repo)

if case == "probe":
    env = {"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded"}
    session = Testpmd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf", "-d", plugin,
                       "-a", "7870:00:00.0"], ["--total-num-mbufs=8192"], env=env)
    for port, mac in ((0, "00:15:5D:78:70:00"), (1, "00:15:5D:78:70:01")):
        info = session.cmd(f"show port info {port}")
        for needle in ("Driver name: net_mana", f"MAC address: {mac}", "Link status: up"):
            if needle not in info:
                fail(f"`show port info {port}` lacks {needle!r}", session.transcript())
    rxq = session.cmd("show rxq info 0 0")
    if "Rx queue state: stopped" not in rxq:
        fail("upstream 22.11.11 now reports its started RX queue: update this test and the "
             "guide", session.transcript())
    # Port stop and start through testpmd: the queues are torn down and created again.
    for command, needle in (("port stop 0", "Stopping ports"), ("port start 0", "Port 0:")):
        out = session.cmd(command)
        if needle not in out or "Fail" in out:
            fail(f"`{command}` failed", session.transcript())
    if "Link status: up" not in session.cmd("show port info 0"):
        fail("port 0 is not up after port start", session.transcript())
    stats = session.cmd("show port stats 0")
    if "RX-packets: 0" not in stats or "TX-packets: 0" not in stats:
        fail("`show port stats 0` does not show zero traffic", session.transcript())
    if session.quit() != 0:
        fail("testpmd did not exit cleanly", session.transcript())
elif case in ("rx", "tx", "fwd", "fwd4"):
    queues = "4" if case == "fwd4" else "1"
    out = subprocess.run([bench, "--mode", case.rstrip("4"), "--pmd", plugin, "--memory", "4k",
                          "--windows", "5", "--queues", queues,
                          "--offloads", "csum,rss" if queues == "4" else "csum"],
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        fail("mana-bench with the upstream driver failed", out.stdout + out.stderr)
    result = json.loads(lines[-1])
    if result["packets_all_windows"] < 10000:
        fail(f"too little traffic: {result}")
    print(f"{case}: {result['cycles_per_packet']['median']} TSC cycles per packet")
else:
    sys.exit(f"unknown case {case}")
print(f"PASS ({case})")
