/* SPDX-License-Identifier: BSD-3-Clause */
#include "resources.h"
#include "log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mana_emu
{

std::atomic<uint64_t> &open_fd_count()
{
    static std::atomic<uint64_t> count{0};
    return count;
}

UniqueFd::UniqueFd(int fd) : fd_(fd)
{
    if (fd_ >= 0)
        open_fd_count().fetch_add(1, std::memory_order_relaxed);
}

UniqueFd &UniqueFd::operator=(UniqueFd &&other) noexcept
{
    if (this != &other) {
        reset();
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

void UniqueFd::reset()
{
    if (fd_ >= 0) {
        close(fd_);
        open_fd_count().fetch_sub(1, std::memory_order_relaxed);
        fd_ = -1;
    }
}

bool EventCounter::open()
{
    fd_ = UniqueFd(eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC));
    return static_cast<bool>(fd_);
}

void EventCounter::signal() const
{
    const uint64_t one = 1;
    // Can only fail if the counter would overflow 2^64-2 events: impossible in practice.
    [[maybe_unused]] const ssize_t written = write(fd_.get(), &one, sizeof(one));
}

int EventCounter::take(int fd)
{
    uint64_t value = 0;
    while (true) {
        const ssize_t got = read(fd, &value, sizeof(value));
        if (got == sizeof(value))
            return 0;
        if (got < 0 && errno == EINTR)
            continue;
        return got < 0 ? errno : EIO;
    }
}

bool DoorbellArea::open(bool trapped, uint64_t tag, TrapOverflow overflow)
{
    fd_ = UniqueFd(memfd_create("mana_emu_doorbells", MFD_CLOEXEC));
    if (!fd_)
        return false;
    if (ftruncate(fd_.get(), static_cast<off_t>(kBytes)) != 0) {
        fd_.reset();
        return false;
    }
    void *map = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (map == MAP_FAILED) {
        fd_.reset();
        return false;
    }
    base_ = static_cast<std::byte *>(map);
    void *view = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (view == MAP_FAILED) {
        munmap(base_, kBytes);
        base_ = nullptr;
        fd_.reset();
        return false;
    }
    driver_base_ = static_cast<std::byte *>(view);
    tag_ = tag;
    overflow_ = overflow;
    used_[0] = true;
    if (trapped && !set_trapped(true))
        EMU_LOG(warning, "doorbell writes cannot be trapped: they are sampled, and two "
                         "writes to one slot between two passes of the model merge");
    return true;
}

bool DoorbellArea::set_trapped(bool trapped)
{
    if (trapped && !registered_)
        registered_ = trap_stores(driver_base_, kBytes, tag_, overflow_);
    if (trapped && !registered_)
        return false;
    return mprotect(driver_base_, kBytes, trapped ? PROT_READ : PROT_READ | PROT_WRITE) == 0;
}

DoorbellArea::~DoorbellArea()
{
    if (registered_)
        untrap_stores(driver_base_);
    if (driver_base_ != nullptr)
        munmap(driver_base_, kBytes);
    if (base_ != nullptr)
        munmap(base_, kBytes);
}

unsigned DoorbellArea::allocate_page()
{
    for (unsigned i = 1; i < kPages; ++i) {
        if (!used_[i]) {
            used_[i] = true;
            std::memset(page(i), 0, kPageBytes);
            std::fill(std::begin(taken_[i]), std::end(taken_[i]), 0);
            return i;
        }
    }
    return 0;
}

void DoorbellArea::release_page(unsigned index)
{
    if (index > 0 && index < kPages)
        used_[index] = false;
}

} // namespace mana_emu
