/* SPDX-License-Identifier: BSD-3-Clause */
// The doorbell write trap: which stores it decodes (encodings as GNU as assembles them),
// and what a store into a trapped read-only mapping becomes: the queued value, width and
// offset, the instruction stepped over, the mapping itself untouched.
#include "doorbell_trap.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

using mana_emu::decode_store;
using mana_emu::DecodedStore;
using mana_emu::TrappedStore;

namespace
{

struct Case {
    const char *text;
    std::vector<uint8_t> bytes;
    unsigned width;
    bool from_register;
    unsigned reg;
    bool high_byte;
    uint64_t immediate;
};

TEST(StoreDecoder, DecodesTheStoreFormsDriversUse)
{
    const Case cases[] = {
        {"mov %rax,0x400(%rdx)", {0x48, 0x89, 0x82, 0x00, 0x04, 0x00, 0x00}, 8, true, 0, false, 0},
        {"mov %r9,(%r12)", {0x4d, 0x89, 0x0c, 0x24}, 8, true, 9, false, 0},
        {"mov %eax,0x410(%rdi)", {0x89, 0x87, 0x10, 0x04, 0x00, 0x00}, 4, true, 0, false, 0},
        {"mov %r10d,0x10(%rsp,%rcx,8)", {0x44, 0x89, 0x54, 0xcc, 0x10}, 4, true, 10, false, 0},
        {"mov %cx,0x20(%rbx)", {0x66, 0x89, 0x4b, 0x20}, 2, true, 1, false, 0},
        {"mov %ah,(%rsi)", {0x88, 0x26}, 1, true, 0, true, 0},
        {"mov %sil,(%rsi)", {0x40, 0x88, 0x36}, 1, true, 6, false, 0},
        {"movq $-2,0x800(%rax)",
         {0x48, 0xc7, 0x80, 0x00, 0x08, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff},
         8,
         false,
         0,
         false,
         0xfffffffffffffffeULL},
        {"movl $0x12345678,0x0(%rbp)",
         {0xc7, 0x45, 0x00, 0x78, 0x56, 0x34, 0x12},
         4,
         false,
         0,
         false,
         0x12345678},
        {"movw $0x1234,0x8(%r13)",
         {0x66, 0x41, 0xc7, 0x45, 0x08, 0x34, 0x12},
         2,
         false,
         0,
         false,
         0x1234},
        {"movb $0x7f,(%rax,%rbx,1)", {0xc6, 0x04, 0x18, 0x7f}, 1, false, 0, false, 0x7f},
        {"movnti %rdx,0x400(%r8)",
         {0x49, 0x0f, 0xc3, 0x90, 0x00, 0x04, 0x00, 0x00},
         8,
         true,
         2,
         false,
         0},
        {"mov %rax,0x1000(%rip)", {0x48, 0x89, 0x05, 0x00, 0x10, 0x00, 0x00}, 8, true, 0, false, 0},
        {"mov %rcx,0x10(,%rax,8)",
         {0x48, 0x89, 0x0c, 0xc5, 0x10, 0x00, 0x00, 0x00},
         8,
         true,
         1,
         false,
         0},
    };
    for (const Case &c : cases) {
        std::vector<uint8_t> code = c.bytes;
        code.resize(16, 0xcc); // what follows must not be read as part of the instruction
        const auto decoded = decode_store(code.data());
        ASSERT_TRUE(decoded) << c.text;
        EXPECT_EQ(decoded->length, c.bytes.size()) << c.text;
        EXPECT_EQ(decoded->width, c.width) << c.text;
        EXPECT_EQ(decoded->from_register, c.from_register) << c.text;
        if (c.from_register) {
            EXPECT_EQ(decoded->reg, c.reg) << c.text;
            EXPECT_EQ(decoded->high_byte, c.high_byte) << c.text;
        } else {
            EXPECT_EQ(decoded->immediate, c.immediate) << c.text;
        }
    }
}

TEST(StoreDecoder, RefusesWhatIsNotAPlainStore)
{
    const std::vector<std::vector<uint8_t>> refused = {
        {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00}, // mov %fs:0x28,%rax (a load)
        {0x66, 0x0f, 0xd6, 0x07},                               // movq %xmm0,(%rdi)
        {0x48, 0x89, 0xc3},                                     // mov %rax,%rbx (no memory)
        {0xc7, 0x48, 0x10, 0x01, 0x00, 0x00, 0x00},             // C7 /1 is not a mov
        {0xf0, 0x48, 0x01, 0x07},                               // lock add %rax,(%rdi)
        {0x48, 0x87, 0x07},                                     // xchg %rax,(%rdi)
    };
    for (const auto &bytes : refused) {
        std::vector<uint8_t> code = bytes;
        code.resize(16, 0x90);
        EXPECT_FALSE(decode_store(code.data())) << std::hex << unsigned(bytes[0]);
    }
}

// A read-only and a writable mapping of one memfd, the first trapped.
class TrappedMapping : public ::testing::Test
{
  protected:
    static constexpr size_t kBytes = 2 * 4096;
    void SetUp() override
    {
        fd_ = memfd_create("trap_test", MFD_CLOEXEC);
        ASSERT_GE(fd_, 0);
        ASSERT_EQ(ftruncate(fd_, kBytes), 0);
        void *model = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        void *driver = mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd_, 0);
        ASSERT_NE(model, MAP_FAILED);
        ASSERT_NE(driver, MAP_FAILED);
        model_ = static_cast<std::byte *>(model);
        driver_ = static_cast<std::byte *>(driver);
        ASSERT_TRUE(mana_emu::trap_stores(driver_, kBytes, 42, &TrappedMapping::overflow));
        TrappedStore stale;
        while (mana_emu::next_trapped_store(stale)) {
        }
    }
    void TearDown() override
    {
        mana_emu::untrap_stores(driver_);
        munmap(driver_, kBytes);
        munmap(model_, kBytes);
        close(fd_);
    }
    static void overflow(const TrappedStore &) { ++overflows; }
    static std::vector<TrappedStore> drain()
    {
        std::vector<TrappedStore> out;
        TrappedStore store;
        while (mana_emu::next_trapped_store(store))
            out.push_back(store);
        return out;
    }

