/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CLUSTER_H
#define ELIG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_db.h"

/**
 * @file
 * An eligd node of a cluster: its store is fed by the cluster's replicated
 * stream (elig_stream, NATS JetStream), not by its own admin socket.
 *
 * Updates sent to any node (ADMIN_APPEND) are published to the stream as one
 * message per chunk, with the chunk's id as the message id, and acknowledged
 * once JetStream has them on a quorum of its replicas and this node has
 * applied them. Every node runs an applier thread that reads the stream in
 * order from the position it has applied and hands each chunk to its store
 * (elig_db_submit_chunk(): its own log, its own index, its own snapshots),
 * so every node applies the same chunks in the same order and holds the
 * same records. A message that is not an update chunk is reported with its
 * stream sequence and skipped, never applied in part.
 *
 * The position applied is kept in DATA/stream-position (written aside,
 * synced, renamed) every 256 chunks and on stop; after a crash the chunks
 * applied since are delivered again and recognised by their ids (the
 * store's table of recent chunks holds 1,024), so none is applied twice.
 */

/** Cluster parameters. Zero in an optional field picks the default shown. */
struct elig_cluster_params {
    const char *servers;  /**< NATS URLs, comma-separated */
    const char *stream;   /**< optional: the stream's name (default "ELIGD") */
    int replicas;         /**< optional: its replicas when this node makes it (default 3) */
    struct elig_db *db;   /**< the node's store: chunks are applied to it */
    const char *data_dir; /**< where the position file is kept (the store's directory) */
};

/** A running node's link to the cluster (opaque). */
struct elig_cluster;

/**
 * Connect, read the position, start the applier.
 * @param err one line on failure
 * @return 0 and *out; -EINVAL (a damaged position file: named in err);
 *         the errors of elig_stream_open(); -ENOMEM; -errno.
 */
int elig_cluster_start(const struct elig_cluster_params *p, struct elig_cluster **out, char *err,
                       size_t err_size);

/**
 * Stop the applier (after the chunk it is applying), write the position,
 * disconnect, free. NULL is a no-op.
 */
void elig_cluster_stop(struct elig_cluster *c);

/**
 * Publish an ADMIN_APPEND body (its events already checked) as one chunk
 * with id, and wait until this node has applied it (at most timeout_ms).
 * @param seq its stream sequence
 * Publishing is tried again (with the same id: stored once) through an
 * election of the stream's leader, for up to timeout_ms in all.
 * @return 0; -ETIMEDOUT (not acknowledged, or not applied here in time: send
 *         it again with the same id, it is stored once); the errors of
 *         elig_stream_publish(); -ENOMEM. Thread-safe.
 */
int elig_cluster_append(struct elig_cluster *c, const uint8_t *body, size_t len,
                        const uint8_t id[16], int timeout_ms, uint64_t *seq);

/** What a node knows of its place in the stream. */
struct elig_cluster_state {
    uint64_t applied;   /**< the last stream sequence applied here */
    uint64_t pending;   /**< messages of the stream after it, as last heard (its lag) */
    uint64_t malformed; /**< messages skipped: not update chunks */
    int error;          /**< the store's last refusal (-errno; 0: none): the applier retries */
};

/** Where it is. Thread-safe. */
void elig_cluster_state(const struct elig_cluster *c, struct elig_cluster_state *st);

/**
 * Whether this node must not answer checks: the stream holds more than
 * max_lag messages past what it applied, or it has not heard from the
 * stream for 5 s (cut off, it cannot know how far behind it is). One
 * atomic read each: called for every frame with checks. Thread-safe.
 */
bool elig_cluster_behind(const struct elig_cluster *c, uint64_t max_lag);

#endif
