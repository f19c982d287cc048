#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds one of DPDK's example applications, unmodified, from Debian's dpdk-doc package
# against the installed DPDK (the example's own Makefile, pkg-config libdpdk), in a copy
# inside the build tree: the examples build into ./build of their source directory, which
# under /usr/share is not ours to write.
# Usage: build_example.sh <example dir under the examples root> <binary> <output> [<lib>]
#   <lib>: a shared library the example builds beside it (ethtool's librte_ethtool.so),
#   copied next to <output> so that LD_LIBRARY_PATH=<output dir> finds it.
set -eu
examples=${DPDK_EXAMPLES_DIR:-/usr/share/dpdk/examples}
example=$1 binary=$2 output=$3 lib=${4:-}
[ -d "$examples/$example" ] || { echo "no $examples/$example: install dpdk-doc" >&2; exit 1; }
work="$output.src"
rm -rf "$work"
mkdir -p "$work"
# Examples include ../common (l3fwd's pkt_group.h): keep the tree's shape.
cp -r "$examples/common" "$work/common"
mkdir -p "$work/$(dirname "$example")"
cp -r "$examples/$example" "$work/$example"
make -s -C "$work/$example" >&2
built=$(find "$work/$example" -path "*/build/$binary-shared" -type f | head -n 1)
[ -n "$built" ] || { echo "make did not produce $binary" >&2; exit 1; }
cp "$built" "$output"
if [ -n "$lib" ]; then
    cp "$(find "$work/$example" -name "$lib" -type f | head -n 1)" "$(dirname "$output")/$lib"
fi
