/* SPDX-License-Identifier: MIT */
#ifndef ELIG_FEED_H
#define ELIG_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "elig_update.h"

/**
 * @file
 * The insurer feed: a line-oriented UTF-8 text format, one event a line,
 * fields separated by TAB (docs/feed-format.md is the specification).
 *
 * The reader streams a file through a fixed buffer, so a feed of any size
 * costs the same memory, and judges each line on its own: a bad line is
 * reported with its file, line number, field and reason and is skipped,
 * while every good line around it is delivered. Reasons never quote the
 * offending value, since feeds carry personal data.
 */

#define ELIG_FEED_LINE_MAX   4096 /**< bytes of one line, without its line ending */
#define ELIG_FEED_FIELDS_MAX 32   /**< fields of one line */

/** Why a line was rejected. */
struct elig_feed_error {
    int code;          /**< negative error code (elig_strerror()) */
    const char *field; /**< static name of the field at fault ("line", "birth_date", ...) */
};

/**
 * Parse one line (without its line ending; need not be NUL-terminated).
 *
 * @return 1 and *ev filled; 0 for a line to skip (empty, or a comment
 *         starting with '#'); a negative code with *err filled: -ELIG_ETOOLONG,
 *         -ELIG_EFIELDS, -ELIG_EKIND, -ELIG_ESYNTAX, -ELIG_EDATE, -ELIG_EUTF8,
 *         -ELIG_ECONTROL, -ELIG_EEMPTY, -ELIG_ERANGE, -ELIG_EORDER, -ELIG_EOWNER,
 *         -ELIG_EKANA (a kana name a receipt system cannot show, or missing
 *         where a kanji name outside JIS X 0208 needs it)
 *         and the insurer-number errors of elig_insurer_normalize().
 *         Thread-safe.
 */
int elig_feed_parse_line(const char *line, size_t len, struct elig_event *ev,
                         struct elig_feed_error *err);

/** Counts of one read. */
struct elig_feed_stats {
    uint64_t lines;    /**< lines seen, skipped ones included */
    uint64_t accepted; /**< events delivered to the event callback */
    uint64_t rejected; /**< lines reported to the reject callback */
};

/**
 * Called for each good event, in file order. Return 0 to go on; any other
 * value stops the read, which then returns it (use a negative code).
 */
typedef int (*elig_feed_event_fn)(void *ctx, const struct elig_event *ev, const char *path,
                                  uint64_t line);

/** Called for each rejected line, in file order. */
typedef void (*elig_feed_reject_fn)(void *ctx, const char *path, uint64_t line,
                                    const struct elig_feed_error *err);

/**
 * Read a feed from fd to its end. A UTF-8 byte-order mark at the very start
 * is skipped; lines may end in LF or CRLF; the last line needs no line ending.
 *
 * @param path      name used in callbacks (not opened)
 * @param on_event  required
 * @param on_reject may be NULL (rejections are then only counted)
 * @param stats     may be NULL; otherwise filled even when the read stops early
 * @return 0; -errno from read(); or what on_event returned to stop.
 */
int elig_feed_read_fd(int fd, const char *path, elig_feed_event_fn on_event,
                      elig_feed_reject_fn on_reject, void *ctx, struct elig_feed_stats *stats);

/** elig_feed_read_fd() on a file opened by path ("-" is standard input); -errno if it cannot be
 * opened. */
int elig_feed_read_file(const char *path, elig_feed_event_fn on_event,
                        elig_feed_reject_fn on_reject, void *ctx, struct elig_feed_stats *stats);

#endif
