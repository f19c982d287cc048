/* SPDX-License-Identifier: BSD-3-Clause */
// Emulator log lines on stderr, prefixed like DPDK's "pmd.net.mana.emu" log type.
// MANA_EMU_LOG=error|warning|info|debug chooses the level (default warning).
#pragma once

namespace mana_emu
{

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

bool log_enabled(LogLevel level);
[[gnu::format(printf, 2, 3)]] void log_line(LogLevel level, const char *format, ...);

} // namespace mana_emu

#define EMU_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if (::mana_emu::log_enabled(::mana_emu::LogLevel::level))                                  \
            ::mana_emu::log_line(::mana_emu::LogLevel::level, __VA_ARGS__);                        \
    } while (0)
