/* SPDX-License-Identifier: BSD-3-Clause */
// Owners for objects and arrays in DPDK memory (rte_zmalloc_socket): queue state the
// data path touches lives on the queue's NUMA socket, and ring buffers the device reads
// must be DPDK memory so that other processes could map them.
#pragma once

#include <rte_common.h>
#include <rte_malloc.h>

#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <utility>

namespace mana
{

template <typename T>
struct DpdkDeleter {
    void operator()(T *object) const
    {
        if (object == nullptr)
            return;
        std::destroy_at(object);
        rte_free(object);
    }
};

template <typename T>
using DpdkUnique = std::unique_ptr<T, DpdkDeleter<T>>;

// Constructs a T in zeroed DPDK memory on `socket`; null when the memory is exhausted.
template <typename T, typename... Args>
DpdkUnique<T> make_dpdk(const char *type, int socket, Args &&...args)
{
    void *memory = rte_zmalloc_socket(type, sizeof(T), RTE_CACHE_LINE_SIZE, socket);
    if (memory == nullptr)
        return nullptr;
    return DpdkUnique<T>(std::construct_at(static_cast<T *>(memory), std::forward<Args>(args)...));
}

// A zero-initialised array of trivially destructible elements in DPDK memory.
template <typename T>
class DpdkArray
{
    static_assert(std::is_trivially_destructible_v<T>);

  public:
    DpdkArray() = default;
    DpdkArray(const DpdkArray &) = delete;
    DpdkArray &operator=(const DpdkArray &) = delete;
    DpdkArray(DpdkArray &&other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0))
    {
    }
    DpdkArray &operator=(DpdkArray &&other) noexcept
    {
        if (this != &other) {
            rte_free(data_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~DpdkArray() { rte_free(data_); }

    // False when DPDK memory is exhausted.
    bool allocate(const char *type, std::size_t size, int socket)
    {
        rte_free(data_);
        size_ = 0;
        data_ = static_cast<T *>(
            rte_zmalloc_socket(type, size * sizeof(T) + 1, RTE_CACHE_LINE_SIZE, socket));
        if (data_ == nullptr)
            return false;
        size_ = size;
        return true;
    }
    void reset()
    {
        rte_free(data_);
        data_ = nullptr;
        size_ = 0;
    }

    T *data() const { return data_; }
    std::size_t size() const { return size_; }
    T &operator[](std::size_t i) const { return data_[i]; }
    std::span<T> span() const { return {data_, size_}; }

  private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace mana
