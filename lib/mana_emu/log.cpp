/* SPDX-License-Identifier: BSD-3-Clause */
#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mana_emu
{
namespace
{

LogLevel configured_level()
{
    const char *text = std::getenv("MANA_EMU_LOG");
    if (text == nullptr)
        return LogLevel::warning;
    if (std::strcmp(text, "error") == 0)
        return LogLevel::error;
    if (std::strcmp(text, "info") == 0)
        return LogLevel::info;
    if (std::strcmp(text, "debug") == 0)
        return LogLevel::debug;
    return LogLevel::warning;
}

const char *level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::error:
        return "ERR";
    case LogLevel::warning:
        return "WARNING";
    case LogLevel::info:
        return "INFO";
    case LogLevel::debug:
        return "DEBUG";
    }
    return "";
}

} // namespace

bool log_enabled(LogLevel level)
{
    static const LogLevel threshold = configured_level();
    return level <= threshold;
}

void log_line(LogLevel level, const char *format, ...)
{
    char text[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    std::fprintf(stderr, "pmd.net.mana.emu: %s: %s\n", level_name(level), text);
}

} // namespace mana_emu
