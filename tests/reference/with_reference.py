#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runs another suite's test program with the upstream plugin in place of ours: every
argument @REFERENCE_PMD@ becomes the plugin's path, so a test written for our driver
checks the same behaviour of upstream's.

Usage: with_reference.py <repo> <program> [args with @REFERENCE_PMD@]..."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_plugin  # noqa: E402

repo, *command = sys.argv[1:]
plugin = reference_plugin.build(repo)
command = [plugin if arg == "@REFERENCE_PMD@" else arg for arg in command]
os.execvp(command[0], command)
