/* SPDX-License-Identifier: MIT */
#ifndef ELIG_LOG_H
#define ELIG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The append log: every update, durable before it is acknowledged, in LSN
 * order (1, 2, 3, ... with no gap).
 *
 * A log is a directory of segment files named log-<first LSN, 20 digits>.eld.
 * Each starts with a 64-byte header (magic "ELIGLOG1", version, first LSN,
 * creation time, the store's id at bytes 32-47 (zeros: none), CRC32C)
 * followed by records:
 *
 *   offset size
 *        0    4  payload length, little-endian (1 .. ELIG_LOG_PAYLOAD_MAX)
 *        4    4  CRC32C of bytes 8.. of the record (LSN, kind, flags, payload)
 *        8    8  LSN
 *       16    2  kind (enum elig_event_kind for updates)
 *       18    2  flags: ELIG_LOG_F_CONT on every record of a unit but its last
 *       20    n  payload
 *
 * The records of one elig_log_append_batch() call form a unit: readers see
 * all of a unit or none of it (a unit whose last record is missing ends the
 * log before its first record).
 *
 * Appends from any number of threads are gathered into one write linked to
 * one fdatasync through io_uring (group commit); elig_log_append() returns
 * only after the sync that covers its record. A failed write or sync is
 * fatal: the log refuses every later append with the same error and never
 * retries (after a failed fsync the kernel may have dropped the data).
 *
 * Opening checks the newest file's records (length, CRC, LSN sequence) and
 * the other files' headers; the first record that fails marks the tail. A
 * torn tail (in the newest file, with no valid record after it: what an
 * interrupted or refused write leaves, never acknowledged) is cut and
 * reported. Anything else (a bad record with good ones after it, a bad older
 * file) is corruption: refused, or truncated away if the caller asks. Older
 * records are checked when they are read (elig_log_scan), so a warm start
 * does not read the whole log.
 */

#define ELIG_LOG_HEADER_SIZE 64
#define ELIG_LOG_RECORD_HEAD 20
#define ELIG_LOG_PAYLOAD_MAX (1u << 20)
#define ELIG_LOG_F_CONT      0x0001 /**< record flag: the unit goes on after this record */

/** What to do with a torn or corrupt tail found at open. */
enum elig_log_tail_policy {
    ELIG_LOG_TAIL_REFUSE = 0,   /**< cut a torn tail; corruption: -ELIG_ELOGTAIL, nothing changed */
    ELIG_LOG_TAIL_TRUNCATE = 1, /**< cut the log at the last good unit, whatever lies beyond */
};

/** Why a scan stopped before the end of the files. */
enum elig_log_stop {
    ELIG_LOG_STOP_END = 0,     /**< clean end: nothing follows the last record */
    ELIG_LOG_STOP_SHORT_HEAD,  /**< fewer bytes left than a record header */
    ELIG_LOG_STOP_ZERO_LENGTH, /**< a record of length 0 (unwritten space) */
    ELIG_LOG_STOP_LENGTH,      /**< length above the maximum, or past the end of the file */
    ELIG_LOG_STOP_CRC,         /**< CRC32C mismatch */
    ELIG_LOG_STOP_LSN_GAP,     /**< LSN above the next expected one */
    ELIG_LOG_STOP_LSN_BACK,    /**< LSN at or below the previous one */
    ELIG_LOG_STOP_FILE_HEADER, /**< a segment file whose header is short or corrupt */
    ELIG_LOG_STOP_FILE_LSN,    /**< a segment file that does not start where the last ended */
    ELIG_LOG_STOP_UNIT,        /**< a file ends inside a unit (its last record is missing) */
};

/** Where and why a scan stopped; what a truncation dropped. */
struct elig_log_tail_report {
    enum elig_log_stop stop;  /**< ELIG_LOG_STOP_END when the log ended cleanly */
    char file[64];            /**< segment file name (not the path) where it stopped */
    uint64_t offset;          /**< byte offset in that file of the first unit not whole */
    uint64_t last_lsn;        /**< LSN of the last record of the last whole unit (0: none) */
    uint64_t dropped_bytes;   /**< bytes from offset to the end of the log */
    uint64_t dropped_records; /**< good records before the bad spot, of the unit it cut */
    uint32_t dropped_files;   /**< later segment files, wholly beyond the tail */
    bool torn; /**< in the newest file with no valid record after it: never acknowledged */
    uint8_t other_id[16]; /**< -ELIG_ESTOREID: the store id in that file's header */
};

/** Open parameters. */
struct elig_log_params {
    const char *dir;                /**< directory of the segment files (created if missing) */
    uint64_t segment_bytes;         /**< start a new file past this size (default 64 MiB) */
    uint32_t commit_window_us;      /**< how long a sync waits to gather more appends (0) */
    enum elig_log_tail_policy tail; /**< what to do with a bad tail */
    const uint8_t *store_id;        /**< ELIG_LOG_STORE_ID bytes stamped into new files; a file
                                         stamped with another id is refused (NULL: none) */
};

#define ELIG_LOG_STORE_ID 16

/** An open log (opaque). */
struct elig_log;

/** Called by elig_log_scan() for each good record, in LSN order; nonzero stops the scan. */
typedef int (*elig_log_record_fn)(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *payload,
                                  size_t len);

/**
 * Open (or create) the log in p->dir for appending, after checking it.
 *
 * @param report if not NULL, where the scan stopped and what was dropped
 * One process at a time may have a log open for appending: the directory's
 * LOCK file is held with flock(2) while it is open. Scanning needs no lock.
 *
 * @return 0 and *out set (a torn tail cut: report->torn); -EBUSY if another
 *         process (or view) has it open; -ELIG_ESTOREID if a file was
 *         stamped with another store's id (report->file names it); -ELIG_ELOGTAIL if a record
 * before the end is corrupt and the policy is REFUSE (report says where); -ENOMEM; -errno of the
 * file system or io_uring_queue_init().
 */
int elig_log_open(const struct elig_log_params *p, struct elig_log **out,
                  struct elig_log_tail_report *report);

/**
 * Append one record and wait until it is durable. Thread-safe: concurrent
 * callers share one write and one fdatasync.
 *
 * @param lsn if not NULL, set to the record's LSN
 * @return 0; -EINVAL (len 0 or above ELIG_LOG_PAYLOAD_MAX); the fatal error
 *         of a failed write or sync (-ENOSPC, -EDQUOT, -EIO, -ELIG_ESHORTWRITE,
 *         ...), for this and every later append.
 */
int elig_log_append(struct elig_log *log, uint16_t kind, const void *payload, size_t len,
                    uint64_t *lsn);

/** One record for elig_log_append_batch(). */
struct elig_log_rec {
    uint16_t kind;       /**< record kind */
    const void *payload; /**< its bytes */
    size_t len;          /**< 1 .. ELIG_LOG_PAYLOAD_MAX */
};

/**
 * Append n records with consecutive LSNs as one unit and wait until all are
 * durable (a feed chunk's events: one wait, one write). After any crash a
 * reader finds all n or none. Thread-safe, like elig_log_append().
 *
 * @param first_lsn if not NULL, the LSN of recs[0]; recs[i] has first_lsn + i
 * @return 0; -EINVAL (n 0, or a length out of range: nothing appended); the
 *         log's fatal error.
 */
int elig_log_append_batch(struct elig_log *log, const struct elig_log_rec *recs, size_t n,
                          uint64_t *first_lsn);

/**
 * Make an empty log begin at lsn: a file whose first record will be lsn is
 * written (and synced), so the log reads as having ended at lsn - 1. For a
 * store whose index starts from a snapshot at lsn - 1 with no log of its own
 * (one made from another store's snapshot). Thread-safe.
 * @return 0; -EINVAL (the log is not empty, or lsn is 0); -errno of the file system.
 */
int elig_log_start_at(struct elig_log *log, uint64_t lsn);

/** The fatal error that stopped the log, or 0. Thread-safe. */
int elig_log_failed(const struct elig_log *log);

/** LSN of the last durable record (0 if none). Thread-safe. */
uint64_t elig_log_durable_lsn(const struct elig_log *log);

struct elig_lat;
/**
 * How long group commits took: each one's write and fdatasync, from submit
 * to both done (elig_lat.h's histogram). Read from any thread while the log
 * is open.
 */
const struct elig_lat *elig_log_commit_latency(const struct elig_log *log);

/** Close. Appends must have returned. NULL is ignored. */
void elig_log_close(struct elig_log *log);

/**
 * Read the log in dir from LSN from on (records below from are skipped), in
 * order, stopping at its tail. Does not change the files.
 *
 * @param report if not NULL, where the scan stopped
 * @return 0 at the tail; the callback's nonzero value; -ENOENT if dir does
 *         not exist; -errno of the file system.
 */
int elig_log_scan(const char *dir, uint64_t from, elig_log_record_fn fn, void *ctx,
                  struct elig_log_tail_report *report);

/**
 * Delete the segment files whose records all have LSNs at most upto (after a
 * snapshot covering them). The file holding the next record is kept.
 *
 * @return the number of files deleted; -errno.
 */
int elig_log_prune(const char *dir, uint64_t upto);

#ifdef ELIG_LOG_TEST_IO
/** Test builds only: where the log's batch writes and syncs go instead of io_uring. */
struct elig_log_test_io {
    int (*write)(int fd, const void *buf, size_t len, uint64_t offset); /**< 0 or -errno */
    int (*sync)(int fd);                                                /**< 0 or -errno */
};

/** Test builds only: route batch writes and syncs through io (NULL: back to io_uring). */
void elig_log_test_set_io(const struct elig_log_test_io *io);
#endif

/** "end", "short record header", ... for enum elig_log_stop. */
const char *elig_log_stop_name(enum elig_log_stop stop);

#endif
