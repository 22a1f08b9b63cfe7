/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DPORT_H
#define ELIG_DPORT_H

#include <stdint.h>

struct rte_mbuf;

/**
 * @file
 * What both ends of the UDP datapath do to a DPDK port (internal to the
 * DPDK library: elig_dpdk, the server, and elig_dpeer, the client): start
 * the EAL from an argument string, and set a port up with one mbuf pool
 * and N RX/TX queue pairs whose mbufs each hold a whole frame.
 */

struct rte_mempool;

/** An EAL started by elig_dport_eal_init() (its argv must outlive it). */
struct elig_dport_eal {
    char *args;     /* the argument string, cut into argv */
    char *argv[66]; /* "prog", up to 64 arguments, NULL */
    int argc;
};

/**
 * rte_eal_init() with eal_args split at spaces, on the calling thread
 * (which becomes the main lcore). DPDK's messages go to stderr.
 * @return 0; -EINVAL (too many arguments, or the EAL refused them); -ENOMEM.
 */
int elig_dport_eal_init(struct elig_dport_eal *e, const char *prog, const char *eal_args);
/** Free e's strings; the EAL itself lives until the process ends (see elig_dport.c). */
void elig_dport_eal_fini(struct elig_dport_eal *e);

/** A started port. */
struct elig_dport {
    uint16_t port_id;
    unsigned queues;
    unsigned mtu; /* IP MTU in effect */
    uint8_t mac[6];
    char driver[32];
    struct rte_mempool *pool;
};

/**
 * Configure and start port_id with queues RX/TX pairs (RSS over IP/UDP when
 * queues > 1 and the port offers it) and an IP MTU of at most mtu (less
 * when the port's frames are smaller).
 * @return 0; -EINVAL (no such port, too few queues); -errno of DPDK.
 */
int elig_dport_start(struct elig_dport *p, uint16_t port_id, unsigned queues, unsigned mtu,
                     const char *pool_name);

/**
 * Send n mbufs on queue q, retrying a partly refused burst a bounded number
 * of times; what the port still refuses is freed. @return mbufs sent.
 */
unsigned elig_dport_tx(uint16_t port_id, uint16_t q, struct rte_mbuf **m, unsigned n);

/** Stop and close the port, free its pool. */
void elig_dport_stop(struct elig_dport *p);

#endif
