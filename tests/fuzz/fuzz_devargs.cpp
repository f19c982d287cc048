/* SPDX-License-Identifier: BSD-3-Clause */
// Fuzz target: the driver's devargs parser (devargs.cpp, compiled into this target) over
// arbitrary strings. It must either accept with at most kMaxMacFilters distinct MACs or
// fail with a negative errno and a message; never crash or leak.
#include "devargs.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string args(reinterpret_cast<const char *>(data), size); // may hold NULs
    const mana::DevargsResult result = mana::parse_devargs(args.c_str());
    if (result.error > 0)
        std::abort();
    if (result.error != 0) {
        if (result.what.empty() || !result.devargs.macs.empty())
            std::abort();
        return 0;
    }
    const auto &macs = result.devargs.macs;
    if (macs.size() > mana::kMaxMacFilters)
        std::abort();
    for (const auto &mac : macs) {
        if (std::count(macs.begin(), macs.end(), mac) != 1 || !result.devargs.accepts(mac))
            std::abort();
        // Every accepted MAC round-trips through the text form.
        if (mana::parse_mac(mana::format_mac(mac)) != mac)
            std::abort();
    }
    return 0;
}
