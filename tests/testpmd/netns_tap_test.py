#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Linux network stacks as real peers: the emulator wires each of its two ports to a TAP
interface, each TAP interface is moved into a network namespace of its own, and
dpdk-testpmd (io forwarding) with our driver relays between them. Then, as a user would
check a bump-in-the-wire appliance: ping passes, and a 100 MB TCP transfer arrives intact
(SHA-256 equal on both sides) with no TCP checksum errors counted by either kernel.

Every frame lost on the way is counted where it was lost: the kernels' interface and
backlog counters, the emulator's device and wire counters (MANA_EMU_REPORT, written when
testpmd exits), the driver's port counters and testpmd's forwarding drops; the frames each
hop passed on add up, hop by hop, for the direction the data flows. And the TCP sender's
retransmissions stay under a bound: the emulator once dropped about 7.6k frames per 100 MiB
at the port (it read the TAP faster than testpmd polled); a TAP wire now has flow control.

With "tso": the sender's interface has a 9000-byte MTU and the receiver advertises an MSS
that large, so the sender emits ~9 KB TCP segments; testpmd runs its csum engine with
`tso set 1448` on the port toward the 1500-MTU receiver, so our driver has every large
segment cut into 1448-byte ones by the (emulated) device. Checked as well: the receiver got
several times more frames than the sender sent, and no TSO packet was refused.

With "scatter": both interfaces have a 9000-byte MTU and testpmd receives the ~9 KB frames
into 2048-byte mbufs (RX scatter: chains of 5) and sends the chains on (multi-segment TX).

Usage: netns_tap_test.py <librte_net_mana.so> <libmana_emu.so> [tso|scatter]"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcp_transfer  # noqa: E402
from testpmd_session import (Testpmd, emulator_report, forward_stats,  # noqa: E402
                             port_stats, require_root_and_tun)

pmd, emu = sys.argv[1:3]
TSO = sys.argv[3:4] == ["tso"]
SCATTER = sys.argv[3:4] == ["scatter"]
TSO_MSS = 1448
tag = f"{os.getpid() % 100000}"
ns = [f"mana-a{tag}", f"mana-b{tag}"]
taps = [f"mtap{tag}a", f"mtap{tag}b"]
# Addresses exist only inside the two namespaces this test creates.
addr = ["192.0.2.1", "192.0.2.2"]  # TEST-NET-1 (RFC 5737)
TRANSFER_BYTES = 100 * 1024 * 1024
# At most this share of the data frames is sent again (measured on a 2-core machine running
# the suite: a few hundredths of a percent idle, under 1% loaded; 9% before TAP flow
# control).
MAX_RETRANSMITTED = 0.02
# Frames a kernel may send on its own (neighbour and listener messages) between the moment
# its interface counters are read and testpmd's exit, when the emulator's are written.
STRAY_FRAMES = 8


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


require_root_and_tun("needs root for network namespaces")

session = None


def cleanup():
    for name in ns:
        sh("ip", "netns", "del", name, check=False)


def fail(why):
    if session is not None:
        print(session.transcript())
    print(f"FAIL: {why}")
    cleanup()
    sys.exit(1)


