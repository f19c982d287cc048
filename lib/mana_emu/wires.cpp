/* SPDX-License-Identifier: BSD-3-Clause */
// Where transmitted frames go and where received frames come from: nothing, the port
// itself, another port, a capture queue, a TAP interface, pcap files.
#include "wires.h"

#include "emulator.h"
#include "log.h"
#include "resources.h"

#include <cerrno>

namespace mana_emu
{
namespace
{

constexpr size_t kMaxCapturedFrames = 65536;
constexpr unsigned kInboundBudgetPerPort = 256;
// Frames read from a TAP per pass: one burst, so that the transmit queues, drained at the
// start of every pass, keep up with what the application forwards from them. With a whole
// ring's worth per pass, an application forwarding TAP to TAP found its TX ring full (the
// emulator's thread also does the kernel's receive work when it writes to a TAP).
constexpr unsigned kTapBudgetPerPass = 32;

// Frames the kernel holds for a wire's TAP until the emulator reads them. The kernel keeps
// them in a ring of the interface's tx_queue_len (1000 unless set) and drops what does not
// fit without holding the sending stack back (a TAP orphans what it queues, so TCP's own
// queue limits do not apply). The emulator stops reading while the port has no posted
// buffer, and its thread shares the CPUs with the application's polling lcores: on a
// loaded 2-core host a TCP sender's window overran 1000 frames in those pauses (TCP
// retransmitted about 2 % of its frames). A switch port's buffering toward a VF holds more.
constexpr unsigned kTapQueueFrames = 8192;

} // namespace

FrameTap::~FrameTap()
{
    device_.close();
    if (counted_)
        open_fd_count().fetch_sub(1, std::memory_order_relaxed);
}

int FrameTap::open(const std::string &ifname)
{
    const int rc = device_.open(ifname);
    if (rc != 0)
        return rc;
    // Up, so that the kernel takes what the port sends, but without IPv6 in this namespace:
    // else the kernel sends its own router solicitations and listener reports into the
    // port before the user has moved the interface into the namespace of its peer (where
    // IPv6 is as that namespace configures it). All three best effort: without
    // CAP_NET_ADMIN the peer brings it up (and keeps the kernel's queue length).
    device_.disable_ipv6();
    device_.set_up();
    device_.set_queue_frames(kTapQueueFrames);
    counted_ = true;
    open_fd_count().fetch_add(1, std::memory_order_relaxed);
    return 0;
}

int Emulator::set_wire(unsigned index, WireMode mode, unsigned peer_index, const char *ifname)
{
    Port *port = this->port(index);
    if (port == nullptr)
        return -EINVAL;
    Port *peer = nullptr;
    if (mode == WireMode::ports) {
        peer = this->port(peer_index);
        if (peer == nullptr)
            return -EINVAL;
        if (peer == port)
            mode = WireMode::loopback;
    }
    std::unique_ptr<FrameTap> tap;
    if (mode == WireMode::tap) {
        if (ifname == nullptr)
            return -EINVAL;
        tap = std::make_unique<FrameTap>();
        if (const int rc = tap->open(ifname); rc != 0) {
            EMU_LOG(error, "port %u: cannot open TAP %s: %s", index, ifname, strerror(-rc));
            return rc;
        }
    }
    // Whoever was wired to these ports is left unplugged.
    auto unplug = [this](Port &p) {
        if (p.wire == WireMode::ports) {
            Port &other = *ports[p.peer];
            if (other.wire == WireMode::ports && other.peer == p.index)
                other.wire = WireMode::none;
        }
        p.wire = WireMode::none;
        p.tap.reset();
        p.tap_waiting.clear(); // gone with the TAP, like the frames the kernel still held
    };
    unplug(*port);
    if (peer != nullptr && mode == WireMode::ports) {
        unplug(*peer);
        peer->wire = WireMode::ports;
        peer->peer = index;
    }
    port->wire = mode;
    port->peer = peer_index;
    port->tap = std::move(tap);
    if (mode == WireMode::capture)
        port->captured.clear();
    return 0;
}

void Emulator::transmit(Port &port, std::span<const uint8_t> frame, Counters *queue)
{
    const Tally t = tally(&port, queue);
    t.add(&Counters::tx_frames);
    t.add(&Counters::tx_bytes, frame.size());
    if (port.pcap) [[unlikely]]
        port.pcap->write(frame);
    switch (port.wire) {
    case WireMode::none:
        break;
    case WireMode::loopback:
        receive(port, frame);
        break;
    case WireMode::ports:
        receive(*ports[port.peer], frame);
        break;
    case WireMode::capture:
        if (port.captured.size() >= kMaxCapturedFrames)
            port.captured.pop_front();
        port.captured.emplace_back(frame.begin(), frame.end());
        break;
    case WireMode::tap:
        if (!port.tap->write(frame)) [[unlikely]]
            ++port.wire_counters.tx_refused;
        break;
    }
}

unsigned Emulator::poll_tap(Port &port)
{
    // The kernel is a peer that can wait: a frame whose receive queue is full stays with
    // the emulator, and the TAP behind it is not read, until the driver posts buffers. So
    // a burst the driver would take a moment later is not lost, as it would be on a wire,
    // just because the emulator's thread read the TAP faster than the application polls.
    unsigned delivered = 0;
    if (!port.tap_waiting.empty()) {
        if (!receive(port, port.tap_waiting, NoBuffer::wait))
            return 0;
        port.tap_waiting.clear();
        ++delivered;
    }
    for (unsigned n = 0; n < kTapBudgetPerPass; ++n) {
        const ssize_t got = port.tap->read(tap_buffer_);
        if (got <= 0)
            break;
        const std::span<const uint8_t> frame(tap_buffer_.data(), static_cast<size_t>(got));
        if (!receive(port, frame, NoBuffer::wait)) {
            port.tap_waiting.assign(frame.begin(), frame.end());
            ++port.wire_counters.rx_waited;
            break;
        }
        ++delivered;
    }
    return delivered;
}

unsigned Emulator::poll_wires()
{
    unsigned delivered = 0;
    for (auto &owned : ports) {
        Port &port = *owned;
        if (port.stalled)
            continue;
        for (unsigned n = 0; n < kInboundBudgetPerPort && !port.inbound.empty(); ++n) {
            std::vector<uint8_t> frame = std::move(port.inbound.front());
            port.inbound.pop_front();
            receive(port, frame);
            ++delivered;
        }
        if (port.wire == WireMode::tap)
            delivered += poll_tap(port);
    }
    return delivered;
}

} // namespace mana_emu
