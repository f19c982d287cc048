#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mana-bench runs each mode briefly over the emulator and prints one well-formed JSON line
whose numbers are plausible (packets moved, positive cycles per packet); rounds can be
made smaller than half the ring, and not larger."""
import json
import subprocess
import sys

bench = sys.argv[1]
failures = 0
for mode in ("rx", "tx", "fwd"):
    cmd = [bench, "--mode", mode, "--windows", "5", "--warmup", "1", "--descriptors", "64",
           "--offloads", "csum,rss"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    if run.returncode != 0 or len(lines) != 1:
        print(f"FAIL {mode}: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
        failures += 1
        continue
    result = json.loads(lines[0])
    problems = []
    if result["mode"] != mode:
        problems.append("wrong mode")
    if result["packets"] < 5 * 16:
        problems.append(f"only {result['packets']} packets moved")
    cpp = result["cycles_per_packet"]
    if not (0 < cpp["min"] <= cpp["median"] <= cpp["max"]):
        problems.append(f"implausible cycles per packet {cpp}")
    if result["instructions_per_packet"] is not None and result["instructions_per_packet"] <= 0:
        problems.append("non-positive instructions per packet")
    print(("FAIL " if problems else "ok   ") + mode + " " + lines[0] + " " + "; ".join(problems))
    failures += bool(problems)

# Rounds of 16 packets on a 64-descriptor ring: the round size is reported, and windows
# of at least --window-packets still fill (from more rounds).
cmd = [bench, "--mode", "fwd", "--windows", "3", "--warmup", "1", "--descriptors", "64",
       "--round-packets", "16", "--window-packets", "64"]
run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
result = json.loads(lines[0]) if run.returncode == 0 and len(lines) == 1 else None
if result is None or result["round_packets"] != 16 or result["packets"] < 3 * 64:
    print(f"FAIL --round-packets 16: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   fwd --round-packets 16 " + lines[0])

# More than half the ring: refused with a reason, before anything is measured.
cmd = [bench, "--mode", "tx", "--descriptors", "64", "--round-packets", "33"]
run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
if run.returncode == 0 or "more than half the ring" not in run.stderr or "{" in run.stdout:
    print(f"FAIL --round-packets 33 on 64 descriptors was not refused: exit {run.returncode}\n"
          f"{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   --round-packets 33 on 64 descriptors refused")
sys.exit(1 if failures else 0)
