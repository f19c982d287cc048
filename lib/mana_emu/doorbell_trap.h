/* SPDX-License-Identifier: BSD-3-Clause */
// Doorbell writes seen one by one, as the device sees MMIO writes: the driver's view of the
// doorbell pages is mapped read-only, every store to it faults, and the fault handler
// completes the store on the driver's behalf (it decodes the x86 store instruction, takes
// its value, steps over it) and queues it for the device model. The model drains the queue
// at the start of each pass, in the order the stores happened, so two writes to one slot
// between two passes never merge into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace mana_emu
{

// One x86-64 store instruction the trap can complete: `mov` from a register or of an
// immediate to memory (opcodes 88, 89, C6 /0, C7 /0) and `movnti` (0F C3).
struct DecodedStore {
    unsigned length = 0; // bytes of the instruction
    unsigned width = 0;  // bytes stored: 1, 2, 4 or 8
    bool from_register = false;
    unsigned reg = 0;       // 0-15 in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..)
    bool high_byte = false; // ah, ch, dh or bh (a byte store without REX, reg 4-7)
    uint64_t immediate = 0; // sign-extended to `width`
};

// Decodes the instruction at `code` (up to 15 bytes are read); nullopt for anything else.
std::optional<DecodedStore> decode_store(const uint8_t *code);

// A store the trap completed, in the order they happened.
struct TrappedStore {
    uint64_t tag = 0;    // what trap_stores() registered the range with
    uint32_t offset = 0; // from the start of the range
    uint32_t width = 0;
    uint64_t value = 0;
};

// Called on the storing thread when the queue is full: it must take the stores queued so
// far (next_trapped_store) and then this one.
using TrapOverflow = void (*)(const TrappedStore &store);

// Makes stores to [begin, begin + bytes) — a read-only mapping — reach the queue. Installs
// the SIGSEGV handler on first use (faults elsewhere go to the handler that was there
// before). False when no range slot is free.
bool trap_stores(std::byte *begin, size_t bytes, uint64_t tag, TrapOverflow overflow);
void untrap_stores(std::byte *begin);

// The oldest queued store; false when none. One consumer at a time (the model, locked).
bool next_trapped_store(TrappedStore &out);

// Pages the trap gave up on (an instruction it cannot decode stored to them): they were
// made writable, so the model samples them instead.
unsigned untrappable_pages();

} // namespace mana_emu
