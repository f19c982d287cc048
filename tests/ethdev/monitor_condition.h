/* SPDX-License-Identifier: BSD-3-Clause */
// What rte_power_monitor does with a condition from rte_eth_get_monitor_addr before it
// sleeps, for tests that check whether an lcore would sleep or wake.
#pragma once

#include <rte_power_intrinsics.h>

#include <gtest/gtest.h>

#include <cstdint>

namespace ethdev_test
{

// Reads the monitored value and asks the callback whether to abort (non-zero: there is
// work, do not sleep).
inline bool would_wake(const rte_power_monitor_cond &condition)
{
    uint64_t value = 0;
    switch (condition.size) {
    case 1:
        value = __atomic_load_n(static_cast<const volatile uint8_t *>(condition.addr),
                                __ATOMIC_ACQUIRE);
        break;
    case 2:
        value = __atomic_load_n(static_cast<const volatile uint16_t *>(condition.addr),
                                __ATOMIC_ACQUIRE);
        break;
    case 4:
        value = __atomic_load_n(static_cast<const volatile uint32_t *>(condition.addr),
                                __ATOMIC_ACQUIRE);
        break;
    case 8:
        value = __atomic_load_n(static_cast<const volatile uint64_t *>(condition.addr),
                                __ATOMIC_ACQUIRE);
        break;
    default:
        ADD_FAILURE() << "size " << unsigned{condition.size} << " is not 1, 2, 4 or 8";
    }
    return condition.fn(value, condition.opaque) != 0;
}

} // namespace ethdev_test
