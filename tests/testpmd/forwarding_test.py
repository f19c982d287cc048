#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The system's dpdk-testpmd with our librte_net_mana.so over the threaded emulator
(libmana_emu.so preloaded; its two ports are wired to each other): one forwarding engine
per run, then what a user would check at the prompt — traffic flows both ways, nothing is
counted as an error, the port reports what it is.

Usage: forwarding_test.py <librte_net_mana.so> <libmana_emu.so> <engine>
An empty plugin path runs testpmd without -d (the plugin is installed in DPDK's plugin
directory).
engine: io, mac, csum, rxonly, txonly, flowgen, info, reconfigure, in-memory (io forwarding
and a port restart with --in-memory, which needs hugepages: run through
tests/multiprocess/with_hugepages.sh)"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd_session import Testpmd, port_stats  # noqa: E402

pmd, emu, engine = sys.argv[1:4]
BURST = 32


def fail(session, why):
    print(session.transcript())
    print(f"FAIL ({engine}): {why}")
    sys.exit(1)


def start(app_args=()):
    env = {"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded"}
    env.pop("SYSFS_PCI_DEVICES", None)
    plugin = ["-d", pmd] if pmd else []
    # --in-memory: hugepages, no shared files and no IPC (so no secondary processes).
    memory = ["--in-memory"] if engine == "in-memory" else ["--no-huge", "-m", "512", "--no-shconf"]
    return Testpmd(["-l", "0-1", *memory, *plugin, "-a", "7870:00:00.0"],
                   ["--total-num-mbufs=8192", *app_args], env=env)


def stats(session):
    s = port_stats(session.cmd("show port stats all"))
    if sorted(s) != [0, 1]:
        fail(session, f"expected ports 0 and 1 in the statistics, got {sorted(s)}")
    return s


def expect_clean(session, s):
    for port, values in s.items():
        for key in ("RX-errors", "RX-nombuf", "TX-errors"):
            if values.get(key, 0) != 0:
                fail(session, f"port {port}: {key} = {values[key]}")


def run_engine(session, name):
    session.cmd(f"set fwd {name}")
    kick = "start tx_first" if name in ("io", "mac", "csum", "rxonly") else "start"
    session.cmd(kick)
    time.sleep(2)
    session.cmd("stop")
    return stats(session)


session = start()

if engine in ("io", "mac", "csum"):
    s = run_engine(session, engine)
    # tx_first sends one burst from each port; each port forwards what it receives out
    # of the other, so with the ports wired together the bursts circulate until stop.
    for port in (0, 1):
        if s[port]["RX-packets"] < 10 * BURST or s[port]["TX-packets"] < 10 * BURST:
            fail(session, f"port {port} moved too little traffic: {s[port]}")
    expect_clean(session, s)
elif engine == "rxonly":
    s = run_engine(session, engine)
    # Exactly the tx_first burst of the other port arrives, and nothing else.
    for port in (0, 1):
        if s[port]["TX-packets"] != BURST or s[port]["RX-packets"] != BURST:
            fail(session, f"port {port}: expected {BURST} sent and received, got {s[port]}")
    expect_clean(session, s)
elif engine in ("txonly", "flowgen"):
    s = run_engine(session, engine)
    for port in (0, 1):
        if s[port]["TX-packets"] < 10 * BURST:
            fail(session, f"port {port} sent too little: {s[port]}")
        # txonly never polls RX, so only flowgen (which receives too) shows arrivals.
        if engine == "flowgen" and s[1 - port]["RX-packets"] == 0:
            fail(session, f"port {1 - port} received nothing from port {port}")
    expect_clean(session, s)
elif engine == "info":
    info = session.cmd("show port info 0")
    for needle in ("Driver name: net_mana", "MAC address: 00:15:5D:78:70:00", "Link status: up"):
        if needle not in info:
            fail(session, f"`show port info 0` lacks {needle!r}")
    info1 = session.cmd("show port info 1")
    if "MAC address: 00:15:5D:78:70:01" not in info1:
        fail(session, "`show port info 1` does not show the second port's MAC")
    rss = session.cmd("show port 0 rss-hash")
    if "ipv4" not in rss.lower():
        fail(session, f"`show port 0 rss-hash` shows no IPv4 hashing: {rss!r}")
elif engine == "reconfigure":
    # Queue counts changed at runtime, unequal and not powers of two, with traffic after
    # each change. (testpmd polls min(rxq, txq) RX queues per port, so rxq <= txq keeps
    # every RX queue polled.)
    for rxq, txq in ((2, 3), (3, 3), (1, 1)):
        for cmd in ("port stop all", f"port config all rxq {rxq}", f"port config all txq {txq}",
                    "port start all"):
            out = session.cmd(cmd)
            if "fail" in out.lower() or "error" in out.lower():
                fail(session, f"`{cmd}` failed: {out}")
        info = session.cmd("show port info 0")
        if f"Current number of RX queues: {rxq}" not in info:
            fail(session, f"port 0 does not report {rxq} RX queues")
        session.cmd("clear port stats all")
        s = run_engine(session, "io")
        for port in (0, 1):
            if s[port]["RX-packets"] < 10 * BURST:
                fail(session, f"port {port} moved too little traffic with {rxq} RX and {txq} TX "
                              f"queues: {s[port]}")
        expect_clean(session, s)
elif engine == "in-memory":
    s = run_engine(session, "io")
    for port in (0, 1):
        if s[port]["RX-packets"] < 10 * BURST:
            fail(session, f"port {port} moved too little traffic: {s[port]}")
    expect_clean(session, s)
    for cmd in ("port stop all", "port start all"):
        out = session.cmd(cmd)
        if "fail" in out.lower() or "error" in out.lower():
            fail(session, f"`{cmd}` failed: {out}")
    # Without IPC there are no secondaries to tell about stops and starts: nothing to
    # warn about.
    complaints = [line for line in session.transcript().splitlines()
                  if line.startswith("net_mana") and "secondary" in line]
    if complaints:
        fail(session, f"net_mana warned about secondary processes: {complaints}")
else:
    sys.exit(f"unknown engine {engine}")

rc = session.quit()
if rc != 0:
    fail(session, f"testpmd exited with {rc}")
print(f"PASS ({engine})")
