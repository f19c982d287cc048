/* SPDX-License-Identifier: BSD-3-Clause */
/* Compiled as C11: the public headers must be valid C, and their structures must have
 * the same layout in C as in C++ (checked by the C++ side). */
#include <mana_emu.h>

#include <stddef.h>

#include "layout_from_c.h"

struct public_layout public_layout_seen_by_c(void)
{
    struct public_layout layout = {
        .counters_size = sizeof(struct mana_emu_counters),
        .counters_open_fds_offset = offsetof(struct mana_emu_counters, open_fds),
        .port_info_size = sizeof(struct mana_emu_port_info),
        .port_info_ifname_offset = offsetof(struct mana_emu_port_info, ifname),
        .mode_size = sizeof(enum mana_emu_mode),
        .api_version = MANA_EMU_API_VERSION,
    };
    return layout;
}
