/* SPDX-License-Identifier: BSD-3-Clause */
// The write trap of the doorbell pages (see doorbell_trap.h). Everything reachable from the
// signal handler is lock-free and allocation-free, except the overflow path, which the
// emulator's lock serialises.
#include "doorbell_trap.h"
#include "log.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

namespace mana_emu
{

std::optional<DecodedStore> decode_store(const uint8_t *code)
{
    const uint8_t *p = code;
    bool operand_16 = false;
    // Legacy prefixes: operand size, address size (changes the address only, which the
    // fault already gave) and segment overrides.
    for (;; ++p) {
        if (p - code > 4)
            return std::nullopt;
        const uint8_t b = *p;
        if (b == 0x66)
            operand_16 = true;
        else if (b != 0x67 && b != 0x2e && b != 0x36 && b != 0x3e && b != 0x26 && b != 0x64 &&
                 b != 0x65)
            break;
    }
    uint8_t rex = 0;
    if ((*p & 0xf0) == 0x40)
        rex = *p++;
    const bool rex_w = (rex & 8) != 0, rex_r = (rex & 4) != 0;
    DecodedStore store;
    unsigned immediate_bytes = 0;
    const uint8_t opcode = *p++;
    if (opcode == 0x88 || opcode == 0x89) {
        store.from_register = true;
        store.width = opcode == 0x88 ? 1 : rex_w ? 8 : operand_16 ? 2 : 4;
    } else if (opcode == 0xc6 || opcode == 0xc7) {
        store.width = opcode == 0xc6 ? 1 : rex_w ? 8 : operand_16 ? 2 : 4;
        immediate_bytes = opcode == 0xc6 ? 1 : operand_16 ? 2 : 4;
    } else if (opcode == 0x0f && *p == 0xc3 && !operand_16) {
        ++p;
        store.from_register = true;
        store.width = rex_w ? 8 : 4;
    } else {
        return std::nullopt;
    }
    const uint8_t modrm = *p++;
    const unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    if (mod == 3)
        return std::nullopt; // a register destination cannot fault
    if (!store.from_register && reg != 0)
        return std::nullopt; // C6/C7 with another /digit is not a mov
    if (rm == 4) {
        const uint8_t sib = *p++;
        if (mod == 0 && (sib & 7) == 5)
            p += 4; // no base: disp32
    } else if (mod == 0 && rm == 5) {
        p += 4; // RIP-relative disp32
    }
    p += mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (store.from_register) {
        store.reg = reg + (rex_r ? 8 : 0);
        store.high_byte = store.width == 1 && rex == 0 && reg >= 4;
        if (store.high_byte)
            store.reg = reg - 4;
    } else {
        int64_t value = 0;
        if (immediate_bytes == 1)
            value = static_cast<int8_t>(p[0]);
        else if (immediate_bytes == 2)
            value = static_cast<int16_t>(p[0] | p[1] << 8);
        else
            value = static_cast<int32_t>(static_cast<uint32_t>(p[0]) | p[1] << 8 | p[2] << 16 |
                                         static_cast<uint32_t>(p[3]) << 24);
        p += immediate_bytes;
        store.immediate = static_cast<uint64_t>(value);
    }
    if (store.width < 8)
        store.immediate &= (1ULL << (store.width * 8)) - 1;
    store.length = static_cast<unsigned>(p - code);
    return store;
}

namespace
{

struct TrappedRange {
    std::atomic<uintptr_t> begin{0};
    std::atomic<uintptr_t> end{0};
    std::atomic<uint64_t> tag{0};
};
std::array<TrappedRange, 64> ranges;
std::atomic<TrapOverflow> overflow_handler{nullptr};
std::atomic<unsigned> given_up_pages{0};
std::mutex ranges_mutex; // registrations; the handler only reads

// A bounded multi-producer queue (each cell's sequence number says whose turn it is), so
// that a store on any lcore is queued without a lock.
constexpr size_t kQueueCells = 16384;
struct Cell {
    std::atomic<uint64_t> sequence;
    TrappedStore store;
};
std::array<Cell, kQueueCells> cells{}; // sequences set by the first trap_stores()
std::atomic<uint64_t> enqueue_at{0};
uint64_t dequeue_at = 0; // the consumer's, under the emulator's lock
std::once_flag cells_ready;

bool push(const TrappedStore &store)
{
    uint64_t at = enqueue_at.load(std::memory_order_relaxed);
    while (true) {
        Cell &cell = cells[at % kQueueCells];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        if (sequence == at) {
            if (enqueue_at.compare_exchange_weak(at, at + 1, std::memory_order_relaxed))
                break;
        } else if (sequence < at) {
            return false; // full: the consumer has not taken the cell's last lap yet
        } else {
            at = enqueue_at.load(std::memory_order_relaxed);
        }
    }
    Cell &cell = cells[at % kQueueCells];
    cell.store = store;
    cell.sequence.store(at + 1, std::memory_order_release);
    return true;
}

struct sigaction previous_action;
std::once_flag handler_installed;

greg_t register_value(const mcontext_t &context, unsigned reg)
{
    static constexpr int kGregs[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                       REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                       REG_R12, REG_R13, REG_R14, REG_R15};
    return context.gregs[kGregs[reg]];
}

void say(const char *text)
{
    ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
    (void)ignored;
}

void pass_on(int signo, siginfo_t *info, void *context)
{
    if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
        previous_action.sa_sigaction(signo, info, context);
    } else if (previous_action.sa_handler == SIG_DFL || previous_action.sa_handler == SIG_IGN) {
        // Restore the default and return: the instruction faults again and the process
        // ends as it would have without us.
        signal(signo, SIG_DFL);
    } else {
        previous_action.sa_handler(signo);
    }
}

void on_fault(int signo, siginfo_t *info, void *context)
{
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    const TrappedRange *range = nullptr;
    if (info->si_code == SEGV_ACCERR)
        for (const TrappedRange &r : ranges) {
            const uintptr_t begin = r.begin.load(std::memory_order_acquire);
            if (begin != 0 && address >= begin && address < r.end.load(std::memory_order_relaxed)) {
                range = &r;
                break;
            }
        }
    if (range == nullptr) {
        pass_on(signo, info, context);
        return;
    }
    auto &machine = static_cast<ucontext_t *>(context)->uc_mcontext;
    const auto *rip = reinterpret_cast<const uint8_t *>(machine.gregs[REG_RIP]);
    const std::optional<DecodedStore> decoded = decode_store(rip);
    if (!decoded || address + decoded->width > range->end.load(std::memory_order_relaxed) ||
        address % decoded->width != 0) {
        // Not a store we can complete: the page becomes writable (sampled by the model from
        // now on) and the instruction runs again.
        const auto page_bytes = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
        mprotect(reinterpret_cast<void *>(address & ~(page_bytes - 1)), page_bytes,
                 PROT_READ | PROT_WRITE);
        if (given_up_pages.fetch_add(1) == 0)
            say("mana_emu: warning: a doorbell store the write trap cannot decode; its page "
                "is sampled from now on and two writes to one slot may merge\n");
        return;
    }
    TrappedStore store;
    store.tag = range->tag.load(std::memory_order_relaxed);
    store.offset = static_cast<uint32_t>(address - range->begin.load(std::memory_order_relaxed));
    store.width = decoded->width;
    if (decoded->from_register) {
        auto value = static_cast<uint64_t>(register_value(machine, decoded->reg));
        if (decoded->high_byte)
            value >>= 8;
        store.value = decoded->width == 8 ? value : value & ((1ULL << (decoded->width * 8)) - 1);
    } else {
        store.value = decoded->immediate;
    }
    if (!push(store))
        overflow_handler.load()(store);
    machine.gregs[REG_RIP] += decoded->length;
}

} // namespace

