#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mana-bench runs each mode briefly over the emulator and prints one well-formed JSON line
whose numbers are plausible (packets moved, positive cycles per packet); rounds are 32
packets by default; the warm-up lasts its windows and its time; rounds can be made smaller
than half the ring, and not larger."""
import json
import subprocess
import sys

bench = sys.argv[1]
failures = 0


def run_bench(args):
    """mana-bench with `args`: the finished process, and its JSON result when it exited 0
    with exactly one JSON line (else None)."""
    run = subprocess.run([bench] + args, capture_output=True, text=True, timeout=240)
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    ok = run.returncode == 0 and len(lines) == 1
    return run, json.loads(lines[0]) if ok else None


# Rounds are 32 packets whatever the ring, and half of a ring smaller than 64.
for mode, descriptors, round_packets in (("rx", 256, 32), ("tx", 64, 32), ("fwd", 32, 16)):
    run, result = run_bench(["--mode", mode, "--windows", "5", "--warmup", "1", "--warmup-ms",
                             "0", "--descriptors", str(descriptors), "--offloads", "csum,rss"])
    if result is None:
        print(f"FAIL {mode}: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
        failures += 1
        continue
    problems = []
    if result["mode"] != mode:
        problems.append("wrong mode")
    if result["packets"] < 5 * 16:
        problems.append(f"only {result['packets']} packets moved")
    if result["round_packets"] != round_packets:
        problems.append(f"rounds of {result['round_packets']} packets, not {round_packets}")
    cpp = result["cycles_per_packet"]
    if not (0 < cpp["min"] <= cpp["median"] <= cpp["max"]):
        problems.append(f"implausible cycles per packet {cpp}")
    if result["instructions_per_packet"] is not None and result["instructions_per_packet"] <= 0:
        problems.append("non-positive instructions per packet")
    # The core clock from chains of dependent adds: a plausible frequency, and twice the
    # chain takes twice the time (a chain the core shortened, e.g. by folding adds at
    # rename, or one the compiler removed, would break either).
    if not 0.5 <= result["core_ghz"] <= 6.5:
        problems.append(f"implausible core clock {result['core_ghz']} GHz")
    if not 0.8 <= result["core_clock_linearity"] <= 1.25:
        problems.append(f"the add chain does not scale: {result['core_clock_linearity']}")
    expected_core = cpp["median"] * result["core_ghz"] / result["tsc_ghz"]
    if abs(result["core_cycles_per_packet"] - expected_core) > 0.01 * expected_core + 0.01:
        problems.append("core cycles per packet are not TSC cycles scaled by the clocks")
    print(("FAIL " if problems else "ok   ") + mode + " " + json.dumps(result) + " " +
          "; ".join(problems))
    failures += bool(problems)

# The warm-up runs its windows with no time asked for, and goes on past them until its
# time is up: a window of 64 packets takes well under the 300 ms asked for here, even
# under a sanitizer, and the warm-up reports how long it took.
run, result = run_bench(["--mode", "rx", "--windows", "2", "--warmup", "3", "--warmup-ms", "0",
                         "--descriptors", "64"])
if result is None or result["warmup_windows"] != 3 or result["warmup_ms"] != 0:
    print(f"FAIL --warmup 3 --warmup-ms 0: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   rx --warmup 3 --warmup-ms 0 " + json.dumps(result))
run, result = run_bench(["--mode", "rx", "--windows", "2", "--warmup", "1", "--warmup-ms", "300",
                         "--descriptors", "64", "--window-packets", "64"])
if (result is None or result["warmup_windows"] < 10 or result["warmup_ms"] != 300 or
        not 300 <= result["warmup_elapsed_ms"] < 10000):
    print(f"FAIL --warmup 1 --warmup-ms 300: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   rx --warmup 1 --warmup-ms 300 " + json.dumps(result))

# Rounds of 16 packets on a 64-descriptor ring: the round size is reported, and windows
# of at least --window-packets still fill (from more rounds).
run, result = run_bench(["--mode", "fwd", "--windows", "3", "--warmup", "1", "--warmup-ms", "0",
                         "--descriptors", "64", "--round-packets", "16", "--window-packets",
                         "64"])
if result is None or result["round_packets"] != 16 or result["packets"] < 3 * 64:
    print(f"FAIL --round-packets 16: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   fwd --round-packets 16 " + json.dumps(result))

# More than half the ring: refused with a reason, before anything is measured.
run, _ = run_bench(["--mode", "tx", "--descriptors", "64", "--round-packets", "33"])
if run.returncode == 0 or "more than half the ring" not in run.stderr or "{" in run.stdout:
    print(f"FAIL --round-packets 33 on 64 descriptors was not refused: exit {run.returncode}\n"
          f"{run.stdout}\n{run.stderr}")
    failures += 1
else:
    print("ok   --round-packets 33 on 64 descriptors refused")
sys.exit(1 if failures else 0)
