/* SPDX-License-Identifier: BSD-3-Clause */
// A port's RSS: the indirection table and RSS QP over its RX queues, and the RSS key,
// hash types and RETA an application updates or queries.
#include "port.h"

#include "mp.h"

#include "log.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mana
{
int Port::create_rss()
{
    std::array<ibv_wq *, kRetaSize> table{};
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        RxQueue *queue = rxq(reta_[i]);
        if (queue == nullptr || queue->wq() == nullptr) {
            MANA_DRV_LOG(ERR, "port %u: RETA entry %zu names RX queue %u, which is not running",
                         port_id_, i, reta_[i]);
            return -EINVAL;
        }
        table[i] = queue->wq();
    }
    ibv_rwq_ind_table_init_attr table_attr{};
    table_attr.log_ind_tbl_size = kLogRetaSize;
    table_attr.ind_tbl = table.data();
    ind_table_.reset(ibv_create_rwq_ind_table(device_->context.get(), &table_attr));
    if (!ind_table_) {
        const int error = errno_or(ENOMEM);
        MANA_DRV_LOG(ERR, "port %u: ibv_create_rwq_ind_table failed: %s", port_id_,
                     strerror(error));
        return -error;
    }
    ibv_qp_init_attr_ex qp_attr{};
    qp_attr.qp_type = IBV_QPT_RAW_PACKET;
    qp_attr.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_RX_HASH | IBV_QP_INIT_ATTR_IND_TABLE;
    qp_attr.pd = parent_domain_.get();
    qp_attr.rwq_ind_tbl = ind_table_.get();
    qp_attr.rx_hash_conf.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
    qp_attr.rx_hash_conf.rx_hash_key_len = kRssKeySize;
    qp_attr.rx_hash_conf.rx_hash_key = rss_key_.data();
    qp_attr.rx_hash_conf.rx_hash_fields_mask = rss_fields_for(rss_hf_);
    rss_qp_.reset(ibv_create_qp_ex(device_->context.get(), &qp_attr));
    if (!rss_qp_) {
        const int error = errno_or(ENOMEM);
        MANA_DRV_LOG(ERR, "port %u: ibv_create_qp_ex (RSS) failed: %s", port_id_, strerror(error));
        ind_table_.reset();
        return -error;
    }
    return 0;
}

void Port::destroy_rss()
{
    rss_qp_.reset();
    ind_table_.reset();
}

int Port::apply_rss()
{
    if (!started_ || rx_queue_count() == 0)
        return 0;
    destroy_rss();
    return create_rss();
}

int Port::rss_hash_update(const rte_eth_rss_conf &conf)
{
    const std::lock_guard guard(device_->mutex);
    if (conf.rss_hf & ~kSupportedRssTypes) {
        MANA_DRV_LOG(
            ERR, "port %u: RSS hash types %#" PRIx64 " are not supported (supported: %#" PRIx64 ")",
            port_id_, conf.rss_hf & ~kSupportedRssTypes, kSupportedRssTypes);
        return -EINVAL;
    }
    if (conf.rss_key != nullptr && conf.rss_key_len != kRssKeySize) {
        MANA_DRV_LOG(ERR, "port %u: RSS key of %u bytes; the device takes exactly %zu", port_id_,
                     conf.rss_key_len, kRssKeySize);
        return -EINVAL;
    }
    const RssKey old_key = rss_key_;
    const uint64_t old_hf = rss_hf_;
    if (conf.rss_key != nullptr)
        std::copy_n(conf.rss_key, kRssKeySize, rss_key_.begin());
    rss_hf_ = conf.rss_hf != 0 ? conf.rss_hf : kDefaultRssTypes;
    const int ret = apply_rss();
    if (ret != 0) {
        rss_key_ = old_key;
        rss_hf_ = old_hf;
        static_cast<void>(apply_rss());
    }
    return ret;
}

int Port::rss_hash_conf_get(rte_eth_rss_conf &conf) const
{
    if (conf.rss_key != nullptr) {
        if (conf.rss_key_len < kRssKeySize)
            return -EINVAL;
        std::copy(rss_key_.begin(), rss_key_.end(), conf.rss_key);
    }
    conf.rss_key_len = kRssKeySize;
    conf.rss_hf = rss_hf_;
    return 0;
}

int Port::reta_update(const rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
    const std::lock_guard guard(device_->mutex);
    if (size != kRetaSize) {
        MANA_DRV_LOG(ERR, "port %u: RETA of %u entries; the device has exactly %zu", port_id_, size,
                     kRetaSize);
        return -EINVAL;
    }
    auto updated = reta_;
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        const auto &group = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        const std::size_t bit = i % RTE_ETH_RETA_GROUP_SIZE;
        if ((group.mask >> bit) & 1U) {
            if (group.reta[bit] >= std::max<uint16_t>(rx_queue_count(), 1)) {
                MANA_DRV_LOG(ERR, "port %u: RETA entry %zu names RX queue %u of %u", port_id_, i,
                             group.reta[bit], rx_queue_count());
                return -EINVAL;
            }
            updated[i] = group.reta[bit];
        }
    }
    const auto old = reta_;
    reta_ = updated;
    const int ret = apply_rss();
    if (ret != 0) {
        reta_ = old;
        static_cast<void>(apply_rss());
    }
    return ret;
}

int Port::reta_query(rte_eth_rss_reta_entry64 *conf, uint16_t size) const
{
    if (size != kRetaSize)
        return -EINVAL;
    for (std::size_t i = 0; i < kRetaSize; ++i) {
        auto &group = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        const std::size_t bit = i % RTE_ETH_RETA_GROUP_SIZE;
        if ((group.mask >> bit) & 1U)
            group.reta[bit] = reta_[i];
    }
    return 0;
}

} // namespace mana
