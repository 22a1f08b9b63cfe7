/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DB_H
#define ELIG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_chunk.h"
#include "elig_index.h"
#include "elig_lag.h"
#include "elig_log.h"
#include "elig_snap.h"
#include "elig_store.h"
#include "elig_update.h"

/**
 * @file
 * The durable store: the append log and the shared index kept in step. It
 * is what the writer process (eligd, or eligctl when no server runs) opens:
 *
 *   start-up  warm: the segment exists, validates, was not left mid-change
 *             and is not ahead of the log -> reattach it and replay only the
 *             log after its applied LSN;
 *             cold: otherwise -> a new segment from the newest good
 *             snapshot and the log after it;
 *   submit    events -> log (durable, acknowledged after fdatasync) ->
 *             applied to the index in LSN order; events the update model
 *             refuses are written to the reject file with their reason.
 *
 * Layout of data_dir: store (identity and parameters, elig_store), log/
 * (elig_log segment files), snapshots/ (elig_snap files), chunks (the
 * results of recent chunks, elig_chunk), lag (the registration lag of the
 * log snapshots have pruned, elig_lag) and rejects.tsv (one line per refused
 * event: LSN, kind, sending insurer, reason; never the event's personal data). A cold start loads
 * the newest snapshot that checks out (a damaged one is skipped and reported) and replays the log
 * after it.
 */

/** Where a start-up is, for elig_db_params.progress. */
struct elig_db_progress {
    const char *phase;  /**< "snapshot": loading one; "replay": applying the log */
    uint64_t snapshot;  /**< snapshot: the LSN it holds */
    uint64_t first_lsn; /**< replay: the first record to apply */
    uint64_t lsn;       /**< replay: the record reached */
    uint64_t last_lsn;  /**< replay: the log's last record */
    double seconds;     /**< since the open began */
};

/** Opening parameters. */
struct elig_db_params {
    const char *data_dir;           /**< log and reject file (created if missing) */
    const char *segment_path;       /**< the index segment (tmpfs or hugetlbfs) */
    struct elig_index_params index; /**< sizes for a new store (path is ignored); 0 in a field:
                                         a new store takes the default (capacity 1,000,000),
                                         a made one what DATA/store records; a non-zero value
                                         that disagrees with the record is refused */
    enum elig_log_tail_policy tail; /**< what to do with a torn log tail */
    uint32_t commit_window_us;      /**< log commit window */
    bool rebuild_segment;           /**< rebuild a segment that is ahead of the log from the
                                         log (its newer updates are lost); without it such a
                                         segment is refused and left as it is */
    /** optional: told when a phase begins and every 65,536 records replayed, from the
        opening thread (for a service manager's status line); NULL: not told */
    void (*progress)(void *ctx, const struct elig_db_progress *p);
    void *progress_ctx; /**< passed to progress */
};

/** How a start went. */
struct elig_db_start {
    bool warm;                        /**< reattached an existing segment */
    const char *cold_reason;          /**< why not warm (static string), or NULL */
    uint64_t replayed;                /**< log records applied at start-up */
    uint64_t rejected;                /**< of those, refused by the update model */
    uint64_t applied_lsn;             /**< applied LSN when serving began */
    uint64_t snapshot_lsn;            /**< cold start: the snapshot loaded (0: none) */
    uint32_t snapshots_damaged;       /**< cold start: newer snapshots refused */
    char damaged[64];                 /**< the last refused snapshot's file name */
    struct elig_log_tail_report tail; /**< what the log scan found at its end */
    uint64_t segment_lsn;             /**< -ELIG_ESEGAHEAD: the segment's applied LSN */
    struct elig_store_info store;     /**< the store's identity and parameters in force */
    bool store_made;                  /**< DATA/store was written by this open */
    const char *conflict;             /**< -ELIG_ESTOREPARAM: the parameter ("capacity", ...) */
    uint64_t conflict_given, conflict_recorded; /**< its value asked for, and recorded */
    int store_line;          /**< -ELIG_ESTOREFILE: the line at fault (0: the file) */
    bool segment_other;      /**< -ELIG_ESTOREID: the segment, not a log file, is at fault */
    char other_id[33];       /**< -ELIG_ESTOREID: the id the file at fault names, in hex (a
                                  snapshot names only the first 4 bytes: 8 digits) */
    bool snapshot_other;     /**< -ELIG_ESTOREID: the snapshot in damaged[] is at fault */
    uint64_t segment_needed; /**< -ENOSPC, -EINVAL: bytes the segment to be made needs (0:
                                  its sizes cannot be laid out) */
    uint64_t segment_free;   /**< -ENOSPC: bytes free in the segment's file system */
    uint64_t full_lsn;       /**< the log record that did not fit the index (0: all fit): the
                                  store serves lookups, refuses updates until it grows */
    double seconds;          /**< time from open to serving */
};

