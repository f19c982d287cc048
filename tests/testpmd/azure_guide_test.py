#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The dpdk-testpmd invocations of Azure's MANA DPDK guide, as users copy them, over the
threaded emulator with our plugin. Each case adds only what running without Azure needs:
LD_PRELOAD of the emulator, `-d` with the plugin (it is not installed), the emulator's
wiring, and a file prefix of the test's own (hugepages come from with_hugepages.sh, as
the guide's commands run with hugepages).

The guide's `-l 1-3` needs four CPUs. On a smaller machine the case first checks that EAL
refuses that list with a clear message, then runs the same command with `-l 0-1`.

Usage: azure_guide_test.py <librte_net_mana.so> <libmana_emu.so> <case>
case:
  vdev-txonly   -l 1-3 --vdev="<bdf>,mac=<mac>" -- --forward-mode=txonly --auto-start
                --txd=128 --rxd=128 --stats 2: a PCI address through --vdev probes exactly
                the port of that MAC, which sends; its frames reach the wire (a TAP).
  two-macs      -a <bdf>,mac=<mac0>,mac=<mac1>: both ports; one mac= gives one port.
  rxonly        --forward-mode=rxonly --auto-start --stats 2: every frame a peer puts on
                the wire is counted as received.
  queues        --txq=N --rxq=N for N = 1, 2, 4 and the device maximum: traffic on every
                RX queue; N above the maximum is refused with testpmd's message.
  nb-cores      --nb-cores=1 and 2 with 2 queues: the streams are spread over that many
                forwarding lcores and traffic flows."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testpmd_session  # noqa: E402
from testpmd_session import Testpmd, port_stats  # noqa: E402

pmd, emu, case = sys.argv[1:4]
BDF = "7870:00:00.0"
MACS = ["00:15:5d:78:70:00", "00:15:5d:78:70:01"]
prefix = os.environ.get("MANA_MP_PREFIX", f"mana_azure_{os.getpid()}")
tag = f"{os.getpid() % 100000}"


def fail(why, output=""):
    if output:
        print(output)
    print(f"FAIL ({case}): {why}")
    sys.exit(1)


def emulator_env(config=None):
    env = dict(os.environ, LD_PRELOAD=emu, MANA_EMU_MODE="threaded")
    env.pop("SYSFS_PCI_DEVICES", None)
    if config:
        env["MANA_EMU_CONFIG"] = config
    return env


def eal_common():
    return ["--file-prefix", prefix, "-d", pmd]


def guide_lcores():
    """The guide's lcore list, or the one this machine has (after checking that EAL refuses
    the guide's with a message naming the missing lcores)."""
    if (os.cpu_count() or 1) >= 4:
        return "1-3"
    out = subprocess.run(["dpdk-testpmd", "-l", "1-3", *eal_common(), "--", "--help"],
                         capture_output=True, text=True, env=emulator_env(), timeout=60)
    text = out.stdout + out.stderr
    if out.returncode == 0 or "lcore 3 unavailable" not in text:
        fail("EAL took -l 1-3 on a machine with fewer than 4 CPUs", text)
    return "0-1"


