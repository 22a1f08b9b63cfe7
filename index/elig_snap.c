/* SPDX-License-Identifier: MIT */
/*
 * elig_snap: snapshot files: write atomically, check whole, load.
 *
 * Design: one buffered writer and one buffered reader over a plain file,
 * both keeping a running CRC32C of the entry bytes. Writing goes to
 * "<name>.tmp", then fdatasync, rename, fsync of the directory: a crash at
 * any point leaves either the old set of snapshots or the new one, and a
 * stray .tmp that nothing reads. Loading checks the whole file first (a
 * pass that only reads), so a damaged snapshot is refused before a single
 * record reaches the index; the second pass inserts through the index's
 * bulk calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_codec.h"
#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_io.h"
#include "elig_le.h"
#include "elig_snap.h"

#define SNAP_MAGIC   "ELIGSNP1"
#define SNAP_END     "ELIGEND1"
#define SNAP_VERSION 1
#define SNAP_HEADER  64
#define SNAP_TRAILER 20
#define ENTRY_HEAD   5
#define CARD_BYTES   25
#define IO_BUF       (1u << 16)
#define LOAD_CHUNK   4096

enum { E_RECORD = 1, E_CARD = 2, E_INSURER = 3 };

/* ---- writing ----------------------------------------------------------------------------- */

struct writer {
    int fd;
    uint8_t buf[IO_BUF];
    size_t used;
    uint32_t crc;
    struct elig_snap_info info;
    uint64_t entries;
    int err;
};

static void w_flush(struct writer *w)
{
    for (size_t off = 0; w->err == 0 && off < w->used;) {
        ssize_t n = write(w->fd, w->buf + off, w->used - off);
        if (n < 0)
            w->err = -errno;
        else
            off += (size_t)n;
    }
    w->used = 0;
}

static void w_put(struct writer *w, const void *p, size_t n)
{
    if (w->used + n > sizeof w->buf)
        w_flush(w);
    memcpy(w->buf + w->used, p, n);
    w->used += n;
}

static void w_entry(struct writer *w, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t h[ENTRY_HEAD] = { type };
    elig_le32(h + 1, (uint32_t)n);
    w->crc = elig_crc32c(elig_crc32c(w->crc, h, sizeof h), p, n);
    w_put(w, h, sizeof h);
    w_put(w, p, n);
    w->entries++;
}

static int put_record(void *ctx, const struct elig_record *rec)
{
    struct writer *w = ctx;
    static const struct elig_event zero;
    struct elig_event ev = zero;
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    ev.kind = ELIG_EV_ACQUIRE;
    memcpy(ev.source, rec->key.insurer, ELIG_INSURER_LEN);
    ev.u.acquire = *rec;
    int n = elig_event_encode(&ev, buf, sizeof buf);
    if (n < 0)
        return n;
    w_entry(w, E_RECORD, buf, (size_t)n);
    w->info.records++;
    return w->err;
}

static int put_card(void *ctx, const struct elig_card *c)
{
    struct writer *w = ctx;
    uint8_t b[CARD_BYTES];
    elig_le64(b, c->card_id);
    elig_le64(b + 8, c->person_id);
    elig_le16(b + 16, c->registered_on);
    elig_le16(b + 18, c->cert_expiry);
    elig_le16(b + 20, c->dereg_effective);
    elig_le16(b + 22, c->returned_on);
    b[24] = c->state;
    w_entry(w, E_CARD, b, sizeof b);
    w->info.cards++;
    return w->err;
}

static int put_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                       size_t len)
{
    struct writer *w = ctx;
    struct elig_event ev;
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    memset(&ev, 0, sizeof ev);
    ev.kind = ELIG_EV_INSURER;
    memcpy(ev.source, insurer, ELIG_INSURER_LEN);
    memcpy(ev.u.insurer.name, name, len < ELIG_INSURER_NAME_MAX ? len : ELIG_INSURER_NAME_MAX);
    int n = elig_event_encode(&ev, buf, sizeof buf);
    if (n < 0)
        return n;
    w_entry(w, E_INSURER, buf, (size_t)n);
    w->info.insurers++;
    return w->err;
}

