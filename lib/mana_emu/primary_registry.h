/* SPDX-License-Identifier: BSD-3-Clause */
// How the emulator in a DPDK secondary process finds the emulated device of its primary:
// the process that opens an emulated device first publishes a record (its pid, its fake
// sysfs tree, the configuration it emulates) under the DPDK file prefix, and an emulator
// loaded into a secondary of that prefix joins it instead of emulating a device of its
// own. A secondary's frames and doorbells only ever reach the primary's device model
// (through the shared doorbell page), so a second device would only mislead: its sysfs
// tree may name other functions, and its TAPs and netdevs collide with the primary's.
#pragma once

#include <optional>
#include <string>

namespace mana_emu
{

enum class DpdkProcessType { primary, secondary, automatic };

// What this process will be to DPDK, read where the emulator can see it before EAL runs:
// MANA_EMU_PROCESS=primary|secondary|auto and MANA_EMU_FILE_PREFIX (for applications that
// build their EAL arguments in code), else --proc-type and --file-prefix on the command
// line; DPDK's defaults (primary, "rte") otherwise.
struct DpdkProcess {
    DpdkProcessType type = DpdkProcessType::primary;
    std::string file_prefix = "rte";
};
DpdkProcess dpdk_process_of_this_process();

// What a primary publishes.
struct PrimaryRecord {
    long pid = 0;
    unsigned long long start_time = 0; // with pid: the process, even if the pid is reused
    std::string sysfs_root;            // its fake sysfs tree
    std::string config_text;           // its MANA_EMU_CONFIG ("" = the default device)
};

// Publishes this process as the primary of `file_prefix`, unless another running process
// already is (then false and nothing changes).
bool publish_primary(const std::string &file_prefix, const std::string &sysfs_root,
                     const std::string &config_text);

// Removes this process's record of `file_prefix` (a record of another process stays).
void withdraw_primary(const std::string &file_prefix);

// The record of `file_prefix` if its process still runs.
std::optional<PrimaryRecord> running_primary(const std::string &file_prefix);

} // namespace mana_emu
