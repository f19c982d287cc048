#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""RSS through dpdk-testpmd over the threaded emulator: with 3 RX queues (not a power of
two) flowgen's many flows reach every queue of the receiving port; a RETA written at the
prompt (every entry -> queue 2) is read back and steers all traffic to that queue; a new
hash key is accepted and read back; stop/start keeps the RETA.

Usage: rss_reta_test.py <librte_net_mana.so> <libmana_emu.so>"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd_session import Testpmd  # noqa: E402

pmd, emu = sys.argv[1:3]
QUEUES = 3


def fail(session, why):
    print(session.transcript())
    print(f"FAIL (rss_reta): {why}")
    sys.exit(1)


def rx_queue_packets(session, port):
    """{queue: packets} from the per-queue xstats (rx_q<N>_packets)."""
    text = session.cmd(f"show port xstats {port}")
    return {int(q): int(n) for q, n in re.findall(r"rx_q(\d+)_packets:\s+(\d+)", text)}


def run_flowgen(session):
    session.cmd("clear port xstats all")
    session.cmd("start")
    time.sleep(2)
    session.cmd("stop")


env = {"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded"}
session = Testpmd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf", "-d", pmd,
                   "-a", "7870:00:00.0"],
                  ["--total-num-mbufs=16384", f"--rxq={QUEUES}", f"--txq={QUEUES}"], env=env)
session.cmd("set fwd flowgen")

run_flowgen(session)
per_queue = rx_queue_packets(session, 1)
if sorted(per_queue) != list(range(QUEUES)):
    fail(session, f"expected xstats for RX queues 0..{QUEUES - 1}, got {per_queue}")
if any(n == 0 for n in per_queue.values()):
    fail(session, f"RSS left a queue empty: {per_queue}")

# testpmd's command line is short: 16 entries per command (each a partial RETA update).
for first in range(0, 64, 16):
    reta = ",".join(f"({i},2)" for i in range(first, first + 16))
    out = session.cmd(f"port config 1 rss reta {reta}")
    if "fail" in out.lower() or "error" in out.lower() or "bad" in out.lower():
        fail(session, f"RETA update refused: {out}")
shown = session.cmd("show port 1 rss reta 64 (0xffffffffffffffff)")
queues = re.findall(r"RSS RETA configuration: hash index=\d+, queue=(\d+)", shown)
if len(queues) != 64 or set(queues) != {"2"}:
    fail(session, f"RETA read back wrong: {shown}")

key = "".join(f"{(i * 37 + 11) & 0xff:02x}" for i in range(40))
out = session.cmd(f"port config 1 rss-hash-key ipv4 {key}")
if "fail" in out.lower() or "error" in out.lower():
    fail(session, f"hash key update refused: {out}")
shown = session.cmd("show port 1 rss-hash key")
if key not in shown.replace(" ", "").lower():
    fail(session, f"hash key read back wrong: {shown}")

for cmd in ("port stop 1", "port start 1"):
    session.cmd(cmd)
run_flowgen(session)
per_queue = rx_queue_packets(session, 1)
if per_queue.get(2, 0) == 0 or per_queue.get(0, 0) != 0 or per_queue.get(1, 0) != 0:
    fail(session, f"with every RETA entry on queue 2, traffic arrived elsewhere: {per_queue}")

rc = session.quit()
if rc != 0:
    fail(session, f"testpmd exited with {rc}")
print("PASS (rss_reta)")
