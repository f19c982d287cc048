/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace mana_emu
{
namespace
{

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    while (true) {
        const auto pos = text.find(separator);
        parts.push_back(text.substr(0, pos));
        if (pos == std::string_view::npos)
            break;
        text.remove_prefix(pos + 1);
    }
    return parts;
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n'))
        text.remove_suffix(1);
    return text;
}

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10)
{
    if (base == 10 && text.starts_with("0x")) {
        text.remove_prefix(2);
        base = 16;
    }
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// "DDDD:BB:DD.F" with hex fields, normalised to lower case.
std::optional<std::string> parse_bdf(std::string_view text)
{
    unsigned domain = 0, bus = 0, dev = 0, fn = 0;
    char tail = 0;
    const std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4x:%2x:%2x.%1x%c", &domain, &bus, &dev, &fn, &tail) != 4 ||
        text.size() != 12 || dev > 0x1f || fn > 7)
        return std::nullopt;
    char out[16];
    std::snprintf(out, sizeof(out), "%04x:%02x:%02x.%x", domain, bus, dev, fn);
    return std::string(out);
}

bool parse_function(std::string_view kind, std::vector<std::string_view> &items, Config &config,
                    std::string &error)
{
    FunctionConfig function;
    function.pf = kind == "pf";
    const auto first = items.front();
    const auto bdf = parse_bdf(trim(first.substr(first.find('=') + 1)));
    if (!bdf) {
        error = "bad PCI address in '" + std::string(first) + "' (want DDDD:BB:DD.F)";
        return false;
    }
    function.bdf = *bdf;
    for (size_t i = 1; i < items.size(); ++i) {
        const auto item = trim(items[i]);
        const auto eq = item.find('=');
        const auto key = item.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        if (key == "pf" && eq == std::string_view::npos) {
            function.pf = true;
        } else if (key == "vf" && eq == std::string_view::npos) {
            function.pf = false;
        } else if (key == "ports") {
            const auto n = parse_number<unsigned>(value);
            if (!n || *n < 1 || *n > 8) {
                error = "ports must be 1..8";
                return false;
            }
            function.ports = *n;
        } else if (key == "mac") {
            // '-' separators are accepted too, as in Windows' spelling of MACs.
            std::string spelled(trim(value));
            std::replace(spelled.begin(), spelled.end(), '-', ':');
            const auto mac = mana::parse_mac(spelled);
            if (!mac) {
                error = "bad MAC '" + std::string(value) + "'";
                return false;
            }
            function.macs.push_back(*mac);
        } else if (key == "numa") {
            const auto n = parse_number<int>(value);
            if (!n) {
                error = "bad numa node";
                return false;
            }
            function.numa_node = *n;
        } else if (key == "part_id") {
            const auto n = parse_number<uint32_t>(value);
            if (!n) {
                error = "bad part_id";
                return false;
            }
            function.vendor_part_id = *n;
        } else {
            error = "unknown function option '" + std::string(key) + "'";
            return false;
        }
    }
    if (function.macs.size() > function.ports) {
        error = "more MACs than ports for " + function.bdf;
        return false;
    }
    for (const auto &other : config.functions) {
        if (other.bdf == function.bdf) {
            error = "PCI address " + function.bdf + " given twice";
            return false;
        }
    }
    config.functions.push_back(std::move(function));
    return true;
}

bool parse_wire(std::string_view value, Config &config, std::string &error)
{
    config.wires_given = true;
    WireConfig wire;
    if (const auto dash = value.find('-'); dash != std::string_view::npos) {
        const auto a = parse_number<unsigned>(value.substr(0, dash));
        const auto b = parse_number<unsigned>(value.substr(dash + 1));
        if (!a || !b) {
            error = "bad wire '" + std::string(value) + "' (want A-B or A:kind)";
            return false;
        }
        wire.port = *a;
        wire.kind = *a == *b ? WireKind::loopback : WireKind::ports;
        wire.peer = *b;
    } else if (const auto colon = value.find(':'); colon != std::string_view::npos) {
        const auto a = parse_number<unsigned>(value.substr(0, colon));
        const auto kind = value.substr(colon + 1);
        if (!a) {
            error = "bad wire port in '" + std::string(value) + "'";
            return false;
        }
        wire.port = *a;
        if (kind == "none")
            wire.kind = WireKind::none;
        else if (kind == "loopback")
            wire.kind = WireKind::loopback;
        else if (kind == "capture")
            wire.kind = WireKind::capture;
        else if (kind.starts_with("tap=") && kind.size() > 4 && kind.size() - 4 < 16) {
            wire.kind = WireKind::tap; // interface names are at most 15 characters
            wire.tap_ifname = std::string(kind.substr(4));
        } else {
            error = "unknown wire kind '" + std::string(kind) + "'";
            return false;
        }
    } else {
        error = "bad wire '" + std::string(value) + "' (want A-B or A:kind)";
        return false;
    }
    config.wires.push_back(wire);
    return true;
}

