#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK examples that need a feature an Azure VF does not have stop at start-up, with the
example's own error, right after the driver answered the feature's call -ENOTSUP/-EINVAL:

  skeleton, rxtx_callbacks, multi_process/symmetric_mp
                            rte_eth_promiscuous_enable() (the VF receives only what the
                            platform steers to its MAC): "Cannot init port 0", after the
                            port was configured and started (its MAC printed);
                            symmetric_mp's primary: "Error initialising ports";
  link_status_interrupt     intr_conf.lsc = 1 (a MANA port's link is always up; the device
                            has no link-change interrupt): "Driver net_mana does not
                            support lsc", "Cannot configure device: err=-22";
  l3fwd --lookup=em         packet types that tell IPv4 headers with options from those
                            without (RTE_PTYPE_L3_IPV4_EXT; the device reports
                            RTE_PTYPE_L3_IPV4_EXT_UNKNOWN): "port 0 cannot parse packet
                            type, please add --parse-ptype" (with it, l3fwd_test.py).

Usage: missing_feature_test.py <skeleton|rxtx_callbacks|symmetric_mp|link_status_interrupt|
       l3fwd_em> <binary> <librte_net_mana.so> <libmana_emu.so>"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

example, binary, pmd, emu = sys.argv[1:5]
# example: (lcores, EAL arguments beyond ex.eal_args, application arguments, expected lines)
CASES = {
    "skeleton": ("0", [], [], ["Port 0 MAC: 00 15 5d 78 70 00", "Cannot init port 0"]),
    "rxtx_callbacks": ("0", [], [], ["Port 0 MAC: 00 15 5d 78 70 00", "Cannot init port 0"]),
    "symmetric_mp": ("0", ["--proc-type=primary"], ["-p", "3", "--num-procs=2", "--proc-id=0"],
                     ["# Initialising port 0...", "Error initialising ports"]),
    "link_status_interrupt": ("0-1", [], ["-p", "0x3", "-q", "2"],
                              ["Driver net_mana does not support lsc",
                               "Cannot configure device: err=-22, port=0"]),
    "l3fwd_em": ("0", [], ["-p", "0x3", "--config=(0,0,0),(1,0,0)", "--lookup=em"],
                 ["port 0 cannot parse RTE_PTYPE_L3_IPV4_EXT",
                  "port 0 cannot parse packet type, please add --parse-ptype"]),
}
lcores, eal_extra, app_args, expected = CASES[example]
memory_mb = 2048 if example == "l3fwd_em" else 512  # l3fwd's EM hash tables are large
app = ex.App([binary, *ex.eal_args(pmd, lcores, eal_extra, memory_mb), "--", *app_args],
             env={"LD_PRELOAD": emu, "MANA_EMU_CONFIG": "wire=0-1"})
try:
    rc = app.wait_exit(120)
except ex.AppError as error:
    print(app.output())
    print(f"FAIL: {error} (it should have stopped at start-up)")
    sys.exit(1)
out = app.output()
missing = [line for line in expected if line not in out]
if rc == 0 or missing:
    print(out)
    print(f"FAIL: {example} exited with {rc}; missing from its output: {missing}")
    sys.exit(1)
print(f"PASS: {example} stops with {expected[-1]!r} (exit status {rc})")