/** Receives one line of elig_db_start_report(): a warning, or the summary. */
typedef void (*elig_db_report_fn)(void *ctx, bool warning, const char *line);

/**
 * Describe a start-up for an operator, one line at a time: a torn log tail
 * that was cut ("LOG TAIL CUT: ..."), damaged snapshots that were skipped
 * ("SNAPSHOT DAMAGED: ..."), then the summary ("start: warm, ..."). Lines
 * name files and counts, never data. Thread-safe.
 */
void elig_db_start_report(const struct elig_db_start *st, elig_db_report_fn emit, void *ctx);

/**
 * After elig_db_open() failed with rc: what the operator must know beyond
 * elig_strerror(rc), one line at a time (for -ELIG_ELOGTAIL: where the log
 * ends in a bad record and how to cut it). Nothing for other errors.
 * @return lines emitted: 0 means elig_strerror(rc) is all there is to say.
 */
int elig_db_open_report(int rc, const struct elig_db_start *st, elig_db_report_fn emit, void *ctx);

/** An open store (opaque). */
struct elig_db;

/**
 * Open the store: the log (its tail handled per p->tail), then the index,
 * warm or cold, replaying the log into it. A segment is rebuilt (cold) only
 * when it is missing, damaged or was left mid-change; one that another
 * process holds is refused, and so is one ahead of the log (it holds
 * updates this log does not explain: the wrong --data, or a log restored
 * from an older backup) unless p->rebuild_segment. When the data directory
 * does not exist and the segment holds updates, nothing is created.
 *
 * @return 0 and *out set; the errors of elig_log_open() (-EBUSY: another
 *         writer; -ELIG_ELOGTAIL); -EBUSY also when another process holds
 *         the segment; -ELIG_ESEGAHEAD (st->segment_lsn says how far);
 *         -ELIG_ESTOREPARAM (st->conflict says which); -ELIG_ESTOREFILE; the
 *         errors of elig_index_create() on a cold start;
 *         -ELIG_EFULL if the log does not fit the index's capacity; -errno.
 */
int elig_db_open(const struct elig_db_params *p, struct elig_db **out, struct elig_db_start *st);

/**
 * Make n events durable, then apply them. Returns once they are applied.
 * One caller at a time (calls are serialised inside).
 *
 * @param status  status[i]: 0 applied, or the update model's reason it was
 *                refused (also written to the reject file)
 * @param first_lsn if not NULL, the LSN given to evs[0]
 * @return 0; -ELIG_EKIND / -ELIG_ETOOLONG if an event cannot be encoded
 *         (nothing is logged); the log's fatal error (-EIO, ...): nothing
 *         more is accepted; -ELIG_EFULL: logged but the index is full (it
 *         must be rebuilt larger before serving on).
 */
int elig_db_submit(struct elig_db *db, const struct elig_event *evs, size_t n, int *status,
                   uint64_t *first_lsn);

/** Log record kind of a chunk's leading record (elig_chunk.h has its layout). */
#define ELIG_DB_KIND_CHUNK ELIG_CHUNK_RECORD_KIND

