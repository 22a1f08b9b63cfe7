/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SLOG_H
#define ELIG_SLOG_H

#include <stdbool.h>

/**
 * @file
 * eligd's own message log: one line per event, "2026-11-22T05:40:01Z level
 * message", to stderr or to a file that SIGHUP reopens (for log rotation).
 * On a stderr that is journald's stream (under systemd) a line is "<N>message"
 * instead, N its syslog priority (6 info, 4 warn, 3 error).
 * Messages never carry personal data: callers log counts, codes, file names
 * and peer addresses, never keys, names, dates of birth or card ids.
 */

enum elig_slog_level { ELIG_SLOG_INFO, ELIG_SLOG_WARN, ELIG_SLOG_ERROR };

/**
 * Send messages to path (appended, created 0640), or to stderr when path is
 * NULL. Not thread-safe against elig_slog(): call before the threads start.
 * @return 0; -errno if the file cannot be opened (messages stay on stderr).
 */
int elig_slog_open(const char *path);

/**
 * Reopen the file (after rotation), or open path instead when it names
 * another file (a changed configuration). Thread-safe.
 * @return 0; -ENOMEM; -errno (the old file is kept).
 */
int elig_slog_reopen(const char *path);

/** Write one message line. Thread-safe; lines from threads never interleave. */
void elig_slog(enum elig_slog_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * While on, error lines written to the file also go to stderr: whoever
 * started the process sees why it did not start. Thread-safe.
 */
void elig_slog_tee_errors(bool on);

/** Close the file; messages go to stderr again. */
void elig_slog_close(void);

#endif
