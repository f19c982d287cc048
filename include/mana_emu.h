/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control API of libmana_emu.so, a software MANA VF behind the rdma-core API.
 *
 * The emulator is loaded ahead of rdma-core (LD_PRELOAD=libmana_emu.so, or linked before
 * libibverbs in an executable). It then answers the ibv_* and manadv_* calls of any MANA
 * poll-mode driver and publishes a fake PCI sysfs tree (SYSFS_PCI_DEVICES) so that DPDK's
 * EAL finds the emulated functions.
 *
 * Everything here may be called from C or C++. Functions returning int return 0 on
 * success and a negative errno value on failure, and never abort.
 *
 * Ports are numbered globally in configuration order: port 0 is the first IB port of the
 * first VF, then the rest of that VF's ports, then the next VF's ports.
 */
#ifndef MANA_EMU_H
#define MANA_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: mana_emu_set_doorbells, mana_emu_wire_counters, MANA_EMU_REPORT. */
#define MANA_EMU_API_VERSION 3

/* ---- Topology ---------------------------------------------------------------------------
 * Configured once, before the first ibv_get_device_list() (so before rte_eal_init()), either
 * by the MANA_EMU_CONFIG environment variable or by mana_emu_configure() with the same text.
 * Syntax is documented in doc/guides/emulator.rst. With no configuration: one VF at
 * 7870:00:00.0 with two ports, MACs 00:15:5d:78:70:00 and 00:15:5d:78:70:01, port 0 wired
 * to port 1.
 */
int mana_emu_configure(const char *config);

/* Number of emulated ports (all VFs). */
unsigned int mana_emu_port_count(void);

struct mana_emu_port_info {
    char pci_bdf[16];     /* "DDDD:BB:DD.F" of the VF or PF */
    unsigned int ib_port; /* 1-based port of that function's RDMA device */
    uint8_t mac[6];
    char ifname[16]; /* kernel netdev name the emulated sysfs tree shows */
};
int mana_emu_port_info(unsigned int port, struct mana_emu_port_info *info);

/* Directory of the fake PCI sysfs tree (what SYSFS_PCI_DEVICES is set to). */
const char *mana_emu_sysfs_pci_dir(void);

/* A DPDK secondary process's emulator joins the device of its primary (API version 3):
 * the process of its file prefix (--file-prefix, or MANA_EMU_FILE_PREFIX) that opened an
 * emulated device first. It then uses that process's sysfs tree and configuration, makes
 * no TAPs or netdevs, and refuses ibv_open_device (EOPNOTSUPP): verbs objects live in the
 * primary. A process is a secondary by --proc-type=secondary (or auto, with a primary
 * running) or MANA_EMU_PROCESS=secondary. Returns the primary's pid, or 0 when this
 * process emulates a device of its own. */
long mana_emu_joined_primary(void);

/* ---- Running the device model -------------------------------------------------------------
 * Threaded mode (the default, or MANA_EMU_MODE=threaded): a background thread consumes
 * doorbells and does all device work. Step mode (MANA_EMU_MODE=step, or
 * mana_emu_set_mode(MANA_EMU_STEP)): nothing happens until mana_emu_poll(), which makes
 * tests deterministic.
 */
enum mana_emu_mode {
    MANA_EMU_STEP = 0,
    MANA_EMU_THREADED = 1,
};
int mana_emu_set_mode(enum mana_emu_mode mode);
enum mana_emu_mode mana_emu_get_mode(void);

/* How the device learns of doorbell writes (doc/guides/emulator.rst, "Doorbells"):
 * trapped (the default, or MANA_EMU_DOORBELLS=trapped) sees every write, as hardware does,
 * by mapping the driver's doorbell pages read-only and completing each store in a SIGSEGV
 * handler; sampled (MANA_EMU_DOORBELLS=sampled) maps them writable and compares the slots
 * on each pass of the model: a doorbell then costs the driver one store, as on hardware,
 * but two writes to one slot between two passes merge. Applies to devices opened after
 * the call. */
