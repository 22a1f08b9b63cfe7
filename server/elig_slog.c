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
 *
 * Under systemd, stderr is a stream to journald (JOURNAL_STREAM names its
 * device and inode): lines written there start with the syslog priority in
 * sd-daemon's "<N>" form instead of a time and a level word, so journald
 * files each line at its priority and stamps the time itself.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t slog_mu = PTHREAD_MUTEX_INITIALIZER;
static int slog_fd = STDERR_FILENO;
static char *slog_path;
static int slog_tee = 0;      /* errors also to stderr while the log is a file (start-up) */
static int slog_journal = -1; /* stderr is journald's stream: 1, not: 0, not looked yet: -1 */

/* Whether stderr is the stream JOURNAL_STREAM ("DEVICE:INODE") names. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

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

int elig_slog_reopen(const char *path)
{
    pthread_mutex_lock(&slog_mu);
    int rc = 0;
    char *copy = NULL;
    if (path && !(slog_path && strcmp(path, slog_path) == 0) && !(copy = strdup(path)))
        rc = -ENOMEM;
    const char *to = copy ? copy : slog_path;
    if (rc == 0 && to) {
        int fd = open_file(to);
        if (fd < 0) {
            rc = fd;
        } else {
            if (slog_fd != STDERR_FILENO)
                close(slog_fd);
            slog_fd = fd;
        }
    }
    if (rc == 0 && copy) {
        free(slog_path);
        slog_path = copy;
        copy = NULL;
    }
    free(copy);
    pthread_mutex_unlock(&slog_mu);
    return rc;
}

void elig_slog(enum elig_slog_level level, const char *fmt, ...)
{
    static const char *const names[] = { "info", "warn", "error" };
    static const char *const priorities[] = { "<6>", "<4>", "<3>" }; /* LOG_INFO, _WARNING, _ERR */
    char line[1024];
    size_t n;
    pthread_mutex_lock(&slog_mu);
    if (slog_journal < 0)
        slog_journal = stderr_is_journal();
    bool journal = slog_journal && slog_fd == STDERR_FILENO;
    pthread_mutex_unlock(&slog_mu);
    if (journal) {
        n = (size_t)snprintf(line, sizeof line, "%s", priorities[level]);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s ", names[level]);
    }
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
