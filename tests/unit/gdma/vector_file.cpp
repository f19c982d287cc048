/* SPDX-License-Identifier: BSD-3-Clause */
#include "vector_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mana::test
{

nlohmann::json load_vector_file(const std::string &file)
{
    const char *dir = std::getenv("MANA_VECTORS_DIR");
    if (dir == nullptr)
        throw std::runtime_error("MANA_VECTORS_DIR is not set (meson test sets it)");
    const std::string path = std::string(dir) + "/" + file;
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open golden vector file " + path);
    return nlohmann::json::parse(in);
}

std::vector<uint8_t> hex_bytes(const std::string &hex)
{
    if (hex.size() % 2 != 0)
        throw std::runtime_error("odd-length hex string");
    std::vector<uint8_t> bytes(hex.size() / 2);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    return bytes;
}

std::string to_hex(const void *data, std::size_t len)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        const auto byte = static_cast<const uint8_t *>(data)[i];
        out.push_back(digits[byte >> 4]);
        out.push_back(digits[byte & 0xF]);
    }
    return out;
}

uint64_t number_field(const nlohmann::json &fields, const char *name)
{
    if (!fields.contains(name))
        return 0;
    const auto &value = fields.at(name);
    if (value.is_string())
        return std::stoull(value.get<std::string>(), nullptr, 0);
    return value.get<uint64_t>();
}

bool flag_field(const nlohmann::json &fields, const char *name)
{
    const uint64_t value = number_field(fields, name);
    EXPECT_LE(value, 1U) << "flag " << name << " must be 0 or 1";
    return value != 0;
}

} // namespace mana::test
