#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs a multi-process test with what DPDK secondary processes need: hugepages in a
# mounted hugetlbfs (shared memory between the processes) and a file prefix of its own,
# whose hugepage files and runtime directory are removed afterwards. Exit 77 (skipped)
# when hugepages cannot be had (not root and none reserved).
set -u
want=256

hugedir=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
if [ -z "$hugedir" ]; then
    hugedir=/dev/hugepages
    if ! { mkdir -p "$hugedir" && mount -t hugetlbfs nodev "$hugedir"; } 2>/dev/null; then
        echo "SKIP: no hugetlbfs mounted and cannot mount one (run as root)"
        exit 77
    fi
fi
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt "$want" ]; then
    echo "$want" 2>/dev/null >/proc/sys/vm/nr_hugepages
    have=$(cat /proc/sys/vm/nr_hugepages)
fi
if [ "$have" -lt 64 ]; then
    echo "SKIP: only $have hugepages reserved and cannot reserve $want (run as root)"
    exit 77
fi

prefix="mana_mp_$$"
export MANA_MP_PREFIX="$prefix"
# The emulator cannot see the prefix the tests give EAL in code.
export MANA_EMU_FILE_PREFIX="$prefix"
"$@"
rc=$?
rm -f "$hugedir/${prefix}"map_*
rm -rf "/var/run/dpdk/$prefix"
exit $rc
