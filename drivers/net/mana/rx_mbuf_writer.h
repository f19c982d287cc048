/* SPDX-License-Identifier: BSD-3-Clause */
// What a received packet's mbuf carries, written in two 16-byte stores.
//
// The 32 bytes from rearm_data on are, in order: data_off, refcnt, nb_segs, port,
// ol_flags (the same for every packet of a CQE's flags word) and packet_type, pkt_len,
// data_len, vlan_tci, hash.rss (the length and hash differ per packet). The first half is
// one constant; the second is the CQE's packet info words shuffled into place and merged
// with the constant packet type and tag. These are all the fields rte_pktmbuf_reset would
// set that RX uses: next is already null for an mbuf from the pool (rte_mbuf_raw_free
// requires it).
#pragma once

#include "gdma/rx_completion.h"

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mana
{

static_assert(offsetof(rte_mbuf, ol_flags) == offsetof(rte_mbuf, rearm_data) + 8 &&
                  offsetof(rte_mbuf, packet_type) == offsetof(rte_mbuf, rearm_data) + 16 &&
                  offsetof(rte_mbuf, pkt_len) == offsetof(rte_mbuf, packet_type) + 4 &&
                  offsetof(rte_mbuf, data_len) == offsetof(rte_mbuf, packet_type) + 8 &&
                  offsetof(rte_mbuf, vlan_tci) == offsetof(rte_mbuf, packet_type) + 10 &&
                  offsetof(rte_mbuf, hash.rss) == offsetof(rte_mbuf, packet_type) + 12,
              "the RX mbuf fields must be the 32 bytes from rearm_data on");
// A packet's info in the CQE: the length word, a reserved word, the hash word.
static_assert(gdma::rx_oob_word::packet_hash(0) == gdma::rx_oob_word::packet_length(0) + 2 &&
              gdma::rx_oob_word::packet_length(gdma::kRxPacketsPerCqe - 1) + 4 <=
                  gdma::kCqeOobWords);

class RxMbufWriter
{
  public:
    // `rearm`: the 8 bytes at rearm_data (data_off, refcnt, nb_segs, port).
    RxMbufWriter(uint64_t rearm, uint64_t ol_flags, uint32_t packet_type, uint16_t vlan_tci)
    {
#if defined(__SSE2__)
        head_ = _mm_set_epi64x(static_cast<int64_t>(ol_flags), static_cast<int64_t>(rearm));
        descriptor_ = _mm_set_epi32(0, static_cast<int32_t>(uint32_t{vlan_tci} << 16), 0,
                                    static_cast<int32_t>(packet_type));
        // Lanes of the shuffled CQE words that are kept: the 16-bit length twice (pkt_len,
        // data_len) and the whole hash; the length word's upper half is reserved.
        keep_ = _mm_set_epi32(-1, 0xFFFF, 0xFFFF, 0);
#else
        rearm_ = rearm;
        ol_flags_ = ol_flags;
        packet_type_ = packet_type;
        vlan_tci_ = vlan_tci;
#endif
    }

    // Packet `packet` of `cqe` into `mbuf`.
    void write(rte_mbuf *mbuf, const gdma::Cqe &cqe, uint32_t packet) const
    {
        const uint32_t *info = &cqe.oob[gdma::rx_oob_word::packet_length(packet)];
        auto *fields = reinterpret_cast<std::byte *>(mbuf) + offsetof(rte_mbuf, rearm_data);
#if defined(__SSE2__)
        // Words: length, reserved, hash, (next) -> (0), length, length, hash.
        const __m128i words = _mm_loadu_si128(reinterpret_cast<const __m128i *>(info));
        const __m128i placed = _mm_shuffle_epi32(words, _MM_SHUFFLE(2, 0, 0, 0));
        const __m128i descriptor = _mm_or_si128(_mm_and_si128(placed, keep_), descriptor_);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(fields), head_);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(fields + 16), descriptor);
#else
        const uint32_t length = info[0] & 0xFFFF;
        std::memcpy(fields, &rearm_, sizeof(rearm_));
        mbuf->ol_flags = ol_flags_;
        mbuf->packet_type = packet_type_;
        mbuf->pkt_len = length;
        mbuf->data_len = static_cast<uint16_t>(length);
        mbuf->vlan_tci = vlan_tci_;
        mbuf->hash.rss = info[2];
#endif
    }

  private:
#if defined(__SSE2__)
    __m128i head_;
    __m128i descriptor_;
    __m128i keep_;
#else
    uint64_t rearm_;
    uint64_t ol_flags_;
    uint32_t packet_type_;
    uint16_t vlan_tci_;
#endif
};

} // namespace mana
