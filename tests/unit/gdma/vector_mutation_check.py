#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Proves the golden-vector test can fail: every value of every vector file is changed
once (one hex digit of a byte string, or a number off by one) in a private copy of the
vectors, and the vector test must then fail. A value whose change goes unnoticed is
reported by path."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

test_exe, vectors_dir = sys.argv[1], sys.argv[2]
rng = random.Random(2026)  # fixed: the same mutations on every run

# Inputs whose change by one cannot show in the encoded bytes, and why.
NOT_ENCODED = {
    "tx_wqe.json:0/fields/sq_id": "only sq_id bits 10-23 are encoded (as vsq_frame)",
    "doorbell.json:2/fields/cq_count": "head < 8 * cq_count, so the modulus leaves it as is",
}


def leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "name":
                yield from leaves(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, path + (i,))
    else:
        yield path


def mutated(value):
    if isinstance(value, bool) or value is None:
        raise ValueError("unexpected leaf type")
    if isinstance(value, int):
        return value + 1 if value < 2**31 else value - 1
    if any(c not in "0123456789abcdefABCDEFx" for c in value):
        return value + "_changed"  # an enumerator such as a queue kind
    if value.startswith("0x"):
        return hex(int(value, 16) ^ 1)
    i = rng.randrange(len(value))
    digit = int(value[i], 16)
    return value[:i] + format(digit ^ (1 << rng.randrange(4)), "x") + value[i + 1:]


def set_path(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def get_path(node, path):
    for key in path:
        node = node[key]
    return node


def run(dir_):
    env = dict(os.environ, MANA_VECTORS_DIR=dir_)
    return subprocess.run([test_exe], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


work = tempfile.mkdtemp(prefix="vectors-mutation-")
try:
    files = sorted(f for f in os.listdir(vectors_dir) if f.endswith(".json"))
    for f in files:
        shutil.copy(os.path.join(vectors_dir, f), work)
    if run(work) != 0:
        sys.exit("the vector test fails on unmodified vectors")
    unnoticed, tried = [], 0
    for f in files:
        original = json.load(open(os.path.join(vectors_dir, f)))
        for path in list(leaves(original)):
            data = json.loads(json.dumps(original))
            set_path(data, path, mutated(get_path(data, path)))
            json.dump(data, open(os.path.join(work, f), "w"))
            tried += 1
            where = f"{f}:{'/'.join(map(str, path))}"
            if run(work) == 0 and where not in NOT_ENCODED:
                unnoticed.append(where)
        shutil.copy(os.path.join(vectors_dir, f), work)
    print(f"{tried} single-value mutations, {len(unnoticed)} unnoticed")
    for u in unnoticed:
        print("unnoticed:", u)
    sys.exit(1 if unnoticed else 0)
finally:
    shutil.rmtree(work)
