/* SPDX-License-Identifier: BSD-3-Clause */
#include "rxq.h"

#include "log.h"
#include "mbuf_cache.h"
#include "mr_registration.h"

#include <infiniband/manadv.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace mana
{
namespace
{

using gdma::CqeType;
namespace rx_flag = gdma::rx_flag;
namespace hash_type = gdma::rx_hash_type;

static_assert(gdma::wqe_size_bytes(gdma::kSmallInlineOobBytes, 1) == gdma::kBasicUnitBytes,
              "an RX WQE must be exactly one basic unit");

constexpr uint32_t hash_bits(uint32_t flags)
{
    return (flags & rx_flag::hash_type_mask) >> rx_flag::hash_type_shift;
}

// Offload flags of every packet of a CQE, before the configuration's mask.
inline uint64_t offload_flags(uint32_t flags, bool vlan_strip)
{
    uint64_t ol = 0;
    if (flags & rx_flag::ip_csum_ok)
        ol |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    else if (flags & rx_flag::ip_csum_failed)
        ol |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
    if (flags & (rx_flag::tcp_csum_ok | rx_flag::udp_csum_ok))
        ol |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    else if (flags & (rx_flag::tcp_csum_failed | rx_flag::udp_csum_failed))
        ol |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
    if (flags & rx_flag::outer_ip_csum_failed)
        ol |= RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD;
    // Any hash-type bit means the device computed a hash: test bits (spec §4, §9).
    if (hash_bits(flags) != 0)
        ol |= RTE_MBUF_F_RX_RSS_HASH;
    if (flags & rx_flag::vlan_present)
        ol |= vlan_strip ? (RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED) : RTE_MBUF_F_RX_VLAN;
    return ol;
}

// Packet type from what the device reports, without touching packet data. The device
// checks the IPv4 header checksum whenever there is an IPv4 header, so an L4 checksum
// status without an IPv4 one means IPv6 (inferred from spec §6).
inline uint32_t packet_type(uint32_t flags)
{
    const uint32_t hash = hash_bits(flags);
    const uint32_t l4_status = flags & (rx_flag::tcp_csum_ok | rx_flag::tcp_csum_failed |
                                        rx_flag::udp_csum_ok | rx_flag::udp_csum_failed);
    uint32_t ptype = RTE_PTYPE_L2_ETHER;
    if ((flags & (rx_flag::ip_csum_ok | rx_flag::ip_csum_failed)) ||
        (hash & (hash_type::ipv4 | hash_type::tcp_ipv4 | hash_type::udp_ipv4)))
        ptype |= RTE_PTYPE_L3_IPV4_EXT_UNKNOWN;
    else if (l4_status != 0 ||
             (hash & (hash_type::ipv6 | hash_type::tcp_ipv6 | hash_type::udp_ipv6 |
                      hash_type::ipv6_ex | hash_type::tcp_ipv6_ex | hash_type::udp_ipv6_ex)))
        ptype |= RTE_PTYPE_L3_IPV6_EXT_UNKNOWN;
    if ((flags & (rx_flag::tcp_csum_ok | rx_flag::tcp_csum_failed)) ||
        (hash & (hash_type::tcp_ipv4 | hash_type::tcp_ipv6 | hash_type::tcp_ipv6_ex)))
        ptype |= RTE_PTYPE_L4_TCP;
    else if ((flags & (rx_flag::udp_csum_ok | rx_flag::udp_csum_failed)) ||
             (hash & (hash_type::udp_ipv4 | hash_type::udp_ipv6 | hash_type::udp_ipv6_ex)))
        ptype |= RTE_PTYPE_L4_UDP;
    return ptype;
}

// The 8 bytes at rearm_data: data_off, refcnt, nb_segs, port. A delivered mbuf gets them
// in one store instead of rte_pktmbuf_reset's field-by-field writes.
uint64_t rearm_template(uint16_t port_id)
{
    static_assert(offsetof(rte_mbuf, port) - offsetof(rte_mbuf, data_off) == 6,
                  "data_off, refcnt, nb_segs and port must be the 8 bytes of rearm_data");
    rte_mbuf proto{};
    proto.data_off = RTE_PKTMBUF_HEADROOM;
    rte_mbuf_refcnt_set(&proto, 1);
    proto.nb_segs = 1;
    proto.port = port_id;
    uint64_t value;
    std::memcpy(&value, &proto.data_off, sizeof(value));
    return value;
}

} // namespace

RxQueue::RxQueue(const RxQueueConfig &config, MrTable &mr_table)
    : config_(config), mr_table_(mr_table), mr_cache_(&mr_table)
{
    flag_mask_ = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
    if (config.checksum_flags)
        flag_mask_ |= RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
                      RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD;
    if (config.rss_hash)
        flag_mask_ |= RTE_MBUF_F_RX_RSS_HASH;
    rearm_ = rearm_template(config.port_id);
    decoded_ = decode(0);
}

RxQueue::DecodedFlags RxQueue::decode(uint32_t flags) const
{
    const bool tagged = (flags & rx_flag::vlan_present) != 0;
    return DecodedFlags{
        .flags = flags,
        .packet_type = packet_type(flags),
        .ol_flags = ol_flags_base_ | (offload_flags(flags, config_.vlan_strip) & flag_mask_),
        .vlan_tci = static_cast<uint16_t>(tagged ? flags & rx_flag::vlan_id_mask : 0),
        .restore_tag = tagged && !config_.vlan_strip,
    };
}

RxQueue::~RxQueue()
{
    stop();
}

int RxQueue::setup()
{
    buffer_bytes_ = rx_buffer_bytes(config_.pool);
    // With scatter the MTU may grow while the port is stopped: room for the most buffers.
    const uint32_t slots = config_.descriptors * (config_.scatter ? kMaxRxSegments : 1);
    if (!ring_.allocate("mana_rx_ring", slots, config_.socket) ||
        (config_.scatter && !refill_counts_slots_.allocate("mana_rx_refill_bits",
                                                           config_.descriptors, config_.socket))) {
        MANA_DRV_LOG(ERR, "port %u RX queue %u: out of DPDK memory for %u descriptors",
                     config_.port_id, config_.queue_id, config_.descriptors);
        return -ENOMEM;
    }
    ring_mask_ = config_.descriptors - 1;
    // Mbufs of a pinned-external-buffer pool keep RTE_MBUF_F_EXTERNAL for life
    // (rte_pktmbuf_reset preserves it); every delivered mbuf's flags start from it.
    const bool pinned_external =
        (rte_pktmbuf_priv_flags(config_.pool) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF) != 0;
    ol_flags_base_ = pinned_external ? RTE_MBUF_F_EXTERNAL : 0;
    // A direct mbuf's own buffer is at rte_mbuf_buf_addr() (rte_pktmbuf_detach restores it
    // there before an attached mbuf returns to its pool).
    inline_buffer_offset_ =
        pinned_external
            ? 0
            : static_cast<uint32_t>(sizeof(rte_mbuf) + rte_pktmbuf_priv_size(config_.pool) +
                                    RTE_PKTMBUF_HEADROOM);
    decoded_ = decode(0);
    // A warm-up, so that the first refill finds the pool registered. When it fails the
    // queue still works: refills register what they post, and retry every burst.
    const int ret = register_mempool(mr_table_, config_.pool);
    if (ret != 0)
        MANA_DRV_LOG(WARNING,
                     "port %u RX queue %u: mempool %s cannot be registered with the device "
                     "now (%s, %zu of %zu memory regions used); retried when buffers are posted",
                     config_.port_id, config_.queue_id, config_.pool->name, strerror(-ret),
                     mr_table_.size(), mr_table_.capacity());
    return 0;
}

void RxQueue::write_template()
{
    const gdma::WqeRing ring(wq_base_, wq_bytes_mask_ + 1);
    const std::array<std::byte, gdma::kSmallInlineOobBytes> oob{};
    const gdma::Sge sge{.address = 0, .memory_key = 0, .size = buffer_bytes_};
    for (uint32_t slot = 0; slot < ring.capacity_bu(); ++slot)
        gdma::write_wqe(ring, slot, {}, oob, {&sge, 1});
}

int RxQueue::start(const QueueVerbs &verbs)
{
    int ret = open(verbs);
    if (ret == 0)
        ret = post_all();
    if (ret != 0)
        stop();
    return ret;
}

int RxQueue::open(const QueueVerbs &verbs)
{
    const uint32_t n = config_.descriptors;
    *verbs.allocator_socket = config_.socket;
    if (config_.interrupts && !channel_) {
        channel_.reset(ibv_create_comp_channel(verbs.context));
        if (!channel_) {
            const int error = errno != 0 ? errno : ENOMEM;
            MANA_DRV_LOG(ERR, "port %u RX queue %u: ibv_create_comp_channel failed: %s",
                         config_.port_id, config_.queue_id, strerror(error));
            return -error;
        }
        // Draining must never block the lcore that re-enables polling.
        const int flags = fcntl(channel_->fd, F_GETFL);
        if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            const int error = errno;
            MANA_DRV_LOG(ERR, "port %u RX queue %u: cannot make the event fd non-blocking: %s",
                         config_.port_id, config_.queue_id, strerror(error));
            channel_.reset();
            return -error;
        }
    }
    cq_.reset(ibv_create_cq(verbs.context, static_cast<int>(n), nullptr, channel_.get(), 0));
    if (!cq_) {
        const int error = errno != 0 ? errno : ENOMEM;
        MANA_DRV_LOG(ERR, "port %u RX queue %u: ibv_create_cq(%u) failed: %s", config_.port_id,
                     config_.queue_id, n, strerror(error));
        return -error;
    }
    ibv_wq_init_attr wq_attr{};
    wq_attr.wq_type = IBV_WQT_RQ;
    wq_attr.max_wr = n;
    wq_attr.max_sge = config_.sges;
    wq_attr.pd = verbs.parent_domain;
    wq_attr.cq = cq_.get();
    wq_.reset(ibv_create_wq(verbs.context, &wq_attr));
    if (!wq_) {
        const int error = errno != 0 ? errno : ENOMEM;
        MANA_DRV_LOG(ERR, "port %u RX queue %u: ibv_create_wq(%u) failed: %s", config_.port_id,
                     config_.queue_id, n, strerror(error));
        close();
        return -error;
    }
    manadv_cq cq_out{};
    manadv_rwq wq_out{};
    manadv_obj obj{};
    obj.cq.in = cq_.get();
    obj.cq.out = &cq_out;
    obj.rwq.in = wq_.get();
    obj.rwq.out = &wq_out;
    const int ret = manadv_init_obj(&obj, MANADV_OBJ_CQ | MANADV_OBJ_RWQ);
    if (ret != 0) {
        MANA_DRV_LOG(ERR, "port %u RX queue %u: manadv_init_obj failed: %s", config_.port_id,
                     config_.queue_id, strerror(ret < 0 ? -ret : ret));
        close();
        return ret < 0 ? ret : -ret;
    }
    // A scattering queue's WQEs take the 24-byte inline OOB (zero, as the 8-byte one) where
    // that makes their size a power of two BUs and the WQ has room for n of them: 5 SGEs
    // take 4 BUs instead of 3. The WQ's size is a power of two too, so it can then hold
    // exactly n of them, each slot's at the same place on every lap. (The DMA header gives
    // the OOB's size for any WQE, spec §3; that RX accepts the large one is inferred.)
    const uint32_t wq_bu = wq_out.size / gdma::kBasicUnitBytes;
    const uint32_t small_bu = gdma::wqe_size_bu(gdma::kSmallInlineOobBytes, config_.sges);
    const uint32_t large_bu = gdma::wqe_size_bu(gdma::kLargeInlineOobBytes, config_.sges);
    const bool large_oob =
        !std::has_single_bit(small_bu) && std::has_single_bit(large_bu) && wq_bu >= n * large_bu;
    const uint32_t oob_bytes = large_oob ? gdma::kLargeInlineOobBytes : gdma::kSmallInlineOobBytes;
    wqe_bu_ = large_oob ? large_bu : small_bu;
    chain_sge_offset_ = sizeof(gdma::DmaHeader) + oob_bytes;
    const gdma::DmaHeader chain_header =
        gdma::DmaHeader::encode({.num_sgl_entries = static_cast<uint8_t>(config_.sges),
                                 .inline_oob_dwords = static_cast<uint8_t>(oob_bytes / 4)});
    chain_wqe_header_ = chain_header.word0 | (uint64_t{chain_header.word1} << 32);
    // A slot's WQE is posted again `n` WQEs later. Its last SGEs survive if the WQ holds
    // exactly n WQEs (the same place) or room for one more (the WQEs between end before
    // it); the geometry check below guarantees at least n.
    chain_in_place_ = config_.sges > 1 && wq_bu == n * wqe_bu_;
    reuse_sges_ = chain_in_place_ || wq_bu >= (n + 1) * wqe_bu_;
    if (!gdma::CqCursor::valid_count(cq_out.count) || cq_out.count < n ||
        !std::has_single_bit(wq_out.size) || wq_out.size / gdma::kBasicUnitBytes < n * wqe_bu_ ||
        cq_out.buf == nullptr || wq_out.buf == nullptr || wq_out.db_page == nullptr) {
        MANA_DRV_LOG(ERR,
                     "port %u RX queue %u: unexpected queue geometry from rdma-core (CQ %u "
                     "entries, RQ %u bytes for %u descriptors); rdma-core 44 is required",
                     config_.port_id, config_.queue_id, cq_out.count, wq_out.size, n);
        close();
        return -EPROTO;
    }
    cq_cursor_ = gdma::CqCursor(static_cast<const gdma::Cqe *>(cq_out.buf), cq_out.count);
    cq_id_ = cq_out.cq_id;
    wq_base_ = static_cast<std::byte *>(wq_out.buf);
    wq_bytes_mask_ = wq_out.size - 1;
    wq_id_ = wq_out.wq_id;
    db_page_ = wq_out.db_page;
    head_ = tail_ = 0;
    cqe_packet_ = 0;
    overflow_logged_ = false;
    unregistered_logged_ = false;
    if (config_.sges == 1)
        write_template();
    else if (chain_in_place_)
        write_chain_template();
    return 0;
}