/**
 * elig_db_submit() for a chunk that carries a sender's id (ELIG_CHUNK_ID_LEN
 * bytes; NULL: none), so that it can be sent again safely. The events and a
 * record naming the id form one unit of the log: after any crash all of them
 * are applied or none. If a chunk of this id was applied before (and is
 * among the last ELIG_CHUNK_KEEP), nothing is logged: status and first_lsn
 * get its original result and *duplicate is set.
 *
 * The chunk record carries the entry time (Unix seconds): when the events
 * entered the service, from which their registration lag is counted
 * (elig_lag.h). 0 means now; a sender back-filling events it received
 * earlier gives that time.
 *
 * @param entered   the entry time, or 0 for now
 * @param duplicate if not NULL, set when the result is that of an earlier submission
 * @return as elig_db_submit(); -ELIG_ECHUNKID if the id was used for other
 *         events (nothing logged); -EINVAL if n is over 2^20 or entered negative.
 */
int elig_db_submit_chunk(struct elig_db *db, const uint8_t *id, int64_t entered,
                         const struct elig_event *evs, size_t n, int *status, uint64_t *first_lsn,
                         bool *duplicate);

struct elig_lag;

/**
 * Registration lag of the events applied since the store was opened (what
 * eligd's metric counts), by class and bucket (elig_lag.h), and per class
 * their days after the effective date summed. Thread-safe.
 */
void elig_db_lag_counts(const struct elig_db *db,
                        uint64_t counts[ELIG_LAG_CLASSES][ELIG_LAG_BUCKETS],
                        uint64_t days_sum[ELIG_LAG_CLASSES]);

/**
 * Fold the log of the store at data_dir through LSN upto into DATA/lag, so
 * that the registration lag of events outlives the log files a snapshot
 * prunes: the file's table, the log after what it counts up to upto, saved
 * as counting through upto. elig_db_snapshot() does it before it prunes.
 * Reads the log; safe beside a running writer.
 * @return 0; the errors of elig_lag_load() (-ELIG_ELAGFILE), elig_lag_scan_log()
 *         and elig_lag_save().
 */
int elig_db_lag_fold(const char *data_dir, uint64_t upto);

/**
 * The registration lag of every event of the store at data_dir: DATA/lag
 * and the log after what it counts, into t. Reads only; safe beside a
 * running writer.
 * @param through out: what DATA/lag counts up to
 * @param last    out: the last LSN read from the log
 * @param untimed out: events logged without an entry time (not counted)
 * @return 0; the errors of elig_lag_load() and elig_lag_scan_log() (-ENOENT: no log).
 */
int elig_db_lag_table(const char *data_dir, struct elig_lag *t, uint64_t *through, uint64_t *last,
                      uint64_t *untimed);

/**
 * Write a snapshot of the index as of its applied LSN (updates wait; lookups
 * go on), fold the registration lag of the log it covers into DATA/lag
 * (elig_db_lag_fold()), then delete the log files it covers and all but the
 * two newest snapshots.
 *
 * @return 0 and *info; -ELIG_EFULL while the store is full (grow it first);
 *         the errors of elig_snap_write(); -errno.
 */
int elig_db_snapshot(struct elig_db *db, struct elig_snap_info *info);

/** What elig_db_grow() did. */
struct elig_db_grow {
    struct elig_store_info before; /**< the store's sizes before ... */
    struct elig_store_info after;  /**< ... and after (also in DATA/store) */
    uint64_t records;              /**< records copied */
    uint64_t lsn;                  /**< applied LSN of both indexes at the swap */
    uint64_t segment_bytes;        /**< size of the new segment */
    bool was_full;                 /**< the store was full: built from snapshot and log */
    double seconds;                /**< time it took (updates waited that long) */
};

