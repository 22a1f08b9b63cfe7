/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SRV_H
#define ELIG_SRV_H

#include <stdbool.h>
#include <stdint.h>

#include "elig_access.h"
#include "elig_audit.h"
#include "elig_cluster.h"
#include "elig_db.h"
#include "elig_index.h"
#include "elig_live.h"
#include "elig_tls.h"

/**
 * @file
 * The io_uring server: facility workers and the admin loop (docs/protocol.md,
 * docs/operations.md). One io_uring and one SO_REUSEPORT listener per worker
 * thread; the admin loop serves a Unix socket (and optionally a loopback TCP
 * port) on its own thread and is the only caller of the store's writer side.
 */

/** Server parameters. Zero in an optional field picks the default shown. */
struct elig_bq;

struct elig_srv_params {
    const char *listen;           /**< facility port, "ADDR:PORT" (IPv4; PORT 0 = any) */
    unsigned workers;             /**< optional: worker threads (default: one per core) */
    unsigned max_conns;           /**< optional: facility connections in all (default 4096) */
    uint32_t frame_timeout_ms;    /**< optional: a started frame must complete within this
                                       (default 10000) */
    uint32_t idle_timeout_ms;     /**< optional: close connections idle this long (0: never) */
    uint64_t conn_memory;         /**< optional: bytes the buffers of all connections may hold;
                                       past it new connections get BUSY and the greediest are
                                       closed (default: 1/8 of physical memory, >= 64 MiB) */
    uint32_t drain_ms;            /**< optional: on stop, time to finish in-flight work
                                       (default 5000) */
    const char *admin_socket;     /**< admin Unix socket path (created 0600), or NULL */
    const char *admin_listen;     /**< optional admin TCP "ADDR:PORT"; must be a loopback
                                       address unless admin_any is set */
    bool admin_any;               /**< allow admin_listen on a non-loopback address */
    const uint8_t *admin_key;     /**< 32 bytes: connections to admin_listen must HELLO as
                                       "0000000000" and AUTH with it (required with
                                       admin_listen; the Unix socket's guard is its mode) */
    struct elig_db *db;           /**< the store: its index is served, admin writes go to it */
    struct elig_cluster *cluster; /**< optional: a cluster node: admin writes are published to
                                       the cluster's stream and applied from it */
    uint64_t max_lag;             /**< a cluster node: checks are answered BEHIND while the
                                       stream is more messages than this ahead of it */
    const struct elig_index *ix;  /**< optional: serve this read-only index instead of db's
                                       (no admin writes: tests, benchmarks) */
    struct elig_live *live;       /**< optional: where the served index is published, shared
                                       with other readers (the DPDK lcores); ADMIN_GROW moves
                                       them all to the grown index. NULL: made here */
    struct elig_access *access;   /**< who may ask (HELLO/AUTH), rates and caps; NULL or a
                                       trusted-network instance: no keys asked */
    const char *disaster;         /**< optional: the disaster-mode declaration's file
                                       (DATA/disaster), read again within a second of a
                                       change; NULL: LOOKUP_PERSON is always refused */
    struct elig_bq *bq;           /**< optional: appointment lists (LIST_SUBMIT, LIST_FETCH);
                                       NULL: they are answered unavailable */
    struct elig_audit *audit;     /**< optional: record every answered check (and serve
                                       POSTHOC reads from it); NULL: no audit log */
    struct elig_tls_ctx *tls;     /**< optional: the facility port speaks TLS 1.3 with this
                                       server context; a connection is admitted as the facility
                                       its client certificate names (no HELLO/AUTH needed) */
    unsigned tls_handshakes;      /**< TLS: handshakes in progress per worker; past it new
                                       connections are closed at once (default 128) */
    unsigned tls_rate;            /**< TLS: handshakes a second one source address may start,
                                       with a burst of twice as many (default 50) */
};

/** A running server (opaque). */
struct elig_srv;

/**
 * Bind the listeners and start the threads. Returns once every listener is
 * bound and every ring is set up, so a client may connect at once.
 *
 * @return 0 and *out; -EINVAL (bad address, admin on a public address
 *         without admin_any, admin_listen without admin_key, no db and no ix); -EADDRINUSE and
 * other -errno of socket(2)/bind(2)/listen(2); -errno of io_uring_queue_init().
 */
int elig_srv_start(const struct elig_srv_params *p, struct elig_srv **out);

/** The facility port actually bound (useful with PORT 0). */
uint16_t elig_srv_port(const struct elig_srv *s);
/** The admin TCP port bound, or 0. */
uint16_t elig_srv_admin_port(const struct elig_srv *s);

/**
 * Whether every loop (facility workers and admin) went round its tick, at
 * most every 100 ms, within max_age_ms: what a watchdog pings on. A loop
 * that is stuck (blocked in a call, spinning in a bug) stops ticking; the
 * admin loop inside a snapshot or a grow (minutes at the nation's size) is
 * counted alive. Thread-safe. @return -1 (all alive); the index of a loop that is not.
 */
int elig_srv_alive(struct elig_srv *s, uint64_t max_age_ms);

/** How the rings were set up: "single-issuer+defer-taskrun", "coop-taskrun" or "plain". */
const char *elig_srv_ring_mode(const struct elig_srv *s);

/**
 * Ask the server to stop: listeners close, frames already received are
 * answered, answers are sent, then connections close (at most drain_ms).
 * Async-signal-unsafe; thread-safe. Returns at once.
 */
void elig_srv_stop(struct elig_srv *s);

/** Wait for the threads to end and free the server. @return 0; the first thread error. */
int elig_srv_wait(struct elig_srv *s);

#endif
