/* SPDX-License-Identifier: BSD-3-Clause */
// The driver's device arguments: `mac=xx:xx:xx:xx:xx:xx`, repeatable up to kMaxMacFilters
// times, restricting probe to the ports with those MACs; `recovery_timeout_ms=N`, how
// long a service reset may keep the device away before recovery gives up (0: no
// recovery, the ports stay down).
#pragma once

#include "mac_address.h"

#include <string>
#include <vector>

namespace mana
{

inline constexpr std::size_t kMaxMacFilters = 8;
inline constexpr const char *kMacDevarg = "mac";
inline constexpr const char *kRecoveryTimeoutDevarg = "recovery_timeout_ms";
inline constexpr unsigned kDefaultRecoveryTimeoutMs = 60000;
inline constexpr unsigned kMaxRecoveryTimeoutMs = 3600000; // one hour

struct Devargs {
    std::vector<MacAddress> macs; // empty: every port
    unsigned recovery_timeout_ms = kDefaultRecoveryTimeoutMs;

    bool accepts(const MacAddress &mac) const;
};

struct DevargsResult {
    int error = 0;    // 0 or negative errno
    std::string what; // on error: the offending argument and what to do about it
    Devargs devargs;
};

// Parses the devargs string of a PCI function (may be null or empty).
DevargsResult parse_devargs(const char *args);

} // namespace mana
