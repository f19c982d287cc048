/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LAYOUT_FROM_C_H
#define LAYOUT_FROM_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct public_layout {
    size_t counters_size;
    size_t counters_open_fds_offset;
    size_t port_info_size;
    size_t port_info_ifname_offset;
    size_t mode_size;
    int api_version;
};

struct public_layout public_layout_seen_by_c(void);

#ifdef __cplusplus
}
#endif

#endif
