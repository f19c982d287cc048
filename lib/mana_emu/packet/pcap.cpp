// SPDX-License-Identifier: BSD-3-Clause
#include "pcap.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mana_emu::packet
{
namespace
{

constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4;
constexpr uint32_t kMagicNanoseconds = 0xa1b23c4d;
constexpr uint16_t kVersionMajor = 2;
constexpr uint16_t kVersionMinor = 4;
// Records larger than this are taken as file corruption rather than allocated.
constexpr uint32_t kMaxRecordLength = 16u << 20;

// The 24-byte file header and 16-byte record header, in the writer's byte order.
struct FileHeader {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    int32_t thiszone;
    uint32_t sigfigs;
    uint32_t snaplen;
    uint32_t link_type;
};
static_assert(sizeof(FileHeader) == 24);

struct RecordHeader {
    uint32_t seconds;
    uint32_t fraction; // microseconds or nanoseconds
    uint32_t captured_length;
    uint32_t original_length;
};
static_assert(sizeof(RecordHeader) == 16);

std::string errno_text(const std::string &what)
{
    return what + ": " + std::strerror(errno);
}

} // namespace

bool PcapWriter::open(const std::string &path, uint32_t snaplen)
{
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) {
        error_ = errno_text("cannot create " + path);
        return false;
    }
    snaplen_ = snaplen == 0 ? kDefaultSnaplen : snaplen;
    const FileHeader header{kMagicMicroseconds, kVersionMajor,    kVersionMinor, 0, 0,
                            snaplen_,           kLinkTypeEthernet};
    if (std::fwrite(&header, sizeof(header), 1, file_.get()) != 1 ||
        std::fflush(file_.get()) != 0) {
        error_ = errno_text("cannot write " + path);
        file_.reset();
        return false;
    }
    error_.clear();
    return true;
}

bool PcapWriter::write(std::span<const uint8_t> frame,
                       std::chrono::system_clock::time_point timestamp)
{
    if (!file_) {
        error_ = "pcap writer is not open";
        return false;
    }
    using namespace std::chrono;
    const auto since_epoch = duration_cast<microseconds>(timestamp.time_since_epoch());
    const auto seconds_part = duration_cast<seconds>(since_epoch);
    const uint32_t captured = static_cast<uint32_t>(std::min<size_t>(frame.size(), snaplen_));
    const RecordHeader header{static_cast<uint32_t>(seconds_part.count()),
                              static_cast<uint32_t>((since_epoch - seconds_part).count()), captured,
                              static_cast<uint32_t>(frame.size())};
    if (std::fwrite(&header, sizeof(header), 1, file_.get()) != 1 ||
        (captured > 0 && std::fwrite(frame.data(), captured, 1, file_.get()) != 1) ||
        std::fflush(file_.get()) != 0) {
        error_ = errno_text("cannot write pcap record");
        return false;
    }
    return true;
}

uint32_t PcapReader::to_host(uint32_t value) const
{
    return swapped_ ? __builtin_bswap32(value) : value;
}

bool PcapReader::open(const std::string &path)
{
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
        error_ = errno_text("cannot open " + path);
        return false;
    }
    FileHeader header{};
    if (std::fread(&header, sizeof(header), 1, file_.get()) != 1) {
        error_ = path + ": too short for a pcap file header";
        file_.reset();
        return false;
    }
    switch (header.magic) {
    case kMagicMicroseconds:
        swapped_ = false;
        nanoseconds_ = false;
        break;
    case kMagicNanoseconds:
        swapped_ = false;
        nanoseconds_ = true;
        break;
    case __builtin_bswap32(kMagicMicroseconds):
        swapped_ = true;
        nanoseconds_ = false;
        break;
    case __builtin_bswap32(kMagicNanoseconds):
        swapped_ = true;
        nanoseconds_ = true;
        break;
    default:
        error_ = path + ": not a classic pcap file (bad magic)";
        file_.reset();
        return false;
    }
    snaplen_ = to_host(header.snaplen);
    link_type_ = to_host(header.link_type);
    error_.clear();
    return true;
}

std::optional<PcapRecord> PcapReader::next_record()
{
    if (!file_)
        return std::nullopt;
    RecordHeader header{};
    const size_t got = std::fread(&header, 1, sizeof(header), file_.get());
    if (got != sizeof(header)) {
        if (got != 0)
            error_ = "truncated pcap record header";
        return std::nullopt;
    }
    const uint32_t captured = to_host(header.captured_length);
    if (captured > kMaxRecordLength) {
        error_ = "implausible pcap record length " + std::to_string(captured);
        return std::nullopt;
    }
    PcapRecord record;
    record.original_length = to_host(header.original_length);
    const auto fraction = std::chrono::nanoseconds(
        nanoseconds_ ? to_host(header.fraction) : uint64_t{to_host(header.fraction)} * 1000);
    record.timestamp = std::chrono::seconds(to_host(header.seconds)) + fraction;
    record.data.resize(captured);
    if (captured > 0 && std::fread(record.data.data(), captured, 1, file_.get()) != 1) {
        error_ = "truncated pcap record data";
        return std::nullopt;
    }
    return record;
}

std::optional<std::vector<uint8_t>> PcapReader::next()
{
    auto record = next_record();
    if (!record)
        return std::nullopt;
    return std::move(record->data);
}

} // namespace mana_emu::packet
