/* SPDX-License-Identifier: BSD-3-Clause */
// The driver's eth_dev_ops table.
#pragma once

#include <ethdev_driver.h>

namespace mana
{

const eth_dev_ops &port_ops();

} // namespace mana
