// SPDX-License-Identifier: BSD-3-Clause
#include "tx_offload.h"

#include "byte_order.h"
#include "checksum.h"
#include "frame_layout.h"

namespace mana_emu::packet
{
namespace
{

// End of the L3 payload: from the IP length field when set and consistent, otherwise the
// end of the frame (e.g. a field left zero by software).
size_t l3_payload_end(std::span<const uint8_t> frame, const FrameLayout &layout)
{
    size_t length_field = 0;
    size_t end = 0;
    if (layout.l3 == FrameLayout::L3::ipv4) {
        length_field = load_be16(frame, layout.l3_offset + 2);
        end = layout.l3_offset + length_field;
    } else {
        length_field = load_be16(frame, layout.l3_offset + 4);
        end = layout.l3_offset + kIpv6HeaderLen + length_field;
    }
    if (length_field == 0 || end > frame.size())
        return frame.size();
    return end;
}

} // namespace

bool apply_tx_checksums(std::span<uint8_t> frame, const TxChecksumRequest &request)
{
    if (!request.ip && !request.tcp && !request.udp)
        return true; // nothing asked, nothing to check
    const auto layout = parse_frame(frame);
    if (!layout || layout->l3 == FrameLayout::L3::none)
        return false;
    const bool ipv4 = layout->l3 == FrameLayout::L3::ipv4;
    if ((request.outer_ipv4 && !ipv4) || (request.outer_ipv6 && ipv4))
        return false;
    if (request.ip && !ipv4)
        return false;
    if (request.tcp && request.udp)
        return false;

    const bool l4 = request.tcp || request.udp;
    size_t l4_end = 0;
    if (l4) {
        const auto expected = request.tcp ? FrameLayout::L4::tcp : FrameLayout::L4::udp;
        // The device finds a UDP header itself: upstream DPDK's net_mana (22.11), which ran
        // on the hardware, leaves the transport offset of a UDP request unset (whatever its
        // stack held). A TCP request must name the header's offset.
        if (layout->l4 != expected || layout->ipv4_fragment ||
            (request.tcp && request.transport_offset != layout->l4_offset) ||
            size_t{layout->l4_offset} + layout->l4_len > frame.size())
            return false;
        l4_end = l3_payload_end(frame, *layout);
        if (l4_end < size_t{layout->l4_offset} + layout->l4_len)
            return false; // the IP length ends inside the transport header
    }

    // All checks done: from here on the frame is modified.
    if (request.ip) {
        const auto header = frame.subspan(layout->l3_offset, layout->l3_len);
        store_be16(header, 10, 0);
        store_be16(header, 10, internet_checksum(header));
    }
    if (l4) {
        const auto segment = frame.subspan(layout->l4_offset, l4_end - layout->l4_offset);
        const size_t field = request.tcp ? 16 : 6;
        // The seed in the field takes part in the sum as-is: it stands for the pseudo-header.
        uint16_t checksum = internet_checksum(segment);
        if (request.udp && checksum == 0)
            checksum = 0xffff;
        store_be16(segment, field, checksum);
    }
    return true;
}

} // namespace mana_emu::packet
