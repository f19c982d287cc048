/* SPDX-License-Identifier: BSD-3-Clause */
// File descriptors and memory the emulator creates for a context: event counters behind
// async_fd and completion channels, and the memfd of doorbell pages behind cmd_fd.
#pragma once

#include "doorbell_trap.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace mana_emu
{

// Every fd the emulator opens, so tests can assert none leak (mana_emu_counters.open_fds).
std::atomic<uint64_t> &open_fd_count();

class UniqueFd
{
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd);
    UniqueFd(UniqueFd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept;
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset();

  private:
    int fd_ = -1;
};

// An eventfd in semaphore mode: readable while events are pending, each read takes one.
// The fd is what the application polls (async_fd, comp_channel fd).
class EventCounter
{
  public:
    bool open();
    int fd() const { return fd_.get(); }
    void signal() const;
    // Takes one event from the counter behind `fd` (retrying a read that a signal
    // interrupted): blocks unless the application made the fd non-blocking, in which case
    // it fails with EAGAIN when none is pending. Returns 0 or an errno value (EIO for a
    // short read). Static so that a verb can wait without the emulator's lock, on the fd
    // it read under the lock (ibv_get_cq_event, ibv_get_async_event).
    static int take(int fd);

  private:
    UniqueFd fd_;
};

// The doorbell pages of a context: a memfd (exported as cmd_fd, so a secondary process can
// map them with mmap(cmd_fd, offset 0)). Page 0 is the context's shared page; every QP and
// WQ gets a page of its own. The model reads and writes them through page(); the driver is
// handed driver_page(), a second mapping: read-only in trapped mode, where the write trap
// completes and queues every store (doorbell_trap.h) tagged with `tag`; writable in
// sampled mode.
class DoorbellArea
{
  public:
    static constexpr size_t kPageBytes = 4096;
    static constexpr unsigned kPages = 512;
    static constexpr size_t kBytes = kPages * kPageBytes;

    DoorbellArea() = default;
    DoorbellArea(const DoorbellArea &) = delete;
    DoorbellArea &operator=(const DoorbellArea &) = delete;
    ~DoorbellArea();

    bool open(bool trapped, uint64_t tag, TrapOverflow overflow);
    int fd() const { return fd_.get(); }
    std::byte *page(unsigned index) const { return base_ + index * kPageBytes; }
    std::byte *driver_page(unsigned index) const { return driver_base_ + index * kPageBytes; }
    // Read-only with every store trapped, or writable and sampled. False when trapping
    // is not possible (the area stays sampled).
    bool set_trapped(bool trapped);
    // A fresh, zeroed page; 0 when all are taken (page 0 is never handed out).
    unsigned allocate_page();
    void release_page(unsigned index);
    bool in_use(unsigned index) const { return index < kPages && used_[index]; }
    // The value of each long doorbell slot (SQ, RQ, CQ) the model took last.
    uint64_t *taken(unsigned index) { return taken_[index]; }

  private:
    UniqueFd fd_;
    std::byte *base_ = nullptr;
    std::byte *driver_base_ = nullptr;
    uint64_t tag_ = 0;
    TrapOverflow overflow_ = nullptr;
    bool registered_ = false; // with the write trap
    bool used_[kPages] = {};
    uint64_t taken_[kPages][3] = {};
};

} // namespace mana_emu
