/* SPDX-License-Identifier: MIT */
#ifndef ELIG_STREAM_H
#define ELIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The cluster's replicated log: one NATS JetStream stream (nats.c, Debian's
 * libnats), replicated by Raft across the nats-servers, that every eligd
 * node of a cluster applies in order.
 *
 * A message is one update chunk in the codec's form (an ADMIN_APPEND body);
 * its message id (Nats-Msg-Id) is the chunk's id, so a chunk published again
 * within the stream's duplicate window is stored once. A publish returns
 * once JetStream has acknowledged the message: stored by a quorum of the
 * stream's replicas. A reader (an ordered consumer) hands the messages of
 * the stream from a sequence on, in order, each with the number still
 * pending after it (how far behind its reader is).
 *
 * Errors are negative errno values: -ECONNREFUSED (no server reachable),
 * -ETIMEDOUT (no acknowledgement, no message in time), -EAGAIN (no server
 * answered for the stream: its leader is being elected), -ENOTCONN (the
 * connection closed), -ENOENT (the stream or a sequence is not there),
 * -ENOMEM, -EIO (anything else: err says what). Thread-safe: one stream
 * handle may publish from one thread while readers read in others; one
 * reader belongs to one thread.
 */

/** How to reach the stream. Zero in an optional field picks the default shown. */
struct elig_stream_params {
    const char *servers; /**< NATS URLs, comma-separated ("nats://127.0.0.1:4222,...") */
    const char *name;    /**< optional: the stream (default "ELIGD"); its subject is
                              "<name>.updates" in lower case */
    int replicas;        /**< optional: its replicas when it is made here (default 3) */
    int timeout_ms;      /**< optional: connect, acknowledgements, stream calls (default 5000) */
    uint64_t max_msgs;   /**< optional: its retention in messages when it is made here; the
                              oldest are dropped past it (default 0: all kept) */
};

/** A connection to the stream (opaque). */
struct elig_stream;

/**
 * Connect (to any of the servers; reconnecting on its own later) and make
 * the stream if it does not exist (file storage, the replicas asked,
 * duplicates detected for 10 minutes).
 * @param err one line on failure (no data in it)
 * @return 0 and *out; the errors above.
 */
int elig_stream_open(const struct elig_stream_params *p, struct elig_stream **out, char *err,
                     size_t err_size);

/** Close (readers first). NULL is a no-op. */
void elig_stream_close(struct elig_stream *s);

/**
 * Publish one message with its id and wait for JetStream's acknowledgement.
 * @param seq       its stream sequence (the first one's, if it was a duplicate)
 * @param duplicate set when the stream had the id already (nothing was stored)
 * @return 0; -ETIMEDOUT (not acknowledged: it may or may not be stored;
 *         publishing it again with the same id is safe); the errors above.
 */
int elig_stream_publish(struct elig_stream *s, const char *msg_id, const void *data, size_t len,
                        uint64_t *seq, bool *duplicate);

/** The stream's first and last sequence (0 and 0 when empty). @return 0; the errors above. */
int elig_stream_bounds(struct elig_stream *s, uint64_t *first, uint64_t *last);

/** A reader of the stream from a sequence on (opaque). */
struct elig_stream_reader;

/** Read from sequence from (>= 1) on. @return 0 and *out; the errors above. */
int elig_stream_reader_open(struct elig_stream *s, uint64_t from, struct elig_stream_reader **out);

/**
 * The next message, waiting up to timeout_ms. *data stays valid until the
 * next call or the close.
 * @param pending messages of the stream after this one (the reader's lag)
 * @param stored  when the stream stored it, Unix seconds (the same on every reader)
 * @return 0; -ETIMEDOUT (none yet); the errors above.
 */
int elig_stream_next(struct elig_stream_reader *r, int timeout_ms, uint64_t *seq, uint64_t *pending,
                     int64_t *stored, const void **data, size_t *len);

/** Close a reader. NULL is a no-op. */
void elig_stream_reader_close(struct elig_stream_reader *r);

#endif