enum mana_emu_doorbells {
    MANA_EMU_DOORBELLS_TRAPPED = 0,
    MANA_EMU_DOORBELLS_SAMPLED = 1,
};
int mana_emu_set_doorbells(enum mana_emu_doorbells how);

/* Step mode: do all pending device work (doorbells, TX, wires, RX delivery) until the
 * device is idle. Returns the number of work items done (WQEs consumed + frames
 * delivered). */
unsigned int mana_emu_poll(void);

/* ---- Wires --------------------------------------------------------------------------------
 * What a port transmits goes to its wire; frames arrive on a port from its wire. A port has
 * one wire at a time; setting a new one replaces the old.
 */
int mana_emu_wire_none(unsigned int port);                    /* transmitted frames are dropped */
int mana_emu_wire_loopback(unsigned int port);                /* a port receives what it sends */
int mana_emu_wire_ports(unsigned int a, unsigned int b);      /* a <-> b, any VFs */
int mana_emu_wire_tap(unsigned int port, const char *ifname); /* Linux TAP peer */
int mana_emu_wire_capture(unsigned int port);                 /* kept for mana_emu_capture() */
/* Append every frame the port transmits to a pcap file (in addition to its wire). */
int mana_emu_pcap_capture(unsigned int port, const char *path);
/* Inject every frame of a pcap file into the port as if received from the wire. */
int mana_emu_pcap_replay(unsigned int port, const char *path);

/* A frame arrives at the port from the wire (RSS, checksum checks, VLAN strip apply). */
int mana_emu_inject(unsigned int port, const void *frame, size_t len);

/* Next frame the port transmitted while wired to capture: copies up to cap bytes and
 * returns the frame length, 0 when there is none, negative errno on error. */
ssize_t mana_emu_capture(unsigned int port, void *buf, size_t cap);

/* ---- Faults -------------------------------------------------------------------------------*/

/* Fail calls of one verb ("ibv_create_cq", "ibv_reg_mr", "manadv_init_obj", ...; "*" for
 * any verb): skip the next `skip` calls, then fail `count` calls with errno `err`. */
int mana_emu_fail_verb(const char *verb, unsigned int skip, unsigned int count, int err);
/* Calls of any verb made so far (to find the k-th call of a sequence). */
uint64_t mana_emu_verb_calls(void);
/* Clear every pending verb fault. */
void mana_emu_clear_faults(void);

/* The next `count` TX WQEs the port processes complete with this CQE type (33..41) and
 * send nothing. */
int mana_emu_fault_tx_error(unsigned int port, unsigned int cqe_type, unsigned int count);
/* The next `count` frames the port receives are reported as RX truncated. */
int mana_emu_fault_rx_truncated(unsigned int port, unsigned int count);
/* Write raw bytes as the next CQE of a completion queue (by its cq_id), with the owner bits
 * the device would use, so a driver sees an arbitrary or garbage completion. */
int mana_emu_write_cqe(uint32_t cq_id, const uint8_t cqe[64]);
/* Stop (stalled = 1) or resume (0) all device work of a port: doorbells are remembered,
 * nothing is processed. */
int mana_emu_stall(unsigned int port, int stalled);
/* Make the next completion written to each CQ of the port lap the driver (overflow). */
int mana_emu_force_cq_overflow(unsigned int port);
/* PCI hot-remove of a VF: its directory disappears from the fake sysfs tree, every open
 * context gets IBV_EVENT_DEVICE_FATAL on its async fd, then every verb on it fails with
 * ENODEV (destroy/close calls still succeed and release) and no more work is processed. */
int mana_emu_remove_device(const char *pci_bdf);
/* Service reset: IBV_EVENT_DEVICE_FATAL on every open context while the PCI function stays
 * in sysfs; all work stops and verbs fail with EIO (destroy/close still release). After
 * recover_ms a new ibv_open_device works again (0 = it never comes back). */
