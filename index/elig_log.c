/* SPDX-License-Identifier: MIT */
/*
 * elig_log: the append log: segment files, group commit, tail recovery.
 *
 * Writing. Appenders format their record straight into the open batch
 * buffer under the log's mutex and take the next LSN, so LSN order is file
 * order. Then each waits until the durable LSN reaches its own. If no sync
 * is under way, the waiter becomes the leader: it takes the whole batch
 * (swapping in the other buffer so appends continue), releases the mutex,
 * writes the batch with one io_uring write linked to one fdatasync, and on
 * completion publishes the new durable LSN and wakes everyone. Appends that
 * arrived meanwhile form the next batch, and one of their appenders leads
 * it. So under load each sync covers every record that arrived during the
 * previous one, with no timer; commit_window_us can add a wait to gather more.
 *
 * Units. One elig_log_append_batch() call is one unit: every record of it
 * but the last carries ELIG_LOG_F_CONT. A reader delivers a unit's records
 * only once it has seen the record that ends it, so a unit is applied whole
 * or not at all, whatever a crash or a full disk left of it.
 *
 * Failure. A failed write or a failed sync sets the log's fatal error: that
 * batch's appenders and every later one get it. A short write is followed
 * by a write of the rest, whose errno (ENOSPC, EDQUOT, EIO) is the error
 * reported, or -ELIG_ESHORTWRITE if the file system names none. Nothing is
 * retried after a failure: after a failed fdatasync the page cache may have
 * dropped the data, so a retry that "succeeds" would acknowledge what is
 * not on disk.
 *
 * Files. A new segment file is started (header written and synced, directory
 * synced) when the current one has passed segment_bytes, between batches,
 * so a record never spans two files. File names carry the first LSN, so
 * name order is LSN order.
 *
 * Reading and recovery. scan_files() walks the files in order and checks
 * each record (length, CRC32C, LSN exactly one above the previous); the
 * first failure is the tail, moved back to the start of the unit it
 * interrupts. A tail is torn when it lies in the newest file and no valid
 * record follows it there: the remains of a write that never completed,
 * unacknowledged by construction (the append that made it had not returned),
 * and opening cuts it (ftruncate, file and directory synced) as PostgreSQL
 * ends recovery at the end of WAL. A bad record with a valid one after it, or
 * in an older file, is corruption: opening refuses it unless the caller asked
 * to truncate. Either way the report says where and what was dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_lat.h"
#include "elig_le.h"
#include "elig_log.h"

#define LOG_MAGIC       "ELIGLOG1"
#define LOG_VERSION     1
#define NAME_FMT        "log-%020llu.eld"
#define NAME_LEN        28 /* "log-" + 20 digits + ".eld" */
#define DEFAULT_SEGMENT (64u << 20)

struct elig_log {
    char *dir;
    int dirfd;
    int lockfd;         /* LOCK file, flocked: one appender per log directory */
    int fd;             /* current segment file, -1 before the first append */
    uint64_t file_size; /* bytes in the current file (all durable or being written) */
    uint64_t segment_bytes;
    uint32_t window_us;
    struct io_uring ring; /* used by the leader only */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next_lsn;    /* the LSN the next append takes */
    uint64_t durable_lsn; /* read without the mutex: atomic */
    int failed;           /* fatal error, 0 while healthy: atomic */
    bool leading;         /* a leader is writing a batch */
    uint8_t *batch[2];    /* the open batch is batch[open]; the leader writes the other */
    size_t cap[2];
    size_t used;          /* bytes in the open batch */
    uint64_t batch_first; /* LSN of the open batch's first record (0: empty) */
    int open;
    bool has_id; /* new files are stamped with store_id */
    uint8_t store_id[ELIG_LOG_STORE_ID];
    struct elig_lat commit; /* each group commit's write and fdatasync, for the metrics */
};

/* ---- file headers and names --------------------------------------------------------------- */