bool parse_setting(std::string_view key, std::string_view value, Config &config, std::string &error)
{
    auto number = [&](auto &field, uint64_t min, uint64_t max) {
        const auto n = parse_number<uint64_t>(value);
        if (!n || *n < min || *n > max) {
            error =
                std::string(key) + " must be " + std::to_string(min) + ".." + std::to_string(max);
            return false;
        }
        field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
        return true;
    };
    auto &limits = config.limits;
    if (key == "max_wr" || key == "max_qp_wr")
        return number(limits.max_qp_wr, 1, 32768);
    if (key == "max_cqe")
        return number(limits.max_cqe, 1, 32768);
    if (key == "max_sge")
        return number(limits.max_sge, 1, 255);
    if (key == "max_qp")
        return number(limits.max_qp, 1, 65536);
    if (key == "max_cq")
        return number(limits.max_cq, 1, 65536);
    if (key == "max_mr")
        return number(limits.max_mr, 1, 1 << 24);
    if (key == "max_mr_size")
        return number(limits.max_mr_size, 4096, UINT64_MAX);
    if (key == "coalesce") {
        unsigned flag = 0;
        if (!number(flag, 0, 1))
            return false;
        config.rx_coalescing = flag != 0;
        return true;
    }
    if (key == "mode") {
        if (value == "step")
            config.mode = ModeSetting::step;
        else if (value == "threaded")
            config.mode = ModeSetting::threaded;
        else {
            error = "mode must be step or threaded";
            return false;
        }
        return true;
    }
    if (key == "netdev") {
        if (value == "auto")
            config.netdev = NetdevSetting::automatic;
        else if (value == "none")
            config.netdev = NetdevSetting::none;
        else {
            error = "netdev must be auto or none";
            return false;
        }
        return true;
    }
    if (key == "doorbells") {
        const auto setting = parse_doorbell_setting(value);
        if (!setting) {
            error = "doorbells must be trapped or sampled";
            return false;
        }
        config.doorbells = *setting;
        return true;
    }
    if (key == "wire")
        return parse_wire(value, config, error);
    error = "unknown setting '" + std::string(key) + "'";
    return false;
}

} // namespace

unsigned Config::port_count() const
{
    unsigned n = 0;
    for (const auto &f : functions)
        n += f.ports;
    return n;
}

std::optional<DoorbellSetting> parse_doorbell_setting(std::string_view text)
{
    if (text == "trapped")
        return DoorbellSetting::trapped;
    if (text == "sampled")
        return DoorbellSetting::sampled;
    return std::nullopt;
}

Config default_config()
{
    Config config;
    FunctionConfig vf;
    vf.bdf = "7870:00:00.0";
    config.functions.push_back(vf);
    return config;
}

MacAddress default_mac(std::string_view bdf, unsigned global_port)
{
    const unsigned domain = parse_number<unsigned>(bdf.substr(0, 4), 16).value_or(0);
    return MacAddress{0x00,
                      0x15,
                      0x5d,
                      static_cast<uint8_t>(domain >> 8),
                      static_cast<uint8_t>(domain),
                      static_cast<uint8_t>(global_port)};
}

std::optional<Config> parse_config(std::string_view text, std::string &error)
{
    Config config;
    for (auto entry : split(text, ';')) {
        entry = trim(entry);
        if (entry.empty())
            continue;
        auto items = split(entry, ',');
        const auto head = trim(items.front());
        const auto eq = head.find('=');
        const auto key = head.substr(0, eq);
        if (key == "vf" || key == "pf") {
            if (eq == std::string_view::npos) {
                error = "'" + std::string(key) + "' needs a PCI address";
                return std::nullopt;
            }
            if (!parse_function(key, items, config, error))
                return std::nullopt;
            continue;
        }
        // Settings may share an entry: "max_wr=512,coalesce=1".
        for (const auto raw : items) {
            const auto item = trim(raw);
            const auto item_eq = item.find('=');
            if (item_eq == std::string_view::npos) {
                error = "setting '" + std::string(item) + "' needs a value";
                return std::nullopt;
            }
            if (!parse_setting(item.substr(0, item_eq), item.substr(item_eq + 1), config, error))
                return std::nullopt;
        }
    }
    if (config.functions.empty()) {
        auto defaults = default_config();
        config.functions = std::move(defaults.functions);
    }
    const unsigned ports = config.port_count();
    for (const auto &wire : config.wires) {
        if (wire.port >= ports || (wire.kind == WireKind::ports && wire.peer >= ports)) {
            error = "wire names port " + std::to_string(std::max(wire.port, wire.peer)) +
                    " but there are " + std::to_string(ports) + " ports";
            return std::nullopt;
        }
    }
    return config;
}

} // namespace mana_emu