int mana_emu_device_fatal(const char *pci_bdf, unsigned int recover_ms);

/* ---- Counters -----------------------------------------------------------------------------*/
struct mana_emu_counters {
    uint64_t doorbells;
    uint64_t wqes;      /* WQEs consumed (SQ + RQ) */
    uint64_t cqes;      /* completions written */
    uint64_t tx_frames; /* frames put on the wire */
    uint64_t tx_bytes;
    uint64_t rx_frames; /* frames copied into posted buffers */
    uint64_t rx_bytes;
    uint64_t rx_drops_no_buffer;
    uint64_t rx_drops_other; /* no queue, port stopped, no RSS QP, ... */
    uint64_t tx_errors;      /* error completions written for TX */
    uint64_t rx_truncated;
    uint64_t dma_violations; /* SGE outside any MR, wrong lkey, ... */
    uint64_t wqe_violations; /* malformed WQE */
    uint64_t cq_overflows;
    uint64_t live_objects; /* verbs objects currently alive */
    uint64_t open_fds;     /* fds the emulator created and has not closed */
};

/* C++ cannot name a struct that shares its name with a function without `struct`; these
 * aliases (added compatibly in API version 1) spare C++ callers the keyword. */
typedef struct mana_emu_counters mana_emu_counters_t;
typedef struct mana_emu_port_info mana_emu_port_info_t;

/* Totals over the whole emulator. */
int mana_emu_counters(struct mana_emu_counters *out);
/* One port's share (live_objects/open_fds: objects on that port's parent domains). */
int mana_emu_port_counters(unsigned int port, struct mana_emu_counters *out);
enum mana_emu_queue_kind {
    MANA_EMU_QUEUE_SQ = 0,
    MANA_EMU_QUEUE_RQ = 1,
    MANA_EMU_QUEUE_CQ = 2,
};
/* Ids (sq_id / wq_id / cq_id as manadv_init_obj reports them) of the live queues of a
 * kind on a port, in creation order; returns how many there are (may exceed max). */
int mana_emu_port_queues(unsigned int port, enum mana_emu_queue_kind kind, uint32_t *ids,
                         unsigned int max);
/* One queue's share of the traffic counters. */
int mana_emu_queue_counters(enum mana_emu_queue_kind kind, uint32_t id,
                            struct mana_emu_counters *out);
/* Zero the traffic counters (not live_objects/open_fds) and the wire counters. */
void mana_emu_reset_counters(void);

/* What a port's wire did with frames, beside the device's counters (API version 2). A TAP
 * wire has flow control: a frame read from the TAP whose receive queue has no buffer posted
 * waits for one (the kernel keeps the frames behind it; when its queue is full the kernel
 * drops and counts them as the interface's TX drops), where a frame from any other wire is
 * dropped and counted in rx_drops_no_buffer, as on hardware. */
struct mana_emu_wire_counters {
    uint64_t tx_refused; /* transmitted frames the wire would not take: a TAP write failed
                          * (the interface is down, ...); also counted in tx_frames */
    uint64_t rx_waited;  /* frames from a TAP that waited for a receive buffer */
};
typedef struct mana_emu_wire_counters mana_emu_wire_counters_t;
/* Copies min(size, sizeof(struct mana_emu_wire_counters)) bytes, so that a caller built
 * with an older, shorter structure gets the fields it knows. */
int mana_emu_wire_counters(unsigned int port, struct mana_emu_wire_counters *out, size_t size);

/* MANA_EMU_REPORT=PATH: when the process exits, the emulator writes every port's counters
 * there, one "port N NAME VALUE" line each (the names of mana_emu_counters and
 * mana_emu_wire_counters, and rx_waiting: 1 while a frame read from the port's TAP waits for a
 * buffer), for a program whose counters the caller cannot query. */

#ifdef __cplusplus
}
#endif

#endif /* MANA_EMU_H */