static void header_make(uint8_t h[ELIG_LOG_HEADER_SIZE], uint64_t first_lsn,
                        const uint8_t *store_id)
{
    memset(h, 0, ELIG_LOG_HEADER_SIZE);
    memcpy(h, LOG_MAGIC, 8);
    elig_le32(h + 8, LOG_VERSION);
    elig_le32(h + 12, ELIG_LOG_HEADER_SIZE);
    elig_le64(h + 16, first_lsn);
    elig_le64(h + 24, (uint64_t)time(NULL));
    if (store_id)
        memcpy(h + 32, store_id, ELIG_LOG_STORE_ID);
    elig_le32(h + 60, elig_crc32c(0, h, 60));
}

/* The first LSN a header announces, or 0 if it is not a valid header. */
static uint64_t header_check(const uint8_t *h, size_t len)
{
    if (len < ELIG_LOG_HEADER_SIZE || memcmp(h, LOG_MAGIC, 8) != 0 ||
        elig_rd32(h + 8) != LOG_VERSION || elig_rd32(h + 12) != ELIG_LOG_HEADER_SIZE ||
        elig_rd32(h + 60) != elig_crc32c(0, h, 60))
        return 0;
    return elig_rd64(h + 16);
}

static bool is_log_name(const char *name, uint64_t *first)
{
    unsigned long long v;
    char tail[8];
    if (strlen(name) != NAME_LEN || sscanf(name, "log-%20llu%7s", &v, tail) != 2 ||
        strcmp(tail, ".eld") != 0)
        return false;
    *first = v;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segment file names in dir, sorted (= LSN order). */
static int list_files(int dirfd, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    rewinddir(d);
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        uint64_t first;
        if (!is_log_name(e->d_name, &first))
            continue;
        if (*n == cap) {
            char **grown = realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof **names);
            if (!grown) {
                rc = -ENOMEM;
                break;
            }
            *names = grown;
        }
        if (((*names)[*n] = strdup(e->d_name)) == NULL)
            rc = -ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_names);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int read_file(int dirfd, const char *name, uint8_t **data, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *len = (size_t)st.st_size;
    *data = malloc(*len ? *len : 1);
    int rc = *data ? 0 : -ENOMEM;
    for (size_t got = 0; rc == 0 && got < *len;) {
        ssize_t r = read(fd, *data + got, *len - got);
        if (r <= 0)
            rc = r < 0 ? -errno : -EIO;
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc < 0)
        free(*data);
    return rc;
}

/* ---- scanning ------------------------------------------------------------------------------ */

/*
 * Is there a valid record (length in range, CRC good, LSN at or above
 * expect) at any offset from off on? A torn write leaves none; a corrupt
 * record in the middle of a log leaves its successors. The LSN test comes
 * first, so the CRC is computed only where an LSN could follow.
 */
static bool valid_record_after(const uint8_t *data, size_t len, size_t off, uint64_t expect)
{
    uint64_t most = expect + len / ELIG_LOG_RECORD_HEAD;
    for (size_t o = off; o + ELIG_LOG_RECORD_HEAD <= len; o++) {
        const uint8_t *r = data + o;
        uint32_t plen = elig_rd32(r);
        uint64_t lsn = elig_rd64(r + 8);
        if (plen == 0 || plen > ELIG_LOG_PAYLOAD_MAX || plen > len - o - ELIG_LOG_RECORD_HEAD ||
            lsn < expect || lsn > most)
            continue;
        if (elig_rd32(r + 4) == elig_crc32c(0, r + 8, ELIG_LOG_RECORD_HEAD - 8 + plen))
            return true;
    }
    return false;
}

