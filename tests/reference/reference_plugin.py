# SPDX-License-Identifier: BSD-3-Clause
"""The upstream net_mana plugin for the reference suite: devtools/reference-pmd builds it
(once per DPDK version) and prints its path; a test skips (exit 77) when Debian's source
package cannot be had."""
import os
import subprocess
import sys


def build(repo):
    built = subprocess.run([os.path.join(repo, "devtools", "reference-pmd")],
                           capture_output=True, text=True, timeout=600)
    if built.returncode == 77:
        print(f"SKIP: {built.stderr.strip()}")
        sys.exit(77)
    if built.returncode != 0:
        print(built.stdout + built.stderr)
        print("FAIL: devtools/reference-pmd failed")
        sys.exit(1)
    return built.stdout.strip().splitlines()[-1]
