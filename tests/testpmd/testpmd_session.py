# SPDX-License-Identifier: BSD-3-Clause
"""Drives the system's dpdk-testpmd interactively through a pseudo-terminal, as a person
at the prompt would (a pipe would block-buffer testpmd's printf output and reorder it
against the prompt). Used by the testpmd suite; standard library only."""
import os
import pty
import re
import select
import subprocess
import sys
import time

PROMPT = b"testpmd> "


def skip(why, label=None):
    """Exits 77 (meson's "skipped") after "SKIP: <why>" ("SKIP (<label>): <why>")."""
    print(f"SKIP ({label}): {why}" if label else f"SKIP: {why}")
    sys.exit(77)


def require_root_and_tun(why, label=None):
    """Skips unless the test can create TAP interfaces (root, /dev/net/tun); `why` says
    what else root is needed for."""
    if os.geteuid() != 0:
        skip(why, label)
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun", label)


class TestpmdError(Exception):
    pass


class Testpmd:
    def __init__(self, eal_args, app_args, env=None, start_timeout=60):
        master, slave = pty.openpty()
        self.log = []
        self.proc = subprocess.Popen(
            ["dpdk-testpmd", *eal_args, "--", "-i", *app_args],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env=dict(os.environ, **(env or {})))
        os.close(slave)
        self.master = master
        self.startup = self._until_prompt(start_timeout)

    def _until_prompt(self, timeout):
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(PROMPT):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestpmdError(f"no prompt within {timeout}s; output so far:\n"
                                   + buf.decode(errors="replace"))
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # testpmd exited: the pty is gone
                    chunk = b""
                if not chunk:
                    raise TestpmdError("testpmd exited; output:\n" + buf.decode(errors="replace"))
                buf += chunk
        text = buf.decode(errors="replace").replace("\r\n", "\n")
        self.log.append(text)
        return text[: -len(PROMPT)]

    def cmd(self, line, timeout=60):
        """Runs one command and returns what testpmd printed for it."""
        os.write(self.master, line.encode() + b"\n")
        return self._until_prompt(timeout)

    def quit(self, timeout=60):
        os.write(self.master, b"quit\n")
        deadline = time.monotonic() + timeout
        tail = b""
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    tail += os.read(self.master, 65536)
                except OSError:
                    break
        try:
            rc = self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise TestpmdError("testpmd did not exit after quit")
        self.log.append(tail.decode(errors="replace"))
        os.close(self.master)
        return rc

    def transcript(self):
        return "".join(self.log)


def port_stats(text):
    """{port: {"RX-packets": n, "RX-missed": n, ...}} from `show port stats all`."""
    stats = {}
    for port, block in re.findall(r"NIC statistics for port (\d+)\s+#+(.*?)#{10,}", text, re.S):
        values = {}
        for key, value in re.findall(r"([A-Za-z][A-Za-z-]+):\s+(\d+)", block):
            values[key] = int(value)
        stats[int(port)] = values
    return stats


def forward_stats(text):
    """{port: {"RX-packets": n, "RX-dropped": n, "TX-packets": n, "TX-dropped": n, ...}} from
    the per-port "Forward statistics" blocks that `stop` prints (counted since `start`;
    TX-dropped: packets the engine freed because tx_burst did not take them)."""
    stats = {}
    for port, block in re.findall(
            r"-+ Forward statistics for port (\d+)\s+-+(.*?)(?=-{10,})", text, re.S):
        stats[int(port)] = {key: int(value) for key, value in
                            re.findall(r"([A-Za-z][A-Za-z-]+):\s+(\d+)", block)}
    return stats


def emulator_report(path):
    """{port: {counter: value}} from the file the emulator writes at exit with
    MANA_EMU_REPORT=path ("port N NAME VALUE" lines)."""
    report = {}
    with open(path) as lines:
        for line in lines:
            _, port, name, value = line.split()
            report.setdefault(int(port), {})[name] = int(value)
    return report
