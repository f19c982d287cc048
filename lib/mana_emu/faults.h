/* SPDX-License-Identifier: BSD-3-Clause */
// Injected failures of verbs calls (mana_emu_fail_verb, MANA_EMU_FAIL).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mana_emu
{

class VerbFaults
{
  public:
    void add(std::string verb, unsigned skip, unsigned count, int error);
    void clear() { faults_.clear(); }
    // Called for every verbs call: the errno to fail it with, or 0.
    int on_call(std::string_view verb);
    // "verb:skip:count:ERRNO[,verb:skip:count:ERRNO...]"; false on a syntax error.
    bool parse(std::string_view text);

  private:
    struct Fault {
        std::string verb;
        unsigned skip;
        unsigned count;
        int error;
    };
    std::vector<Fault> faults_;
};

std::optional<int> errno_from_name(std::string_view name);

} // namespace mana_emu
