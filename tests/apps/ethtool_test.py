#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's ethtool example over the emulated VF, driven at its prompt through a
pseudo-terminal as a person would; port 0 wired to a TAP interface in a network namespace
(its worker lcore sends every frame back out the port it came in on, MACs swapped):

- drvinfo names the driver (net_mana) and the PCI function of both ports; the firmware
  version is refused clearly (Operation not supported): a VF has none to report;
- eeprom and regs are refused clearly (Operation not supported) and write no file;
- ringparam shows the RX/TX ring sizes within the device's maximum (256 descriptors);
  `ringparam 0 128 128` resizes both rings (shown afterwards) and the port forwards again;
- portstats counts the frames in and out of port 0 exactly;
- stop takes port 0's link down and no frame comes back; open brings it up and frames come
  back again; quit exits with status 0.

Usage: ethtool_test.py <ethtool example> <librte_net_mana.so> <libmana_emu.so>"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

ethtool, pmd, emu = sys.argv[1:4]
PROMPT = "EthApp> "
FRAMES = 20
ex.require_root_and_tun()
tag = os.getpid() % 100000
tap = f"etht{tag}"
app, peer = None, None


def fail(why):
    ex.fail(why, app)


def cmd(line, timeout=30):
    """Runs one command at the prompt; returns what the example printed for it."""
    since = len(app.output())
    app.send(line)
    app.wait_for(re.escape(PROMPT) + r"$", timeout=timeout, since=since + len(line))
    return app.output()[since:].split("\n", 1)[-1][: -len(PROMPT)]


def echoes(mark):
    """Sends FRAMES frames into port 0; returns how many came back, checking the swap."""
    frames = [ex.udp_frame(ex.PORT_MACS[0], f"{ex.PEER_MAC}0", "192.0.2.1", "192.0.2.2",
                           sport=4000 + i, payload=mark + bytes([i]) * 20) for i in range(FRAMES)]
    peer.send(frames, gap=0.001)
    got = peer.receive(FRAMES, timeout=3, keep=ex.marked(mark))
    for frame in got:
        fields = ex.parse_udp(frame)
        if (fields["dst_mac"], fields["src_mac"]) != (f"{ex.PEER_MAC}0", ex.PORT_MACS[0]):
            fail(f"frame came back as {fields['src_mac']} -> {fields['dst_mac']}")
    return len(got)


def expect(out, pattern, what):
    match = re.search(pattern, out)
    if not match:
        fail(f"{what}: no /{pattern}/ in:\n{out}")
    return match


try:
    app = ex.App([ethtool, *ex.eal_args(pmd, "0-1")],
                 env={"LD_PRELOAD": emu, "MANA_EMU_CONFIG": f"wire=0:tap={tap}",
                      "LD_LIBRARY_PATH": os.path.dirname(os.path.abspath(ethtool))})
    peer = ex.TapPeer(tap, f"mana-et{tag}", app)
    app.wait_for(re.escape(PROMPT), timeout=90)

    out = cmd("drvinfo")
    for port in (0, 1):
        expect(out, rf"Port {port} driver: net_mana \(ver: DPDK 22\.11", "drvinfo")
    if out.count("bus-info: 7870:00:00.0") != 2:
        fail(f"drvinfo does not name the PCI function of both ports:\n{out}")
    expect(out, r"firmware version get error: \(Operation not supported\)", "drvinfo")

    with tempfile.TemporaryDirectory() as scratch:
        for what in ("eeprom", "regs"):
            path = os.path.join(scratch, what)
            out = cmd(f"{what} 0 {path}")
            expect(out, r"Port 0: Operation not supported", what)
            if os.path.exists(path) and os.path.getsize(path) > 0:
                fail(f"{what} wrote {os.path.getsize(path)} bytes after refusing")

    out = cmd("ringparam 0")
    rx, rx_max, tx, tx_max = map(int, expect(
        out, r"Rx Pending: (\d+) \((\d+) max\)\s+Tx Pending: (\d+) \((\d+) max\)", "ringparam").groups())
    if (rx_max, tx_max) != (256, 256) or not (0 < rx <= rx_max and 0 < tx <= tx_max):
        fail(f"ringparam shows RX {rx} of {rx_max}, TX {tx} of {tx_max}")

    def portstats():
        out = cmd("portstats 0")
        return tuple(map(int, expect(
            out, r"In: (\d+) \((\d+) bytes\)\s+Out: (\d+) \((\d+) bytes\)\s+Err: (\d+)",
            "portstats").groups()))

    # From a baseline: the kernel may put a frame of its own (IPv6 multicast listener
    # report) on the TAP in the moment it is up in the root namespace, before the peer
    # moves it into its own.
    before = portstats()
    if echoes(b"ethtool started ") != FRAMES:
        fail("port 0 did not send every frame back")
    after = portstats()
    frame_bytes = len(ex.udp_frame("0:0:0:0:0:0", "0:0:0:0:0:0", "0.0.0.0", "0.0.0.0",
                                   payload=b"ethtool started " + bytes(20)))
    counted = tuple(a - b for a, b in zip(after, before))
    if counted != (FRAMES, FRAMES * frame_bytes, FRAMES, FRAMES * frame_bytes, 0):
        fail(f"portstats 0 after {FRAMES} frames of {frame_bytes} bytes each way: "
             f"{before} before, {after} after")

    cmd("stop 0")
    expect(cmd("link"), r"Port 0: Down", "link after stop")
    if echoes(b"ethtool stopped ") != 0:
        fail("a stopped port sent frames back")
    peer.drain()
    cmd("open 0")
    expect(cmd("link"), r"Port 0: Up", "link after open")
    if echoes(b"ethtool reopened ") != FRAMES:
        fail("port 0 did not forward again after open")

    cmd("ringparam 0 128 128")
    out = cmd("ringparam 0")
    expect(out, r"Rx Pending: 128 \(256 max\)\s+Tx Pending: 128 \(256 max\)", "ringparam after set")
    if echoes(b"ethtool resized ") != FRAMES:
        fail("port 0 did not forward with 128-descriptor rings")

    rc = app.quit()
    if rc != 0:
        fail(f"ethtool exited with {rc} after quit")
    print("PASS: ethtool's drvinfo, eeprom, regs, ringparam, portstats, stop and open answer "
          "as the device is")
except ex.AppError as error:
    fail(str(error))
finally:
    ex.stop(app, peers=[peer])
