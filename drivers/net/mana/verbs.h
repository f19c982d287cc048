/* SPDX-License-Identifier: BSD-3-Clause */
// RAII owners for rdma-core objects: each owner destroys exactly what it created.
#pragma once

#include <infiniband/verbs.h>

#include <memory>
#include <span>

namespace mana
{

// ibv_get_device_list result. A NULL list (no RDMA support in the kernel, or no
// provider) is an empty span, never passed to ibv_free_device_list.
class DeviceList
{
  public:
    DeviceList() : list_(ibv_get_device_list(&count_)) {}
    ~DeviceList()
    {
        if (list_ != nullptr)
            ibv_free_device_list(list_);
    }
    DeviceList(const DeviceList &) = delete;
    DeviceList &operator=(const DeviceList &) = delete;

    bool available() const { return list_ != nullptr; }
    std::span<ibv_device *const> devices() const
    {
        if (list_ == nullptr || count_ <= 0)
            return {};
        return {list_, static_cast<std::size_t>(count_)};
    }

  private:
    int count_ = 0;
    ibv_device **list_;
};

} // namespace mana
