/* SPDX-License-Identifier: BSD-3-Clause */
// MANA hardware formats, ring arithmetic and RSS facts: everything the driver writes to or reads
// from device-visible memory. Header-only, no DPDK types, shared with the emulator.
#pragma once

#include "bits.h"          // IWYU pragma: export
#include "cq_cursor.h"     // IWYU pragma: export
#include "cqe.h"           // IWYU pragma: export
#include "dma_header.h"    // IWYU pragma: export
#include "doorbell.h"      // IWYU pragma: export
#include "queue_sizing.h"  // IWYU pragma: export
#include "rss_hash.h"      // IWYU pragma: export
#include "rx_completion.h" // IWYU pragma: export
#include "sge.h"           // IWYU pragma: export
#include "tx_completion.h" // IWYU pragma: export
#include "tx_oob.h"        // IWYU pragma: export
#include "wqe.h"           // IWYU pragma: export