static void header_make(uint8_t h[SNAP_HEADER], const struct elig_snap_info *info)
{
    memset(h, 0, SNAP_HEADER);
    memcpy(h, SNAP_MAGIC, 8);
    elig_le32(h + 8, SNAP_VERSION);
    elig_le32(h + 12, SNAP_HEADER);
    elig_le64(h + 16, info->lsn);
    elig_le64(h + 24, info->records);
    elig_le64(h + 32, info->cards);
    elig_le64(h + 40, info->insurers);
    elig_le64(h + 48, (uint64_t)time(NULL));
    elig_le32(h + 56, info->store_tag);
    elig_le32(h + 60, elig_crc32c(0, h, 60));
}

/* A writer on dir/snapshot-<lsn>.els.tmp, its header's room reserved. */
static int w_open(const char *dir, uint64_t lsn, struct writer **out, char path[4096],
                  char tmp[4200])
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, 4096, "%s/snapshot-%020llu.els", dir, (unsigned long long)lsn);
    snprintf(tmp, 4200, "%s.tmp", path);
    struct writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int rc = -errno;
        free(w);
        return rc;
    }
    w->info.lsn = lsn;
    uint8_t h[SNAP_HEADER];
    memset(h, 0, sizeof h); /* rewritten with the counts at the end */
    w_put(w, h, sizeof h);
    *out = w;
    return 0;
}

/*
 * The trailer, the header (counts, tag), fdatasync, rename into place,
 * directory sync; on any error the temporary file is removed. Frees w.
 */