bool trap_stores(std::byte *begin, size_t bytes, uint64_t tag, TrapOverflow overflow)
{
    std::call_once(cells_ready, [] {
        for (size_t i = 0; i < kQueueCells; ++i)
            cells[i].sequence.store(i, std::memory_order_relaxed);
    });
    overflow_handler.store(overflow);
    bool installed = true;
    std::call_once(handler_installed, [&installed] {
        struct sigaction action {
        };
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        installed = sigaction(SIGSEGV, &action, &previous_action) == 0;
    });
    if (!installed)
        return false;
    std::lock_guard guard(ranges_mutex);
    for (TrappedRange &r : ranges) {
        if (r.begin.load() == 0) {
            // The handler matches on begin: it is set last.
            r.tag.store(tag);
            r.end.store(reinterpret_cast<uintptr_t>(begin) + bytes);
            r.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_release);
            return true;
        }
    }
    EMU_LOG(warning, "more than %zu trapped doorbell areas: this one is sampled", ranges.size());
    return false;
}

void untrap_stores(std::byte *begin)
{
    std::lock_guard guard(ranges_mutex);
    for (TrappedRange &r : ranges)
        if (r.begin.load() == reinterpret_cast<uintptr_t>(begin)) {
            r.begin.store(0);
            r.end.store(0);
        }
}

// A cell a producer has reserved (enqueue_at is past it) but not filled yet is waited for
// rather than taken as the end of the queue: that producer is between its two stores in
// the fault handler, or preempted there, and every store queued behind it (the caller's own
// earlier doorbells among them) would otherwise be taken only later, after the caller has
// perhaps destroyed the queue they ring and handed its doorbell page to another. A device
// takes a CPU's doorbells before that CPU's next command, so the model must too.
bool next_trapped_store(TrappedStore &out)
{
    Cell &cell = cells[dequeue_at % kQueueCells];
    for (unsigned spins = 0; cell.sequence.load(std::memory_order_acquire) != dequeue_at + 1;
         ++spins) {
        if (enqueue_at.load(std::memory_order_acquire) <= dequeue_at)
            return false;
        if (spins >= 64)
            sched_yield();
    }
    out = cell.store;
    cell.sequence.store(dequeue_at + kQueueCells, std::memory_order_release);
    ++dequeue_at;
    return true;
}

unsigned untrappable_pages()
{
    return given_up_pages.load();
}

} // namespace mana_emu
