#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets with clang++ into build/fuzz/ (meson cannot mix compilers
# per target, and the rest of the tree is built with g++):
#   fuzz_completions  RX/TX completion handling of the real PMD under EAL (step-mode
#                     emulator); needs the emulator of a meson build (default build/release)
#   fuzz_tx           arbitrary mbuf chains and offload requests through tx_prepare and
#                     tx_burst of the real PMD, the same way
#   fuzz_wqe          gdma::parse_wqe / read_sge over arbitrary rings
#   fuzz_devargs      mana::parse_devargs (devargs.cpp compiled in)
#   fuzz_sysfs        pci_slot_from_uevent, parse_dev_port, parse_address_file
# The PMD itself is rebuilt here with -fsanitize=fuzzer-no-link,address,undefined so that
# the fuzzer sees its coverage and ASan/UBSan check it (build/fuzz/librte_net_mana.so).
#
# Usage: tests/fuzz/build.sh [meson-build-name]   (the emulator comes from build/<name>)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${1:-release}
emu_dir="$repo/build/$name/lib/mana_emu"
out="$repo/build/fuzz"
mkdir -p "$out"
cxx=${CXX_FUZZ:-clang++}

dpdk_cflags=$(pkg-config --cflags libdpdk)
dpdk_libs="-lrte_ethdev -lrte_mbuf -lrte_mempool -lrte_eal -lrte_kvargs -lrte_net -lrte_bus_pci"
sdk="$repo/build/sdk/include"
# DPDK's and rdma-core's headers are system headers (as in the meson build): the
# sanitizers still instrument their inline code, warnings apply to ours only.
common=(-std=c++20 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror
    -fsanitize=address,undefined -fno-sanitize-recover=all
    -isystem "$sdk" $(echo "$dpdk_cflags" | sed 's/-I/-isystem /g')
    -DALLOW_INTERNAL_API -DALLOW_EXPERIMENTAL_API
    -I "$repo/include" -I "$repo/drivers/net/mana")

# Newer than every input, or missing: rebuild.
stale() {
    local target=$1
    shift
    [ ! -e "$target" ] && return 0
    local f
    for f in "$@"; do
        [ "$f" -nt "$target" ] && return 0
    done
    return 1
}

# pmd_info.cpp is left out: it builds dpdk-pmdinfo.py's JSON with a constexpr
# std::string, which clang 14 cannot evaluate over libstdc++ 12, and nothing at run time
# reads it.
pmd_sources=()
for f in "$repo"/drivers/net/mana/*.cpp; do
    [ "$(basename "$f")" = pmd_info.cpp ] || pmd_sources+=("$f")
done
# Objects are cached per source (a header change rebuilds them all). -Werror is left to
# the g++ meson build, which gates the driver's code; clang warns differently about
# rdma-core's flag macros.
mkdir -p "$out/pmd"
objects=()
for src in "${pmd_sources[@]}"; do
    obj="$out/pmd/$(basename "$src" .cpp).o"
    objects+=("$obj")
    if stale "$obj" "$src" "$repo"/drivers/net/mana/*.h "$repo"/drivers/net/mana/gdma/*.h; then
        echo "fuzz: compiling $(basename "$src") (clang, ASan+UBSan, fuzzer coverage)"
        "$cxx" "${common[@]}" -Wno-error -fsanitize=fuzzer-no-link -fPIC -fvisibility=hidden \
            -DRTE_LOG_DEFAULT_LOGTYPE=pmd.net.mana -c "$src" -o "$obj"
    fi
done
if stale "$out/librte_net_mana.so" "${objects[@]}"; then
    "$cxx" -fsanitize=address,undefined -shared "${objects[@]}" -o "$out/librte_net_mana.so" \
        -libverbs -lmana $dpdk_libs -lpthread
fi

build_target() {
    local target=$1
    shift
    if stale "$out/$target" "$repo/tests/fuzz/$target.cpp" "$repo"/tests/fuzz/*.h "$@" "$repo"/drivers/net/mana/*.h \
        "$repo"/drivers/net/mana/gdma/*.h; then
        echo "fuzz: building $target"
        "$cxx" "${common[@]}" -fsanitize=fuzzer "$repo/tests/fuzz/$target.cpp" "$@" \
            -o "$out/$target" "${LINK[@]}"
    fi
}

LINK=()
build_target fuzz_wqe
LINK=(-lrte_kvargs)
build_target fuzz_devargs "$repo/drivers/net/mana/devargs.cpp"
LINK=()
build_target fuzz_sysfs "$repo/drivers/net/mana/sysfs_discovery.cpp"
if [ ! -e "$emu_dir/libmana_emu.so" ]; then
    echo "fuzz: no emulator in $emu_dir: build the tree first (devtools/build $name)" >&2
    exit 1
fi
# The emulator is linked first so its ibv_*/manadv_* are the ones the PMD binds to.
LINK=(-L"$emu_dir" -Wl,-rpath,"$emu_dir" -Wl,--no-as-needed -lmana_emu -Wl,--as-needed
    $dpdk_libs -lpthread)
build_target fuzz_completions "$emu_dir/libmana_emu.so"
build_target fuzz_tx "$emu_dir/libmana_emu.so"
