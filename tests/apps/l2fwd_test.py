#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's l2fwd example (-p 0x3, both ports on one lcore) over the emulated VF, its two
ports wired to TAP interfaces in network namespaces: every frame sent into one port leaves
the other, rewritten as l2fwd documents — destination MAC 02:00:00:00:00:<TX port>, source
MAC the TX port's own address — with the payload intact, and l2fwd's own statistics count
what was sent and received.

Usage: l2fwd_test.py <l2fwd> <librte_net_mana.so> <libmana_emu.so>"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

l2fwd, pmd, emu = sys.argv[1:4]
FRAMES = 100
ex.require_root_and_tun()
tag, taps = ex.tap_names("l2t")
app, peers = None, []


def fail(why):
    ex.fail(why, app)


def statistics_after(since):
    """The per-port (sent, received, dropped) of the first complete report l2fwd prints
    (every second, cumulative) after output position `since`."""
    block = app.wait_for(r"Port statistics[\s\S]*?Total packets dropped:\s+\d+\s*\n=+",
                         timeout=15, since=since).group(0)
    return [tuple(map(int, m)) for m in re.findall(
        r"Packets sent:\s+(\d+)\s+Packets received:\s+(\d+)\s+Packets dropped:\s+(\d+)",
        block)][:2]


try:
    app = ex.App([l2fwd, *ex.eal_args(pmd), "--", "-p", "0x3", "-q", "2", "-T", "1"],
                 env={"LD_PRELOAD": emu, "MANA_EMU_CONFIG": ex.tap_wires(taps)})
    for i in (0, 1):
        peers.append(ex.TapPeer(taps[i], f"mana-l2{tag}{i}", app))
    app.wait_for(r"L2FWD: entering main loop on lcore", timeout=90)
    # The emulator brings each TAP up where it creates it, so until the peer moves it into
    # its namespace the host's own IPv6 may send a router solicitation or two into the port,
    # which l2fwd rightly counts and forwards: the counts below start from a report printed
    # after both peers were set up.
    baseline = statistics_after(len(app.output()))
    for rx_port in (0, 1):
        tx_port = 1 - rx_port
        mark = f"l2fwd {rx_port}->{tx_port} ".encode()
        frames = [ex.udp_frame(ex.PORT_MACS[rx_port], f"{ex.PEER_MAC}{rx_port}", "192.0.2.1",
                               "192.0.2.2", sport=1000 + i, payload=mark + bytes([i]) * 40)
                  for i in range(FRAMES)]
        peers[rx_port].send(frames, gap=0.001)
        got = peers[tx_port].receive(FRAMES, timeout=10, keep=ex.marked(mark))
        if len(got) != FRAMES:
            fail(f"{len(got)} of {FRAMES} frames sent into port {rx_port} left port {tx_port}")
        for sent, frame in zip(frames, got):
            fields = ex.parse_udp(frame)
            if fields["dst_mac"] != f"02:00:00:00:00:0{tx_port}":
                fail(f"port {tx_port} sent destination MAC {fields['dst_mac']}")
            if fields["src_mac"] != ex.PORT_MACS[tx_port]:
                fail(f"port {tx_port} sent source MAC {fields['src_mac']}, "
                     f"not its own {ex.PORT_MACS[tx_port]}")
            if frame[12:] != sent[12:]:
                fail(f"frame changed beyond its MAC addresses on the way {rx_port}->{tx_port}")
    # l2fwd prints its statistics every second: wait for a report that has seen them all.
    report = None
    for _ in range(20):
        counts = statistics_after(len(app.output()))
        delta = [tuple(now - then for now, then in zip(counts[port], baseline[port]))
                 for port in (0, 1)]
        if all(received >= FRAMES for _, received, _ in delta):
            report = delta
            break
    if report is None:
        fail("l2fwd's statistics never counted the frames")
    for port in (0, 1):
        sent, received, dropped = report[port]
        if (sent, received, dropped) != (FRAMES, FRAMES, 0):
            fail(f"l2fwd counted port {port}: sent {sent}, received {received}, dropped {dropped}"
                 f" since the peers were set up")
    rc = app.interrupt()
    if rc != 0:
        fail(f"l2fwd exited with {rc} after SIGINT")
    print(f"PASS: l2fwd forwarded {FRAMES} frames each way with the documented MAC rewriting")
except ex.AppError as error:
    fail(str(error))
finally:
    ex.stop(app, peers=peers)
