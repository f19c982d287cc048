/* SPDX-License-Identifier: BSD-3-Clause */
// RAII owners for rdma-core objects: each owner destroys exactly what it created.
#pragma once

#include <infiniband/verbs.h>

#include <cerrno>

#include <memory>
#include <span>

namespace mana
{

// The errno a failed verb left, or `fallback` when it left none.
inline int errno_or(int fallback)
{
    return errno != 0 ? errno : fallback;
}

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

namespace detail
{
// One deleter type per destroy verb. Destroy failures cannot be acted on during
// teardown (the object is gone from the driver's view either way), so results are dropped.
template <typename T, auto Destroy>
struct VerbsDeleter {
    void operator()(T *object) const
    {
        if (object != nullptr)
            static_cast<void>(Destroy(object));
    }
};
} // namespace detail

using ContextOwner =
    std::unique_ptr<ibv_context, detail::VerbsDeleter<ibv_context, ibv_close_device>>;
// PDs and parent domains are both ibv_pd and both released with ibv_dealloc_pd.
using PdOwner = std::unique_ptr<ibv_pd, detail::VerbsDeleter<ibv_pd, ibv_dealloc_pd>>;
using CqOwner = std::unique_ptr<ibv_cq, detail::VerbsDeleter<ibv_cq, ibv_destroy_cq>>;
using QpOwner = std::unique_ptr<ibv_qp, detail::VerbsDeleter<ibv_qp, ibv_destroy_qp>>;
using MrOwner = std::unique_ptr<ibv_mr, detail::VerbsDeleter<ibv_mr, ibv_dereg_mr>>;
using CompChannelOwner =
    std::unique_ptr<ibv_comp_channel,
                    detail::VerbsDeleter<ibv_comp_channel, ibv_destroy_comp_channel>>;

// ibv_destroy_wq and ibv_destroy_rwq_ind_table are inline functions in verbs.h; wrap them
// so they can be template arguments.
inline int destroy_wq(ibv_wq *wq)
{
    return ibv_destroy_wq(wq);
}
inline int destroy_rwq_ind_table(ibv_rwq_ind_table *table)
{
    return ibv_destroy_rwq_ind_table(table);
}
using WqOwner = std::unique_ptr<ibv_wq, detail::VerbsDeleter<ibv_wq, destroy_wq>>;
using IndTableOwner =
    std::unique_ptr<ibv_rwq_ind_table,
                    detail::VerbsDeleter<ibv_rwq_ind_table, destroy_rwq_ind_table>>;

} // namespace mana