    static inline int overflows = 0;
    int fd_ = -1;
    std::byte *model_ = nullptr;
    std::byte *driver_ = nullptr;
};

TEST_F(TrappedMapping, EveryStoreIsQueuedInOrderAndTheMappingIsUntouched)
{
    auto *slot = reinterpret_cast<volatile uint64_t *>(driver_ + 4096 + 0x400);
    auto *short_slot = reinterpret_cast<volatile uint32_t *>(driver_ + 0x10);
    *slot = 0x1111222233334444ULL;
    *slot = 0x5555666677778888ULL; // the same slot at once: both are seen
    *short_slot = 0xabcd0040;
    *short_slot = 0xabcd0040;
    const auto stores = drain();
    ASSERT_EQ(stores.size(), 4u);
    EXPECT_EQ(stores[0].tag, 42u);
    EXPECT_EQ(stores[0].offset, 4096u + 0x400);
    EXPECT_EQ(stores[0].width, 8u);
    EXPECT_EQ(stores[0].value, 0x1111222233334444ULL);
    EXPECT_EQ(stores[1].value, 0x5555666677778888ULL);
    EXPECT_EQ(stores[2].offset, 0x10u);
    EXPECT_EQ(stores[2].width, 4u);
    EXPECT_EQ(stores[2].value, 0xabcd0040u);
    EXPECT_EQ(stores[3].value, 0xabcd0040u);
    uint64_t page_value = 0;
    std::memcpy(&page_value, model_ + 4096 + 0x400, 8);
    EXPECT_EQ(page_value, 0u) << "the trap must leave the store to the model";
    EXPECT_EQ(overflows, 0);
}

TEST_F(TrappedMapping, AFullQueueHandsTheStoreToTheOverflowPath)
{
    auto *slot = reinterpret_cast<volatile uint64_t *>(driver_);
    overflows = 0;
    for (uint64_t i = 0; i < 20000; ++i)
        *slot = i + 1;
    const auto stores = drain();
    EXPECT_EQ(stores.size() + static_cast<size_t>(overflows), 20000u);
    EXPECT_GT(overflows, 0);
    EXPECT_EQ(stores.front().value, 1u);
    overflows = 0;
}

TEST_F(TrappedMapping, OtherFaultsStillKillTheProcess)
{
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        volatile int *nowhere = nullptr;
        *nowhere = 1;
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

} // namespace
