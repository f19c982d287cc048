# SPDX-License-Identifier: BSD-3-Clause
# Sphinx configuration of the net_mana guides (built by the `docs` test suite with
# warnings as errors, from Debian's python3-sphinx).
project = "net_mana"
copyright = "net_mana developers, BSD-3-Clause"
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
highlight_language = "console"
