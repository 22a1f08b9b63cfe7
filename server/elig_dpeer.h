/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DPEER_H
#define ELIG_DPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_udp.h"

/**
 * @file
 * The client end of eligd's UDP datapath on a DPDK port: what the load
 * generator and the tests use to talk to eligd over memif (or a NIC).
 *
 * elig_dpeer_open() initialises the EAL on the calling thread (which
 * becomes DPDK's main lcore), starts the port with one or more RX/TX queue
 * pairs (a memif peer needs as many as eligd has lcores), all driven by
 * this one thread,
 * waits (bounded) for the link and learns the server's MAC by ARP. Then
 * datagrams go out with elig_dpeer_send() (UDP to the server) or
 * elig_dpeer_send_raw() (any bytes: tests of malformed traffic), and come
 * back through elig_dpeer_poll().
 *
 * One peer per process (the EAL's rule); not thread-safe: use it from the
 * thread that opened it. Built only with DPDK (ELIG_HAVE_DPDK).
 */

/** Peer parameters. Zero in an optional field picks the default shown. */
struct elig_dpeer_params {
    const char *eal_args; /**< EAL arguments, separated by spaces */
    uint16_t port_id;     /**< optional: DPDK port (default 0) */
    const char *local;    /**< "A.B.C.D:PORT": this end's address; PORT is the first source
                               port (elig_dpeer_send's sport is relative to it) */
    const char *server;   /**< "A.B.C.D:PORT" of eligd's datapath */
    uint32_t timeout_ms;  /**< optional: link-up and ARP wait (default 10000) */
    unsigned queues;      /**< optional: RX/TX queue pairs, 1..ELIG_DPEER_MAX_QUEUES (default 1);
                               source port p is sent on queue p mod queues */
};

#define ELIG_DPEER_MAX_QUEUES 16

/** A received Ethernet frame, parsed when it is UDP or ARP for us. */
typedef void (*elig_dpeer_fn)(void *ctx, int kind, const struct elig_udp_pkt *pkt,
                              const uint8_t *frame, size_t len);

/** A peer (opaque). */
struct elig_dpeer;

/**
 * Initialise the EAL, start the port, wait for its link, resolve the server.
 * @return 0 and *out; -EINVAL (addresses, EAL arguments, no such port);
 *         -ETIMEDOUT (no link or no ARP answer in time); -errno of DPDK.
 */
int elig_dpeer_open(const struct elig_dpeer_params *p, struct elig_dpeer **out);

/** This end and the server as resolved (MACs included). */
void elig_dpeer_addrs(const struct elig_dpeer *d, struct elig_udp_addr *self,
                      struct elig_udp_addr *server);

/** Largest UDP payload one datagram may carry on this port. */
size_t elig_dpeer_max_payload(const struct elig_dpeer *d);

/**
 * Queue one datagram of payload to the server from local port + sport (on
 * queue sport mod queues).
 * @return 0; -EMSGSIZE (over the payload limit); -ENOBUFS (no mbuf).
 */
int elig_dpeer_send(struct elig_dpeer *d, uint16_t sport, const uint8_t *payload, size_t len);

/** Queue one raw Ethernet frame (on queue 0). @return 0; -EMSGSIZE; -ENOBUFS. */
int elig_dpeer_send_raw(struct elig_dpeer *d, const uint8_t *frame, size_t len);

/**
 * Send what is queued (bounded retries). @return frames the port refused
 * (dropped), 0 when all went.
 */
unsigned elig_dpeer_flush(struct elig_dpeer *d);

/**
 * Receive one burst from each queue and hand each frame to fn: kind is an enum
 * elig_udp_kind, or the negated drop reason for frames not for us.
 * @return frames received (0: none waiting).
 */
unsigned elig_dpeer_poll(struct elig_dpeer *d, elig_dpeer_fn fn, void *ctx);

/**
 * Wait (bounded) until the link is down: the server stopped. A memif peer
 * should let the server leave first: DPDK 22.11's memif unmaps the shared
 * rings when the other side disconnects, without waiting for a datapath
 * that may be inside a burst (docs/operations.md, "DPDK"). Returns once
 * the EAL's interrupt thread has also finished its disconnect (it frees the
 * queues there), so the port can be closed without racing it.
 * @return 0; -ETIMEDOUT (the link stayed up, or the disconnect did not end).
 */
int elig_dpeer_wait_down(struct elig_dpeer *d, uint32_t timeout_ms);

/** Stop the port, clean up the EAL, free d (NULL is fine). */
void elig_dpeer_close(struct elig_dpeer *d);

#endif
