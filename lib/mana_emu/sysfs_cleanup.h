/* SPDX-License-Identifier: BSD-3-Clause */
// Keeping fake sysfs trees from piling up in $TMPDIR: a tree records its owner process,
// a process killed by SIGINT/SIGTERM removes its own tree on the way out, and a process
// that loads the emulator removes the trees of owners that are gone (SIGKILL, crashes).
#pragma once

#include <string>
#include <vector>

namespace mana_emu
{

// The owner record written into a tree's root ("owner"): pid, the process's start time
// (so a reused pid is not mistaken for the owner) and its pid namespace (pids of another
// namespace say nothing about liveness here, so such trees are left alone).
std::string owner_record_of_this_process();

// When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); 0 if it
// does not run. Two equal values name the same process even if its pid was reused.
unsigned long long process_start_time(long pid);

// Removes every "mana_emu_sysfs.*" directory directly under `tmp_dir` whose owner record
// names a process of this pid namespace that no longer runs. Trees without a readable
// record are left alone. Returns how many were removed.
unsigned remove_stale_trees(const std::string &tmp_dir);

// The paths of a tree, children before their directories, for removal from a signal
// handler (unlink/rmdir only: nothing there may allocate). An empty list disarms it.
void publish_tree_for_signal_cleanup(std::vector<std::string> paths);

// Installs the SIGINT/SIGTERM handlers once (not over an ignored signal). A signal whose
// previous disposition was the default removes the published tree, then kills the process
// as the default would; a previous handler is called instead, and the tree is left to the
// exit path (the application may not be exiting at all).
void install_signal_cleanup();

} // namespace mana_emu
