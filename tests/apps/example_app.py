# SPDX-License-Identifier: BSD-3-Clause
"""Runs DPDK's example applications over the emulated MANA VF and gives them real peers:
each emulated port wired to a Linux TAP interface that lives in a network namespace of its
own, where raw packet sockets inject and capture Ethernet frames (nothing the host's own
stack routes). Also: frame building and parsing (IPv4/UDP), DPDK telemetry queries and
per-thread CPU times. Used by the apps suite; standard library only."""
import ctypes
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
# Port MACs the emulator gives VF 7870:00:00.0 without a mac= setting.
PORT_MACS = ["00:15:5d:78:70:00", "00:15:5d:78:70:01"]
PEER_MAC = "02:aa:bb:cc:dd:0"  # + port: the address of the namespace side (any unicast)


class AppError(Exception):
    pass


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def require_root_and_tun():
    if os.geteuid() != 0:
        skip("needs root for network namespaces and TAP interfaces")
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun")


def tap_names(prefix, count=2):
    """This process's tag (its pid, shortened) and `count` TAP names of `prefix` with it,
    "<prefix><tag>a", "<prefix><tag>b", ...: no other test process uses them."""
    tag = os.getpid() % 100000
    return tag, [f"{prefix}{tag}{chr(ord('a') + i)}" for i in range(count)]


def fail(why, *apps):
    """What every example test does on a failure: prints the output of each of `apps` that
    has started (None: not yet), then "FAIL: <why>"; exits 1."""
    for app in apps:
        if app is not None:
            print(app.output())
    print(f"FAIL: {why}")
    sys.exit(1)


def stop(*apps, peers=()):
    """The end of every example test (its finally): kills each of `apps` that has started,
    then closes each of `peers` that has (None entries are skipped)."""
    for app in apps:
        if app is not None:
            app.kill()
    for peer in peers:
        if peer is not None:
            peer.close()


def eal_args(pmd, lcores="0", extra=(), memory_mb=512):
    """EAL arguments that put an example on the emulated VF without hugepages; a file prefix
    of its own, so that its telemetry socket is its alone."""
    return ["-l", lcores, "--no-huge", "-m", str(memory_mb), "--no-shconf", "--file-prefix",
            f"mana_app{os.getpid()}", "-d", pmd, "-a", "7870:00:00.0", *extra]


def tap_wires(taps):
    return ";".join(f"wire={port}:tap={name}" for port, name in enumerate(taps))