static int w_finish(struct writer *w, int rc, const char *dir, const char *path, const char *tmp,
                    struct elig_snap_info *info)
{
    uint8_t t[SNAP_TRAILER], h[SNAP_HEADER];
    memcpy(t, SNAP_END, 8);
    elig_le64(t + 8, w->entries);
    elig_le32(t + 16, w->crc);
    w_put(w, t, sizeof t);
    w_flush(w);
    rc = rc ? rc : w->err;
    header_make(h, &w->info);
    if (rc == 0 && pwrite(w->fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        rc = -errno;
    struct stat st;
    if (rc == 0 && (fdatasync(w->fd) < 0 || fstat(w->fd, &st) < 0))
        rc = -errno;
    close(w->fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = elig_io_sync_dir(dir);
    if (rc < 0) {
        unlink(tmp);
    } else {
        w->info.bytes = (uint64_t)st.st_size;
        if (info)
            *info = w->info;
    }
    free(w);
    return rc;
}

int elig_snap_write(const struct elig_index *ix, const char *dir, uint64_t lsn,
                    struct elig_snap_info *info)
{
    char path[4096], tmp[4200];
    struct writer *w;
    int rc = w_open(dir, lsn, &w, path, tmp);
    if (rc)
        return rc;
    uint8_t id[16];
    if (elig_index_store_id(ix, id) == 0) /* the snapshot names the store it was taken from */
        w->info.store_tag = elig_rd32(id);
    struct elig_index_export ex = { w, put_record, put_card, put_insurer };
    rc = elig_index_export(ix, &ex);
    return w_finish(w, rc, dir, path, tmp, info);
}

/* ---- reading ----------------------------------------------------------------------------- */

struct reader {
    int fd;
    uint8_t buf[IO_BUF];
    size_t len, pos;
    int err;
};

/* Exactly n bytes into p, or false (end of file or error). */
static bool r_get(struct reader *r, void *p, size_t n)
{
    uint8_t *out = p;
    while (n > 0) {
        if (r->pos == r->len) {
            ssize_t got = read(r->fd, r->buf, sizeof r->buf);
            if (got <= 0) {
                r->err = got < 0 ? -errno : 0;
                return false;
            }
            r->len = (size_t)got;
            r->pos = 0;
        }
        size_t take = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(out, r->buf + r->pos, take);
        r->pos += take;
        out += take;
        n -= take;
    }
    return true;
}

/* What a pass over the entries does with each. */
typedef int (*entry_fn)(void *ctx, uint8_t type, const uint8_t *p, size_t n);

/*
 * Read a snapshot: header, entries (each handed to fn if not NULL), trailer.
 * -ELIG_ESNAPSHOT for anything malformed, a count or checksum that does not
 * match, or bytes after the trailer.
 */
static int snap_pass(const char *path, entry_fn fn, void *ctx, struct elig_snap_info *info)
{
    struct reader *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int rc = -errno;
        free(r);
        return rc;
    }
    uint8_t h[SNAP_HEADER], eh[ENTRY_HEAD], payload[ELIG_EVENT_WIRE_MAX], t[SNAP_TRAILER];
    int rc = -ELIG_ESNAPSHOT;
    uint64_t entries = 0;
    uint32_t crc = 0;
    if (!r_get(r, h, sizeof h) || memcmp(h, SNAP_MAGIC, 8) != 0 ||
        elig_rd32(h + 8) != SNAP_VERSION || elig_rd32(h + 60) != elig_crc32c(0, h, 60))
        goto out;
    *info = (struct elig_snap_info){
        elig_rd64(h + 16), elig_rd64(h + 24), elig_rd64(h + 32), elig_rd64(h + 40), 0,
        elig_rd32(h + 56)
    };
    uint64_t total = info->records + info->cards + info->insurers;
    for (; entries < total; entries++) {
        if (!r_get(r, eh, sizeof eh))
            goto out;
        uint32_t n = elig_rd32(eh + 1);
        if (eh[0] < E_RECORD || eh[0] > E_INSURER || n > sizeof payload || !r_get(r, payload, n))
            goto out;
        crc = elig_crc32c(elig_crc32c(crc, eh, sizeof eh), payload, n);
        if (fn && (rc = fn(ctx, eh[0], payload, n)) != 0)
            goto out;
        rc = -ELIG_ESNAPSHOT;
    }
    uint8_t extra;
    if (!r_get(r, t, sizeof t) || memcmp(t, SNAP_END, 8) != 0 || elig_rd64(t + 8) != entries ||
        elig_rd32(t + 16) != crc || r_get(r, &extra, 1))
        goto out;
    rc = r->err;
out:
    close(r->fd);
    free(r);
    return rc;
}

int elig_snap_peek(const char *path, struct elig_snap_info *info)
{
    uint8_t h[SNAP_HEADER];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = pread(fd, h, sizeof h, 0);
    int rc = got < 0 ? -errno : 0;
    close(fd);
    if (rc)
        return rc;
    if (got != (ssize_t)sizeof h || memcmp(h, SNAP_MAGIC, 8) != 0 ||
        elig_rd32(h + 8) != SNAP_VERSION || elig_rd32(h + 60) != elig_crc32c(0, h, 60))
        return -ELIG_ESNAPSHOT;
    *info = (struct elig_snap_info){
        elig_rd64(h + 16), elig_rd64(h + 24), elig_rd64(h + 32), elig_rd64(h + 40), 0,
        elig_rd32(h + 56)
    };
    return 0;
}

int elig_snap_check(const char *path, struct elig_snap_info *info)
{
    struct stat st;
    int rc = snap_pass(path, NULL, NULL, info);
    if (rc == 0 && stat(path, &st) == 0)
        info->bytes = (uint64_t)st.st_size;
    return rc;
}

/* Copying: each entry of the source, checked by the pass, written again. */
static int copy_entry(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
    struct writer *w = ctx;
    w_entry(w, type, p, n);
    return w->err;
}

int elig_snap_copy(const char *src, const char *dir, uint32_t store_tag,
                   struct elig_snap_info *info)
{
    struct elig_snap_info in;
    int rc = elig_snap_peek(src, &in);
    if (rc)
        return rc;
    char path[4096], tmp[4200];
    struct writer *w;
    if ((rc = w_open(dir, in.lsn, &w, path, tmp)))
        return rc;
    struct elig_snap_info seen;
    rc = snap_pass(src, copy_entry, w, &seen);
    w->info = (struct elig_snap_info){ .lsn = in.lsn,
                                       .records = in.records,
                                       .cards = in.cards,
                                       .insurers = in.insurers,
                                       .store_tag = store_tag };
    return w_finish(w, rc, dir, path, tmp, info);
}

/* Loading: entries gathered into chunks for the bulk inserts. */
struct loader {
    struct elig_index *ix;
    struct elig_record *recs;
    struct elig_card cards[LOAD_CHUNK];
    int status[LOAD_CHUNK];
    size_t nrecs, ncards;
};

static int load_flush(struct loader *l)
{
    int rc = 0;
    if (l->nrecs && (rc = elig_index_insert_batch(l->ix, l->recs, l->nrecs, NULL, l->status)) >= 0)
        for (size_t i = 0; rc >= 0 && i < l->nrecs; i++)
            rc = l->status[i] < 0 ? l->status[i] : rc;
    l->nrecs = 0;
    if (rc >= 0 && l->ncards &&
        (rc = elig_index_card_put_batch(l->ix, l->cards, l->ncards, l->status)) >= 0)
        for (size_t i = 0; rc >= 0 && i < l->ncards; i++)
            rc = l->status[i] < 0 ? l->status[i] : rc;
    l->ncards = 0;
    return rc < 0 ? rc : 0;
}

static int load_entry(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
    struct loader *l = ctx;
    struct elig_event ev;
    if (type == E_CARD) {
        if (n != CARD_BYTES)
            return -ELIG_ESNAPSHOT;
        l->cards[l->ncards++] = (struct elig_card){
            elig_rd64(p),
            elig_rd64(p + 8),
            elig_rd16(p + 16),
            elig_rd16(p + 18),
            elig_rd16(p + 20),
            elig_rd16(p + 22),
            p[24],
        };
    } else if (elig_event_decode(p, n, &ev) != 0 ||
               ev.kind != (type == E_RECORD ? ELIG_EV_ACQUIRE : ELIG_EV_INSURER)) {
        return -ELIG_ESNAPSHOT;
    } else if (type == E_RECORD) {
        l->recs[l->nrecs++] = ev.u.acquire;
    } else {
        int rc = load_flush(l); /* names after the records they may follow: keep order */
        if (rc == 0)
            rc = elig_index_insurer_name_set(l->ix, ev.source, ev.u.insurer.name,
                                             strlen(ev.u.insurer.name));
        return rc;
    }
    return l->nrecs == LOAD_CHUNK || l->ncards == LOAD_CHUNK ? load_flush(l) : 0;
}

int elig_snap_load(const char *path, struct elig_index *ix, struct elig_snap_info *info)
{
    struct elig_snap_info local;
    info = info ? info : &local;
    int rc = elig_snap_check(path, info);
    if (rc < 0)
        return rc;
    struct loader *l = calloc(1, sizeof *l);
    if (!l || !(l->recs = malloc(LOAD_CHUNK * sizeof *l->recs))) {
        free(l);
        return -ENOMEM;
    }
    l->ix = ix;
    struct elig_snap_info again;
    rc = snap_pass(path, load_entry, l, &again);
    if (rc == 0)
        rc = load_flush(l);
    if (rc == 0)
        elig_index_publish(ix, info->lsn);
    free(l->recs);
    free(l);
    return rc;
}

/* ---- listing and pruning ------------------------------------------------------------------ */

static int cmp_desc(const void *a, const void *b)
{
    return -strcmp(a, b);
}

int elig_snap_list(const char *dir, char (*paths)[4096], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char(*names)[64] = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        unsigned long long lsn;
        char tail[8];
        if (strlen(e->d_name) != 33 || sscanf(e->d_name, "snapshot-%20llu%7s", &lsn, tail) != 2 ||
            strcmp(tail, ".els") != 0)
            continue;
        if (n == cap) {
            void *grown = realloc(names, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!grown) {
                free(names);
                closedir(d);
                return -ENOMEM;
            }
            names = grown;
        }
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, cmp_desc);
    for (int i = 0; i < n && i < max; i++)
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
    free(names);
    return n;
}

int elig_snap_prune(const char *dir, int keep)
{
    char(*paths)[4096] = malloc(256 * sizeof *paths);
    if (!paths)
        return -ENOMEM;
    int n = elig_snap_list(dir, paths, 256), deleted = 0;
    for (int i = keep; i < n && i < 256; i++)
        if (unlink(paths[i]) == 0)
            deleted++;
    free(paths);
    return n < 0 ? n : deleted;
}
