/* SPDX-License-Identifier: BSD-3-Clause */
#include "primary_registry.h"

#include "log.h"
#include "sysfs_cleanup.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace mana_emu
{
namespace
{

std::string record_path(const std::string &file_prefix)
{
    const char *tmp = std::getenv("TMPDIR");
    const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    return dir + "/mana_emu_primary." + file_prefix;
}

std::vector<std::string> command_line()
{
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    std::string arg;
    while (std::getline(in, arg, '\0'))
        args.push_back(arg);
    return args;
}

std::optional<DpdkProcessType> parse_type(std::string_view text)
{
    if (text == "primary")
        return DpdkProcessType::primary;
    if (text == "secondary")
        return DpdkProcessType::secondary;
    if (text == "auto")
        return DpdkProcessType::automatic;
    return std::nullopt;
}

// The value of `--name=value` or `--name value` in `args`, if given.
std::optional<std::string> option_value(const std::vector<std::string> &args, std::string_view name)
{
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (!arg.starts_with(name))
            continue;
        const std::string_view rest = arg.substr(name.size());
        if (rest.empty() && i + 1 < args.size())
            return args[i + 1];
        if (rest.starts_with('='))
            return std::string(rest.substr(1));
    }
    return std::nullopt;
}

std::optional<PrimaryRecord> read_record(const std::string &path)
{
    std::ifstream in(path);
    PrimaryRecord record;
    if (!(in >> record.pid >> record.start_time))
        return std::nullopt;
    in.ignore(1);
    if (!std::getline(in, record.sysfs_root) || !std::getline(in, record.config_text))
        return std::nullopt;
    return record;
}

bool still_runs(const PrimaryRecord &record)
{
    return record.start_time != 0 && process_start_time(record.pid) == record.start_time;
}

} // namespace

DpdkProcess dpdk_process_of_this_process()
{
    const std::vector<std::string> args = command_line();
    DpdkProcess process;
    if (const auto type = option_value(args, "--proc-type"))
        process.type = parse_type(*type).value_or(DpdkProcessType::primary);
    if (const auto prefix = option_value(args, "--file-prefix"); prefix && !prefix->empty())
        process.file_prefix = *prefix;
    if (const char *type = std::getenv("MANA_EMU_PROCESS"); type != nullptr && *type != '\0') {
        if (const auto parsed = parse_type(type))
            process.type = *parsed;
        else
            EMU_LOG(warning, "MANA_EMU_PROCESS=%s: want primary, secondary or auto", type);
    }
    if (const char *prefix = std::getenv("MANA_EMU_FILE_PREFIX"); prefix != nullptr && *prefix)
        process.file_prefix = prefix;
    return process;
}

bool publish_primary(const std::string &file_prefix, const std::string &sysfs_root,
                     const std::string &config_text)
{
    const std::string path = record_path(file_prefix);
    if (const auto current = read_record(path);
        current && current->pid != ::getpid() && still_runs(*current))
        return false;
    // Written aside and renamed: a secondary reading meanwhile sees a whole record or none.
    const std::string aside = path + "." + std::to_string(::getpid());
    {
        std::ofstream out(aside, std::ios::trunc);
        out << ::getpid() << ' ' << process_start_time(::getpid()) << '\n'
            << sysfs_root << '\n'
            << config_text << '\n';
        if (!out.flush()) {
            EMU_LOG(warning, "cannot write %s: secondary processes will not find this device",
                    aside.c_str());
            ::unlink(aside.c_str());
            return false;
        }
    }
    if (std::rename(aside.c_str(), path.c_str()) != 0) {
        EMU_LOG(warning, "cannot publish %s: %s", path.c_str(), std::strerror(errno));
        ::unlink(aside.c_str());
        return false;
    }
    return true;
}

void withdraw_primary(const std::string &file_prefix)
{
    const std::string path = record_path(file_prefix);
    if (const auto current = read_record(path); current && current->pid == ::getpid())
        ::unlink(path.c_str());
}

std::optional<PrimaryRecord> running_primary(const std::string &file_prefix)
{
    auto record = read_record(record_path(file_prefix));
    if (record && still_runs(*record))
        return record;
    return std::nullopt;
}

} // namespace mana_emu
