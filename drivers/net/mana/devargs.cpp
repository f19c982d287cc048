/* SPDX-License-Identifier: BSD-3-Clause */
#include "devargs.h"

#include <rte_kvargs.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

namespace mana
{
namespace
{

struct KvargsDeleter {
    void operator()(rte_kvargs *kvlist) const { rte_kvargs_free(kvlist); }
};

int on_mac(const char *key, const char *value, void *opaque)
{
    auto *result = static_cast<DevargsResult *>(opaque);
    const char *text = value != nullptr ? value : "";
    const auto mac = parse_mac(text);
    if (!mac) {
        result->error = -EINVAL;
        result->what = std::string("devargs ") + key + "=" + text +
                       ": not a MAC address; write it as xx:xx:xx:xx:xx:xx";
        return -1;
    }
    if (result->devargs.macs.size() == kMaxMacFilters) {
        result->error = -E2BIG;
        result->what = std::string("devargs ") + key + "=" + text + ": more than " +
                       std::to_string(kMaxMacFilters) + " mac= arguments";
        return -1;
    }
    if (std::find(result->devargs.macs.begin(), result->devargs.macs.end(), *mac) ==
        result->devargs.macs.end())
        result->devargs.macs.push_back(*mac);
    return 0;
}

int on_recovery_timeout(const char *key, const char *value, void *opaque)
{
    auto *result = static_cast<DevargsResult *>(opaque);
    const std::string text = value != nullptr ? value : "";
    unsigned long ms = 0;
    const bool digits =
        !text.empty() && text.size() <= 10 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
        ms = std::stoul(text);
    if (!digits || ms > kMaxRecoveryTimeoutMs) {
        result->error = -EINVAL;
        result->what = std::string("devargs ") + key + "=" + text +
                       ": give milliseconds from 0 (no recovery) to " +
                       std::to_string(kMaxRecoveryTimeoutMs);
        return -1;
    }
    result->devargs.recovery_timeout_ms = static_cast<unsigned>(ms);
    return 0;
}

} // namespace

bool Devargs::accepts(const MacAddress &mac) const
{
    return macs.empty() || std::find(macs.begin(), macs.end(), mac) != macs.end();
}

DevargsResult parse_devargs(const char *args)
{
    DevargsResult result;
    if (args == nullptr || args[0] == '\0')
        return result;
    static const char *const kKeys[] = {kMacDevarg, kRecoveryTimeoutDevarg, nullptr};
    std::unique_ptr<rte_kvargs, KvargsDeleter> kvlist(rte_kvargs_parse(args, kKeys));
    if (!kvlist) {
        result.error = -EINVAL;
        result.what = std::string("devargs \"") + args +
                      "\": malformed or unknown argument; the arguments are mac=xx:xx:xx:xx:xx:xx "
                      "and recovery_timeout_ms=N";
        return result;
    }
    if (rte_kvargs_process(kvlist.get(), kMacDevarg, on_mac, &result) != 0 && result.error == 0) {
        result.error = -EINVAL;
        result.what = std::string("devargs \"") + args + "\": mac= needs a value";
    }
    if (result.error == 0 &&
        rte_kvargs_process(kvlist.get(), kRecoveryTimeoutDevarg, on_recovery_timeout, &result) !=
            0 &&
        result.error == 0) {
        result.error = -EINVAL;
        result.what = std::string("devargs \"") + args + "\": recovery_timeout_ms= needs a value";
    }
    if (result.error != 0)
        result.devargs = {};
    return result;
}

} // namespace mana
