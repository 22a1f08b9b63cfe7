/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CLIENT_DGRAM_H
#define ELIG_CLIENT_DGRAM_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The client library's datagram transport: protocol frames to eligd's UDP
 * datapath on a DPDK port (docs/protocol.md, "The UDP datapath"), for the
 * load generator and the benchmarks. A datagram carries whole frames; a
 * flow is a source port (the local port plus the flow's number), whose
 * answers come back to it. Ethernet, ARP and UDP stay inside (the DPDK
 * client end, elig_dpeer): callers see payloads by flow only.
 *
 * One per process (DPDK's EAL); not thread-safe: use it from the thread that
 * opened it. Built only with DPDK (ELIG_HAVE_DPDK).
 */

/** Where and how to reach eligd's datapath. Zero in an optional field picks the default. */
struct elig_client_dgram_params {
    const char *eal_args; /**< EAL arguments, separated by spaces */
    uint16_t port_id;     /**< optional: DPDK port (default 0) */
    const char *local;    /**< "A.B.C.D:PORT": this end; flow f sends from PORT + f */
    const char *server;   /**< "A.B.C.D:PORT" of eligd's datapath */
    uint32_t timeout_ms;  /**< optional: link-up and ARP wait (default 10000) */
    unsigned queues;      /**< optional: RX/TX queue pairs, as many as eligd has lcores on a
                               memif link (default 1) */
};

/** A datagram client (opaque). */
struct elig_client_dgram;

/** An answer datagram's payload (whole frames) for flow. */
typedef void (*elig_client_dgram_fn)(void *ctx, unsigned flow, const uint8_t *payload, size_t len);

/**
 * Start the port, wait for its link, find the server.
 * @return 0 and *out; -EINVAL (addresses, EAL arguments, no such port);
 *         -ETIMEDOUT (no link or no ARP answer in time); -errno of DPDK; -ENOMEM.
 */
int elig_client_dgram_open(const struct elig_client_dgram_params *p,
                           struct elig_client_dgram **out);

/** Largest payload (frames) one datagram may carry. */
size_t elig_client_dgram_max_payload(const struct elig_client_dgram *d);

/**
 * Queue one datagram of whole frames from flow.
 * @return 0; -EMSGSIZE (over elig_client_dgram_max_payload()); -ENOBUFS.
 */
int elig_client_dgram_send(struct elig_client_dgram *d, unsigned flow, const uint8_t *payload,
                           size_t len);

/** Send what is queued. @return datagrams the port refused (dropped); 0 when all went. */
unsigned elig_client_dgram_flush(struct elig_client_dgram *d);

/**
 * Receive what has come (one burst a queue); each answer datagram for one of
 * our flows goes to fn, anything else is dropped.
 * @return frames received (0: none waiting).
 */
unsigned elig_client_dgram_poll(struct elig_client_dgram *d, elig_client_dgram_fn fn, void *ctx);

/**
 * Wait (bounded) until eligd has left the link, as a memif client must
 * before it leaves itself (elig_dpeer_wait_down()).
 * @return 0; -ETIMEDOUT.
 */
int elig_client_dgram_wait_down(struct elig_client_dgram *d, uint32_t timeout_ms);

/** Stop the port, free d (NULL is ignored). */
void elig_client_dgram_close(struct elig_client_dgram *d);

#endif
