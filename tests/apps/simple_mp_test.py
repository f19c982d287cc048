#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's multi_process/simple_mp example with the emulated VF probed in both processes
(hugepages; run through tests/multiprocess/with_hugepages.sh, which gives MANA_MP_PREFIX
and skips without hugepages): the primary starts, a secondary attaches and probes the VF
through our driver's secondary path without an error, a message sent at each prompt is
received by the other process, and the secondary, then the primary, quit with status 0.

Usage: simple_mp_test.py <simple_mp> <librte_net_mana.so> <libmana_emu.so>"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

simple_mp, pmd, emu = sys.argv[1:4]
# Ready: set up and its receiving lcore running. (Its prompt and "Starting core 1"
# interleave on the terminal; what is typed waits in the terminal until the prompt reads it.)
READY = [r"APP: Finished Process Init", r"Starting core 1"]
prefix = os.environ.get("MANA_MP_PREFIX")
if not prefix:
    ex.skip("run through with_hugepages.sh (it provides hugepages and MANA_MP_PREFIX)")
eal = ["-l", "0-1", "-m", "64", "--file-prefix", prefix, "-d", pmd, "-a", "7870:00:00.0"]
env = {"LD_PRELOAD": emu, "MANA_EMU_CONFIG": "wire=0-1"}
primary = secondary = None


def fail(why):
    for name, app in (("primary", primary), ("secondary", secondary)):
        if app is not None:
            print(f"==== {name}\n{app.output()}")
    print(f"FAIL: {why}")
    sys.exit(1)


try:
    primary = ex.App([simple_mp, *eal, "--proc-type=primary"], env=env)
    for pattern in READY:
        primary.wait_for(pattern, timeout=120)
    secondary = ex.App([simple_mp, *eal, "--proc-type=secondary"], env=env)
    for pattern in READY:
        secondary.wait_for(pattern, timeout=120)
    out = secondary.output()
    if "Probe PCI driver: net_mana (1414:00ba) device: 7870:00:00.0" not in out:
        fail("the secondary did not probe the VF")
    if "Requested device 7870:00:00.0 cannot be used" in out or "ERR" in out:
        fail("the secondary's probe of the VF failed")
    for sender, receiver, text in ((secondary, primary, "from_secondary"),
                                   (primary, secondary, "from_primary")):
        since = len(receiver.output())
        sender.send(f"send {text}")
        receiver.wait_for(rf"core 1: Received '{text}'", timeout=30, since=since)
    rc = secondary.quit()
    if rc != 0:
        fail(f"the secondary exited with {rc}")
    rc = primary.quit()
    if rc != 0:
        fail(f"the primary exited with {rc}")
    print("PASS: simple_mp primary and secondary, both with the VF probed, exchanged messages "
          "and quit cleanly")
except ex.AppError as error:
    fail(str(error))
finally:
    ex.stop(secondary, primary)