/* Hand the records of one complete unit, data[off..end), to fn (those from LSN from on). */
static int deliver_unit(const uint8_t *data, size_t off, size_t end, uint64_t lsn, uint64_t from,
                        elig_log_record_fn fn, void *ctx)
{
    for (; off < end; lsn++) {
        const uint8_t *r = data + off;
        uint32_t plen = elig_rd32(r);
        if (lsn >= from && fn) {
            int rc = fn(ctx, lsn, elig_rd16(r + 16), r + ELIG_LOG_RECORD_HEAD, plen);
            if (rc)
                return rc;
        }
        off += ELIG_LOG_RECORD_HEAD + plen;
    }
    return 0;
}

/* Where a scan ended, in terms the truncation needs. */
struct scan_end {
    size_t file;     /* index of the file where it stopped (n if past the last) */
    uint64_t offset; /* offset of the first bad byte in that file */
};

/* Check one record at data[off..len); the stop reason, or END for a good one. */
static enum elig_log_stop record_check(const uint8_t *data, size_t len, size_t off, uint64_t expect,
                                       uint32_t *plen)
{
    if (len - off < ELIG_LOG_RECORD_HEAD)
        return ELIG_LOG_STOP_SHORT_HEAD;
    const uint8_t *r = data + off;
    *plen = elig_rd32(r);
    if (*plen == 0)
        return ELIG_LOG_STOP_ZERO_LENGTH;
    if (*plen > ELIG_LOG_PAYLOAD_MAX || *plen > len - off - ELIG_LOG_RECORD_HEAD)
        return ELIG_LOG_STOP_LENGTH;
    if (elig_rd32(r + 4) != elig_crc32c(0, r + 8, ELIG_LOG_RECORD_HEAD - 8 + *plen))
        return ELIG_LOG_STOP_CRC;
    uint64_t lsn = elig_rd64(r + 8);
    if (lsn > expect)
        return ELIG_LOG_STOP_LSN_GAP;
    if (lsn < expect)
        return ELIG_LOG_STOP_LSN_BACK;
    return ELIG_LOG_STOP_END;
}

/* The first LSN in a segment file's header, or 0 if the header is bad; reads 64 bytes. */
static int header_of(int dirfd, const char *name, uint64_t *first)
{
    uint8_t h[ELIG_LOG_HEADER_SIZE];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = pread(fd, h, sizeof h, 0);
    close(fd);
    *first = got == (ssize_t)sizeof h ? header_check(h, sizeof h) : 0;
    return got < 0 ? -errno : 0;
}

/*
 * Walk the files in order, checking every record read, handing those from LSN
 * from on to fn. Files whose records all lie below from are not read (only
 * their headers), nor, with tail_only, any file before the last: an open
 * needs the tail, and a warm start must not read the whole log.
 */
