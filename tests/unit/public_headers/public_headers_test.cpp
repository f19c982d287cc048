/* SPDX-License-Identifier: BSD-3-Clause */
// The public headers compile as C and as C++ and describe the same layout in both, so a
// C application and our C++ libraries agree on every structure they exchange.
#include "layout_from_c.h"

#include <mana_emu.h>

#include <gtest/gtest.h>

#include <cstddef>

TEST(PublicHeaders, EmulatorApiLayoutIsTheSameInCAndCxx)
{
    const public_layout c = public_layout_seen_by_c();
    EXPECT_EQ(c.counters_size, sizeof(struct mana_emu_counters));
    EXPECT_EQ(c.counters_open_fds_offset, offsetof(struct mana_emu_counters, open_fds));
    EXPECT_EQ(c.port_info_size, sizeof(struct mana_emu_port_info));
    EXPECT_EQ(c.port_info_ifname_offset, offsetof(struct mana_emu_port_info, ifname));
    EXPECT_EQ(c.mode_size, sizeof(mana_emu_mode));
    EXPECT_EQ(c.api_version, MANA_EMU_API_VERSION);
}
