# SPDX-License-Identifier: BSD-3-Clause
"""A TCP transfer between two network namespaces, as a user checks a bump-in-the-wire
appliance: the receiver hashes what arrives, the sender sends a deterministic payload, and
the result says whether every byte arrived intact, with the kernels' own counters (TCP
retransmissions and checksum errors, the interfaces' frame counts) around it. Used by the
testpmd and reference suites; standard library only."""
import hashlib
import subprocess
import time

BLOCK = hashlib.sha256(b"net_mana").digest() * (1 << 15)  # 1 MiB, incompressible-looking


def _sh(*cmd):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True)


def link_counts(netns, ifname):
    """(rx_packets, rx_bytes, tx_packets, tx_bytes) of an interface in a namespace."""
    for line in _sh("ip", "netns", "exec", netns, "cat", "/proc/net/dev").stdout.splitlines():
        if line.strip().startswith(ifname + ":"):
            fields = line.split(":", 1)[1].split()
            return int(fields[1]), int(fields[0]), int(fields[9]), int(fields[8])
    raise RuntimeError(f"no {ifname} in {netns}")


def link_drops(netns, ifname):
    """An interface's packet and drop counts: {"rx_packets", "rx_dropped", "tx_packets",
    "tx_dropped"} (for a TAP, tx_dropped counts frames its queue toward the reader had no
    room for)."""
    for line in _sh("ip", "netns", "exec", netns, "cat", "/proc/net/dev").stdout.splitlines():
        if line.strip().startswith(ifname + ":"):
            fields = [int(field) for field in line.split(":", 1)[1].split()]
            return {"rx_packets": fields[1], "rx_dropped": fields[3], "tx_packets": fields[9],
                    "tx_dropped": fields[11]}
    raise RuntimeError(f"no {ifname} in {netns}")


def backlog_drops():
    """Frames the kernel dropped because a CPU's input backlog was full, since boot (the
    second column of /proc/net/softnet_stat, summed over CPUs)."""
    with open("/proc/net/softnet_stat") as rows:
        return sum(int(row.split()[1], 16) for row in rows)


def snmp_tcp(netns):
    lines = [line.split() for line in
             _sh("ip", "netns", "exec", netns, "cat", "/proc/net/snmp").stdout.splitlines()
             if line.startswith("Tcp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def transfer(sender_ns, sender_if, receiver_ns, receiver_if, receiver_addr, total_bytes,
             port=5201):
    """Sends total_bytes (a multiple of 1 MiB) over TCP. Returns a dict: error (None when the
    bytes arrived intact), retransmissions, csum_errors (both kernels), sent_frames,
    sent_bytes (the sender's interface), received_frames, received_bytes (the receiver's)."""
    before = [snmp_tcp(name) for name in (sender_ns, receiver_ns)]
    sent_before = link_counts(sender_ns, sender_if)
    received_before = link_counts(receiver_ns, receiver_if)
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", receiver_ns, "python3", "-c",
         "import hashlib,socket\n"
         "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('{receiver_addr}', {port})); s.listen(1); c,_=s.accept()\n"
         "h=hashlib.sha256(); n=0\n"
         "while True:\n"
         "    b=c.recv(1<<20)\n"
         "    if not b: break\n"
         "    h.update(b); n+=len(b)\n"
         "print(n, h.hexdigest())\n"],
        stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    blocks = total_bytes // len(BLOCK)
    expected = hashlib.sha256()
    for _ in range(blocks):
        expected.update(BLOCK)
    result = {"error": None}
    sender = subprocess.run(
        ["ip", "netns", "exec", sender_ns, "python3", "-c",
         "import hashlib,socket\n"
         "block=hashlib.sha256(b'net_mana').digest()*(1<<15)\n"
         f"s=socket.create_connection(('{receiver_addr}', {port}), timeout=30)\n"
         f"for _ in range({blocks}): s.sendall(block)\n"
         "s.close()\n"],
        capture_output=True, text=True, timeout=300)
    if sender.returncode != 0:
        receiver.kill()
        result["error"] = f"TCP sender failed: {sender.stderr.strip()}"
    else:
        out, _ = receiver.communicate(timeout=120)
        got_bytes, got_hash = out.split()
        if int(got_bytes) != blocks * len(BLOCK) or got_hash != expected.hexdigest():
            result["error"] = f"TCP transfer corrupted: got {got_bytes} bytes, sha256 {got_hash}"
    after = [snmp_tcp(name) for name in (sender_ns, receiver_ns)]
    sent_after = link_counts(sender_ns, sender_if)
    received_after = link_counts(receiver_ns, receiver_if)
    result["retransmissions"] = after[0]["RetransSegs"] - before[0]["RetransSegs"]
    result["csum_errors"] = sum(a["InCsumErrors"] - b["InCsumErrors"]
                                for a, b in zip(after, before))
    result["sent_frames"] = sent_after[2] - sent_before[2]
    result["sent_bytes"] = sent_after[3] - sent_before[3]
    result["received_frames"] = received_after[0] - received_before[0]
    result["received_bytes"] = received_after[1] - received_before[1]
    return result