static int scan_files(int dirfd, char **names, size_t n, uint64_t from, elig_log_record_fn fn,
                      void *ctx, struct elig_log_tail_report *rep, struct scan_end *end,
                      bool tail_only)
{
    memset(rep, 0, sizeof *rep);
    *end = (struct scan_end){ .file = n };
    uint64_t expect = 0; /* the LSN the next record must have; 0 before the first file */
    bool stopped = false;
    for (size_t i = 0; i < n; i++) {
        uint64_t head, next_first = 0;
        if (i + 1 < n)
            is_log_name(names[i + 1], &next_first);
        /* skip reading a file before the last when only its successors matter: an open
         * looks for the tail, a replay from `from` needs no record below it */
        if ((tail_only || (next_first != 0 && next_first <= from)) && !stopped && i + 1 < n) {
            int rc = header_of(dirfd, names[i], &head);
            if (rc < 0)
                return rc;
            if (head != 0 && (expect == 0 || head > expect)) {
                expect = 0; /* the next file's header tells where its records start */
                continue;
            }
        }
        uint8_t *data = NULL;
        size_t len = 0;
        int rc = read_file(dirfd, names[i], &data, &len);
        if (rc < 0)
            return rc;
        if (stopped) { /* wholly beyond the tail */
            rep->dropped_bytes += len;
            rep->dropped_files++;
            free(data);
            continue;
        }
        uint64_t first = header_check(data, len);
        enum elig_log_stop why = ELIG_LOG_STOP_END;
        size_t off = 0;
        if (first == 0)
            why = ELIG_LOG_STOP_FILE_HEADER;
        else if (expect != 0 && first != expect)
            why = ELIG_LOG_STOP_FILE_LSN;
        else
            off = ELIG_LOG_HEADER_SIZE;
        if (why == ELIG_LOG_STOP_END &&
            expect == 0) { /* the log starts here (older files pruned) */
            expect = first;
            rep->last_lsn = first - 1;
        }
        size_t unit_off = off; /* the unit being read starts here, at LSN unit_lsn */
        uint64_t unit_lsn = expect;
        while (why == ELIG_LOG_STOP_END && off < len) {
            uint32_t plen = 0;
            why = record_check(data, len, off, expect, &plen);
            if (why != ELIG_LOG_STOP_END)
                break;
            uint16_t flags = elig_rd16(data + off + 18);
            expect++;
            off += ELIG_LOG_RECORD_HEAD + plen;
            if (flags & ELIG_LOG_F_CONT)
                continue;
            rc = deliver_unit(data, unit_off, off, unit_lsn, from, fn, ctx);
            if (rc) {
                free(data);
                return rc;
            }
            rep->last_lsn = expect - 1;
            unit_off = off;
            unit_lsn = expect;
        }
        if (why == ELIG_LOG_STOP_END && unit_off < off)
            why = ELIG_LOG_STOP_UNIT; /* the file ends inside a unit */
        if (why != ELIG_LOG_STOP_END) {
            stopped = true;
            rep->stop = why;
            /* torn: the newest file, the bad spot not itself a valid record (one out of
             * sequence means records were lost), and nothing valid after it */
            rep->torn = i + 1 == n && why != ELIG_LOG_STOP_LSN_GAP &&
                        why != ELIG_LOG_STOP_LSN_BACK && why != ELIG_LOG_STOP_FILE_LSN &&
                        !valid_record_after(data, len, off + 1, expect);
            rep->dropped_records = expect - unit_lsn;
            off = unit_off;
            snprintf(rep->file, sizeof rep->file, "%s", names[i]);
            rep->offset = off;
            rep->dropped_bytes = len - off;
            *end = (struct scan_end){ .file = i, .offset = off };
        }
        free(data);
    }
    return 0;
}

int elig_log_scan(const char *dir, uint64_t from, elig_log_record_fn fn, void *ctx,
                  struct elig_log_tail_report *report)
{
    struct elig_log_tail_report local;
    struct scan_end end;
    char **names;
    size_t n;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    int rc = list_files(dirfd, &names, &n);
    if (rc == 0)
        rc = scan_files(dirfd, names, n, from, fn, ctx, report ? report : &local, &end, false);
    free_names(names, n);
    close(dirfd);
    return rc;
}

/* ---- opening ----------------------------------------------------------------------------- */

/* Cut the log where the scan stopped: truncate that file there (unlink it if its header is
 * bad), unlink the later ones, sync. */
