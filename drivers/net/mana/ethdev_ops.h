/* SPDX-License-Identifier: BSD-3-Clause */
// The driver's eth_dev_ops table.
#pragma once

#include <ethdev_driver.h>

namespace mana
{

const eth_dev_ops &port_ops();
// What a secondary process may do with a port the primary owns: read-only queries and
// statistics (all from shared memory), and closing its own attachment.
const eth_dev_ops &secondary_port_ops();

} // namespace mana
