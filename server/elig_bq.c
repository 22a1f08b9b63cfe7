/* SPDX-License-Identifier: MIT */
/*
 * elig_bq: appointment lists (一括照会), checked in the background.
 *
 * Data. The lists' table is an array sorted by reception number (found by
 * binary search; lists arrive a few a second at most, so an insertion's
 * move is nothing), under one mutex. What a list holds is in its files:
 *
 *   NNNN.part / NNNN.req: a 64-byte head, then the entries as LIST_SUBMIT
 *     carried them (BATCH entries, back to back)
 *        0  8  magic "ELIGLST1"
 *        8 10  facility code
 *       20  4  entries
 *       24  8  handed in (Unix seconds)
 *       32  4  CRC32C of the entries' bytes
 *       36  4  bytes of the entries (a part cut short by a crash is overwritten)
 *       60  4  CRC32C of bytes 0..59
 *   NNNN.res: a 64-byte head (magic "ELIGANS1", the same fields but the
 *     CRC at 32 covers the offset table), then entries + 1 u32 offsets from
 *     the file's start, then each answer as u32 CRC32C of its bytes and the
 *     bytes (docs/protocol.md's answer), so one page of answers is read and
 *     checked without reading the rest.
 *
 * A part is written where the entries the head counts end, the file cut
 * there, and the head rewritten after it (so a part a crash interrupted is
 * not there: the facility sends it again after the restart); a list is closed by syncing its file,
 * renaming it to .req and syncing the directory before the facility hears "queued". Answers are
 * written to NNNN.res.tmp, synced, renamed, the directory synced, and only then is the .req
 * removed: a crash leaves either the request (checked again at the next start) or the answers. A
 * damaged file is named in the log, renamed NNNN.failed (kept for a look until the list's retention
 * ends) and its list answered as failed; nothing is answered from it.
 *
 * Worker. One thread, SCHED_IDLE, a reader of the served index like the
 * facility workers (elig_live): it passes a safe point between runs of 64
 * entries, so a grow never waits long for it, and sleeps on a condition
 * variable (waking every 100 ms to pass a safe point) when nothing is queued.
 */
#include "elig_bq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_check.h"
#include "elig_crc32c.h"
#include "elig_io.h"
#include "elig_le.h"
#include "elig_net_error.h"
#include "elig_slog.h"

#define HEAD       64
#define REQ_MAGIC  "ELIGLST1"
#define RES_MAGIC  "ELIGANS1"
#define RUN        64 /* entries checked between safe points */
#define OPEN_MAX_S 3600
#define CHECKER_ID 127
#define WAKE_MS    100
#define ANSWER_MAX 65536 /* far above the largest answer: a bound for a damaged table */
#define ENTRY_MAX  (12 + 4 + 24 + 120 + 60 + 6) /* the largest BATCH entry */

struct list {
    uint64_t reception;
    char fac[ELIG_PROTO_FACILITY_LEN + 1];
    uint8_t state; /* enum elig_list_state */
    uint32_t entries, done;
    int64_t created;
    uint64_t seq; /* order of checking: handed in (or put back after an error) */
};

struct elig_bq {
    char *dir;
    struct elig_live *live;
    unsigned per_facility, max_lists;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct list *lists; /* sorted by reception */
    size_t n, cap;
    uint64_t answered;
    uint64_t seq_next; /* the next list's place in the order of checking */
    bool stop, started;
    pthread_t thread;
};

/* ---- files ------------------------------------------------------------------- */

static void path_of(const struct elig_bq *q, uint64_t reception, const char *ext, char *out,
                    size_t cap)
{
    snprintf(out, cap, "%s/%016llx%s", q->dir, (unsigned long long)reception, ext);
}

struct head {
    char magic[8];
    char fac[ELIG_PROTO_FACILITY_LEN + 1];
    uint32_t entries;
    int64_t created;
    uint32_t crc;
    uint32_t bytes; /* of the entries (requests) */
};

