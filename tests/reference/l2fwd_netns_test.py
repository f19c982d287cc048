#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Upstream net_mana carrying a Linux network stack's traffic: DPDK's l2fwd example
(--no-mac-updating, so it relays frames unchanged, both ports on one lcore) over the
threaded emulator, its two ports wired to TAP interfaces in two network namespaces. Ping
passes and a 100 MiB TCP transfer arrives intact with no checksum errors counted by either
kernel. (testpmd cannot be the relay: it reads the queue state, which upstream 22.11 never
sets, and disables every stream; l2fwd does not look.)

Usage: l2fwd_netns_test.py <repo> <l2fwd> <libmana_emu.so>"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "apps"))
sys.path.insert(0, os.path.join(here, "..", "testpmd"))
import example_app as ex  # noqa: E402
import reference_plugin  # noqa: E402
import tcp_transfer  # noqa: E402

repo, l2fwd, emu = sys.argv[1:4]
TRANSFER_BYTES = 100 * 1024 * 1024
ex.require_root_and_tun()
plugin = reference_plugin.build(repo)
tag, taps = ex.tap_names("rft")
addr = ["192.0.2.1", "192.0.2.2"]  # TEST-NET-1 (RFC 5737), inside the namespaces only
app, peers = None, []


def fail(why):
    ex.fail(why, app)


def in_ns(i, *cmd, check=True):
    return subprocess.run(["ip", "netns", "exec", peers[i].netns, *cmd], check=check,
                          capture_output=True, text=True)


try:
    app = ex.App([l2fwd, *ex.eal_args(plugin), "--",
                  "-p", "0x3", "-q", "2", "-T", "0", "--no-mac-updating"],
                 env={"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded",
                      "MANA_EMU_CONFIG": ex.tap_wires(taps)})
    for i in (0, 1):
        peers.append(ex.TapPeer(taps[i], f"mana-rf{tag}{i}", app))
    app.wait_for(r"L2FWD: entering main loop on lcore", timeout=90)
    for i in (0, 1):
        in_ns(i, "ip", "addr", "add", f"{addr[i]}/24", "dev", taps[i])
        in_ns(i, "ip", "link", "set", "lo", "up")
    ping = in_ns(0, "ping", "-c", "5", "-i", "0.2", "-W", "2", addr[1], check=False)
    if ping.returncode != 0:
        fail(f"ping {addr[0]} -> {addr[1]} through l2fwd failed:\n{ping.stdout}{ping.stderr}")
    moved = tcp_transfer.transfer(peers[0].netns, taps[0], peers[1].netns, taps[1], addr[1],
                                  TRANSFER_BYTES)
    if moved["error"]:
        fail(moved["error"])
    if moved["csum_errors"]:
        fail("the kernels counted TCP checksum errors")
    rc = app.interrupt()
    if rc != 0:
        fail(f"l2fwd exited with {rc} after SIGINT")
    print(f"PASS: ping and {TRANSFER_BYTES >> 20} MiB over TCP through l2fwd with upstream "
          f"net_mana; {moved['retransmissions']} TCP retransmissions")
except (ex.AppError, OSError, subprocess.CalledProcessError) as error:
    fail(f"{type(error).__name__}: {error}")
finally:
    ex.stop(app, peers=peers)