backlog_before = tcp_transfer.backlog_drops()
try:
    for name in ns:
        sh("ip", "netns", "add", name)
    config = f"wire=0:tap={taps[0]};wire=1:tap={taps[1]}"
    # TSO: mbufs large enough for a 9000-MTU frame (no RX scatter needed).
    app_args = (["--total-num-mbufs=8192", "--mbuf-size=9344", "--forward-mode=csum"] if TSO
                else ["--total-num-mbufs=16384", "--forward-mode=io"])
    if SCATTER:  # default 2176-byte mbufs: 2048 bytes of data each; 0x8000 = MULTI_SEGS
        app_args += ["--max-pkt-len=9018", "--enable-scatter", "--tx-offloads=0x8000"]
    report_path = os.path.join(tempfile.mkdtemp(prefix="mana-netns-"), "emulator-report")
    session = Testpmd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf", "-d", pmd,
                       "-a", "7870:00:00.0"],
                      app_args,
                      env={"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded",
                           "MANA_EMU_CONFIG": config, "MANA_EMU_REPORT": report_path})
    for i in (0, 1):
        sh("ip", "link", "set", taps[i], "netns", ns[i])
        if TSO:
            # The csum engine rewrites Ethernet addresses: the destination becomes the
            # peer address of the TX port (testpmd's default 02:00:00:00:00:<port>).
            sh("ip", "netns", "exec", ns[i], "ip", "link", "set", taps[i], "address",
               f"02:00:00:00:00:0{i}")
        sh("ip", "netns", "exec", ns[i], "ip", "addr", "add", f"{addr[i]}/24", "dev", taps[i])
        sh("ip", "netns", "exec", ns[i], "ip", "link", "set", taps[i], "up")
        sh("ip", "netns", "exec", ns[i], "ip", "link", "set", "lo", "up")
    if SCATTER:
        for i in (0, 1):
            sh("ip", "netns", "exec", ns[i], "ip", "link", "set", taps[i], "mtu", "9000")
    if TSO:
        sh("ip", "netns", "exec", ns[0], "ip", "link", "set", taps[0], "mtu", "9000")
        # The receiver keeps MTU 1500 but advertises a 9000-MTU MSS, as a host behind a
        # segmenting middlebox may; so the sender's segments are ~9 KB.
        sh("ip", "netns", "exec", ns[1], "ip", "route", "replace", "192.0.2.0/24", "dev", taps[1],
           "src", addr[1], "advmss", "8960")
        session.cmd("port stop all")
        for port in (0, 1):
            for layer in ("ip", "tcp"):
                session.cmd(f"csum set {layer} hw {port}")
        out = session.cmd(f"tso set {TSO_MSS} 1")
        if "TSO segment size" not in out or "not supported" in out:
            fail(f"testpmd did not enable TSO on port 1:\n{out}")
        out = session.cmd("port start all")
        if "Fail" in out:
            fail(f"port start failed:\n{out}")
    session.cmd("start")

    ping = sh("ip", "netns", "exec", ns[0], "ping", "-c", "5", "-i", "0.2", "-W", "2", addr[1],
              check=False)
    if ping.returncode != 0:
        fail(f"ping {addr[0]} -> {addr[1]} through testpmd failed:\n{ping.stdout}{ping.stderr}")

    moved = tcp_transfer.transfer(ns[0], taps[0], ns[1], taps[1], addr[1], TRANSFER_BYTES)
    if moved["error"]:
        fail(moved["error"])
    if moved["csum_errors"]:
        fail("the kernels counted TCP checksum errors")
    sent_frames, sent_bytes = moved["sent_frames"], moved["sent_bytes"]
    received_frames, received_bytes = moved["received_frames"], moved["received_bytes"]
    stop = session.cmd("stop")
    if "Preparing packet burst to transmit failed" in session.transcript() + stop:
        fail("rte_eth_tx_prepare refused packets")
    if TSO and (sent_bytes < 4000 * sent_frames or received_frames < 4 * sent_frames):
        fail(f"no segmentation seen: the sender sent {sent_frames} frames ({sent_bytes} bytes), "
             f"the receiver got {received_frames}")
    if SCATTER and received_bytes < 8000 * received_frames:
        fail(f"no jumbo frames: the receiver got {received_frames} frames, {received_bytes} bytes")
    stats = port_stats(session.cmd("show port stats all"))
    for port, values in stats.items():
        if values.get("RX-errors", 0) or values.get("TX-errors", 0):
            fail(f"port {port} counted errors: {values}")
    forwarded = forward_stats(stop)
    kernel = [tcp_transfer.link_drops(ns[i], taps[i]) for i in (0, 1)]
    backlog_drops = tcp_transfer.backlog_drops()
    retrans = moved["retransmissions"]
    rc = session.quit()
    if rc != 0:
        fail(f"testpmd exited with {rc}")
    device = emulator_report(report_path)

    # The data's way, hop by hop: the sender's kernel -> TAP a -> emulated port 0 -> driver
    # -> testpmd -> driver -> emulated port 1 -> TAP b -> the receiver's kernel. Each hop
    # passed on what it was given less what it counted as dropped.
    # `early`/`late`: frames the kernel may send after the first count was read and before
    # the second (whichever side the emulator's count, read at exit, is on).
    def hop(name, given, passed, dropped, early=0, late=0):
        if not -late <= given - passed - dropped <= early:
            fail(f"{name}: given {given}, passed on {passed}, counted as dropped {dropped}: "
                 f"{given - passed - dropped} frames lost uncounted")
    port0, port1 = device[0], device[1]
    hop("emulated port 0 receiving from TAP a", kernel[0]["tx_packets"],
        port0["rx_frames"] + port0["rx_waiting"],
        port0["rx_drops_no_buffer"] + port0["rx_drops_other"] + port0["rx_truncated"],
        late=STRAY_FRAMES)
    hop("driver receiving on port 0", port0["rx_frames"], stats[0]["RX-packets"],
        stats[0]["RX-missed"] + stats[0]["RX-errors"], early=STRAY_FRAMES)
    hop("testpmd forwarding port 0 to port 1", forwarded[0]["RX-packets"],
        forwarded[1]["TX-packets"], forwarded[1]["TX-dropped"])
    hop("emulated port 1 sending to TAP b", port1["tx_frames"], kernel[1]["rx_packets"],
        port1["tx_refused"] + kernel[1]["rx_dropped"] + backlog_drops - backlog_before)
    # (With TSO the device sends several frames for one packet.)
    if not TSO and stats[1]["TX-packets"] != port1["tx_frames"] + port1["tx_errors"]:
        fail(f"port 1: the driver counted {stats[1]['TX-packets']} packets sent, the device "
             f"sent {port1['tx_frames']} and failed {port1['tx_errors']}")
    if kernel[0]["tx_dropped"]:
        print(f"note: TAP a's kernel queue was full {kernel[0]['tx_dropped']} times")
    data_frames = max(moved["sent_frames"], 1)
    if retrans > MAX_RETRANSMITTED * data_frames:
        fail(f"{retrans} TCP retransmissions for {data_frames} frames sent (bound "
             f"{MAX_RETRANSMITTED:.0%}); counted drops: testpmd {forwarded[1]['TX-dropped']}, "
             f"TAP a queue {kernel[0]['tx_dropped']}, port 0 no buffer "
             f"{port0['rx_drops_no_buffer']}, frames that waited {port0['rx_waited']}")
    what = (f" with TSO ({sent_frames} frames of {sent_bytes // max(sent_frames, 1)} bytes on "
            f"average cut into {received_frames})" if TSO else
            f" in {received_frames} jumbo frames received as 2048-byte mbuf chains" if SCATTER
            else "")
    print(f"PASS: ping and {TRANSFER_BYTES >> 20} MiB over TCP through testpmd and the emulated "
          f"VF{what}; {retrans} TCP retransmissions")
finally:
    cleanup()
