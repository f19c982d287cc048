#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# System dpdk-testpmd loads the built plugin, EAL finds a MANA function in a fake PCI sysfs
# tree, and since no RDMA device belongs to it (no emulator, no mana_ib here) the probe
# fails with one clear line naming the BDF and what is missing, and testpmd still exits 0.
# Usage: probe_without_rdma.sh <librte_net_mana.so> <pci device id, e.g. 0x00ba>
set -euo pipefail
pmd=$1
device_id=$2
bdf=7870:00:00.0

work=$(mktemp -d "${TMPDIR:-/tmp}/mana-probe.XXXXXX")
trap 'rm -rf "$work"' EXIT
fn="$work/devices/$bdf"
mkdir -p "$fn" "$work/drivers/mana"
echo 0x1414 >"$fn/vendor"
echo "$device_id" >"$fn/device"
echo 0x1414 >"$fn/subsystem_vendor"
echo 0x0000 >"$fn/subsystem_device"
echo 0x020000 >"$fn/class"
echo -1 >"$fn/numa_node"
# EAL reads one "start end flags" line per BAR (PCI_MAX_RESOURCE of them).
for _ in 1 2 3 4 5 6; do echo '0x0000000000000000 0x0000000000000000 0x0000000000000000'; done >"$fn/resource"
ln -s ../../drivers/mana "$fn/driver"

set +e
out=$(echo quit | env -u LD_PRELOAD SYSFS_PCI_DEVICES="$work/devices" timeout 120 \
    dpdk-testpmd -d "$pmd" --no-huge -m 256 --no-shconf -a "$bdf" -- -i --total-num-mbufs=2048 2>&1)
rc=$?
set -e
printf '%s\n' "$out"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$rc" -eq 0 ] || fail "testpmd exited with $rc"
grep -q "Probe PCI driver: net_mana (1414:${device_id#0x}) device: $bdf" <<<"$out" ||
    fail "EAL did not offer $bdf to net_mana: the plugin was not loaded or the ids are wrong"
lines=$(grep -c "net_mana: $bdf: no RDMA device" <<<"$out" || true)
[ "$lines" -eq 1 ] || fail "expected exactly one probe failure line naming $bdf, got $lines"
grep "net_mana: $bdf: no RDMA device" <<<"$out" | grep -q "ib_uverbs, mana_ib and mana" ||
    fail "the probe failure line does not say which kernel modules are needed"
grep -q "rdma-core >= 44" <<<"$out" || fail "the probe failure line does not name rdma-core"
grep -q "No probed ethernet devices" <<<"$out" || fail "testpmd should have found no port"
echo "PASS: probe of $bdf ($device_id) failed cleanly and testpmd carried on"