static int truncate_tail(struct elig_log *log, char **names, size_t n, const struct scan_end *end)
{
    for (size_t i = n; i-- > end->file + 1;)
        if (unlinkat(log->dirfd, names[i], 0) < 0)
            return -errno;
    if (end->offset < ELIG_LOG_HEADER_SIZE) { /* its header is bad: it holds nothing good */
        if (unlinkat(log->dirfd, names[end->file], 0) < 0)
            return -errno;
    } else {
        int fd = openat(log->dirfd, names[end->file], O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        int rc = ftruncate(fd, (off_t)end->offset) < 0 || fdatasync(fd) < 0 ? -errno : 0;
        close(fd);
        if (rc < 0)
            return rc;
    }
    return fsync(log->dirfd) < 0 ? -errno : 0;
}

/* Reopen the newest file for appending, or leave fd -1 if the log is empty. */
static int reopen_last(struct elig_log *log)
{
    char **names;
    size_t n;
    int rc = list_files(log->dirfd, &names, &n);
    if (rc < 0)
        return rc;
    if (n > 0) {
        log->fd = openat(log->dirfd, names[n - 1], O_WRONLY | O_CLOEXEC);
        struct stat st;
        if (log->fd < 0 || fstat(log->fd, &st) < 0)
            rc = -errno;
        else
            log->file_size = (uint64_t)st.st_size;
    }
    free_names(names, n);
    return rc;
}

/*
 * Every file stamped with a store id must carry this store's: a log file of
 * another store (copied in, a backup restored into the wrong directory) is
 * refused before anything is read or cut. Files without a stamp (made
 * before stamps, or without a store) are accepted.
 */
static int check_ids(int dirfd, char **names, size_t n, const uint8_t *id,
                     struct elig_log_tail_report *rep)
{
    static const uint8_t none[ELIG_LOG_STORE_ID];
    for (size_t i = 0; i < n; i++) {
        uint8_t h[ELIG_LOG_HEADER_SIZE];
        int fd = openat(dirfd, names[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        ssize_t got = pread(fd, h, sizeof h, 0);
        close(fd);
        if (got != (ssize_t)sizeof h || header_check(h, sizeof h) == 0)
            continue; /* a bad header is the tail scan's business */
        if (memcmp(h + 32, none, sizeof none) != 0 && memcmp(h + 32, id, ELIG_LOG_STORE_ID) != 0) {
            memset(rep, 0, sizeof *rep);
            snprintf(rep->file, sizeof rep->file, "%s", names[i]);
            memcpy(rep->other_id, h + 32, sizeof rep->other_id);
            return -ELIG_ESTOREID;
        }
    }
    return 0;
}

static int log_alloc(const struct elig_log_params *p, struct elig_log **out)
{
    struct elig_log *log = calloc(1, sizeof *log);
    if (!log || !(log->dir = strdup(p->dir))) {
        free(log);
        return -ENOMEM;
    }
    log->fd = -1;
    log->dirfd = -1;
    log->lockfd = -1;
    log->segment_bytes = p->segment_bytes ? p->segment_bytes : DEFAULT_SEGMENT;
    log->window_us = p->commit_window_us;
    if (p->store_id) {
        log->has_id = true;
        memcpy(log->store_id, p->store_id, ELIG_LOG_STORE_ID);
    }
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    *out = log;
    return 0;
}

int elig_log_open(const struct elig_log_params *p, struct elig_log **out,
                  struct elig_log_tail_report *report)
{
    struct elig_log_tail_report local;
    struct elig_log_tail_report *rep = report ? report : &local;
    struct elig_log *log;
    if (mkdir(p->dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    int rc = log_alloc(p, &log);
    if (rc < 0)
        return rc;
    log->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dirfd < 0) {
        rc = -errno;
        goto fail;
    }
    log->lockfd = openat(log->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (log->lockfd < 0 || flock(log->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    char **names;
    size_t n;
    struct scan_end end;
    if ((rc = list_files(log->dirfd, &names, &n)) < 0)
        goto fail;
    if (p->store_id && (rc = check_ids(log->dirfd, names, n, p->store_id, rep)) < 0) {
        free_names(names, n);
        goto fail;
    }
    rc = scan_files(log->dirfd, names, n, UINT64_MAX, NULL, NULL, rep, &end, true);
    /* a bad spot before the last file's records: the good LSNs before it are in files the
     * quick scan skipped, so read them all */
    if (rc == 0 && rep->stop != ELIG_LOG_STOP_END &&
        (end.file + 1 < n || end.offset < ELIG_LOG_HEADER_SIZE))
        rc = scan_files(log->dirfd, names, n, 0, NULL, NULL, rep, &end, false);
    if (rc == 0 && rep->stop != ELIG_LOG_STOP_END)
        rc = p->tail == ELIG_LOG_TAIL_TRUNCATE || rep->torn ? truncate_tail(log, names, n, &end)
                                                            : -ELIG_ELOGTAIL;
    free_names(names, n);
    if (rc == 0)
        rc = reopen_last(log);
    if (rc == 0)
        rc = io_uring_queue_init(8, &log->ring, 0);
    if (rc < 0)
        goto fail;
    log->next_lsn = rep->last_lsn + 1;
    log->durable_lsn = rep->last_lsn;
    *out = log;
    return 0;
fail:
    if (log->fd >= 0)
        close(log->fd);
    if (log->lockfd >= 0)
        close(log->lockfd);
    if (log->dirfd >= 0)
        close(log->dirfd);
    pthread_mutex_destroy(&log->mu);
    pthread_cond_destroy(&log->cv);
    free(log->dir);
    free(log);
    return rc;
}

void elig_log_close(struct elig_log *log)
{
    if (!log)
        return;
    io_uring_queue_exit(&log->ring);
    if (log->fd >= 0)
        close(log->fd);
    close(log->lockfd);
    close(log->dirfd);
    pthread_mutex_destroy(&log->mu);
    pthread_cond_destroy(&log->cv);
    free(log->batch[0]);
    free(log->batch[1]);
    free(log->dir);
    free(log);
}

int elig_log_failed(const struct elig_log *log)
{
    return __atomic_load_n(&log->failed, __ATOMIC_ACQUIRE);
}

uint64_t elig_log_durable_lsn(const struct elig_log *log)
{
    return __atomic_load_n(&log->durable_lsn, __ATOMIC_ACQUIRE);
}

const struct elig_lat *elig_log_commit_latency(const struct elig_log *log)
{
    return &log->commit;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Leader: start a new segment file whose first record is first_lsn. */
static int roll(struct elig_log *log, uint64_t first_lsn)
{
    char name[NAME_LEN + 1];
    uint8_t h[ELIG_LOG_HEADER_SIZE];
    snprintf(name, sizeof name, NAME_FMT, (unsigned long long)first_lsn);
    int fd = openat(log->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    header_make(h, first_lsn, log->has_id ? log->store_id : NULL);
    if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h || fdatasync(fd) < 0 ||
        fsync(log->dirfd) < 0) {
        int rc = errno ? -errno : -EIO;
        close(fd);
        return rc;
    }
    if (log->fd >= 0)
        close(log->fd);
    log->fd = fd;
    log->file_size = sizeof h;
    return 0;
}

int elig_log_start_at(struct elig_log *log, uint64_t lsn)
{
    pthread_mutex_lock(&log->mu);
    int rc = log->fd >= 0 || log->next_lsn != 1 || lsn < 1 ? -EINVAL : roll(log, lsn);
    if (rc == 0) {
        log->next_lsn = lsn;
        __atomic_store_n(&log->durable_lsn, lsn - 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&log->mu);
    return rc;
}

#ifdef ELIG_LOG_TEST_IO
/*
 * Test builds only: the one global hook, so a test can stand between the
 * log and the disk (keep writes in memory until the sync, drop them at a
 * simulated crash). Production builds have no hook and no global.
 */
static const struct elig_log_test_io *test_io;

void elig_log_test_set_io(const struct elig_log_test_io *io)
{
    test_io = io;
}
#endif

/*
 * After a short write of done bytes: write the rest and sync, so the error
 * reported is the file system's own (ENOSPC, EDQUOT, EIO), not a guess.
 */
static int finish_short(struct elig_log *log, const uint8_t *buf, size_t len, size_t done)
{
    while (done < len) {
        ssize_t w = pwrite(log->fd, buf + done, len - done, (off_t)(log->file_size + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -ELIG_ESHORTWRITE;
        done += (size_t)w;
    }
    return fdatasync(log->fd) < 0 ? -errno : 0;
}

/* Leader: write buf and fdatasync, linked, in one submission. */
static int write_and_sync(struct elig_log *log, const uint8_t *buf, size_t len)
{
#ifdef ELIG_LOG_TEST_IO
    if (test_io) {
        int rc = test_io->write(log->fd, buf, len, log->file_size);
        if (rc == 0)
            rc = test_io->sync(log->fd);
        if (rc == 0)
            log->file_size += len;
        return rc;
    }
#endif
    struct io_uring_sqe *w = io_uring_get_sqe(&log->ring);
    struct io_uring_sqe *s = io_uring_get_sqe(&log->ring);
    if (!w || !s)
        return -EBUSY;
    io_uring_prep_write(w, log->fd, buf, (unsigned)len, log->file_size);
    w->flags |= IOSQE_IO_LINK;
    w->user_data = 1;
    io_uring_prep_fsync(s, log->fd, IORING_FSYNC_DATASYNC);
    s->user_data = 2;
    int rc = io_uring_submit_and_wait(&log->ring, 2);
    if (rc < 0)
        return rc;
    int wres = 0, sres = 0;
    for (int i = 0; i < 2; i++) {
        struct io_uring_cqe *cqe;
        if ((rc = io_uring_wait_cqe(&log->ring, &cqe)) < 0)
            return rc;
        if (cqe->user_data == 1)
            wres = cqe->res;
        else
            sres = cqe->res;
        io_uring_cqe_seen(&log->ring, cqe);
    }
    int result = wres < 0 ? wres : sres;
    if (wres >= 0 && (size_t)wres < len) /* short: the linked sync was cancelled */
        result = finish_short(log, buf, len, (size_t)wres);
    if (result == 0)
        log->file_size += len;
    return result;
}

/* Leader, mutex held on entry and exit: write and sync the open batch. */
static void lead(struct elig_log *log)
{
    log->leading = true;
    if (log->window_us) {
        pthread_mutex_unlock(&log->mu);
        struct timespec ts = { 0, (long)log->window_us * 1000 };
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&log->mu);
    }
    int b = log->open;
    size_t len = log->used;
    uint64_t first = log->batch_first, last = log->next_lsn - 1;
    log->open ^= 1;
    log->used = 0;
    log->batch_first = 0;
    pthread_mutex_unlock(&log->mu);

    int rc = 0;
    if (log->fd < 0 || log->file_size >= log->segment_bytes)
        rc = roll(log, first);
    if (rc == 0) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = write_and_sync(log, log->batch[b], len);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        elig_lat_add(&log->commit, (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
                                       (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
    }

    pthread_mutex_lock(&log->mu);
    if (rc < 0)
        __atomic_store_n(&log->failed, rc, __ATOMIC_RELEASE);
    else
        __atomic_store_n(&log->durable_lsn, last, __ATOMIC_RELEASE);
    log->leading = false;
    pthread_cond_broadcast(&log->cv);
}

/* Mutex held: room for n more bytes in the open batch. */
static int batch_reserve(struct elig_log *log, size_t n)
{
    int b = log->open;
    if (log->used + n <= log->cap[b])
        return 0;
    size_t cap = log->cap[b] ? log->cap[b] : 1u << 16;
    while (cap < log->used + n)
        cap *= 2;
    uint8_t *grown = realloc(log->batch[b], cap);
    if (!grown)
        return -ENOMEM;
    log->batch[b] = grown;
    log->cap[b] = cap;
    return 0;
}

/* Mutex held: format one record at the end of the open batch (room reserved). */
static uint64_t batch_add(struct elig_log *log, const struct elig_log_rec *rec, uint16_t flags)
{
    uint64_t lsn = log->next_lsn++;
    uint8_t *r = log->batch[log->open] + log->used;
    elig_le32(r, (uint32_t)rec->len);
    elig_le64(r + 8, lsn);
    r[16] = (uint8_t)rec->kind;
    r[17] = (uint8_t)(rec->kind >> 8);
    r[18] = (uint8_t)flags;
    r[19] = (uint8_t)(flags >> 8);
    memcpy(r + ELIG_LOG_RECORD_HEAD, rec->payload, rec->len);
    elig_le32(r + 4, elig_crc32c(0, r + 8, ELIG_LOG_RECORD_HEAD - 8 + rec->len));
    log->used += ELIG_LOG_RECORD_HEAD + rec->len;
    if (log->batch_first == 0)
        log->batch_first = lsn;
    return lsn;
}

int elig_log_append_batch(struct elig_log *log, const struct elig_log_rec *recs, size_t n,
                          uint64_t *first_lsn)
{
    size_t bytes = 0;
    if (n == 0 || !recs)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].len == 0 || recs[i].len > ELIG_LOG_PAYLOAD_MAX)
            return -EINVAL;
        bytes += ELIG_LOG_RECORD_HEAD + recs[i].len;
    }
    pthread_mutex_lock(&log->mu);
    int rc = log->failed;
    if (rc == 0)
        rc = batch_reserve(log, bytes);
    if (rc < 0) {
        pthread_mutex_unlock(&log->mu);
        return rc;
    }
    uint64_t first = log->next_lsn, last = first + n - 1;
    for (size_t i = 0; i < n; i++)
        batch_add(log, &recs[i], i + 1 < n ? ELIG_LOG_F_CONT : 0);
    while (log->durable_lsn < last && log->failed == 0) {
        if (!log->leading)
            lead(log);
        else
            pthread_cond_wait(&log->cv, &log->mu);
    }
    rc = log->durable_lsn >= last ? 0 : log->failed;
    pthread_mutex_unlock(&log->mu);
    if (rc == 0 && first_lsn)
        *first_lsn = first;
    return rc;
}

int elig_log_append(struct elig_log *log, uint16_t kind, const void *payload, size_t len,
                    uint64_t *lsn)
{
    struct elig_log_rec rec = { kind, payload, len };
    return elig_log_append_batch(log, &rec, 1, lsn);
}

/* ---- pruning ------------------------------------------------------------------------------- */

int elig_log_prune(const char *dir, uint64_t upto)
{
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    char **names;
    size_t n;
    int rc = list_files(dirfd, &names, &n), deleted = 0;
    /* file i holds LSNs first(i) .. first(i+1) - 1: deletable when that is <= upto */
    for (size_t i = 0; rc == 0 && i + 1 < n; i++) {
        uint64_t next_first = 0;
        is_log_name(names[i + 1], &next_first);
        if (next_first == 0 || next_first - 1 > upto)
            break;
        if (unlinkat(dirfd, names[i], 0) < 0)
            rc = -errno;
        else
            deleted++;
    }
    if (rc == 0 && deleted && fsync(dirfd) < 0)
        rc = -errno;
    free_names(names, n);
    close(dirfd);
    return rc < 0 ? rc : deleted;
}

const char *elig_log_stop_name(enum elig_log_stop stop)
{
    static const char *const names[] = {
        [ELIG_LOG_STOP_END] = "end",
        [ELIG_LOG_STOP_SHORT_HEAD] = "short record header",
        [ELIG_LOG_STOP_ZERO_LENGTH] = "zero record length",
        [ELIG_LOG_STOP_LENGTH] = "record length past the end of the file",
        [ELIG_LOG_STOP_CRC] = "record checksum mismatch",
        [ELIG_LOG_STOP_LSN_GAP] = "gap in the LSN sequence",
        [ELIG_LOG_STOP_LSN_BACK] = "LSN going backwards",
        [ELIG_LOG_STOP_FILE_HEADER] = "bad segment file header",
        [ELIG_LOG_STOP_FILE_LSN] = "segment file does not follow the previous one",
        [ELIG_LOG_STOP_UNIT] = "update unit without its last record",
    };
    return (unsigned)stop < sizeof names / sizeof names[0] ? names[stop] : "unknown";
}
