/* SPDX-License-Identifier: BSD-3-Clause */
// The TX completion OOB.
#pragma once

#include "bits.h"
#include "cqe.h"

#include <array>
#include <cstdint>

namespace mana::gdma
{

struct TxCompletionFields {
    CompletionHeaderFields header;
    uint32_t tx_data_offset = 0;
    uint8_t tx_sgl_offset = 0;  // 5 bits
    uint32_t tx_wqe_offset = 0; // 27 bits

    friend constexpr bool operator==(const TxCompletionFields &,
                                     const TxCompletionFields &) = default;
};

constexpr std::array<uint32_t, kCqeOobWords> encode_tx_completion(const TxCompletionFields &f)
{
    std::array<uint32_t, kCqeOobWords> w{};
    w[0] = encode_completion_header(f.header);
    w[1] = f.tx_data_offset;
    w[2] = put_bits(f.tx_sgl_offset, 0, 5) | put_bits(f.tx_wqe_offset, 5, 27);
    return w;
}

constexpr TxCompletionFields decode_tx_completion(const std::array<uint32_t, kCqeOobWords> &w)
{
    return TxCompletionFields{
        .header = decode_completion_header(w[0]),
        .tx_data_offset = w[1],
        .tx_sgl_offset = static_cast<uint8_t>(get_bits(w[2], 0, 5)),
        .tx_wqe_offset = get_bits(w[2], 5, 27),
    };
}

} // namespace mana::gdma