class App:
    """One example process on a pseudo-terminal (its printf output line-buffered, as at a
    console); a thread collects everything it prints."""

    def __init__(self, argv, env=None):
        master, slave = pty.openpty()
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     close_fds=True, start_new_session=True,
                                     env=dict(os.environ, **(env or {})))
        os.close(slave)
        self.master = master
        self._buf = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._buf += chunk

    def output(self):
        with self._lock:
            return self._buf.decode(errors="replace").replace("\r\n", "\n")

    def wait_for(self, pattern, timeout=60, since=0):
        """Waits until the output after offset `since` matches `pattern`; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output()[since:], re.M)
            if match:
                return match
            if self.proc.poll() is not None:
                time.sleep(0.2)  # what it printed last
                match = re.search(pattern, self.output()[since:], re.M)
                if match:
                    return match
                raise AppError(f"{os.path.basename(self.argv[0])} exited with "
                               f"{self.proc.returncode} before printing /{pattern}/")
            if time.monotonic() > deadline:
                raise AppError(f"no /{pattern}/ within {timeout}s")
            time.sleep(0.1)

    def send(self, line):
        os.write(self.master, line.encode() + b"\n")

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AppError(f"{os.path.basename(self.argv[0])} did not exit within {timeout}s")

    def interrupt(self, timeout=60):
        """Ctrl-C, as a user stops an example; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait_exit(timeout)

    def quit(self, command="quit", timeout=60):
        """Types `command` at the example's prompt, as a user ends it; returns its exit
        status."""
        self.send(command)
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def threads(self):
        """{tid: thread name} of the running process."""
        names = {}
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{tid}/comm") as f:
                    names[int(tid)] = f.read().strip()
            except OSError:
                pass
        return names

    def thread_cpu_seconds(self, tid):
        """User + system CPU time of one thread of the process."""
        with open(f"/proc/{self.proc.pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sh(*cmd, check=True):
    done = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AppError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


class TapPeer:
    """The far end of one emulated port: its TAP interface moved into a new network
    namespace, up, without IPv6 (so the kernel sends nothing of its own), and a raw packet
    socket on it there."""

    def __init__(self, ifname, netns, app=None, timeout=60):
        self.ifname, self.netns = ifname, netns
        deadline = time.monotonic() + timeout
        while sh("ip", "link", "show", ifname, check=False).returncode != 0:
            if app is not None and app.proc.poll() is not None:
                raise AppError(f"{os.path.basename(app.argv[0])} exited with "
                               f"{app.proc.returncode} before creating {ifname}")
            if time.monotonic() > deadline:
                raise AppError(f"TAP interface {ifname} did not appear within {timeout}s")
            time.sleep(0.2)
        sh("ip", "netns", "add", netns)
        try:
            sh("ip", "link", "set", ifname, "netns", netns)
            sh("ip", "netns", "exec", netns, "sysctl", "-qw",
               f"net.ipv6.conf.{ifname}.disable_ipv6=1")
            sh("ip", "netns", "exec", netns, "ip", "link", "set", ifname, "up")
            self.sock = self._packet_socket()
        except BaseException:
            sh("ip", "netns", "del", netns, check=False)
            raise

    def _packet_socket(self):
        """A raw packet socket on the interface, created inside its namespace."""
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        peer = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            _setns(peer)
            try:
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                sock.bind((self.ifname, 0))
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(peer)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        return sock

    def send(self, frames, gap=0.0):
        for frame in frames:
            self.sock.send(frame)
            if gap:
                time.sleep(gap)

    def receive(self, count, timeout=10, keep=lambda frame: True):
        """Frames arriving from the emulated port (the kernel's outgoing copies skipped),
        those `keep` accepts, until `count` of them or `timeout` seconds of silence."""
        frames = []
        deadline = time.monotonic() + timeout
        while len(frames) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                break
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if keep(frame):
                frames.append(frame)
                deadline = time.monotonic() + timeout
        return frames

    def drain(self, quiet=0.5):
        """Everything pending, until `quiet` seconds pass without a frame."""
        return self.receive(1 << 30, timeout=quiet)

    def close(self):
        self.sock.close()
        sh("ip", "netns", "del", self.netns, check=False)


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def ipv4_checksum(header):
    if len(header) % 2:
        header += b"\0"
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(dst_mac, src_mac, src_ip, dst_ip, sport=9, dport=9, ttl=64, payload=b""):
    """An Ethernet/IPv4/UDP frame (UDP checksum 0: none, allowed over IPv4)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, ttl, 17, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    header = header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + header + udp


def parse_udp(frame):
    """dict of the Ethernet/IPv4/UDP fields of a frame, or None for any other frame."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[14] != 0x45 or frame[23] != 17:
        return None
    header = frame[14:34]
    sport, dport = struct.unpack("!HH", frame[34:38])
    length = struct.unpack("!H", header[2:4])[0]
    return {"dst_mac": mac_text(frame[0:6]), "src_mac": mac_text(frame[6:12]),
            "ttl": header[8], "checksum_ok": ipv4_checksum(header) == 0,
            "src_ip": socket.inet_ntoa(header[12:16]), "dst_ip": socket.inet_ntoa(header[16:20]),
            "sport": sport, "dport": dport, "payload": frame[42:14 + length]}


def marked(mark):
    """A `keep` filter: UDP frames whose payload starts with `mark`."""
    return lambda frame: (parse_udp(frame) or {}).get("payload", b"").startswith(mark)


def telemetry(prefix, command, timeout=10):
    """Answer of the DPDK telemetry socket of the process with EAL file prefix `prefix`."""
    path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AppError(f"no telemetry socket {path}")
        time.sleep(0.2)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.recv(4096)  # greeting
        s.send(command.encode())
        return json.loads(s.recv(1 << 20).decode())[command.split(",")[0]]
