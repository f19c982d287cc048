/* SPDX-License-Identifier: BSD-3-Clause */
// Loading the golden vectors (../shared/spec/vectors) at test time: the files are the
// reference, never copies of them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mana::test
{

// Parsed contents of <MANA_VECTORS_DIR>/<file>; fails the calling test if unreadable.
nlohmann::json load_vector_file(const std::string &file);

std::vector<uint8_t> hex_bytes(const std::string &hex);
std::string to_hex(const void *data, std::size_t len);

// A field that may be a JSON number or a "0x..." / decimal string; absent means 0.
uint64_t number_field(const nlohmann::json &fields, const char *name);

// A 0/1 flag field; any other value fails the calling test (absent means false).
bool flag_field(const nlohmann::json &fields, const char *name);

} // namespace mana::test