int RxQueue::post_all()
{
    const uint32_t n = config_.descriptors;
    if (wq_base_ == nullptr)
        return -EINVAL;
    // A queue whose buffers cannot be registered yet starts with what it could post (maybe
    // nothing; it said so): every burst retries. An empty pool fails the start.
    if ((config_.sges == 1 ? refill() : refill_chains()) == 0 && !unregistered_logged_) {
        MANA_DRV_LOG(ERR, "port %u RX queue %u: mempool %s has no free mbufs to post",
                     config_.port_id, config_.queue_id, config_.pool->name);
        return -ENOMEM;
    }
    if (posted() < n && !unregistered_logged_)
        MANA_DRV_LOG(WARNING,
                     "port %u RX queue %u: only %u of %u buffers posted (mempool %s too small)",
                     config_.port_id, config_.queue_id, posted(), n, config_.pool->name);
    ring_doorbell(db_page_, gdma::doorbell_offset::rq,
                  gdma::rq_doorbell(wq_id_, (head_ * wqe_bu()) << gdma::kBasicUnitShift));
    ++counters_.doorbells;
    halted_.store(false, std::memory_order_release);
    return 0;
}

void RxQueue::stop()
{
    close();
    channel_.reset();
}

void RxQueue::close()
{
    halted_.store(true, std::memory_order_relaxed);
    // Events of the CQ about to go must be acknowledged before it is destroyed.
    if (channel_ && cq_)
        drain_interrupt();
    wq_.reset();
    // The WQ is gone, so the device completes nothing more; what it completed and no
    // burst returned is discarded with the buffers, and counted. (wq_base_: the queue
    // started, so the CQ cursor is valid.)
    if (cq_ && wq_base_ != nullptr)
        count_discarded_frames();
    cq_.reset();
    free_ring();
    head_ = tail_ = 0;
    cqe_packet_ = 0;
    wq_base_ = nullptr;
    db_page_ = nullptr;
}

void RxQueue::count_discarded_frames()
{
    // What rx_queue_count reports: the buffers the device filled that no burst returned.
    const uint32_t frames = count_filled();
    counters_.errors += frames;
    events_.rx_discarded_at_stop += frames;
}

// The CQ doorbell goes to the RQ's doorbell page: CQ objects have no page of their own
// and every page of a context accepts every queue's doorbells (spec §2, §5).
int RxQueue::arm_interrupt()
{
    if (!channel_ || db_page_ == nullptr)
        return -EINVAL;
    ring_doorbell(db_page_, gdma::doorbell_offset::cq,
                  gdma::cq_doorbell(cq_id_, cq_cursor_.head(), cq_cursor_.count(), true));
    return 0;
}

int RxQueue::drain_interrupt()
{
    if (!channel_)
        return -EINVAL;
    ibv_cq *cq = nullptr;
    void *context = nullptr;
    while (ibv_get_cq_event(channel_.get(), &cq, &context) == 0)
        ibv_ack_cq_events(cq, 1);
    return 0;
}

} // namespace mana
