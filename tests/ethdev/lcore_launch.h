/* SPDX-License-Identifier: BSD-3-Clause */
// rte_eal_remote_launch / rte_eal_wait_lcore with the "worker returned" edge made visible
// to ThreadSanitizer.
//
// Launching is seen by TSan: librte_eal wakes the worker through a pipe, and TSan's
// read/write interceptors order the two ends. Waiting is not: rte_eal_wait_lcore() spins
// on an acquire load of lcore_config[].state that the worker's EAL thread loop stores
// with release, both in Debian's uninstrumented librte_eal, so without help TSan reports
// every result the worker wrote (and every driver field its bursts touched) that the
// main lcore reads after the wait. The worker's function is wrapped to release on return,
// and the waiter acquires after the wait returns: exactly the ordering rte_eal_wait_lcore
// guarantees. Without ThreadSanitizer these are plain launch and wait.
#pragma once

#include <rte_launch.h>
#include <rte_lcore.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace lcore_launch
{

struct Job {
    lcore_function_t *function = nullptr;
    void *arg = nullptr;
};

inline Job jobs[RTE_MAX_LCORE];

inline int run_job(void *arg)
{
    auto *job = static_cast<Job *>(arg);
    const int rc = job->function(job->arg);
#if defined(__SANITIZE_THREAD__)
    __tsan_release(job);
#endif
    return rc;
}

// rte_eal_remote_launch(function, arg, lcore).
inline int launch(lcore_function_t *function, void *arg, unsigned lcore)
{
    jobs[lcore] = Job{function, arg};
    return rte_eal_remote_launch(run_job, &jobs[lcore], lcore);
}

// rte_eal_wait_lcore(lcore), after which everything the job did is visible.
inline int wait(unsigned lcore)
{
    const int rc = rte_eal_wait_lcore(lcore);
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(&jobs[lcore]);
#endif
    return rc;
}

// rte_eal_mp_wait_lcore() for jobs started with launch().
inline void wait_all()
{
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore)
    {
        wait(lcore);
    }
}

} // namespace lcore_launch