static void head_encode(const struct head *h, uint8_t out[HEAD])
{
    memset(out, 0, HEAD);
    memcpy(out, h->magic, 8);
    memcpy(out + 8, h->fac, ELIG_PROTO_FACILITY_LEN);
    elig_le32(out + 20, h->entries);
    elig_le64(out + 24, (uint64_t)h->created);
    elig_le32(out + 32, h->crc);
    elig_le32(out + 36, h->bytes);
    elig_le32(out + 60, elig_crc32c(0, out, 60));
}

static int head_decode(const uint8_t in[HEAD], const char *magic, struct head *h)
{
    if (memcmp(in, magic, 8) != 0 || elig_rd32(in + 60) != elig_crc32c(0, in, 60))
        return -ELIG_ELISTFILE;
    memcpy(h->magic, in, 8);
    memcpy(h->fac, in + 8, ELIG_PROTO_FACILITY_LEN);
    h->fac[ELIG_PROTO_FACILITY_LEN] = '\0';
    h->entries = elig_rd32(in + 20);
    h->created = (int64_t)elig_rd64(in + 24);
    h->crc = elig_rd32(in + 32);
    h->bytes = elig_rd32(in + 36);
    return h->entries <= ELIG_PROTO_LIST_MAX && elig_proto_facility_valid(h->fac) ? 0
                                                                                  : -ELIG_ELISTFILE;
}

static int read_head(const char *path, const char *magic, struct head *h)
{
    uint8_t buf[HEAD];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = elig_io_pread_all(fd, buf, HEAD, 0);
    close(fd);
    if (rc == -ENODATA)
        rc = -ELIG_ELISTFILE;
    return rc ? rc : head_decode(buf, magic, h);
}

/* ---- the table (mutex held) ---------------------------------------------------- */

static struct list *find(struct elig_bq *q, uint64_t reception, size_t *pos)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (q->lists[mid].reception < reception)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < q->n && q->lists[lo].reception == reception ? &q->lists[lo] : NULL;
}

static struct list *insert(struct elig_bq *q, const struct list *l)
{
    size_t pos;
    if (find(q, l->reception, &pos))
        return NULL;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct list *a = realloc(q->lists, cap * sizeof *a);
        if (a == NULL)
            return NULL;
        q->lists = a;
        q->cap = cap;
    }
    memmove(&q->lists[pos + 1], &q->lists[pos], (q->n - pos) * sizeof *q->lists);
    q->lists[pos] = *l;
    q->n++;
    return &q->lists[pos];
}

static void drop(struct elig_bq *q, struct list *l)
{
    size_t pos = (size_t)(l - q->lists);
    memmove(l, l + 1, (q->n - pos - 1) * sizeof *l);
    q->n--;
}

static void state_of(const struct list *l, struct elig_proto_list_state *st)
{
    *st = (struct elig_proto_list_state){
        .reception = l->reception, .state = l->state, .entries = l->entries, .done = l->done
    };
}

/* A list of facility and reception, or NULL (another facility's is not shown either). */
static struct list *find_own(struct elig_bq *q, const char *facility, uint64_t reception)
{
    struct list *l = find(q, reception, NULL);
    return l && memcmp(l->fac, facility, ELIG_PROTO_FACILITY_LEN) == 0 ? l : NULL;
}

/* ---- handing in ---------------------------------------------------------------- */

