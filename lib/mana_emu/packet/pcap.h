// SPDX-License-Identifier: BSD-3-Clause
// Classic libpcap capture files (not pcapng), written and read without libpcap, so that
// the emulator can record its wire and tests can replay or inspect captures.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mana_emu::packet
{

inline constexpr uint32_t kLinkTypeEthernet = 1;

namespace detail
{
struct FileCloser {
    void operator()(std::FILE *file) const noexcept { std::fclose(file); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;
} // namespace detail

// Writes LINKTYPE_ETHERNET records with microsecond timestamps, in the host's byte order
// (readers detect it from the magic number). Movable, not copyable; closes on destruction.
class PcapWriter
{
  public:
    // Creates (truncates) `path` and writes the file header. On failure returns false and
    // error() says why. Frames longer than `snaplen` are stored truncated to it.
    bool open(const std::string &path, uint32_t snaplen = kDefaultSnaplen);
    // Appends one record; flushed at once so that a capture can be read while it is being
    // written (a debugging aid matters more than the speed here).
    bool write(std::span<const uint8_t> frame,
               std::chrono::system_clock::time_point timestamp = std::chrono::system_clock::now());
    void close() { file_.reset(); }
    bool is_open() const { return file_ != nullptr; }
    const std::string &error() const { return error_; }

    static constexpr uint32_t kDefaultSnaplen = 262144;

  private:
    detail::UniqueFile file_;
    uint32_t snaplen_ = kDefaultSnaplen;
    std::string error_;
};

struct PcapRecord {
    std::chrono::nanoseconds timestamp; // since the Unix epoch
    uint32_t original_length;           // on the wire; data may be shorter (snaplen)
    std::vector<uint8_t> data;
};

// Reads classic pcap files of either byte order, with microsecond (0xa1b2c3d4) or
// nanosecond (0xa1b23c4d) timestamps. Movable, not copyable; closes on destruction.
class PcapReader
{
  public:
    // Opens `path` and checks the file header; false with error() set if it is not pcap.
    bool open(const std::string &path);
    // The next frame's captured bytes; nullopt at the end of the file or on a truncated or
    // implausible record (then error() is non-empty).
    std::optional<std::vector<uint8_t>> next();
    std::optional<PcapRecord> next_record();
    void close() { file_.reset(); }

    uint32_t link_type() const { return link_type_; }
    uint32_t snaplen() const { return snaplen_; }
    bool nanosecond_timestamps() const { return nanoseconds_; }
    bool byte_swapped() const { return swapped_; }
    const std::string &error() const { return error_; }

  private:
    uint32_t to_host(uint32_t value) const;

    detail::UniqueFile file_;
    bool swapped_ = false;
    bool nanoseconds_ = false;
    uint32_t link_type_ = 0;
    uint32_t snaplen_ = 0;
    std::string error_;
};

} // namespace mana_emu::packet
