/* SPDX-License-Identifier: BSD-3-Clause */
// Log types of the driver: pmd.net.mana.init (probe, configuration) and
// pmd.net.mana.driver (everything after start). Data-path logs compile out unless
// DPDK's RTE_ETHDEV_DEBUG_RX/TX are defined.
#pragma once

#include <rte_log.h>

namespace mana
{
extern int log_init;
extern int log_driver;
} // namespace mana

#define MANA_LOG_TYPE(type, level, ...) rte_log(RTE_LOG_##level, (type), "net_mana: " __VA_ARGS__)

// Control-path logs end with a newline added here so call sites read as sentences.
#define MANA_INIT_LOG(level, fmt, ...) MANA_LOG_TYPE(mana::log_init, level, fmt "\n", ##__VA_ARGS__)
#define MANA_DRV_LOG(level, fmt, ...)                                                              \
    MANA_LOG_TYPE(mana::log_driver, level, fmt "\n", ##__VA_ARGS__)

#if defined(RTE_ETHDEV_DEBUG_RX) || defined(RTE_ETHDEV_DEBUG_TX)
#define MANA_DP_LOG(level, fmt, ...) MANA_DRV_LOG(level, fmt, ##__VA_ARGS__)
#else
#define MANA_DP_LOG(level, fmt, ...)                                                               \
    do {                                                                                           \
    } while (0)
#endif
