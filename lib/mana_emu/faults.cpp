/* SPDX-License-Identifier: BSD-3-Clause */
#include "faults.h"

#include <cerrno>
#include <charconv>

namespace mana_emu
{

void VerbFaults::add(std::string verb, unsigned skip, unsigned count, int error)
{
    faults_.push_back(Fault{std::move(verb), skip, count, error});
}

int VerbFaults::on_call(std::string_view verb)
{
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->verb != verb && it->verb != "*")
            continue;
        if (it->skip > 0) {
            --it->skip;
            return 0;
        }
        const int error = it->error;
        if (--it->count == 0)
            faults_.erase(it);
        return error;
    }
    return 0;
}

std::optional<int> errno_from_name(std::string_view name)
{
    struct Named {
        std::string_view name;
        int value;
    };
    static constexpr Named kNames[] = {
        {"ENOMEM", ENOMEM},       {"EINVAL", EINVAL},         {"EIO", EIO},
        {"ENODEV", ENODEV},       {"EBUSY", EBUSY},           {"EAGAIN", EAGAIN},
        {"ENOSPC", ENOSPC},       {"EPERM", EPERM},           {"EFAULT", EFAULT},
        {"ENOSYS", ENOSYS},       {"ENOENT", ENOENT},         {"EACCES", EACCES},
        {"ETIMEDOUT", ETIMEDOUT}, {"EOPNOTSUPP", EOPNOTSUPP}, {"EPROTO", EPROTO},
    };
    for (const auto &entry : kNames)
        if (entry.name == name)
            return entry.value;
    int value = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (!name.empty() && ec == std::errc{} && end == name.data() + name.size() && value > 0)
        return value;
    return std::nullopt;
}

bool VerbFaults::parse(std::string_view text)
{
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        std::string_view fields[4];
        std::string_view rest = item;
        for (int i = 0; i < 4; ++i) {
            const auto colon = rest.find(':');
            if ((colon == std::string_view::npos) != (i == 3))
                return false;
            fields[i] = rest.substr(0, colon);
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        }
        unsigned skip = 0, count = 0;
        if (std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), skip).ec !=
                std::errc{} ||
            std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), count).ec !=
                std::errc{})
            return false;
        const auto error = errno_from_name(fields[3]);
        if (!error || fields[0].empty())
            return false;
        if (count > 0)
            add(std::string(fields[0]), skip, count, *error);
    }
    return true;
}

} // namespace mana_emu
