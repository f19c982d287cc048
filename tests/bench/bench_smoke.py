#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mana-bench runs each mode briefly over the emulator and prints one well-formed JSON line
whose numbers are plausible (packets moved, positive cycles per packet)."""
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
sys.exit(1 if failures else 0)
