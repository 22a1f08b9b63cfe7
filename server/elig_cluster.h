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
 *
 * A node's snapshots carry the exact position they hold (a ".stream" mark
 * beside each), from which a new node is made (elig_cluster_bootstrap()).
 * A node whose position the stream no longer reaches (its retention
 * dropped the chunks after it) is refused at start, and stops applying
 * (answering BEHIND) if it meets such a gap while running.
 */

/** Cluster parameters. Zero in an optional field picks the default shown. */
struct elig_cluster_params {
    const char *servers;  /**< NATS URLs, comma-separated */
    const char *stream;   /**< optional: the stream's name (default "ELIGD") */
    int replicas;         /**< optional: its replicas when this node makes it (default 3) */
    uint64_t max_chunks;  /**< optional: its retention in chunks (messages) when this node
                               makes it; older ones are dropped (default 0: all kept) */
    const char *data_dir; /**< the store's directory: where the position file is kept */
};

/** A running node's link to the cluster (opaque). */
struct elig_cluster;

/**
 * Connect, read the position, and check that the stream still holds every
 * message after it. Nothing is applied yet and nothing is written.
 * @param err one line on failure
 * @return 0 and *out; -ELIG_ESTREAMGAP (the stream begins past the position:
 *         err names the stream sequence a peer's snapshot must reach, see
 *         elig_cluster_bootstrap()); -EINVAL (a damaged position file: named
 *         in err; or a position past the stream's end: another stream); the errors of
 * elig_stream_open(); -ENOMEM; -errno.
 */
int elig_cluster_open(const struct elig_cluster_params *p, struct elig_cluster **out, char *err,
                      size_t err_size);

/**
 * Start the applier on the node's opened store (the store that data_dir
 * holds). Chunks are applied to it from the position on.
 * @return 0; -errno of pthread_create().
 */
int elig_cluster_start(struct elig_cluster *c, struct elig_db *db);

/**
 * Stop the applier (after the chunk it is applying), write the position,
 * disconnect, free. NULL is a no-op.
 */
void elig_cluster_stop(struct elig_cluster *c);

/**
 * Write a snapshot of the node's store (elig_db_snapshot()) with the stream
 * position it holds: the applier waits meanwhile, so the snapshot holds
 * exactly the chunks through *seq. The position is written beside it
 * (snapshot-<LSN>.stream: "<stream> <sequence>"), the mark a new node is
 * bootstrapped from; marks whose snapshot was pruned are removed.
 * @return 0, *info and *seq; the errors of elig_db_snapshot(); -errno of
 *         the mark's writing. Thread-safe.
 */
int elig_cluster_snapshot(struct elig_cluster *c, struct elig_snap_info *info, uint64_t *seq);

/**
 * Read the mark beside snapshot (its .els name with .stream).
 * @return 0, stream (NUL-terminated) and *seq; -ENOENT (no mark: not a
 *         cluster node's snapshot); -EINVAL (not a mark); -errno.
 */
int elig_cluster_mark_read(const char *snapshot, char *stream, size_t stream_size, uint64_t *seq);

/** What elig_cluster_bootstrap() made. */
struct elig_cluster_boot {
    struct elig_snap_info snap; /**< the snapshot copied into the new store */
    uint64_t seq;               /**< the stream position it holds (the node goes on after it) */
    uint64_t first, last;       /**< the stream's first and last sequence when checked */
    uint64_t capacity;          /**< the new store's capacity */
};

/**
 * Make a new node's store from a peer's snapshot (one with its mark, see
 * elig_cluster_snapshot()): DATA/store with a new id and sizes (capacity 0:
 * the larger of 1,000,000 and the snapshot's records plus a quarter), the
 * snapshot copied into DATA/snapshots as this store's, DATA/stream-position
 * at its sequence. The node then starts (eligd --cluster) cold from the
 * snapshot and applies the stream after it. Refused, with nothing written,
 * when data_dir holds a store, the snapshot has no mark or is of another
 * stream, the stream no longer holds what follows it (-ELIG_ESTREAMGAP:
 * take a newer snapshot), or it holds more records than capacity.
 * @param err one line on failure
 * @return 0 and *out; -EEXIST; -ENOENT; -EINVAL; -ELIG_ESTREAMGAP; -EFBIG
 *         (capacity); -ELIG_ESNAPSHOT (the snapshot is damaged: nothing is
 *         left of the copy); the errors of elig_stream_open(); -errno.
 */
int elig_cluster_bootstrap(const struct elig_cluster_params *p, const char *snapshot,
                           uint64_t capacity, struct elig_cluster_boot *out, char *err,
                           size_t err_size);

/**
 * Publish the events of an ADMIN_APPEND body (the count and the events,
 * already checked: elig_proto_append's events_len bytes) as one chunk with
 * id and, for a back-fill, its entry time (0: none; every node then takes
 * the time the stream stored the message, so all count the same
 * registration lag), and wait until this node has applied it (at most
 * timeout_ms).
 * @param seq its stream sequence
 * Publishing is tried again (with the same id: stored once) through an
 * election of the stream's leader, for up to timeout_ms in all.
 * @return 0; -ETIMEDOUT (not acknowledged, or not applied here in time: send
 *         it again with the same id, it is stored once); the errors of
 *         elig_stream_publish(); -ENOMEM. Thread-safe.
 */
int elig_cluster_append(struct elig_cluster *c, const uint8_t *events, size_t events_len,
                        const uint8_t id[16], int64_t entered, int timeout_ms, uint64_t *seq);

/** What a node knows of its place in the stream. */
struct elig_cluster_state {
    uint64_t applied;   /**< the last stream sequence applied here */
    uint64_t pending;   /**< messages of the stream after it, as last heard (its lag) */
    uint64_t malformed; /**< messages skipped: not update chunks */
    int error;          /**< the store's last refusal (-errno; 0: none): the applier retries;
                             -ELIG_ESTREAMGAP: messages after the position are gone from the
                             stream, the node stopped applying (bootstrap it anew) */
};

/** Where it is. Thread-safe. */
void elig_cluster_state(const struct elig_cluster *c, struct elig_cluster_state *st);

/**
 * Whether this node must not answer checks: the stream holds more than
 * max_lag messages past what it applied, it has not heard from the
 * stream for 5 s, or it found a gap in the stream (cut off, it cannot know how far behind it is).
 * One atomic read each: called for every frame with checks. Thread-safe.
 */
bool elig_cluster_behind(const struct elig_cluster *c, uint64_t max_lag);

#endif
