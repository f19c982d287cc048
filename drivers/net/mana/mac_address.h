/* SPDX-License-Identifier: BSD-3-Clause */
// MAC addresses as sysfs and devargs spell them ("xx:xx:xx:xx:xx:xx").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mana
{

using MacAddress = std::array<uint8_t, 6>;

constexpr std::optional<uint8_t> hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f')
        return static_cast<uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return static_cast<uint8_t>(c - 'A' + 10);
    return std::nullopt;
}

// Exactly six colon-separated pairs of hex digits; anything else is rejected.
constexpr std::optional<MacAddress> parse_mac(std::string_view text)
{
    constexpr std::size_t kLength = 17;
    if (text.size() != kLength)
        return std::nullopt;
    MacAddress mac{};
    for (std::size_t i = 0; i < mac.size(); ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != ':')
            return std::nullopt;
        const auto high = hex_digit(text[at]);
        const auto low = hex_digit(text[at + 1]);
        if (!high || !low)
            return std::nullopt;
        mac[i] = static_cast<uint8_t>(*high << 4 | *low);
    }
    return mac;
}

inline std::string format_mac(const MacAddress &mac)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        if (i > 0)
            text += ':';
        text += kDigits[mac[i] >> 4];
        text += kDigits[mac[i] & 0xf];
    }
    return text;
}

} // namespace mana