static int write_part(const char *path, bool create, const struct head *h, const uint8_t *entries,
                      size_t len, uint64_t at, bool last)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
    if (fd < 0)
        return -errno;
    uint8_t buf[HEAD];
    head_encode(h, buf);
    int rc = elig_io_pwrite_all(fd, entries, len, at);
    if (rc == 0 && ftruncate(fd, (off_t)(at + len)) < 0)
        rc = -errno;
    if (rc == 0)
        rc = elig_io_pwrite_all(fd, buf, HEAD, 0);
    if (rc == 0 && last && fdatasync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

static uint64_t new_reception(struct elig_bq *q)
{
    uint64_t r;
    do {
        randombytes_buf(&r, sizeof r);
        r &= (1ull << 63) - 1; /* positive as a signed number too */
    } while (r == 0 || find(q, r, NULL));
    return r;
}

static unsigned waiting_of(const struct elig_bq *q, const char *facility)
{
    unsigned n = 0;
    for (size_t i = 0; i < q->n; i++)
        n += q->lists[i].state < ELIG_LIST_DONE &&
             memcmp(q->lists[i].fac, facility, ELIG_PROTO_FACILITY_LEN) == 0;
    return n;
}

int elig_bq_submit(struct elig_bq *q, const char *facility, const struct elig_proto_list_part *part,
                   int64_t now, struct elig_proto_list_state *st)
{
    bool last = part->flags & ELIG_PROTO_LIST_PART_LAST;
    char path[4200], done[4200];
    pthread_mutex_lock(&q->mu);
    struct list *l;
    int rc = 0;
    if (part->reception == 0) {
        if (waiting_of(q, facility) >= q->per_facility || q->n >= q->max_lists) {
            pthread_mutex_unlock(&q->mu);
            return -EUSERS;
        }
        struct list nl = { .reception = new_reception(q),
                           .state = ELIG_LIST_OPEN,
                           .created = now,
                           .seq = ++q->seq_next };
        memcpy(nl.fac, facility, ELIG_PROTO_FACILITY_LEN);
        if ((l = insert(q, &nl)) == NULL) {
            pthread_mutex_unlock(&q->mu);
            return -ENOMEM;
        }
    } else if ((l = find_own(q, facility, part->reception)) == NULL || l->state != ELIG_LIST_OPEN) {
        pthread_mutex_unlock(&q->mu);
        return -ENOENT;
    }
    if (l->entries + part->count > ELIG_PROTO_LIST_MAX) {
        pthread_mutex_unlock(&q->mu);
        return -E2BIG;
    }
    /* the file is this list's alone and the list stays open: written with the mutex held,
     * since a part is small and another part of the same list must not interleave */
    path_of(q, l->reception, ".part", path, sizeof path);
    struct head h = { .magic = REQ_MAGIC,
                      .entries = l->entries + part->count,
                      .created = l->created };
    memcpy(h.fac, facility, ELIG_PROTO_FACILITY_LEN);
    uint64_t at = HEAD;
    if (l->entries) {
        struct head old;
        rc = read_head(path, REQ_MAGIC, &old);
        if (rc == 0) {
            at = HEAD + (uint64_t)old.bytes;
            h.crc = old.crc;
            h.bytes = old.bytes;
        }
    }
    if (rc == 0 && h.bytes + part->entries_len > (uint64_t)ELIG_PROTO_LIST_MAX * ENTRY_MAX)
        rc = -E2BIG;
    if (rc == 0) {
        h.crc = elig_crc32c(h.crc, part->entries, part->entries_len);
        h.bytes += (uint32_t)part->entries_len;
        rc = write_part(path, l->entries == 0, &h, part->entries, part->entries_len, at, last);
    }
    if (rc == 0 && last) {
        path_of(q, l->reception, ".req", done, sizeof done);
        rc = rename(path, done) < 0 ? -errno : elig_io_sync_dir(q->dir);
    }
    if (rc == 0) {
        l->entries = h.entries;
        if (last) {
            l->state = ELIG_LIST_QUEUED;
            l->seq = ++q->seq_next; /* checked in the order lists are closed */
            pthread_cond_signal(&q->cv);
        }
        state_of(l, st);
    } else if (l->entries == 0) { /* a new list that could not be written: not made */
        unlink(path);
        drop(q, l);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/* ---- fetching ------------------------------------------------------------------ */

/* Keep a damaged file as NNNN.failed: named, kept for a look, never checked or read again. */
static void mark_failed_file(const struct elig_bq *q, uint64_t reception, const char *path)
{
    char failed[4200];
    path_of(q, reception, ".failed", failed, sizeof failed);
    if (rename(path, failed) == 0)
        elig_io_sync_dir(q->dir);
}

static void fail_list(struct elig_bq *q, uint64_t reception, const char *path, int rc)
{
    elig_slog(ELIG_SLOG_ERROR, "appointment list %s: %s: marked failed", path,
              elig_net_strerror(rc));
    mark_failed_file(q, reception, path);
    pthread_mutex_lock(&q->mu);
    struct list *l = find(q, reception, NULL);
    if (l)
        l->state = ELIG_LIST_FAILED;
    pthread_mutex_unlock(&q->mu);
}

/* Answers first.. of a done list's file into out; see elig_bq_fetch(). */
static int read_answers(const char *path, const struct elig_proto_list_fetch *f, uint32_t entries,
                        uint8_t *out, size_t cap, size_t *len, uint16_t *count)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno; /* ENOENT: pruned meanwhile, or removed: not found */
    uint8_t hb[HEAD];
    struct head h;
    uint32_t n = entries - f->first < f->max ? entries - f->first : f->max;
    uint32_t *off = malloc(((size_t)entries + 1) * sizeof *off);
    uint8_t *rec = NULL;
    int rc = off ? elig_io_pread_all(fd, hb, HEAD, 0) : -ENOMEM;
    if (rc == 0 && (rc = head_decode(hb, RES_MAGIC, &h)) == 0 && h.entries != entries)
        rc = -ELIG_ELISTFILE;
    /* the whole table: its CRC is over all of it (40 KiB at most) */
    if (rc == 0)
        rc = elig_io_pread_all(fd, off, ((size_t)entries + 1) * 4, HEAD);
    if (rc == 0 && elig_crc32c(0, off, ((size_t)entries + 1) * 4) != h.crc)
        rc = -ELIG_ELISTFILE;
    for (uint32_t i = 0; rc == 0 && i <= entries; i++) {
        off[i] = elig_rd32((uint8_t *)&off[i]);
        if (i && (off[i] < off[i - 1] + 4 || off[i] - off[i - 1] - 4 > ANSWER_MAX))
            rc = -ELIG_ELISTFILE;
    }
    /* as many whole answers as fit */
    uint32_t k = 0;
    size_t bytes = 0;
    while (rc == 0 && k < n && bytes + (off[f->first + k + 1] - off[f->first + k] - 4) <= cap) {
        bytes += off[f->first + k + 1] - off[f->first + k] - 4;
        k++;
    }
    size_t span = k ? off[f->first + k] - off[f->first] : 0;
    if (rc == 0 && k && (rec = malloc(span)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && k)
        rc = elig_io_pread_all(fd, rec, span, off[f->first]);
    size_t w = 0;
    for (uint32_t i = 0; rc == 0 && i < k; i++) {
        const uint8_t *r = rec + (off[f->first + i] - off[f->first]);
        size_t alen = off[f->first + i + 1] - off[f->first + i] - 4;
        if (elig_rd32(r) != elig_crc32c(0, r + 4, alen)) {
            rc = -ELIG_ELISTFILE;
            break;
        }
        memcpy(out + w, r + 4, alen);
        w += alen;
    }
    if (rc == -ENODATA)
        rc = -ELIG_ELISTFILE;
    close(fd);
    free(off);
    free(rec);
    *len = rc ? 0 : w;
    *count = rc ? 0 : (uint16_t)k;
    return rc;
}

int elig_bq_fetch(struct elig_bq *q, const char *facility, const struct elig_proto_list_fetch *f,
                  uint8_t *out, size_t cap, size_t *len, uint16_t *count,
                  struct elig_proto_list_state *st)
{
    *len = 0;
    *count = 0;
    pthread_mutex_lock(&q->mu);
    struct list *l = find_own(q, facility, f->reception);
    if (l == NULL) {
        pthread_mutex_unlock(&q->mu);
        return -ENOENT;
    }
    state_of(l, st);
    pthread_mutex_unlock(&q->mu);
    if (st->state != ELIG_LIST_DONE || f->first >= st->entries)
        return 0;
    char path[4200];
    path_of(q, f->reception, ".res", path, sizeof path);
    int rc = read_answers(path, f, st->entries, out, cap, len, count);
    if (rc == -ELIG_ELISTFILE) {
        fail_list(q, f->reception, path, rc);
        st->state = ELIG_LIST_FAILED;
    }
    return rc;
}

/* ---- checking ------------------------------------------------------------------ */

/* The answers' file being written by check_list(), one answer at a time. */
struct run {
    int fd;        /* the answers' file being written */
    uint32_t *off; /* its offset table */
    uint32_t next; /* the next answer's index */
    uint64_t at;   /* where it goes */
    struct elig_pbuf buf;
    int err;
};

static int emit_answer(void *ctx, size_t i, const struct elig_proto_answer *a)
{
    (void)i;
    struct run *r = ctx;
    r->buf.len = 4;
    int rc = elig_proto_answer_encode(&r->buf, a);
    if (rc == 0) {
        elig_le32(r->buf.data, elig_crc32c(0, r->buf.data + 4, r->buf.len - 4));
        rc = elig_io_pwrite_all(r->fd, r->buf.data, r->buf.len, r->at);
    }
    if (rc) {
        r->err = rc;
        return rc;
    }
    r->off[r->next++] = (uint32_t)r->at;
    r->at += r->buf.len;
    return 0;
}

/*
 * Check list l (its .req) into its .res. live/slot: the served index, entered
 * between runs (NULL: ck's index throughout). Returns 0, or an error that
 * marks the list failed (a damaged request) or leaves it queued (-errno).
 */
static int check_list(struct elig_bq *q, struct list *snap, struct elig_checker *ck,
                      struct elig_live *live, int slot)
{
    char req[4200], res[4200], tmp[4200];
    path_of(q, snap->reception, ".req", req, sizeof req);
    path_of(q, snap->reception, ".res", res, sizeof res);
    path_of(q, snap->reception, ".res.tmp", tmp, sizeof tmp);
    struct head h;
    struct stat sb;
    uint8_t *body = NULL;
    struct elig_check_req *reqs = NULL;
    struct run r = { .fd = -1 };
    int fd = open(req, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0               ? (errno == ENOENT ? -ELIG_ELISTFILE : -errno)
             : fstat(fd, &sb) < 0 ? -errno
                                  : 0;
    if (rc == 0 &&
        (sb.st_size < HEAD || sb.st_size > HEAD + (off_t)ELIG_PROTO_LIST_MAX * ENTRY_MAX))
        rc = -ELIG_ELISTFILE;
    if (rc == 0 && (body = malloc((size_t)sb.st_size)) == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = elig_io_pread_all(fd, body, (size_t)sb.st_size, 0);
    if (fd >= 0)
        close(fd);
    size_t elen = rc == 0 ? (size_t)sb.st_size - HEAD : 0;
    if (rc == 0 && ((rc = head_decode(body, REQ_MAGIC, &h)) != 0 || h.bytes != elen ||
                    h.crc != elig_crc32c(0, body + HEAD, elen)))
        rc = -ELIG_ELISTFILE;
    /* every entry decodes (each was checked when it came) and is prepared for the checker */
    if (rc == 0 && (reqs = calloc(h.entries ? h.entries : 1, sizeof *reqs)) == NULL)
        rc = -ENOMEM;
    elig_date_t today = elig_date_of_time(h.created);
    size_t at = 0;
    for (uint32_t i = 0; rc == 0 && i < h.entries; i++) {
        struct elig_proto_number e;
        if (elig_proto_number_decode(body + HEAD, elen, &at, true, &e))
            rc = -ELIG_ELISTFILE;
        else
            elig_check_prepare_number(&e, h.fac[2], today, &reqs[i]);
    }
    if (rc == 0 && at != elen)
        rc = -ELIG_ELISTFILE;
    if (rc == 0 && (r.off = malloc(((size_t)h.entries + 1) * sizeof *r.off)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && (r.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        rc = -errno;
    r.at = HEAD + ((uint64_t)h.entries + 1) * 4;
    if (rc == 0 && elig_pbuf_reserve(&r.buf, 4))
        rc = -ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < h.entries; i += RUN) {
        if (live) {
            bool changed;
            const struct elig_index *ix = elig_live_enter(live, slot, &changed);
            if (changed)
                elig_checker_set_index(ck, ix);
        }
        size_t m = h.entries - i < RUN ? h.entries - i : RUN;
        rc = elig_checker_run(ck, reqs + i, m, emit_answer, &r);
        if (rc == 0 && r.err)
            rc = r.err;
        pthread_mutex_lock(&q->mu);
        struct list *l = find(q, snap->reception, NULL);
        if (l)
            l->done = i + (uint32_t)m;
        bool stop = q->stop || !l;
        q->answered += m;
        pthread_mutex_unlock(&q->mu);
        if (stop && rc == 0)
            rc = -ECANCELED;
        if (live)
            sched_yield();
    }
    if (rc == 0) {
        r.off[h.entries] = (uint32_t)r.at;
        for (uint32_t i = 0; i <= h.entries; i++)
            elig_le32((uint8_t *)&r.off[i], r.off[i]);
        struct head rh = h;
        memcpy(rh.magic, RES_MAGIC, 8);
        rh.crc = elig_crc32c(0, r.off, ((size_t)h.entries + 1) * 4);
        uint8_t hb[HEAD];
        head_encode(&rh, hb);
        rc = elig_io_pwrite_all(r.fd, r.off, ((size_t)h.entries + 1) * 4, HEAD);
        if (rc == 0)
            rc = elig_io_pwrite_all(r.fd, hb, HEAD, 0);
        if (rc == 0 && fdatasync(r.fd) < 0)
            rc = -errno;
    }
    if (r.fd >= 0 && close(r.fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0)
        rc = rename(tmp, res) < 0 ? -errno : elig_io_sync_dir(q->dir);
    if (rc == 0)
        unlink(req); /* the answers are durable: the request is no longer needed */
    else
        unlink(tmp);
    free(body);
    free(reqs);
    free(r.off);
    elig_pbuf_free(&r.buf);
    pthread_mutex_lock(&q->mu);
    struct list *l = find(q, snap->reception, NULL);
    if (l)
        l->state = rc == 0                 ? ELIG_LIST_DONE
                   : rc == -ELIG_ELISTFILE ? ELIG_LIST_FAILED
                                           : ELIG_LIST_QUEUED;
    pthread_mutex_unlock(&q->mu);
    if (rc == -ELIG_ELISTFILE) {
        elig_slog(ELIG_SLOG_ERROR, "appointment list %s: %s: marked failed", req,
                  elig_net_strerror(rc));
        mark_failed_file(q, snap->reception, req);
    } else if (rc && rc != -ECANCELED)
        elig_slog(ELIG_SLOG_ERROR, "appointment list %s: %s: to be checked again", req,
                  elig_net_strerror(rc));
    return rc;
}

/* The first queued list in the order of checking, marked running; false if none. */
static bool take_next(struct elig_bq *q, struct list *out)
{
    struct list *best = NULL;
    for (size_t i = 0; i < q->n; i++) {
        struct list *l = &q->lists[i];
        if (l->state == ELIG_LIST_QUEUED &&
            (!best || l->seq < best->seq || (l->seq == best->seq && l->created < best->created)))
            best = l;
    }
    if (!best)
        return false;
    best->state = ELIG_LIST_RUNNING;
    best->done = 0;
    *out = *best;
    return true;
}

int elig_bq_run(struct elig_bq *q, const struct elig_index *ix)
{
    struct list l;
    pthread_mutex_lock(&q->mu);
    bool got = take_next(q, &l);
    pthread_mutex_unlock(&q->mu);
    if (!got)
        return 0;
    struct elig_checker *ck;
    int rc = elig_checker_create(ix, elig_check_ref_base(CHECKER_ID), &ck);
    if (rc) {
        pthread_mutex_lock(&q->mu);
        struct list *x = find(q, l.reception, NULL);
        if (x)
            x->state = ELIG_LIST_QUEUED;
        pthread_mutex_unlock(&q->mu);
        return rc;
    }
    rc = check_list(q, &l, ck, NULL, -1);
    elig_checker_destroy(ck);
    return rc == 0 || rc == -ELIG_ELISTFILE ? 1 : rc;
}

static void *worker(void *arg)
{
    struct elig_bq *q = arg;
    struct sched_param sp = { 0 };
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp); /* single checks come first */
    int slot = elig_live_join(q->live);
    struct elig_checker *ck = NULL;
    if (slot < 0 || elig_checker_create(elig_live_enter(q->live, slot, NULL),
                                        elig_check_ref_base(CHECKER_ID), &ck)) {
        elig_slog(ELIG_SLOG_ERROR, "appointment lists: no worker (out of memory or readers)");
        if (slot >= 0)
            elig_live_leave(q->live, slot);
        return NULL;
    }
    int64_t pruned = 0;
    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        struct list l;
        if (take_next(q, &l)) {
            pthread_mutex_unlock(&q->mu);
            int rc = check_list(q, &l, ck, q->live, slot);
            pthread_mutex_lock(&q->mu);
            if (rc && rc != -ELIG_ELISTFILE && rc != -ECANCELED && !q->stop) {
                struct timespec t; /* a disk error: not at once again */
                clock_gettime(CLOCK_REALTIME, &t);
                t.tv_sec += 1;
                pthread_cond_timedwait(&q->cv, &q->mu, &t);
            }
            continue;
        }
        int64_t now = (int64_t)time(NULL);
        if (now - pruned >= 3600) {
            pruned = now;
            pthread_mutex_unlock(&q->mu);
            int n = elig_bq_prune(q, now);
            if (n > 0)
                elig_slog(ELIG_SLOG_INFO, "appointment lists: %d past their retention deleted", n);
            pthread_mutex_lock(&q->mu);
            continue;
        }
        pthread_mutex_unlock(&q->mu);
        bool changed;
        const struct elig_index *ix = elig_live_enter(q->live, slot, &changed); /* a safe point */
        if (changed)
            elig_checker_set_index(ck, ix);
        pthread_mutex_lock(&q->mu);
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += WAKE_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        if (!q->stop)
            pthread_cond_timedwait(&q->cv, &q->mu, &t);
    }
    pthread_mutex_unlock(&q->mu);
    elig_checker_destroy(ck);
    elig_live_leave(q->live, slot);
    return NULL;
}

/* ---- retention ----------------------------------------------------------------- */

/* The first day of the month before now's: lists handed in before it are past retention. */
static int64_t retention_start(int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

int elig_bq_prune(struct elig_bq *q, int64_t now)
{
    int64_t keep_from = retention_start(now);
    int n = 0;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->n;) {
        struct list *l = &q->lists[i];
        bool old = l->created < keep_from && l->state != ELIG_LIST_RUNNING;
        bool abandoned = l->state == ELIG_LIST_OPEN && now - l->created > OPEN_MAX_S;
        if (!old && !abandoned) {
            i++;
            continue;
        }
        static const char *const ext[] = { ".part", ".req", ".res", ".res.tmp", ".failed" };
        for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
            char path[4200];
            path_of(q, l->reception, ext[k], path, sizeof path);
            unlink(path);
        }
        drop(q, l);
        n++;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* ---- opening ------------------------------------------------------------------- */

/* Take up one file of the directory at open. */
static void take_up(struct elig_bq *q, const char *name)
{
    char hex[17];
    const char *dot = strchr(name, '.');
    if (!dot || dot - name != 16)
        return;
    memcpy(hex, name, 16);
    hex[16] = '\0';
    char *end;
    uint64_t reception = strtoull(hex, &end, 16);
    if (*end || reception == 0)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", q->dir, name);
    if (strcmp(dot, ".res.tmp") == 0) { /* answers a crash left half written: checked again */
        unlink(path);
        return;
    }
    uint8_t state = strcmp(dot, ".part") == 0     ? ELIG_LIST_OPEN
                    : strcmp(dot, ".req") == 0    ? ELIG_LIST_QUEUED
                    : strcmp(dot, ".res") == 0    ? ELIG_LIST_DONE
                    : strcmp(dot, ".failed") == 0 ? ELIG_LIST_FAILED
                                                  : 0xff;
    if (state == 0xff)
        return;
    struct head h;
    int rc = read_head(path, state == ELIG_LIST_DONE ? RES_MAGIC : REQ_MAGIC, &h);
    if (rc && state == ELIG_LIST_FAILED)
        rc = read_head(path, RES_MAGIC, &h); /* a damaged answers' file */
    if (rc && state == ELIG_LIST_FAILED) {   /* its head is damaged too: nothing to answer with */
        struct stat sb;
        if (stat(path, &sb) == 0 && (int64_t)sb.st_mtime < retention_start((int64_t)time(NULL)))
            unlink(path); /* past any list's retention, by its own age */
        return;
    }
    if (rc) {
        fprintf(stderr, "eligd: appointment list %s: %s: left out\n", path, elig_net_strerror(rc));
        return;
    }
    struct list *l = find(q, reception, NULL);
    if (l) { /* answers and a request both there (a crash before the unlink): answered */
        if (state == ELIG_LIST_DONE || l->state == ELIG_LIST_DONE) {
            char req[4200];
            path_of(q, reception, ".req", req, sizeof req);
            unlink(req);
            l->state = ELIG_LIST_DONE;
            l->done = l->entries;
        }
        return;
    }
    struct list nl = { .reception = reception,
                       .state = state,
                       .entries = h.entries,
                       .done = state == ELIG_LIST_DONE ? h.entries : 0,
                       .created = h.created };
    memcpy(nl.fac, h.fac, ELIG_PROTO_FACILITY_LEN + 1);
    insert(q, &nl);
}

int elig_bq_open(const struct elig_bq_params *p, struct elig_bq **out)
{
    if (mkdir(p->dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    DIR *d = opendir(p->dir);
    if (d == NULL)
        return -errno;
    struct elig_bq *q = calloc(1, sizeof *q);
    if (q == NULL || (q->dir = strdup(p->dir)) == NULL) {
        closedir(d);
        free(q);
        return -ENOMEM;
    }
    q->live = p->live;
    q->per_facility = p->per_facility ? p->per_facility : 20;
    q->max_lists = p->max_lists ? p->max_lists : 100000;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        take_up(q, e->d_name);
    closedir(d);
    /* lists found queued are checked in the order they were handed in (seq 0: by time) */
    if (q->live) {
        int rc = pthread_create(&q->thread, NULL, worker, q);
        if (rc) {
            elig_bq_close(q);
            return -rc;
        }
        q->started = true;
    }
    *out = q;
    return 0;
}

void elig_bq_close(struct elig_bq *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->started)
        pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->lists);
    free(q->dir);
    free(q);
}

void elig_bq_stats(struct elig_bq *q, struct elig_bq_stats *st)
{
    *st = (struct elig_bq_stats){ 0 };
    pthread_mutex_lock(&q->mu);
    st->lists = q->n;
    for (size_t i = 0; i < q->n; i++)
        if (q->lists[i].state == ELIG_LIST_QUEUED || q->lists[i].state == ELIG_LIST_RUNNING) {
            st->queued++;
            st->entries_queued += q->lists[i].entries - q->lists[i].done;
        }
    st->answered = q->answered;
    pthread_mutex_unlock(&q->mu);
}