def start(args, config=None):
    """Starts testpmd non-interactively, in the guide's --auto-start --stats form."""
    return subprocess.Popen(["dpdk-testpmd", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=emulator_env(config))


def interrupt(proc, after):
    """Lets testpmd run `after` seconds more, then stops it as a user would (Ctrl-C), and
    returns its output."""
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        fail("testpmd did not exit on SIGINT", out.decode(errors="replace"))
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        fail(f"testpmd exited with {proc.returncode}", text)
    return text


def tap_socket(ifname, timeout=30):
    """A raw socket on the emulator's TAP interface once the emulator has created it."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(f"/sys/class/net/{ifname}"):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)
    # No IPv6 on it: the kernel would put its own solicitations on the wire.
    with open(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "w") as knob:
        knob.write("1")
    subprocess.run(["ip", "link", "set", ifname, "up"], check=True)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((ifname, 0))
    sock.settimeout(0.2)
    return sock


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def forward_totals(text):
    """{port: (rx, tx)} from the "Forward statistics for port N" blocks printed at exit."""
    totals = {}
    for port, block in re.findall(
            r"Forward statistics for port (\d+)\s+-+\s*(.*?)-{20,}", text, re.S):
        rx = re.search(r"RX-packets:\s+(\d+)", block)
        tx = re.search(r"TX-packets:\s+(\d+)", block)
        totals[int(port)] = (int(rx.group(1)) if rx else 0, int(tx.group(1)) if tx else 0)
    return totals


def start_vdev_on_tap(tap, ports, wire, mac, mode):
    """testpmd as the guide runs it with --vdev: forward mode `mode` on the port of `mac`,
    port `wire` of a function of `ports` ports wired to TAP `tap`. Returns the process and
    a raw socket on the TAP."""
    testpmd_session.require_root_and_tun("needs root for TAP interfaces", case)
    config = f"vf={BDF},ports={ports};wire={wire}:tap={tap}"
    args = ["-l", guide_lcores(), *eal_common(), f"--vdev={BDF},mac={mac}", "--",
            f"--forward-mode={mode}", "--auto-start", "--txd=128", "--rxd=128", "--stats", "2"]
    proc = start(args, config)
    sock = tap_socket(tap)
    if sock is None:
        proc.kill()
        fail(f"the emulator created no TAP {tap}")
    return proc, sock


def case_vdev_txonly():
    # Port 1 of the function carries the guide's MAC; port 0 must stay unprobed.
    proc, sock = start_vdev_on_tap(f"maz{tag}t", 2, 1, MACS[1], "txonly")
    # Counted from the first frame on the wire (forwarding has started) for 5 s, so that
    # the 2-second statistics are printed at least twice.
    seen = 0
    first_deadline = time.monotonic() + 60
    deadline = None
    while time.monotonic() < (deadline or first_deadline):
        try:
            frame = sock.recv(65536)
        except socket.timeout:
            continue
        if frame[6:12] == mac_bytes(MACS[1]):
            seen += 1
            if deadline is None:
                deadline = time.monotonic() + 5
    text = interrupt(proc, 0)
    if f"Port 0: {MACS[1].upper()}" not in text:
        fail(f"the port probed is not the one of mac={MACS[1]}", text)
    if "Port 1:" in text:
        fail("mac= did not limit the probe to one port", text)
    tx = [int(n) for n in re.findall(r"TX-packets:\s+(\d+)\s+TX-errors:\s+0", text)]
    if len(tx) < 2 or tx[-1] <= tx[0] or tx[-1] == 0:
        fail(f"the periodic statistics do not show TX growing: {tx}", text)
    if seen == 0:
        fail("no frame from the port's MAC reached the wire", text)
    print(f"txonly sent {tx[-1]} frames; {seen} seen on the TAP wire")


def case_two_macs():
    for macs, ports in (((MACS[0], MACS[1]), 2), ((MACS[1],), 1)):
        devargs = ",".join([BDF] + [f"mac={m}" for m in macs])
        session = Testpmd(["-l", "0-1", *eal_common(), "-a", devargs],
                          ["--total-num-mbufs=8192"], env=emulator_env())
        listing = session.cmd("show port summary all")
        found = re.findall(r"^(\d+)\s+([0-9A-F:]{17})", listing, re.M)
        if sorted(m for _, m in found) != sorted(m.upper() for m in macs):
            print(session.transcript())
            fail(f"-a {devargs}: ports {found}, expected the MACs {macs}")
        if ports == 2:
            session.cmd("set fwd io")
            session.cmd("start tx_first")
            time.sleep(2)
            session.cmd("stop")
            s = port_stats(session.cmd("show port stats all"))
            for port in (0, 1):
                if s[port]["RX-packets"] < 320:
                    print(session.transcript())
                    fail(f"-a {devargs}: port {port} forwarded too little: {s[port]}")
        if session.quit() != 0:
            fail(f"testpmd with -a {devargs} did not exit cleanly", session.transcript())


def case_rxonly():
    proc, sock = start_vdev_on_tap(f"maz{tag}r", 1, 0, MACS[0], "rxonly")
    time.sleep(2)  # past start-up: the queue is polled
    sent = 0
    for i in range(1000):
        # Ethernet to the port's MAC, IPv4/UDP, numbered.
        payload = i.to_bytes(4, "big") * 16
        ip = bytes([0x45, 0, 0, 20 + 8 + len(payload), 0, 0, 0, 0, 64, 17, 0, 0,
                    198, 51, 100, 1, 198, 51, 100, 2])
        udp = (1000 + i % 50).to_bytes(2, "big") + (2000).to_bytes(2, "big") + \
            (8 + len(payload)).to_bytes(2, "big") + b"\0\0"
        frame = mac_bytes(MACS[0]) + bytes.fromhex("020000000099") + b"\x08\x00" + ip + udp + payload
        sock.send(frame)
        sent += 1
        if i % 100 == 99:
            time.sleep(0.01)
    text = interrupt(proc, 3)
    totals = forward_totals(text)
    if totals.get(0, (0, 0))[0] != sent:
        fail(f"{sent} frames put on the wire, rxonly counted {totals.get(0)}", text)
    print(f"rxonly counted all {sent} frames")


def session_with_queues(n, extra=()):
    return Testpmd(["-l", "0-1", *eal_common(), "-a", BDF],
                   ["--total-num-mbufs=65536", f"--txq={n}", f"--rxq={n}", "--rss-udp", *extra],
                   env=emulator_env())


def flowgen_spread(session, n, what):
    """flowgen from both ports (many UDP flows): each port's every RX queue takes some."""
    session.cmd("set fwd flowgen")
    session.cmd("start")
    time.sleep(2)
    session.cmd("stop")
    xstats = {}
    for port in (0, 1):
        out = session.cmd(f"show port xstats {port}")
        xstats[port] = {int(q): int(v) for q, v in re.findall(r"rx_q(\d+)_packets:\s+(\d+)", out)}
        if sorted(xstats[port]) != list(range(n)) or min(xstats[port].values()) == 0:
            print(session.transcript())
            fail(f"{what}: port {port} RX queues did not all receive: {xstats[port]}")
    return xstats


def case_queues():
    session = session_with_queues(1)
    info = session.cmd("show port info 0")
    session.quit()
    most = int(re.search(r"Max possible RX queues: (\d+)", info).group(1))
    most_tx = int(re.search(r"Max possible TX queues: (\d+)", info).group(1))
    for n in sorted({1, 2, 4, min(most, most_tx)}):
        session = session_with_queues(n)
        info = session.cmd("show port info 0")
        if f"Current number of RX queues: {n}" not in info:
            print(session.transcript())
            fail(f"--rxq={n}: port 0 does not report {n} RX queues")
        flowgen_spread(session, n, f"--rxq={n} --txq={n}")
        if session.quit() != 0:
            fail(f"testpmd with {n} queues did not exit cleanly", session.transcript())
    # One more than the device has: testpmd refuses it before starting anything.
    too_many = most + 1
    out = subprocess.run(["dpdk-testpmd", "-l", "0-1", *eal_common(), "-a", BDF, "--",
                          f"--rxq={too_many}", f"--txq={too_many}"],
                         capture_output=True, text=True, env=emulator_env(), timeout=120,
                         stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    if out.returncode == 0 or f"max_rx_queues ({most})" not in text:
        fail(f"--rxq={too_many} was not refused with the device maximum {most}", text)
    print(f"queues 1, 2, 4 and {min(most, most_tx)} forward on every queue; {too_many} refused")


def case_nb_cores():
    for cores in (1, 2):
        # Two forwarding lcores need three in all: a CPU may host more than one lcore.
        lcores = ["-l", "0-1"] if cores == 1 else ["--lcores", "0@0,1@1,2@1"]
        session = Testpmd([*lcores, *eal_common(), "-a", BDF],
                          ["--total-num-mbufs=16384", "--txq=2", "--rxq=2", "--rss-udp",
                           f"--nb-cores={cores}"], env=emulator_env())
        session.cmd("set fwd flowgen")
        out = session.cmd("start")
        engaged = re.findall(r"Logical Core (\d+) \(socket \d+\) forwards packets on (\d+) streams",
                             out)
        if len(engaged) != cores or sum(int(s) for _, s in engaged) != 4:
            print(session.transcript())
            fail(f"--nb-cores={cores}: {engaged} (expected {cores} lcores for 4 streams)")
        time.sleep(2)
        session.cmd("stop")
        s = port_stats(session.cmd("show port stats all"))
        for port in (0, 1):
            if s[port]["RX-packets"] < 1000 or s[port]["RX-errors"] != 0:
                print(session.transcript())
                fail(f"--nb-cores={cores}: port {port}: {s[port]}")
        if session.quit() != 0:
            fail(f"testpmd with --nb-cores={cores} did not exit cleanly", session.transcript())


CASES = {"vdev-txonly": case_vdev_txonly, "two-macs": case_two_macs, "rxonly": case_rxonly,
         "queues": case_queues, "nb-cores": case_nb_cores}
if case not in CASES:
    sys.exit(f"unknown case {case}")
CASES[case]()
print(f"PASS ({case})")
