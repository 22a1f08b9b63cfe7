/* SPDX-License-Identifier: MIT */
#ifndef ELIG_LAG_H
#define ELIG_LAG_H

#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"

/**
 * @file
 * Registration lag: how many days after a qualification event took effect
 * the insurer registered it. Insurers must register acquisitions and losses
 * within 5 days and changes within 10; registering late is what shows a
 * patient "no qualification" at the desk. The lag of an event is the day it
 * entered the log (its chunk's entry time, elig_db) minus its effective date.
 *
 * A table counts events per (month of entry, sending insurer, kind) in the
 * buckets below. It is what `eligctl report lag` prints, what the store keeps
 * in DATA/lag for the log it prunes (a snapshot folds the log it covers into
 * it first), and what eligd's metric counts. Counts only: no key, no person.
 *
 * Thread-safety: none; a table has one user at a time.
 */

/** Buckets of days late. The allowances (5, 10) are bucket edges. */
enum elig_lag_bucket {
    ELIG_LAG_EARLY = 0, /**< registered before it took effect */
    ELIG_LAG_0_5,       /**< 0-5 days */
    ELIG_LAG_6_10,      /**< 6-10 days */
    ELIG_LAG_11_30,     /**< 11-30 days */
    ELIG_LAG_31_60,     /**< 31-60 days */
    ELIG_LAG_OVER_60,   /**< 61 days or more */
    ELIG_LAG_BUCKETS
};

/** Classes of the events counted (the kinds with a registration deadline). */
enum elig_lag_class {
    ELIG_LAG_ACQUIRE = 0, /**< ELIG_EV_ACQUIRE: within 5 days */
    ELIG_LAG_LOSS,        /**< ELIG_EV_LOSS: within 5 days */
    ELIG_LAG_CHANGE,      /**< ELIG_EV_CHANGE: within 10 days */
    ELIG_LAG_CLASSES
};

/** A bucket's name as the report and the metric print it ("0-5", "61-", "early"). */
const char *elig_lag_bucket_name(unsigned bucket);

/** The largest lag of a bucket in days (the metric's "le"); INT32_MAX for the last. */
int elig_lag_bucket_bound(unsigned bucket);

/** The bucket of a lag of days. */
unsigned elig_lag_bucket_of(int days);

/** The class of an event kind (enum elig_event_kind), or -1 for kinds not counted. */
int elig_lag_class_of(uint8_t kind);

/** Days allowed to register an event of class c (5 or 10). */
int elig_lag_allowed(unsigned c);

/** Whether events of class c in bucket b were registered late. */
int elig_lag_late(unsigned c, unsigned b);

/** One row of a table: a month's events of one insurer and class. */
struct elig_lag_row {
    uint32_t month;                   /**< YYYYMM of the day they entered the log */
    char insurer[8];                  /**< the sending insurer's number */
    uint8_t cls;                      /**< enum elig_lag_class */
    uint64_t count[ELIG_LAG_BUCKETS]; /**< events in each bucket */
    uint64_t days_sum;                /**< their lags summed (early ones count 0) */
    uint32_t days_max;                /**< the longest lag */
};

/** A table (opaque). */
struct elig_lag;

/** @return 0 and an empty table; -ENOMEM. */
int elig_lag_create(struct elig_lag **out);
void elig_lag_destroy(struct elig_lag *t);

/**
 * Count one event. kind outside the counted ones is ignored (returns 0).
 * @param effective its effective date
 * @param entered   the Unix time it entered the log
 * @return 0; -ENOMEM; -EINVAL (effective or entered out of range).
 */
int elig_lag_add(struct elig_lag *t, const char insurer[8], uint8_t kind, elig_date_t effective,
                 int64_t entered);

/** Add every row of src into t. @return 0; -ENOMEM. */
int elig_lag_merge(struct elig_lag *t, const struct elig_lag *src);

/**
 * The rows of one month (0: all), sorted by month, insurer, class, into a
 * new array the caller frees.
 * @return the row count and *rows; -ENOMEM.
 */
long elig_lag_rows(const struct elig_lag *t, uint32_t month, struct elig_lag_row **rows);

/**
 * Count the events of the log in dir with LSNs in (after, upto] whose chunk
 * carries an entry time (events logged without one are skipped and counted
 * in *untimed). Reads the files, changes nothing.
 *
 * @param last    if not NULL, the last LSN read
 * @param untimed if not NULL, events of the counted kinds without an entry time
 * @return 0; -ENOMEM; the errors of elig_log_scan().
 */
int elig_lag_scan_log(struct elig_lag *t, const char *dir, uint64_t after, uint64_t upto,
                      uint64_t *last, uint64_t *untimed);

/**
 * Read a table saved by elig_lag_save(); a missing file is an empty table
 * through LSN 0.
 * @param through out: the last LSN the file counts
 * @return 0; -ELIG_ELAGFILE (damaged: checksum or structure); -ENOMEM; -errno.
 */
int elig_lag_load(struct elig_lag *t, const char *path, uint64_t *through);

/**
 * Write the table as path (a new file, synced, renamed over the old one,
 * directory synced), as counting every event through LSN through.
 * @return 0; -ENOMEM; -errno.
 */
int elig_lag_save(const struct elig_lag *t, const char *path, uint64_t through);

#endif
