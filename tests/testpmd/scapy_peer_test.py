#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An independent packet peer: scapy (Debian's python3-scapy) on the emulator's two TAP
wires crafts frames into port 0 and checks what testpmd, with our driver, forwards out of
port 1. What it proves, as testpmd shows it with `set verbose 1`:
  csum   IPv4/IPv6 TCP/UDP with good and bad checksums get the RX checksum flags their
         checksums deserve; through the csum engine with checksum offload on port 1 every
         frame leaves with correct IP and L4 checksums, whatever it came with.
  vlan   an 802.1Q frame with VLAN strip on (`vlan set strip on 0`, port stopped) is
         delivered untagged with its VLAN id and the stripped flag, and leaves untagged;
         with strip off it arrives and leaves tagged.
  mtu    at the default MTU 1500, frames up to the 2048-byte RX buffer (1514, 1515, 1600,
         2048 bytes) are forwarded; longer ones are counted as RX errors, never delivered.
  rss    with 4 RX queues, 256 UDP flows spread over all of them.
In every case each frame sent is accounted for: forwarded and seen on the other wire, or
counted by the port.

Usage: scapy_peer_test.py <librte_net_mana.so> <libmana_emu.so> <csum|vlan|mtu|rss>"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testpmd_session  # noqa: E402
from testpmd_session import Testpmd, port_stats  # noqa: E402

pmd, emu, case = sys.argv[1:4]


def skip(why):
    testpmd_session.skip(why, case)


testpmd_session.require_root_and_tun("needs root for TAP interfaces", case)
try:
    from scapy.all import (IP, TCP, UDP, Dot1Q, Ether, IPv6, AsyncSniffer,  # noqa: E402
                           Raw, conf, sendp)
except ImportError:
    skip("python3-scapy is not installed")
conf.verb = 0

BDF = "7870:00:00.0"
PORT_MAC = ["00:15:5d:78:70:00", "00:15:5d:78:70:01"]
PEER_MAC = "02:00:00:00:00:99"
tag = f"{os.getpid() % 100000}"
taps = [f"msc{tag}a", f"msc{tag}b"]
session = None


def fail(why):
    if session is not None:
        print(session.transcript())
    print(f"FAIL ({case}): {why}")
    sys.exit(1)


def start(app_args):
    global session
    env = dict(os.environ, LD_PRELOAD=emu, MANA_EMU_MODE="threaded",
               MANA_EMU_CONFIG=f"vf={BDF},ports=2;wire=0:tap={taps[0]};wire=1:tap={taps[1]}")
    env.pop("SYSFS_PCI_DEVICES", None)
    session = Testpmd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf", "-d", pmd,
                       "-a", BDF], ["--total-num-mbufs=16384", *app_args], env=env)
    for ifname in taps:
        # No IPv6 on the peer side: the kernel would put its own solicitations on the wire.
        with open(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "w") as knob:
            knob.write("1")
        os.system(f"ip link set {ifname} mtu 9000 up")
    return session


def run(cmd):
    out = session.cmd(cmd)
    if re.search(r"\b(fail\w*|invalid|bad arguments)\b", out, re.I):
        fail(f"`{cmd}`: {out}")
    return out


def from_port_1(pkt):
    """Frames port 1 sent: the csum and mac engines put its MAC as source, io keeps the
    peer's (nothing else talks on that wire)."""
    return pkt.haslayer(Ether) and pkt[Ether].src in (PORT_MAC[1], PEER_MAC)


def exchange(frames, expect_out):
    """Sends the frames into port 0's wire, one by one, and returns (what arrived on port
    1's wire, the verbose output testpmd printed meanwhile)."""
    sniffer = AsyncSniffer(iface=taps[1], store=True,
                           lfilter=from_port_1)
    sniffer.start()
    time.sleep(0.3)
    verbose = ""
    for frame in frames:
        sendp(frame, iface=taps[0])
        time.sleep(0.05)
        verbose += session.cmd("show port stats 0")
    deadline = time.monotonic() + 5
    while len(sniffer.results or []) < expect_out and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    got = sniffer.stop()
    return list(got), verbose


def received_flags(verbose):
    """The ol_flags line of each packet testpmd reported as received on port 0, in order."""
    blocks = re.findall(r"port 0/queue \d+: received 1 packets\n(.*?)ol_flags: ([^\n]*)",
                        verbose, re.S)
    return [(head, flags.split()) for head, flags in blocks]


