/* SPDX-License-Identifier: BSD-3-Clause */
#include "sysfs_cleanup.h"

#include "log.h"

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace mana_emu
{
namespace fs = std::filesystem;
namespace
{

constexpr std::string_view kTreePrefix = "mana_emu_sysfs.";

struct OwnerRecord {
    long pid = 0;
    unsigned long long start_time = 0;
    unsigned long long pid_namespace = 0;
};

// Field 22 of /proc/<pid>/stat (clock ticks since boot); 0 if the process is gone. The
// fields are counted after the last ')', since the command name may contain anything.
unsigned long long start_time_of(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos)
        return 0;
    std::istringstream fields(text.substr(paren + 1));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22)
            return std::strtoull(field.c_str(), nullptr, 10);
    return 0;
}

unsigned long long pid_namespace_of_this_process()
{
    struct stat st {
    };
    return ::stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
}

std::optional<OwnerRecord> read_owner(const fs::path &tree)
{
    std::ifstream in(tree / "owner");
    OwnerRecord record;
    if (!(in >> record.pid >> record.start_time >> record.pid_namespace) || record.pid <= 0)
        return std::nullopt;
    return record;
}

// The published removal list: NUL-separated paths in a static buffer, so the signal
// handler reads only memory that never moves. `armed` is cleared while it is rewritten;
// a signal arriving then (on another thread) finds nothing to remove.
constexpr size_t kRemovalListBytes = 1 << 16;
char removal_list[kRemovalListBytes];
size_t removal_list_paths = 0;
std::atomic<bool> removal_armed{false};
pid_t removal_owner = 0;

struct sigaction previous_action[2];
constexpr int kCleanupSignals[2] = {SIGINT, SIGTERM};

void remove_published_tree()
{
    if (!removal_armed.load(std::memory_order_acquire) || removal_owner != getpid())
        return;
    const char *path = removal_list;
    for (size_t i = 0; i < removal_list_paths; ++i) {
        if (::unlink(path) != 0)
            ::rmdir(path);
        path += std::strlen(path) + 1;
    }
}

void on_cleanup_signal(int signo, siginfo_t *info, void *context)
{
    const int saved_errno = errno;
    const unsigned index = signo == SIGINT ? 0 : 1;
    const struct sigaction &previous = previous_action[index];
    if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
        previous.sa_sigaction(signo, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(signo);
    } else {
        // The default action ends the process without running exit handlers.
        remove_published_tree();
        ::signal(signo, SIG_DFL);
        ::raise(signo);
    }
    errno = saved_errno;
}

} // namespace

unsigned long long process_start_time(long pid)
{
    return start_time_of(pid);
}

std::string owner_record_of_this_process()
{
    const long pid = ::getpid();
    return std::to_string(pid) + " " + std::to_string(start_time_of(pid)) + " " +
           std::to_string(pid_namespace_of_this_process()) + "\n";
}

unsigned remove_stale_trees(const std::string &tmp_dir)
{
    const unsigned long long our_namespace = pid_namespace_of_this_process();
    unsigned removed = 0;
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(tmp_dir, error)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(kTreePrefix) || !entry.is_directory(error) || entry.is_symlink(error))
            continue;
        const auto owner = read_owner(entry.path());
        if (!owner || owner->pid_namespace != our_namespace || owner->pid == ::getpid())
            continue;
        const unsigned long long running = start_time_of(owner->pid);
        if (running != 0 && running == owner->start_time)
            continue; // the owner still runs
        std::error_code ignored;
        if (fs::remove_all(entry.path(), ignored) > 0) {
            ++removed;
            EMU_LOG(info, "removed the fake sysfs tree %s of exited process %ld",
                    entry.path().c_str(), owner->pid);
        }
    }
    return removed;
}

void publish_tree_for_signal_cleanup(std::vector<std::string> paths)
{
    removal_armed.store(false, std::memory_order_release);
    size_t used = 0;
    for (const auto &path : paths) {
        if (used + path.size() + 1 > kRemovalListBytes) {
            EMU_LOG(info, "fake sysfs tree too large to remove from a signal handler");
            return;
        }
        std::memcpy(removal_list + used, path.c_str(), path.size() + 1);
        used += path.size() + 1;
    }
    removal_list_paths = paths.size();
    removal_owner = ::getpid();
    if (!paths.empty())
        removal_armed.store(true, std::memory_order_release);
}

void install_signal_cleanup()
{
    static std::once_flag once;
    std::call_once(once, [] {
        for (unsigned i = 0; i < 2; ++i) {
            struct sigaction current {
            };
            if (::sigaction(kCleanupSignals[i], nullptr, &current) != 0 ||
                current.sa_handler == SIG_IGN)
                continue; // ignored (nohup and the like) stays ignored
            previous_action[i] = current;
            struct sigaction ours {
            };
            ours.sa_sigaction = on_cleanup_signal;
            ours.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&ours.sa_mask);
            ::sigaction(kCleanupSignals[i], &ours, nullptr);
        }
    });
}

} // namespace mana_emu
