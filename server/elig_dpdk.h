/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DPDK_H
#define ELIG_DPDK_H

#include <stdbool.h>
#include <stdint.h>

#include "elig_audit.h"
#include "elig_check.h"
#include "elig_index.h"
#include "elig_live.h"
#include "elig_udp.h"

/**
 * @file
 * eligd's kernel-bypass datapath: the protocol over UDP on a DPDK port
 * (docs/protocol.md "UDP datapath", docs/operations.md "DPDK").
 *
 * Built only when meson found libdpdk (ELIG_HAVE_DPDK); without it these
 * functions are absent and eligd refuses its --dpdk options.
 *
 * One thread calls rte_eal_init() (it becomes DPDK's main lcore) and each
 * lcore of the EAL's set serves one RX/TX queue pair of the port: receive
 * a burst, answer ARP for the address, drop and count what is not for it,
 * put every protocol frame of every datagram of the burst through one
 * elig_round (the same codec, checks and rules as TCP), send the answers
 * back to each datagram's sender. With several queues the port spreads
 * flows by RSS where it can; a memif port delivers each of its peer's
 * queues to the same-numbered queue here.
 */

/** Datapath parameters. Zero in an optional field picks the default shown. */
struct elig_cluster;

/** How to serve. */
struct elig_dpdk_params {
    const char *eal_args;     /**< EAL arguments, separated by spaces (docs/operations.md) */
    const char *addr;         /**< "A.B.C.D:PORT": the IPv4 address and UDP port served */
    uint16_t port_id;         /**< optional: the DPDK port (default 0: the first) */
    unsigned mtu;             /**< optional: IP MTU asked of the port (default 9000; the
                                   port may grant less, see elig_dpdk_info) */
    struct elig_live *live;   /**< the index served (read-only here; each lcore moves to a
                                   grown one between bursts) */
    struct elig_audit *audit; /**< optional: every answered check recorded (one writer
                                   per lcore, flushed every second) */
    const struct elig_cluster *cluster; /**< optional: a cluster node: while it is behind
                                             (elig_cluster_behind(), asked once a burst),
                                             checks are answered ELIG_PS_BEHIND */
    uint64_t max_lag;                   /**< with cluster: the lag allowed, in chunks */
};

/** Counters summed over the lcores (relaxed reads: a snapshot, not a transaction). */
struct elig_dpdk_stats {
    uint64_t rx_packets, rx_bytes;         /**< Ethernet frames received */
    uint64_t tx_packets, tx_bytes;         /**< Ethernet frames sent */
    uint64_t tx_dropped;                   /**< answers the port would not take */
    uint64_t arp_replies;                  /**< ARP requests answered */
    uint64_t dropped[ELIG_UDP_DROP_COUNT]; /**< frames dropped, by enum elig_udp_drop */
    uint64_t dropped_segmented;            /**< frames in more than one mbuf (not served) */
    uint64_t datagrams;                    /**< UDP datagrams for us */
    uint64_t frames, frames_bad;           /**< protocol frames; answered with an error */
    uint64_t frames_truncated;             /**< frames cut by the datagram's end */
    uint64_t frames_behind;                /**< checks refused BEHIND (a cluster node) */
    uint64_t answers_too_large;            /**< answers over one datagram (TOO_LARGE sent) */
    struct elig_check_counters check;      /**< checks answered, by method and answer */
};

/** What the port granted. */
struct elig_dpdk_info {
    uint8_t mac[6];     /**< the port's Ethernet address */
    uint32_t ip;        /**< served IPv4 address, host order */
    uint16_t udp_port;  /**< served UDP port */
    unsigned mtu;       /**< IP MTU in effect */
    unsigned queues;    /**< RX/TX queue pairs (= lcores) */
    const char *driver; /**< e.g. "net_memif" (valid while d runs) */
};

/** A running datapath (opaque). */
struct elig_dpdk;

/**
 * Initialise the EAL on a thread of its own, configure and start the port,
 * and start serving on every lcore. Returns once the port is started (its
 * link may come up later: a memif port waits for its peer).
 *
 * Call at most once per process (the EAL cannot be initialised twice).
 * Signals should be blocked in the caller: the EAL's threads inherit the mask.
 *
 * @return 0 and *out; -EINVAL (bad addr or EAL arguments, no such port,
 *         port without a queue per lcore); -errno of the EAL, the port or
 *         the mbuf pool (e.g. -ENOMEM).
 */
int elig_dpdk_start(const struct elig_dpdk_params *p, struct elig_dpdk **out);

/** What the port granted (valid after a successful start). */
void elig_dpdk_info(const struct elig_dpdk *d, struct elig_dpdk_info *info);

/** The counters so far. Thread-safe. */
void elig_dpdk_stats(const struct elig_dpdk *d, struct elig_dpdk_stats *st);

struct elig_pbuf;
/**
 * The UDP datapath's counters as Prometheus series (eligd_udp_*: packets,
 * bytes, drops by reason, datagrams, frames, and the checks as the TCP
 * families count them), for the metrics endpoint. Thread-safe.
 * @return 0; -ENOMEM.
 */
int elig_dpdk_metrics(const struct elig_dpdk *d, struct elig_pbuf *out);

/** Ask every lcore to stop after its current burst. Thread-safe; returns at once. */
void elig_dpdk_stop(struct elig_dpdk *d);

/**
 * Wait for the lcores (after elig_dpdk_stop()), stop and close the port,
 * clean up the EAL and free d; the final counters into *final (if not NULL).
 */
void elig_dpdk_wait(struct elig_dpdk *d, struct elig_dpdk_stats *final);

#endif
