/* SPDX-License-Identifier: BSD-3-Clause */
#include "log.h"

// RTE_LOG_REGISTER_SUFFIX defines the variable it names, so the names are qualified here.
namespace mana
{
RTE_LOG_REGISTER_SUFFIX(log_init, init, NOTICE);
RTE_LOG_REGISTER_SUFFIX(log_driver, driver, NOTICE);
} // namespace mana
