#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's l3fwd example over the emulated VF, both ports wired to TAP interfaces in network
namespaces, 2 RX queues per port, either both ports' queues on one lcore or one queue of
each port per lcore on two lcores (--config), in LPM or EM lookup mode:

- frames for the example's compiled-in routes (LPM: 198.18.<port>.0/24; EM: the 5-tuple
  198.18.<port>.1 -> 198.18.<port>.0, UDP 9 -> 9; EM with --parse-ptype, see
  missing_feature_test.py) leave the routed port, with destination
  MAC 02:00:00:00:00:<port>, the port's own source MAC, TTL decremented and a correct IPv4
  header checksum, payload intact;
- 64 flows (distinct source addresses) are spread by RSS over both RX queues of the port
  they arrive on: each queue's receive count (ethdev stats over DPDK telemetry) is
  non-zero, and the counts add up to what was sent. In EM mode they match no rule and
  go back out the port they came in on, as l3fwd does with unmatched frames.

With "parse-ptype" l3fwd classifies packets in software in LPM mode too: for a driver that
advertises packet types but never sets them (upstream net_mana 22.11, see the reference
suite), without which l3fwd's LPM path drops every frame as neither IPv4 nor IPv6.

Usage: l3fwd_test.py <l3fwd> <librte_net_mana.so> <libmana_emu.so> <lpm|em> <one-lcore|two-lcores>
                     [parse-ptype]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_app as ex  # noqa: E402

l3fwd, pmd, emu, mode, layout = sys.argv[1:6]
SOFTWARE_PTYPES = sys.argv[6:7] == ["parse-ptype"]
ROUTED, FLOWS = 32, 64
ex.require_root_and_tun()
tag, taps = ex.tap_names("l3t")
lcores, config = {
    "one-lcore": ("0", "(0,0,0),(0,1,0),(1,0,0),(1,1,0)"),
    "two-lcores": ("0-1", "(0,0,0),(1,0,0),(0,1,1),(1,1,1)"),
}[layout]
app, peers = None, []


def fail(why):
    ex.fail(why, app)


def routed_frames(rx_port, tx_port, mark):
    if mode == "lpm":
        return [ex.udp_frame(ex.PORT_MACS[rx_port], f"{ex.PEER_MAC}{rx_port}", "198.51.100.7",
                             f"198.18.{tx_port}.{1 + i}", sport=2000 + i, ttl=64 - i % 8,
                             payload=mark + bytes([i]) * 30) for i in range(ROUTED)]
    return [ex.udp_frame(ex.PORT_MACS[rx_port], f"{ex.PEER_MAC}{rx_port}", f"198.18.{tx_port}.1",
                         f"198.18.{tx_port}.0", sport=9, dport=9, ttl=64 - i % 8,
                         payload=mark + bytes([i]) * 30) for i in range(ROUTED)]


def queue_counts(port):
    stats = ex.telemetry(prefix, f"/ethdev/stats,{port}")
    return stats["q_ipackets"][:2]


try:
    # EM: l3fwd sizes its hash tables for millions of flows.
    eal = ex.eal_args(pmd, lcores, memory_mb=512 if mode == "lpm" else 2048)
    prefix = eal[eal.index("--file-prefix") + 1]
    # EM reads the IPv4 header by the exact packet type (options or none), which the device
    # does not report (RTE_PTYPE_L3_IPV4_EXT_UNKNOWN): l3fwd then parses it in software.
    parse_ptype = ["--parse-ptype"] if mode == "em" or SOFTWARE_PTYPES else []
    app = ex.App([l3fwd, *eal, "--", "-p", "0x3", f"--config={config}", f"--lookup={mode}",
                  *parse_ptype],
                 env={"LD_PRELOAD": emu, "MANA_EMU_CONFIG": ex.tap_wires(taps)})
    for i in (0, 1):
        peers.append(ex.TapPeer(taps[i], f"mana-l3{tag}{i}", app))
    for lcore in lcores.split("-"):
        app.wait_for(rf"L3FWD: entering main loop on lcore {lcore}\b", timeout=120)
    for rx_port in (0, 1):
        tx_port = 1 - rx_port
        mark = f"l3fwd {rx_port}->{tx_port} ".encode()
        frames = routed_frames(rx_port, tx_port, mark)
        peers[rx_port].send(frames, gap=0.001)
        got = peers[tx_port].receive(ROUTED, timeout=10, keep=ex.marked(mark))
        if len(got) != ROUTED:
            fail(f"{len(got)} of {ROUTED} frames routed {rx_port}->{tx_port} arrived")
        sent_fields = sorted((ex.parse_udp(f) for f in frames), key=lambda f: f["payload"])
        got_fields = sorted((ex.parse_udp(f) for f in got), key=lambda f: f["payload"])
        for sent, fields in zip(sent_fields, got_fields):
            if fields["dst_mac"] != f"02:00:00:00:00:0{tx_port}" or \
                    fields["src_mac"] != ex.PORT_MACS[tx_port]:
                fail(f"port {tx_port} sent {fields['src_mac']} -> {fields['dst_mac']}")
            if fields["ttl"] != sent["ttl"] - 1:
                fail(f"TTL {sent['ttl']} became {fields['ttl']}, not {sent['ttl'] - 1}")
            if not fields["checksum_ok"]:
                fail("a routed frame has a wrong IPv4 header checksum")
            if (fields["src_ip"], fields["dst_ip"], fields["payload"]) != \
                    (sent["src_ip"], sent["dst_ip"], sent["payload"]):
                fail("a routed frame changed beyond its MACs, TTL and checksum")

    # RSS: FLOWS flows into port 0; count per RX queue.
    before = queue_counts(0)
    mark = b"l3fwd rss "
    dst = "198.18.1.1" if mode == "lpm" else "198.51.100.1"
    flows = [ex.udp_frame(ex.PORT_MACS[0], f"{ex.PEER_MAC}0", f"203.0.113.{1 + i}", dst,
                          sport=3000 + i, payload=mark + bytes([i]) * 30) for i in range(FLOWS)]
    peers[0].send(flows, gap=0.001)
    out_port = 1 if mode == "lpm" else 0
    got = peers[out_port].receive(FLOWS, timeout=10, keep=ex.marked(mark))
    if len(got) != FLOWS:
        fail(f"{len(got)} of {FLOWS} flows came out of port {out_port}")
    after = queue_counts(0)
    per_queue = [a - b for a, b in zip(after, before)]
    if sum(per_queue) != FLOWS or min(per_queue) == 0:
        fail(f"RSS spread {FLOWS} flows over port 0's queues as {per_queue}")
    rc = app.interrupt()
    if rc != 0:
        fail(f"l3fwd exited with {rc} after SIGINT")
    print(f"PASS: l3fwd ({mode}, {layout}) routed {ROUTED} frames each way with TTL and checksum "
          f"right; RSS put {per_queue} of {FLOWS} flows on port 0's two queues")
except (ex.AppError, KeyError, OSError) as error:
    fail(f"{type(error).__name__}: {error}")
finally:
    ex.stop(app, peers=peers)
