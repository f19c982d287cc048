/* SPDX-License-Identifier: BSD-3-Clause */
// Wire back ends that own OS resources: a Linux TAP peer and a pcap file of what a port
// transmits.
#pragma once

#include "packet/pcap.h"
#include "packet/tap.h"

#include <cstdint>
#include <span>
#include <string>

namespace mana_emu
{

class FrameTap
{
  public:
    FrameTap() = default;
    FrameTap(const FrameTap &) = delete;
    FrameTap &operator=(const FrameTap &) = delete;
    ~FrameTap();
    // 0 or a negative errno.
    int open(const std::string &ifname);
    bool write(std::span<const uint8_t> frame) { return device_.write(frame); }
    // One frame, or a negative errno (-EAGAIN when none is waiting).
    ssize_t read(std::span<uint8_t> buffer) { return device_.read(buffer); }

  private:
    packet::TapDevice device_;
    bool counted_ = false;
};

class PcapSink
{
  public:
    bool open(const std::string &path) { return writer_.open(path); }
    void write(std::span<const uint8_t> frame) { writer_.write(frame); }
    const std::string &error() const { return writer_.error(); }

  private:
    packet::PcapWriter writer_;
};

} // namespace mana_emu
