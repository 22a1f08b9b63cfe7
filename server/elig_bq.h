/* SPDX-License-Identifier: MIT */
#ifndef ELIG_BQ_H
#define ELIG_BQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_index.h"
#include "elig_live.h"
#include "elig_proto.h"

/**
 * @file
 * Appointment lists checked in the background (一括照会): a facility hands
 * in a list of up to ELIG_PROTO_LIST_MAX number checks for the days ahead
 * (LIST_SUBMIT, in parts of up to 1,000), gets a reception number at once,
 * and fetches the answers later by that number (LIST_FETCH).
 *
 * Each list is files in one directory (DATA/lists), named by its reception
 * number in hexadecimal: NNNN.part while parts arrive, NNNN.req once it is
 * complete (synced before the facility is told it is queued), NNNN.res with
 * the answers (synced, then the .req is removed). So lists and answers
 * survive a restart; a list found queued at start is checked then. Lists and
 * answers are kept until the end of the month after the one they were
 * handed in (as POSTHOC's answers); a list left open for an hour is dropped.
 *
 * One worker thread checks the queued lists, oldest first, at the lowest
 * scheduling priority (SCHED_IDLE), in runs of 64 entries between safe
 * points of the served index (elig_live): the facility workers answering
 * single checks always come first. Its answers carry reference numbers of
 * their own (checker id 127).
 *
 * Thread-safety: every function may be called from any thread; the lists'
 * table is under one mutex, file I/O of a fetch or a part is done by the
 * caller's thread outside it where it can be.
 */

/** Opening parameters. */
struct elig_bq_params {
    const char *dir;        /**< the lists' directory (created if missing, mode 0700) */
    struct elig_live *live; /**< the served index: the worker reads it (NULL: no worker;
                                elig_bq_run() checks lists on the caller's thread) */
    unsigned per_facility;  /**< lists a facility may have not yet answered (default 20) */
    unsigned max_lists;     /**< lists kept in all (default 100,000) */
};

/** The queue (opaque). */
struct elig_bq;

/**
 * Open the directory and take up the lists it holds (damaged files are
 * reported by name on standard error and left out), and start the worker
 * when p->live is given.
 * @return 0; -ENOMEM; -errno of the file system (the directory).
 */
int elig_bq_open(const struct elig_bq_params *p, struct elig_bq **out);

/** Stop the worker (a list half checked is checked again at the next start) and free. */
void elig_bq_close(struct elig_bq *q);

/**
 * Take one part of a list from facility: a new list when part->reception is
 * 0, else a part of that list, which must be open and this facility's. The
 * part that carries ELIG_PROTO_LIST_PART_LAST closes the list: it is synced
 * and queued before this returns.
 *
 * @param now the Unix time (a new list's day: a date of service of 0 is it)
 * @param st  out: the list's state
 * @return 0; -ENOENT (no such open list of this facility); -E2BIG (the list
 *         would pass ELIG_PROTO_LIST_MAX entries: nothing of the part is
 *         kept); -EUSERS (the facility already has per_facility lists not
 *         answered, or the queue is full); -errno of the file system.
 */
int elig_bq_submit(struct elig_bq *q, const char *facility, const struct elig_proto_list_part *part,
                   int64_t now, struct elig_proto_list_state *st);

/**
 * The answers of entries f->first.. of a list of facility, as many whole
 * answers (each in the answer format of docs/protocol.md) as fit in cap
 * bytes, at most f->max (none unless the list is done).
 *
 * @param count out: answers written to out
 * @param len   out: their bytes
 * @return 0; -ENOENT (no such list of this facility, or pruned, or its
 *         answers' file is gone);
 *         -ELIG_ELISTFILE (its answers' file is damaged: reported, the list
 *         is marked failed); -errno.
 */
int elig_bq_fetch(struct elig_bq *q, const char *facility, const struct elig_proto_list_fetch *f,
                  uint8_t *out, size_t cap, size_t *len, uint16_t *count,
                  struct elig_proto_list_state *st);

/**
 * Check the oldest queued list on the caller's thread against ix (when
 * there is no worker: tests and tools). @return 1 a list was checked; 0
 * none was queued; -errno.
 */
int elig_bq_run(struct elig_bq *q, const struct elig_index *ix);

/** Delete the lists handed in before the month before now's, and open ones left for an hour.
 * The worker does it hourly. @return lists deleted. */
int elig_bq_prune(struct elig_bq *q, int64_t now);

/** Counters (relaxed reads). */
struct elig_bq_stats {
    uint64_t lists;          /**< lists held */
    uint64_t queued;         /**< of which queued or being checked */
    uint64_t entries_queued; /**< entries waiting to be checked */
    uint64_t answered;       /**< entries answered since the start */
};
void elig_bq_stats(struct elig_bq *q, struct elig_bq_stats *st);

#endif
