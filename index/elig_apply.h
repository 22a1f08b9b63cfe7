/* SPDX-License-Identifier: MIT */
#ifndef ELIG_APPLY_H
#define ELIG_APPLY_H

#include <stdint.h>

#include "elig_index.h"
#include "elig_update.h"

/**
 * @file
 * The applier's step: one update event, as the update model defines it
 * (elig_update), carried out on the index. The log replays through it, and
 * the offline tools build their indexes through it, so an event means the
 * same everywhere.
 */

/** Returned (positive) when the event's LSN was already applied: nothing done. */
#define ELIG_APPLY_SKIPPED 1

/** Most records one key may hold (versions of one qualification). */
#define ELIG_APPLY_KEY_RECORDS 256

/**
 * Apply ev, the log record lsn, to the index (writer view, one thread).
 *
 * The event's changes and the applied LSN are one unit (elig_index_begin /
 * elig_index_commit): a crash leaves either all of it or a segment that the
 * next writer refuses. An event the model rejects changes nothing but still
 * counts as applied, so a replay does not reject it twice. lsn 0 applies
 * without recording an LSN (offline use).
 *
 * @param field if not NULL, set to the offending field's name when a record
 *              check fails, else NULL
 * @return 0 applied; ELIG_APPLY_SKIPPED if lsn <= the applied LSN; the
 *         model's rejections (-ELIG_EOVERLAP, -ELIG_ENOCURRENT, -ELIG_EORDER,
 *         -ELIG_ENOCARD, -ELIG_ECARDOWNER, -ELIG_ECARDSTATE, the errors of
 *         elig_record_check()); -ELIG_EFULL (the index must grow; nothing
 *         changed); -ENOBUFS (more than ELIG_APPLY_KEY_RECORDS under one key);
 *         -EAGAIN; -EROFS; -ELIG_EKIND.
 */
int elig_apply(struct elig_index *ix, const struct elig_event *ev, uint64_t lsn,
               const char **field);

/**
 * Request the index lines applying ev will read first (its key's bucket;
 * for an ACQUIRE the person's bucket and the names' slots too; for a card
 * event the card's bucket), so that a caller reading events ahead (a log
 * replay) finds them in cache when it applies ev. A hint: changes nothing,
 * never fails. Writer thread.
 */
void elig_apply_prefetch(const struct elig_index *ix, const struct elig_event *ev);

#endif