def checksums_right(pkt):
    """Whether the IP header and L4 checksums are what scapy computes for the frame."""
    rebuilt = pkt.copy()
    if rebuilt.haslayer(IP):
        del rebuilt[IP].chksum
    for layer in (TCP, UDP):
        if rebuilt.haslayer(layer):
            del rebuilt[layer].chksum
    rebuilt = Ether(bytes(rebuilt))
    for layer in (IP, TCP, UDP):
        if pkt.haslayer(layer) and pkt[layer].chksum != rebuilt[layer].chksum:
            return False
    return True


def frame(l3, l4, bad_ip=False, bad_l4=False, sport=1000):
    ip = IP(src="198.51.100.1", dst="198.51.100.2") if l3 == "ipv4" else \
        IPv6(src="2001:db8::1", dst="2001:db8::2")
    transport = TCP(sport=sport, dport=80, flags="A") if l4 == "tcp" else UDP(sport=sport, dport=53)
    pkt = Ether(bytes(Ether(src=PEER_MAC, dst=PORT_MAC[0]) / ip / transport / Raw(b"x" * 64)))
    if bad_ip:
        pkt[IP].chksum ^= 0x5a5a
    if bad_l4:
        pkt[l4.upper() == "TCP" and TCP or UDP].chksum ^= 0x5a5a
    return pkt


def case_csum():
    start(["--enable-rx-cksum"])
    for cmd in ("set verbose 1", "port stop all", "csum set ip hw 1", "csum set tcp hw 1",
                "csum set udp hw 1", "port start all", "set fwd csum", "start"):
        run(cmd)
    cases = [("ipv4", "tcp", False, False), ("ipv4", "udp", False, False),
             ("ipv4", "tcp", True, False), ("ipv4", "udp", False, True),
             ("ipv4", "tcp", False, True), ("ipv6", "tcp", False, False),
             ("ipv6", "udp", False, False), ("ipv6", "tcp", False, True),
             ("ipv6", "udp", False, True)]
    frames = [frame(l3, l4, bad_ip, bad_l4, sport=1000 + i)
              for i, (l3, l4, bad_ip, bad_l4) in enumerate(cases)]
    got, verbose = exchange(frames, len(frames))
    flags = received_flags(verbose)
    if len(flags) != len(cases):
        fail(f"testpmd reported {len(flags)} received packets, {len(cases)} sent")
    for (l3, l4, bad_ip, bad_l4), (_, ol) in zip(cases, flags):
        want_l4 = "RTE_MBUF_F_RX_L4_CKSUM_BAD" if bad_l4 else "RTE_MBUF_F_RX_L4_CKSUM_GOOD"
        if want_l4 not in ol:
            fail(f"{l3}/{l4} bad_ip={bad_ip} bad_l4={bad_l4}: flags {ol} lack {want_l4}")
        if l3 == "ipv4":
            want_ip = "RTE_MBUF_F_RX_IP_CKSUM_BAD" if bad_ip else "RTE_MBUF_F_RX_IP_CKSUM_GOOD"
            if want_ip not in ol:
                fail(f"{l3}/{l4} bad_ip={bad_ip}: flags {ol} lack {want_ip}")
    run("stop")
    if len(got) != len(frames):
        fail(f"{len(frames)} frames sent, {len(got)} forwarded to port 1's wire")
    for pkt in got:
        if not checksums_right(pkt):
            fail(f"a frame left port 1 with a wrong checksum: {pkt.summary()}")
    print(f"{len(cases)} checksum cases flagged right; all forwarded with right checksums")


