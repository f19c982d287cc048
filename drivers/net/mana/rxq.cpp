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
    if (!ring_.allocate("mana_rx_ring", slots, config_.socket)) {
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
    wqe_bu_ = gdma::wqe_size_bu(gdma::kSmallInlineOobBytes, config_.sges);
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
    if (ring_.data() != nullptr) {
        for (uint32_t i = tail_; i != head_; ++i)
            for (uint32_t j = 0; j < config_.sges; ++j)
                rte_pktmbuf_free(wqe_mbufs(i)[j]);
    }
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

bool RxQueue::repost(rte_mbuf *mbuf)
{
    const uintptr_t address = reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
    const auto lkey = mr_cache_.lkey(address, buffer_bytes_);
    if (!lkey) [[unlikely]] {
        rte_pktmbuf_free(mbuf);
        return false;
    }
    ring_[head_ & ring_mask_] = mbuf;
    post_buffer(head_, address, *lkey);
    ++head_;
    return true;
}

std::optional<MrRange> RxQueue::register_buffer(uintptr_t address)
{
    // The pool's memory whole when the table has none of it (setup's warm-up failed);
    // then the cache, whose miss registers the buffer's own memory segment as a last try.
    // A secondary cannot use the table: its misses go to the primary.
    if (remote_mr_lookup == nullptr && !mr_table_.find(address, buffer_bytes_))
        static_cast<void>(register_mempool(mr_table_, config_.pool));
    return mr_cache_.range(address, buffer_bytes_);
}

void RxQueue::report_unregistered()
{
    if (unregistered_logged_)
        return;
    unregistered_logged_ = true;
    MANA_DRV_LOG(WARNING,
                 "port %u RX queue %u: buffers of mempool %s cannot be registered with the "
                 "device; their slots stay empty (counted in rx_nombuf) and every burst retries",
                 config_.port_id, config_.queue_id, config_.pool->name);
}

std::optional<RangeCheck> RxQueue::find_range(uintptr_t address)
{
    auto covering = mr_cache_.range(address, buffer_bytes_);
    if (!covering)
        covering = register_buffer(address);
    if (!covering)
        return std::nullopt;
    return RangeCheck(*covering, buffer_bytes_);
}

// The mbufs' buffers go into the slots' template WQEs, walked with a pointer: slots from
// head_ up to the end of the ring are consecutive in the WQ too (its size is a multiple of
// the ring's). kInlineBuffers: the buffer address follows from the mbuf's, so the mbuf
// itself is not touched until a packet arrives in it.
template <bool kInlineBuffers>
uint32_t RxQueue::post_fresh(rte_mbuf *const *mbufs, uint32_t count, RangeCheck &range)
{
    rte_mbuf **const slots = &ring_[head_ & ring_mask_];
    std::byte *sge = wq_base_ + ((head_ << gdma::kBasicUnitShift) & wq_bytes_mask_) + kSgeOffset;
    const uint32_t buffer_offset = inline_buffer_offset_;
    RangeCheck check = range;
    uint32_t i = 0;
    for (; i < count; ++i, sge += gdma::kBasicUnitBytes) {
        rte_mbuf *mbuf = mbufs[i];
        const uintptr_t address =
            kInlineBuffers ? reinterpret_cast<uintptr_t>(mbuf) + buffer_offset
                           : reinterpret_cast<uintptr_t>(mbuf->buf_addr) + RTE_PKTMBUF_HEADROOM;
        if (!check.contains(address)) [[unlikely]] {
            const auto covering = find_range(address);
            if (!covering)
                break;
            check = *covering;
        }
        slots[i] = mbuf;
        gdma::store_le64(sge + offsetof(gdma::Sge, address), address);
        gdma::store_le32(sge + offsetof(gdma::Sge, memory_key), check.lkey);
    }
    range = check;
    head_ += i;
    return i;
}

// Fills the free slots with fresh mbufs from the pool, in two batches where the ring wraps
// (more only when the pool is nearly dry). Mbufs come from the pool in their free state (refcnt 1,
// one segment, no next); the fields a packet needs are written when it is delivered, so a refill
// only reads the mbuf pointers. One registered-range lookup usually covers the whole batch.
uint32_t RxQueue::refill()
{
    uint32_t want = config_.descriptors - (head_ - tail_);
    if (want == 0)
        return 0;
    rte_mempool *const pool = config_.pool;
    rte_mempool_cache *const cache = rte_mempool_default_cache(pool, rte_lcore_id());
    RangeCheck &range = refill_range_.current(mr_table_);
    uint32_t posted = 0;
    while (want != 0) {
        const uint32_t slot = head_ & ring_mask_;
        const uint32_t chunk = std::min(want, config_.descriptors - slot);
        uint32_t got = chunk;
        rte_mbuf *const *fresh = take_mbufs(pool, cache, &ring_[slot], got);
        const uint32_t done = inline_buffer_offset_ != 0 ? post_fresh<true>(fresh, got, range)
                                                         : post_fresh<false>(fresh, got, range);
        posted += done;
        if (done < got) [[unlikely]] {
            // Never post a bad key: the rest of the batch goes back to the pool (from the
            // unposted slots, as `fresh` may be the cache it goes into), its slots stay
            // empty, and the next burst tries again.
            rte_mbuf **rest = &ring_[slot + done];
            if (fresh != &ring_[slot])
                std::copy(fresh + done, fresh + got, rest);
            rte_mempool_put_bulk(pool, reinterpret_cast<void **>(rest), got - done);
            counters_.no_mbuf += want - done;
            report_unregistered();
            return posted;
        }
        want -= got;
        // A nearly dry pool gave a power-of-two share of the request (take_mbufs halves
        // it): ask again for the rest, so that no mbuf stays in the pool while slots are
        // empty. Only a pool that gives nothing ends the refill early.
        if (got == 0) [[unlikely]]
            break;
    }
    counters_.no_mbuf += want;
    return posted;
}

// The common case, in a loop of its own so that its state stays in registers: CQEs with
// one packet that fits, the same flags as the previous CQE's and no tag to put back. It
// stops at the first CQE that is anything else (receive_any() takes that one) or when the
// burst is full, the CQ is empty or no posted buffer is left. CQEs and ring slots are
// walked with pointers, in spans that wrap neither ring.
inline uint32_t RxQueue::receive_simple(rte_mbuf **packets, uint32_t received, uint32_t max)
{
    gdma::CqCursor &cursor = cq_cursor_;
    rte_mbuf **const ring = ring_.data();
    const uint32_t ring_mask = ring_mask_;
    const uint32_t buffer_bytes = buffer_bytes_;
    const RxMbufWriter writer = mbuf_writer(decoded_);
    // The first two OOB words of a simple CQE: the header (type rx_ok, no vendor error)
    // and the flags of the previous decode; one 64-bit comparison tests both.
    const uint64_t simple_head =
        static_cast<uint64_t>(CqeType::rx_ok) | (static_cast<uint64_t>(decoded_.flags) << 32);
    uint32_t tail = tail_;
    rte_mbuf **out = packets + received;
    // Each simple CQE consumes one posted buffer: the burst ends at whichever runs out.
    uint32_t room = std::min(max - received, head_ - tail);
    uint64_t bytes = 0;
    while (room != 0) {
        const uint32_t slot = tail & ring_mask;
        const uint32_t span = std::min({room, cursor.until_wrap(), ring_mask + 1 - slot});
        const gdma::Cqe *cqe = &cursor.current();
        const uint32_t owner = cursor.expected_owner();
        rte_mbuf **const buffers = ring + slot;
        uint32_t n = 0;
        for (; n < span; ++n, ++cqe) {
            if (!gdma::CqCursor::ready_at(*cqe, owner))
                break;
            const uint32_t length = cqe->oob[gdma::rx_oob_word::packet_length(0)] & 0xFFFF;
            if (gdma::load_le64(cqe->oob.data()) != simple_head || length - 1 >= buffer_bytes)
                [[unlikely]]
                break;
            rte_mbuf *mbuf = buffers[n];
            writer.write(mbuf, *cqe, 0);
            out[n] = mbuf;
            bytes += length;
        }
        cursor.advance(n);
        tail += n;
        out += n;
        room -= n;
        if (n < span)
            break;
    }
    const uint32_t taken = tail - tail_;
    tail_ = tail;
    counters_.bytes += bytes;
    return received + taken;
}

// The packet of `length` bytes in the buffer at tail_, its fields written; nullptr (the
// buffer reposted) if the length cannot be in it.
rte_mbuf *RxQueue::take_buffer(uint32_t length, const DecodedFlags &decoded, const gdma::Cqe &cqe,
                               uint32_t packet)
{
    rte_mbuf *mbuf = ring_[tail_ & ring_mask_];
    ++tail_;
    if (length > buffer_bytes_) {
        repost(mbuf);
        return nullptr;
    }
    mbuf_writer(decoded).write(mbuf, cqe, packet);
    return mbuf;
}

// Any CQE at the head: coalesced ones (resuming one a full burst left in the middle),
// new flags, tags to restore, truncated frames and corrupt completions. Single-buffer
// queues come here only for what receive_simple() leaves; scattering queues (packets
// as chains, rx_scatter.cpp) for every CQE. Returns false when the burst ends here (CQ
// empty or overflowed, or the burst full mid-CQE).
template <bool kScatter>
bool RxQueue::receive_any(rte_mbuf **packets, uint32_t &received, uint32_t max)
{
    const gdma::CqSlot slot = cq_cursor_.peek();
    if (slot != gdma::CqSlot::ready) {
        if (slot == gdma::CqSlot::overflow && !overflow_logged_) {
            overflow_logged_ = true;
            ++counters_.errors;
            MANA_DRV_LOG(ERR, "port %u RX queue %u: completion queue overflow; restart the port",
                         config_.port_id, config_.queue_id);
        }
        return false;
    }
    const gdma::Cqe &cqe = cq_cursor_.current();
    const CqeType type = cqe.type();
    if (type == CqeType::rx_coalesced || type == CqeType::rx_ok) {
        const uint32_t flags = cqe.oob[gdma::rx_oob_word::flags];
        if (flags != decoded_.flags)
            decoded_ = decode(flags);
        const DecodedFlags &decoded = decoded_;
        const uint32_t limit = type == CqeType::rx_ok ? 1 : gdma::kRxPacketsPerCqe;
        uint32_t i = cqe_packet_;
        for (; i < limit; ++i) {
            uint32_t length = cqe.oob[gdma::rx_oob_word::packet_length(i)] & 0xFFFF;
            if (length == 0) {
                counters_.errors += i == 0; // a completion without a packet
                i = limit;
                break;
            }
            if (received == max)
                break;
            if (tail_ == head_) {
                ++counters_.errors; // a packet in no posted buffer: a corrupt completion
                i = limit;
                break;
            }
            rte_mbuf *mbuf = kScatter ? take_chain(length, decoded, cqe, i)
                                      : take_buffer(length, decoded, cqe, i);
            if (mbuf == nullptr) {
                ++counters_.errors; // longer than the buffers it claims to be in
                continue;
            }
            // The device always strips the tag; without the offload the application
            // expects it in the frame. Only the VLAN id is reported, so the restored tag
            // has priority 0.
            if (decoded.restore_tag && rte_vlan_insert(&mbuf) == 0) {
                mbuf->packet_type =
                    (decoded.packet_type & ~RTE_PTYPE_L2_MASK) | RTE_PTYPE_L2_ETHER_VLAN;
                length += RTE_VLAN_HLEN;
            }
            packets[received++] = mbuf;
            counters_.bytes += length;
        }
        if (i < limit) {
            cqe_packet_ = i; // out of room in the middle of a coalesced CQE
            return false;
        }
        cqe_packet_ = 0;
    } else if (type == CqeType::rx_truncated) {
        // The frame did not fit: its buffers go straight back to the device.
        ++counters_.errors;
        ++events_.rx_truncated;
        if (tail_ != head_) {
            if constexpr (kScatter) {
                repost_tail_chain();
            } else {
                rte_mbuf *mbuf = ring_[tail_ & ring_mask_];
                ++tail_;
                repost(mbuf);
            }
        }
    } else if (type != CqeType::rx_object_fence) {
        ++counters_.errors; // a completion type RX queues never get; no buffer was consumed
        MANA_DP_LOG(ERR, "port %u RX queue %u: unexpected CQE type %u", config_.port_id,
                    config_.queue_id, static_cast<unsigned>(type));
    }
    cq_cursor_.advance();
    return true;
}

template <bool kScatter>
uint16_t RxQueue::burst(rte_mbuf **packets, uint16_t max)
{
    const ProcessPort &local = process_ports[config_.port_id];
    const BurstSection section(burst_gate_);
    if (!rings_readable(halted_, local)) [[unlikely]]
        return 0;
    const uint32_t first_cqe = cq_cursor_.head();
    const uint32_t head_before = head_;
    uint32_t received = 0;
    if constexpr (kScatter) {
        // One CQE a call, until the burst is full or the CQ empty.
        while (received < max && receive_any<true>(packets, received, max)) {
        }
        if (refill_due())
            refill_chains();
    } else {
        for (;;) {
            // An empty CQ (the last burst of every busy period) goes straight to
            // receive_any(), which tells empty from overflowed.
            if (!decoded_.restore_tag && cq_cursor_.ready()) [[likely]]
                received = receive_simple(packets, received, max);
            if (received == max || !receive_any<false>(packets, received, max))
                break;
        }
        if (refill_due())
            refill();
    }
    // Reposted and refilled buffers are announced together.
    if (head_ != head_before) {
        const uint32_t head_bu = kScatter ? head_ * wqe_bu_ : head_;
        ring_doorbell(doorbell_page(local, db_page_), gdma::doorbell_offset::rq,
                      gdma::rq_doorbell(wq_id_, head_bu << gdma::kBasicUnitShift));
        ++counters_.doorbells;
    }
    counters_.completions += cq_cursor_.head() - first_cqe;
    counters_.packets += received;
    return static_cast<uint16_t>(received);
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

uint16_t rx_burst(void *queue, rte_mbuf **packets, uint16_t max)
{
    return static_cast<RxQueue *>(queue)->burst<false>(packets, max);
}

uint16_t rx_burst_scatter(void *queue, rte_mbuf **packets, uint16_t max)
{
    return static_cast<RxQueue *>(queue)->burst<true>(packets, max);
}

} // namespace mana
