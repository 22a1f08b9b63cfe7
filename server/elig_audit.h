/* SPDX-License-Identifier: MIT */
#ifndef ELIG_AUDIT_H
#define ELIG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The audit log: every answered check, kept so that the facility that made
 * it can read its answer again (the post-hoc read, until the end of the
 * following month) and nobody else can, and then forgotten.
 *
 * Each answering thread has a writer that buffers its records (reference
 * number, time, facility, opcode, validity, the answer's encoded bytes) and
 * writes them as blocks: a clear header (the block's reference range and
 * size, nothing about persons) and the records encrypted and authenticated
 * together (AES-256-GCM where the CPU has AES instructions, XChaCha20-
 * Poly1305 elsewhere) under the audit key, a random key kept in
 * DIR/audit.key (mode 0600). Encrypting whole blocks keeps the cost per
 * check to a copy and a fraction of a cycle of cipher per byte. Files are
 * per month (local time) and per writer: DIR/YYYYMM-wNNN.audit.
 *
 * A writer writes its blocks through its own io_uring, full ones with
 * direct I/O where the file system has it: the answering thread seals a
 * block and goes on while the disk takes it (it waits only when all of its
 * block buffers are still being written), and syncs are asynchronous too.
 *
 * A read by reference finds the block in an in-memory index of the blocks
 * written (rebuilt from the headers at open), decrypts it, and answers only
 * if the record's facility is the reader's. A record is readable once its
 * block is written: eligd starts a write at least once a second;
 * elig_audit_flush() writes and waits.
 *
 * Thread safety: one writer per thread; reads, pruning and opening writers
 * are safe from any thread (the index has a mutex, taken once per block
 * written and per read).
 */

#define ELIG_AUDIT_ANSWER_MAX 4096 /**< largest answer bytes one record keeps */

/** An audit log (opaque). */
struct elig_audit;
/** One thread's writer (opaque). */
struct elig_audit_writer;

/**
 * Open (creating) the audit directory: the key (made on first use), the
 * index of the blocks already written. Months before the previous one (at
 * now, Unix seconds) are pruned.
 * @return 0 and *out; -ELIG_EAUDIT (a damaged file or key; named in the
 *         log); -ENOMEM; -errno of the file system.
 */
int elig_audit_open(const char *dir, int64_t now, struct elig_audit **out);
/** Close (every writer must be closed first). */
void elig_audit_close(struct elig_audit *a);

/**
 * A writer for thread id (0..255, one per answering thread).
 * @return 0; -ENOMEM; -errno of io_uring_queue_init (e.g. -EPERM where
 *         io_uring is disabled).
 */
int elig_audit_writer_open(struct elig_audit *a, unsigned id, struct elig_audit_writer **out);
/**
 * Write what is buffered, wait for every write, fdatasync, close.
 * @return 0; -errno of a write or the sync (its records are lost).
 */
int elig_audit_writer_close(struct elig_audit_writer *w);

/**
 * Record one answered check (buffered; a full buffer is sealed and its
 * write started first, which waits only while all block buffers are being
 * written).
 * @param answer the answer as encoded on the wire (elig_proto_answer_encode)
 * @return 0; -errno of a write that failed since the last call (its block
 *         is written again by the next elig_audit_write or flush); -errno
 *         when no block buffer can be had because writes keep failing (this
 *         record is not kept).
 */
int elig_audit_record(struct elig_audit_writer *w, uint64_t reference, int64_t now,
                      const char facility[10], uint8_t opcode, uint8_t validity,
                      const uint8_t *answer, size_t len);

/**
 * Seal the buffered records into a block and start writing it, and write
 * again the blocks whose write failed; does not wait for the disk.
 * @return 0; -errno of a write or sync that failed since the last call.
 */
int elig_audit_write(struct elig_audit_writer *w);
/**
 * Like elig_audit_write, then wait until every block of this writer is
 * written: its records are readable when it returns.
 * @return 0; -errno of a write that failed (the block is kept and written
 *         again by the next call).
 */
int elig_audit_flush(struct elig_audit_writer *w);
/**
 * Start an fdatasync of the writer's file: after the writes started
 * before it, and before those started after it; does not wait.
 * @return 0; -errno of a write or sync that failed since the last call.
 */
int elig_audit_sync(struct elig_audit_writer *w);

/** A record read back. */
struct elig_audit_entry {
    int64_t time;                          /**< when the check was answered (Unix seconds) */
    uint8_t opcode;                        /**< the request's opcode */
    uint8_t validity;                      /**< the validity code answered */
    uint16_t len;                          /**< bytes of answer */
    uint8_t answer[ELIG_AUDIT_ANSWER_MAX]; /**< the answer as it was sent */
};

/**
 * The record of reference, if facility made it.
 * @return 0 and *out; -ENOENT (no such reference, another facility's, or
 *         pruned: one answer for all three); -ELIG_EAUDIT (a block failed
 *         authentication: tampered or damaged); -errno of the read.
 */
int elig_audit_read(struct elig_audit *a, uint64_t reference, const char facility[10],
                    struct elig_audit_entry *out);

/**
 * Delete the months before the previous one as of now (Unix seconds):
 * records are kept until the end of the month after their own.
 * @return files deleted; -errno.
 */
int elig_audit_prune(struct elig_audit *a, int64_t now);

#endif