def case_vlan():
    # The device reports only the VLAN id of the tag it removed (spec: RX OOB), so the
    # stripped TCI is 0x064 and, with strip off, the tag put back has priority 0.
    start([])
    run("set verbose 1")
    run("set fwd io")
    for strip in ("on", "off"):
        # The strip setting changes while the port is stopped (refused while it runs).
        for cmd in ("port stop 0", f"vlan set strip {strip} 0", "port start 0", "start"):
            run(cmd)
        sent = Ether(bytes(Ether(src=PEER_MAC, dst=PORT_MAC[0]) / Dot1Q(vlan=100, prio=5) /
                           IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=7, dport=9) /
                           Raw(b"v" * 50)))
        got, verbose = exchange([sent], 1)
        run("stop")
        flags = received_flags(verbose)
        if len(flags) != 1 or len(got) != 1:
            fail(f"strip {strip}: {len(flags)} received, {len(got)} forwarded of 1")
        head, ol = flags[0]
        if strip == "on":
            if "RTE_MBUF_F_RX_VLAN_STRIPPED" not in ol or "VLAN tci=0x64" not in head:
                fail(f"strip on: flags {ol}, packet {head!r}: no stripped tag 0x64")
            if got[0].haslayer(Dot1Q) or bytes(got[0][IP]) != bytes(sent[IP]):
                fail("strip on: the frame left port 1 still tagged or changed")
        else:
            if "RTE_MBUF_F_RX_VLAN_STRIPPED" in ol or "type=0x8100" not in head:
                fail(f"strip off: flags {ol}, packet {head!r}: the tag was stripped")
            if not got[0].haslayer(Dot1Q) or got[0][Dot1Q].vlan != 100:
                fail("strip off: the frame left port 1 without its tag")
            if bytes(got[0][IP]) != bytes(sent[IP]):
                fail("strip off: the frame's payload changed")
    print("VLAN strip on and off as configured")


def case_mtu():
    # The device has no RX MTU filter (spec: a frame is copied into the next posted buffer;
    # one longer than the buffer completes as RX truncated). So at MTU 1500 with 2048-byte
    # buffers, frames up to the buffer are forwarded, a longer one is counted as an RX
    # error and delivered nowhere.
    start([])
    run("set fwd io")
    run("start")
    run("clear port stats all")
    fits = [1514, 1515, 1600, 2048]
    too_long = [2049, 4000, 9000]
    frames = []
    for size in fits + too_long:
        head = Ether(src=PEER_MAC, dst=PORT_MAC[0]) / IP(src="198.51.100.1", dst="198.51.100.2") / \
            UDP(sport=5, dport=6)
        frames.append(Ether(bytes(head / Raw(b"m" * (size - len(head))))))
    got, _ = exchange(frames, len(fits))
    run("stop")
    s = port_stats(session.cmd("show port stats all"))
    lengths = sorted(len(p) for p in got)
    if lengths != fits:
        fail(f"expected the frames of {fits} bytes forwarded, got lengths {lengths}")
    if s[0]["RX-packets"] != len(fits) or s[0]["RX-errors"] != len(too_long):
        fail(f"port 0 accounts for {s[0]}: expected {len(fits)} received and "
             f"{len(too_long)} RX errors")
    print(f"{len(fits)} frames up to the buffer forwarded; {len(too_long)} longer counted")


def case_rss():
    start(["--rxq=4", "--txq=4", "--rss-udp"])
    run("set fwd io")
    run("start")
    run("clear port xstats all")
    flows = [Ether(bytes(Ether(src=PEER_MAC, dst=PORT_MAC[0]) /
                         IP(src=f"198.51.{100 + i % 4}.{1 + i // 4}", dst="198.51.100.200") /
                         UDP(sport=1024 + i, dport=4789) / Raw(b"r" * 32)))
             for i in range(256)]
    sniffer = AsyncSniffer(iface=taps[1], store=True,
                           lfilter=from_port_1)
    sniffer.start()
    time.sleep(0.3)
    sendp(flows, iface=taps[0], inter=0.001)
    deadline = time.monotonic() + 5
    while len(sniffer.results or []) < len(flows) and time.monotonic() < deadline:
        time.sleep(0.1)
    got = sniffer.stop()
    run("stop")
    out = session.cmd("show port xstats 0")
    per_queue = {int(q): int(v) for q, v in re.findall(r"rx_q(\d+)_packets:\s+(\d+)", out)}
    if sorted(per_queue) != [0, 1, 2, 3] or min(per_queue.values()) < len(flows) // 16:
        fail(f"256 flows did not spread over the 4 RX queues: {per_queue}")
    if sum(per_queue.values()) != len(flows) or len(got) != len(flows):
        fail(f"{len(flows)} sent, {sum(per_queue.values())} received, {len(got)} forwarded")
    print(f"256 flows over 4 queues: {per_queue}")


CASES = {"csum": case_csum, "vlan": case_vlan, "mtu": case_mtu, "rss": case_rss}
if case not in CASES:
    sys.exit(f"unknown case {case}")
CASES[case]()
if session.quit() != 0:
    fail("testpmd did not exit cleanly")
print(f"PASS ({case})")
