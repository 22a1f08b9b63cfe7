/* SPDX-License-Identifier: MIT */
/*
 * elig_error: names for the project's error codes.
 *
 * Design: errors are plain negative integers (see elig_error.h). Codes at or
 * above ELIG_ERRNO_BASE are ours and are named from a static table indexed by
 * (code - base); anything below is a system errno and is named by
 * strerrordesc_np(), which, unlike strerror(), returns a constant string and
 * so is thread-safe without a caller buffer.
 */
#include <string.h>

#include "elig_error.h"

static const char *const elig_error_names[ELIG_ERRNO_END - ELIG_ERRNO_BASE] = {
    [ELIG_ESYNTAX - ELIG_ERRNO_BASE] = "malformed field",
    [ELIG_EDATE - ELIG_ERRNO_BASE] = "impossible or out-of-range date",
    [ELIG_ECHECKDIGIT - ELIG_ERRNO_BASE] = "check digit does not match",
    [ELIG_ELAWCODE - ELIG_ERRNO_BASE] = "law code is not an insurer's",
    [ELIG_EPREFECTURE - ELIG_ERRNO_BASE] = "prefecture code is not 01-47",
    [ELIG_EUTF8 - ELIG_ERRNO_BASE] = "invalid UTF-8",
    [ELIG_ECONTROL - ELIG_ERRNO_BASE] = "control character in text",
    [ELIG_ETOOLONG - ELIG_ERRNO_BASE] = "too long",
    [ELIG_EEMPTY - ELIG_ERRNO_BASE] = "required field is empty",
    [ELIG_EKIND - ELIG_ERRNO_BASE] = "unknown event kind",
    [ELIG_EFIELDS - ELIG_ERRNO_BASE] = "wrong number of fields for the event kind",
    [ELIG_ERANGE - ELIG_ERRNO_BASE] = "value outside its allowed set",
    [ELIG_EORDER - ELIG_ERRNO_BASE] = "dates in an impossible order",
    [ELIG_EOWNER - ELIG_ERRNO_BASE] = "source insurer does not own the key",
    [ELIG_ENOCURRENT - ELIG_ERRNO_BASE] = "no current qualification for the key",
    [ELIG_EOVERLAP - ELIG_ERRNO_BASE] = "key already has an open qualification",
    [ELIG_ECARDSTATE - ELIG_ERRNO_BASE] = "event not allowed in the card's state",
    [ELIG_ECARDOWNER - ELIG_ERRNO_BASE] = "card is linked to another person",
    [ELIG_ENOCARD - ELIG_ERRNO_BASE] = "no such card",
    [ELIG_ESEGMAGIC - ELIG_ERRNO_BASE] = "not an eligd segment (bad magic)",
    [ELIG_ESEGVERSION - ELIG_ERRNO_BASE] = "segment layout version not supported",
    [ELIG_ESEGSIZE - ELIG_ERRNO_BASE] = "segment file truncated or of the wrong size",
    [ELIG_ESEGCHECKSUM - ELIG_ERRNO_BASE] = "segment header checksum mismatch",
    [ELIG_ENOHUGEPAGES - ELIG_ERRNO_BASE] = "huge pages required but not available",
    [ELIG_EFULL - ELIG_ERRNO_BASE] = "index is full: make it larger (eligctl grow)",
    [ELIG_EINTERRUPTED - ELIG_ERRNO_BASE] =
        "index was left mid-change by a writer that died: rebuild from snapshot and log",
    [ELIG_ELOGTAIL - ELIG_ERRNO_BASE] = "log has a corrupt record before its end",
    [ELIG_ESNAPSHOT - ELIG_ERRNO_BASE] = "snapshot file is damaged",
    [ELIG_ELOGGAP - ELIG_ERRNO_BASE] =
        "log does not reach back far enough (pruned, and no snapshot covers the gap)",
    [ELIG_ESHORTWRITE - ELIG_ERRNO_BASE] = "short write: the file system took part of a write",
    [ELIG_ECHUNKID - ELIG_ERRNO_BASE] = "update chunk id already used for other events",
    [ELIG_ESEGAHEAD - ELIG_ERRNO_BASE] = "the segment holds updates this store's log does not have",
    [ELIG_ESTOREFILE - ELIG_ERRNO_BASE] = "the store's parameter file (DATA/store) is damaged",
    [ELIG_ESTOREPARAM - ELIG_ERRNO_BASE] =
        "an option disagrees with the store's recorded parameters",
    [ELIG_ESTOREID - ELIG_ERRNO_BASE] = "a file of another store",
    [ELIG_EGROWSIZE - ELIG_ERRNO_BASE] =
        "a grown index must hold more records than the current one (at most 2^31)",
    [ELIG_ELAGFILE - ELIG_ERRNO_BASE] = "registration-lag file damaged (checksum or structure)",
    [ELIG_EKANA - ELIG_ERRNO_BASE] =
        "kana name outside JIS X 0208, or missing as the fallback of a kanji name outside it",
};

const char *elig_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err >= ELIG_ERRNO_BASE && err < ELIG_ERRNO_END) {
        const char *name = elig_error_names[err - ELIG_ERRNO_BASE];
        return name ? name : "unknown error"; /* never NULL (test_store checks all have one) */
    }
    if (err == 0)
        return "success";
    const char *s = strerrordesc_np(err);
    return s ? s : "unknown error";
}
