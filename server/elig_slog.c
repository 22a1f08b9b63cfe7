/* SPDX-License-Identifier: MIT */
/*
 * elig_slog: the server's message log.
 *
 * One process-wide destination, so this module keeps global state (a file
 * descriptor and its path behind a mutex): every thread of eligd logs to
 * the same place, and SIGHUP must redirect all of them at once. A line is
 * formatted into a stack buffer and written with one write(2) under the
 * mutex, so lines never interleave and a crash loses at most the line being
 * written. Reopen opens the new file first and swaps descriptors only on
 * success, so a failed rotation keeps logging to the old file.
 */
#include "elig_slog.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t slog_mu = PTHREAD_MUTEX_INITIALIZER;
static int slog_fd = STDERR_FILENO;
static char *slog_path;
static int slog_tee = 0; /* errors also to stderr while the log is a file (start-up) */

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

int elig_slog_open(const char *path)
{
    elig_slog_close();
    if (path == NULL)
        return 0;
    int fd = open_file(path);
    if (fd < 0)
        return fd;
    char *copy = strdup(path);
    if (copy == NULL) {
        close(fd);
        return -ENOMEM;
    }
    pthread_mutex_lock(&slog_mu);
    slog_fd = fd;
    slog_path = copy;
    pthread_mutex_unlock(&slog_mu);
    return 0;
}

int elig_slog_reopen(void)
{
    pthread_mutex_lock(&slog_mu);
    int rc = 0;
    if (slog_path) {
        int fd = open_file(slog_path);
        if (fd < 0) {
            rc = fd;
        } else {
            close(slog_fd);
            slog_fd = fd;
        }
    }
    pthread_mutex_unlock(&slog_mu);
    return rc;
}

void elig_slog(enum elig_slog_level level, const char *fmt, ...)
{
    static const char *const names[] = { "info", "warn", "error" };
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "%s ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&slog_mu);
    ssize_t w = write(slog_fd, line, n);
    if (slog_tee && level == ELIG_SLOG_ERROR && slog_fd != STDERR_FILENO)
        w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere better to report a failed log write */
    pthread_mutex_unlock(&slog_mu);
}

void elig_slog_tee_errors(bool on)
{
    pthread_mutex_lock(&slog_mu);
    slog_tee = on;
    pthread_mutex_unlock(&slog_mu);
}

void elig_slog_close(void)
{
    pthread_mutex_lock(&slog_mu);
    if (slog_fd != STDERR_FILENO)
        close(slog_fd);
    slog_fd = STDERR_FILENO;
    free(slog_path);
    slog_path = NULL;
    pthread_mutex_unlock(&slog_mu);
}
