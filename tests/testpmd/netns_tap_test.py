#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Linux network stacks as real peers: the emulator wires each of its two ports to a TAP
interface, each TAP interface is moved into a network namespace of its own, and
dpdk-testpmd (io forwarding) with our driver relays between them. Then, as a user would
check a bump-in-the-wire appliance: ping passes, and a 100 MB TCP transfer arrives intact
(SHA-256 equal on both sides) with no TCP checksum errors counted by either kernel.

Usage: netns_tap_test.py <librte_net_mana.so> <libmana_emu.so>"""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testpmd_session import Testpmd, port_stats  # noqa: E402

pmd, emu = sys.argv[1:3]
tag = f"{os.getpid() % 100000}"
ns = [f"mana-a{tag}", f"mana-b{tag}"]
taps = [f"mtap{tag}a", f"mtap{tag}b"]
# Addresses exist only inside the two namespaces this test creates.
addr = ["192.0.2.1", "192.0.2.2"]  # TEST-NET-1 (RFC 5737)
TRANSFER_BYTES = 100 * 1024 * 1024


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


if os.geteuid() != 0:
    skip("needs root for network namespaces")
if not os.path.exists("/dev/net/tun"):
    skip("no /dev/net/tun")

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


def snmp_tcp(name):
    lines = [l.split() for l in sh("ip", "netns", "exec", name, "cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Tcp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


try:
    for name in ns:
        sh("ip", "netns", "add", name)
    config = f"wire=0:tap={taps[0]};wire=1:tap={taps[1]}"
    session = Testpmd(["-l", "0-1", "--no-huge", "-m", "512", "--no-shconf", "-d", pmd,
                       "-a", "7870:00:00.0"],
                      ["--total-num-mbufs=16384", "--forward-mode=io"],
                      env={"LD_PRELOAD": emu, "MANA_EMU_MODE": "threaded",
                           "MANA_EMU_CONFIG": config})
    for i in (0, 1):
        sh("ip", "link", "set", taps[i], "netns", ns[i])
        sh("ip", "netns", "exec", ns[i], "ip", "addr", "add", f"{addr[i]}/24", "dev", taps[i])
        sh("ip", "netns", "exec", ns[i], "ip", "link", "set", taps[i], "up")
        sh("ip", "netns", "exec", ns[i], "ip", "link", "set", "lo", "up")
    session.cmd("start")

    ping = sh("ip", "netns", "exec", ns[0], "ping", "-c", "5", "-i", "0.2", "-W", "2", addr[1],
              check=False)
    if ping.returncode != 0:
        fail(f"ping {addr[0]} -> {addr[1]} through testpmd failed:\n{ping.stdout}{ping.stderr}")

    before = [snmp_tcp(name) for name in ns]
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", ns[1], "python3", "-c",
         "import hashlib,socket\n"
         "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('{addr[1]}', 5201)); s.listen(1); c,_=s.accept(); h=hashlib.sha256(); n=0\n"
         "while True:\n"
         "    b=c.recv(1<<20)\n"
         "    if not b: break\n"
         "    h.update(b); n+=len(b)\n"
         "print(n, h.hexdigest())\n"],
        stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    # Deterministic, incompressible-looking payload so a corrupted byte changes the hash.
    block = hashlib.sha256(b"net_mana").digest() * (1 << 15)  # 1 MiB
    expected = hashlib.sha256()
    for _ in range(TRANSFER_BYTES // len(block)):
        expected.update(block)
    sender = subprocess.run(
        ["ip", "netns", "exec", ns[0], "python3", "-c",
         "import hashlib,socket,sys\n"
         "block=hashlib.sha256(b'net_mana').digest()*(1<<15)\n"
         f"s=socket.create_connection(('{addr[1]}', 5201), timeout=30)\n"
         f"for _ in range({TRANSFER_BYTES // len(block)}): s.sendall(block)\n"
         "s.close()\n"],
        capture_output=True, text=True, timeout=300)
    if sender.returncode != 0:
        fail(f"TCP sender failed: {sender.stderr}")
    out, _ = receiver.communicate(timeout=120)
    got_bytes, got_hash = out.split()
    if int(got_bytes) != TRANSFER_BYTES or got_hash != expected.hexdigest():
        fail(f"TCP transfer corrupted: got {got_bytes} bytes, sha256 {got_hash}")
    after = [snmp_tcp(name) for name in ns]
    for i in (0, 1):
        if after[i]["InCsumErrors"] != before[i]["InCsumErrors"]:
            fail(f"{ns[i]} counted TCP checksum errors")
    session.cmd("stop")
    stats = port_stats(session.cmd("show port stats all"))
    for port, values in stats.items():
        if values.get("RX-errors", 0) or values.get("TX-errors", 0):
            fail(f"port {port} counted errors: {values}")
    retrans = after[0]["RetransSegs"] - before[0]["RetransSegs"]
    rc = session.quit()
    if rc != 0:
        fail(f"testpmd exited with {rc}")
    print(f"PASS: ping and {TRANSFER_BYTES >> 20} MiB over TCP through testpmd and the emulated "
          f"VF; {retrans} TCP retransmissions")
finally:
    cleanup()