/**
 * Grow the index: build a larger segment beside the live one (its path +
 * ".grow"), fill it while lookups go on in the old one (updates wait),
 * record the new sizes in DATA/store, move it over the segment path
 * (rename(2)) and mark the old one replaced, so that readers in other
 * processes reopen the path (elig_index_replaced()).
 *
 * Sizes: want->capacity records (0: twice the current, or the current
 * when another size is given); want->persons,
 * cards, names, key_strings where given, else the recorded ones grown in
 * proportion (a size left to its default follows capacity). No size may
 * shrink and one must grow. Other fields of want are ignored.
 *
 * Filling: a copy of the live index; when the store is full (a logged
 * record did not fit, see elig_db_start.full_lsn), the newest snapshot and
 * the log after it, as a cold start does, so that every logged update is
 * in it and updates are taken again.
 *
 * The store's writer view moves to the new index at once; the old one is
 * handed to the caller, who closes it (elig_index_close(*old, false)) once
 * none of its threads reads it any more. Both hold the same data.
 *
 * After a crash at any step the store starts: before DATA/store is written,
 * as it was; after, on the old segment (warm) with the new sizes for any
 * cold start; after the rename, on the new segment. A ".grow" file left by
 * a crash is removed by the next grow.
 *
 * @return 0, *old and *rep set; -ELIG_EGROWSIZE (a size smaller, none
 *         larger, or above the limits); -ELIG_EFULL (full, and the log does
 *         not fit the new sizes either); the errors of elig_index_create()
 *         (-ENOSPC: the segment's file system has no room for both
 *         segments), elig_snap_load() and elig_log_scan(); -errno of
 *         elig_store_write() and rename(2). On error nothing has changed.
 */
int elig_db_grow(struct elig_db *db, const struct elig_index_params *want, struct elig_index **old,
                 struct elig_db_grow *rep);

/**
 * The answer chunk id got when it was applied with the events evs[0..n):
 * each event's status into status[0..n) and its first LSN, from the recent
 * chunks' table (the last 1,024). Nothing is applied. Thread-safe.
 * @return 0; -ENOENT (not among them); -ELIG_ECHUNKID (the id was applied
 *         with other events); -ENOMEM.
 */
int elig_db_chunk_result(struct elig_db *db, const uint8_t *id, const struct elig_event *evs,
                         size_t n, int *status, uint64_t *first_lsn);

/**
 * The last record of the log that is durable: what the index will have
 * applied once it catches up (applied LSN <= durable LSN). Thread-safe.
 */
uint64_t elig_db_durable_lsn(const struct elig_db *db);

struct elig_lat;
/** The log's group-commit latencies (elig_log_commit_latency()). Thread-safe. */
const struct elig_lat *elig_db_commit_latency(const struct elig_db *db);

/** The index the store keeps (writer view; readers open the segment themselves). */
struct elig_index *elig_db_index(struct elig_db *db);

/** What elig_db_verify() found. Items are records, card links and insurer names. */
struct elig_db_verify {
    uint64_t snapshot_lsn;  /**< the snapshot the rebuild started from (0: none) */
    uint64_t replayed;      /**< log records the rebuild applied */
    uint64_t live_lsn;      /**< applied LSN of the live index */
    uint64_t rebuilt_lsn;   /**< applied LSN of the rebuild */
    uint64_t live_items;    /**< items in the live index */
    uint64_t rebuilt_items; /**< items in the rebuild */
    uint64_t only_live;     /**< items in the live index and not in the rebuild */
    uint64_t only_rebuilt;  /**< items in the rebuild and not in the live index */
};

/**
 * Rebuild the index from data_dir's newest good snapshot and its log into a
 * scratch segment, and compare it with live item by item (digests of every
 * field). The log and snapshots are only read; live may be in service. Equal
 * means only_live == only_rebuilt == 0 with equal LSNs.
 *
 * @param scratch_path a segment path that does not exist (removed afterwards)
 * @return 0 and *rep; the errors of elig_index_create(), elig_snap_load(),
 *         elig_log_scan(); -ELIG_ELOGGAP.
 */
int elig_db_verify(const char *data_dir, const struct elig_index *live, const char *scratch_path,
                   struct elig_db_verify *rep);

/** Publish the applied LSN in the segment header and close; clean. NULL is ignored. */
void elig_db_close(struct elig_db *db);

#endif
