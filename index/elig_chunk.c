/* SPDX-License-Identifier: MIT */
/*
 * elig_chunk: results of recent update chunks, by id (see elig_chunk.h).
 *
 * Memory: a ring of ELIG_CHUNK_KEEP entries, the newest replacing the
 * oldest; each keeps its id, its result and only the statuses of the events
 * the update model refused (a chunk's events are mostly applied), so the
 * table costs a few dozen bytes a chunk. Lookups walk the ring from the
 * newest: retries come soon after the original, and the admin path that
 * asks is not a hot one.
 *
 * File: entries back to back, each
 *
 *   offset size
 *        0    4  body length, little-endian
 *        4    4  CRC32C of the body
 *        8   16  chunk id
 *       24    8  hash of the chunk's events
 *       32    8  first LSN
 *       40    4  events
 *       44    4  refused events r
 *       48  8*r  (event index u32, status i32) for each refused event
 *
 * Appended with write(2) as results are made. Read whole at open; the first
 * entry that does not check out ends it (a torn append), and the file is
 * then rewritten from memory (temporary file, fdatasync, rename), as it is
 * when it passes ELIG_CHUNK_FILE_MAX.
 */
#include "elig_chunk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_io.h"
#include "elig_le.h"

#define ENTRY_HEAD 8  /* length, CRC */
#define BODY_FIXED 40 /* id .. refused count */

struct rej {
    uint32_t idx;
    int32_t status;
};

struct entry {
    bool used;
    uint8_t id[ELIG_CHUNK_ID_LEN];
    struct elig_chunk_result res;
    uint32_t nrej;
    struct rej *rej;
};

struct elig_chunk_table {
    char *path;
    int fd;
    uint64_t size; /* bytes in the file */
    struct entry ring[ELIG_CHUNK_KEEP];
    unsigned next; /* the slot the next result takes */
};

static const struct entry *find(const struct elig_chunk_table *t,
                                const uint8_t id[ELIG_CHUNK_ID_LEN])
{
    for (unsigned k = 1; k <= ELIG_CHUNK_KEEP; k++) {
        const struct entry *e = &t->ring[(t->next + ELIG_CHUNK_KEEP - k) % ELIG_CHUNK_KEEP];
        if (!e->used)
            return NULL; /* the ring has never wrapped past here */
        if (memcmp(e->id, id, ELIG_CHUNK_ID_LEN) == 0)
            return e;
    }
    return NULL;
}

/* Keep a result in the ring (the refused list is taken over). */
static void keep(struct elig_chunk_table *t, const uint8_t id[ELIG_CHUNK_ID_LEN],
                 const struct elig_chunk_result *res, struct rej *rej, uint32_t nrej)
{
    struct entry *e = &t->ring[t->next];
    free(e->rej);
    *e = (struct entry){ .used = true, .res = *res, .nrej = nrej, .rej = rej };
    memcpy(e->id, id, ELIG_CHUNK_ID_LEN);
    t->next = (t->next + 1) % ELIG_CHUNK_KEEP;
}

/* Encode e into buf (room for its size); returns its size. */
static size_t encode(const struct entry *e, uint8_t *buf)
{
    uint8_t *b = buf + ENTRY_HEAD;
    memcpy(b, e->id, ELIG_CHUNK_ID_LEN);
    elig_le64(b + 16, e->res.hash);
    elig_le64(b + 24, e->res.first_lsn);
    elig_le32(b + 32, e->res.n);
    elig_le32(b + 36, e->nrej);
    for (uint32_t i = 0; i < e->nrej; i++) {
        elig_le32(b + BODY_FIXED + 8 * i, e->rej[i].idx);
        elig_le32(b + BODY_FIXED + 8 * i + 4, (uint32_t)e->rej[i].status);
    }
    size_t body = BODY_FIXED + 8 * (size_t)e->nrej;
    elig_le32(buf, (uint32_t)body);
    elig_le32(buf + 4, elig_crc32c(0, b, body));
    return ENTRY_HEAD + body;
}

static size_t entry_size(const struct entry *e)
{
    return ENTRY_HEAD + BODY_FIXED + 8 * (size_t)e->nrej;
}

/* Parse the entries of a file image into the ring; returns the bytes that checked out. */
static size_t parse(struct elig_chunk_table *t, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (len - off >= ENTRY_HEAD + BODY_FIXED) {
        const uint8_t *h = data + off, *b = h + ENTRY_HEAD;
        uint32_t body = elig_rd32(h);
        if (body < BODY_FIXED || body > len - off - ENTRY_HEAD ||
            elig_rd32(h + 4) != elig_crc32c(0, b, body))
            break;
        uint32_t nrej = elig_rd32(b + 36);
        if (body != BODY_FIXED + 8 * (uint64_t)nrej)
            break;
        struct rej *rej = nrej ? malloc(nrej * sizeof *rej) : NULL;
        if (nrej && !rej)
            break;
        for (uint32_t i = 0; i < nrej; i++)
            rej[i] = (struct rej){ elig_rd32(b + BODY_FIXED + 8 * i),
                                   (int32_t)elig_rd32(b + BODY_FIXED + 8 * i + 4) };
        struct elig_chunk_result res = { .hash = elig_rd64(b + 16),
                                         .first_lsn = elig_rd64(b + 24),
                                         .n = elig_rd32(b + 32) };
        keep(t, b, &res, rej, nrej);
        off += ENTRY_HEAD + body;
    }
    return off;
}

/* Write the ring, oldest first, to a new file and put it in place of the old one. */
static int rewrite(struct elig_chunk_table *t)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", t->path) >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    uint64_t size = 0;
    uint8_t *buf = NULL;
    for (unsigned k = 0; rc == 0 && k < ELIG_CHUNK_KEEP; k++) {
        const struct entry *e = &t->ring[(t->next + k) % ELIG_CHUNK_KEEP];
        if (!e->used)
            continue;
        uint8_t *grown = realloc(buf, entry_size(e));
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        buf = grown;
        size_t n = encode(e, buf);
        rc = elig_io_write_all(fd, buf, n);
        size += n;
    }
    free(buf);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, t->path) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    int old = t->fd; /* the new file is in place: appends go to it from now on */
    t->fd = fd;
    t->size = size;
    if (old >= 0)
        close(old);
    char dir[4096]; /* the directory where t->path lives, so the rename is durable */
    snprintf(dir, sizeof dir, "%s", t->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return elig_io_sync_dir(slash ? dir : ".");
}

int elig_chunk_open(const char *path, struct elig_chunk_table **out)
{
    struct elig_chunk_table *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return -ENOMEM;
    }
    t->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    int rc = t->fd < 0 || fstat(t->fd, &st) < 0 ? -errno : 0;
    uint8_t *data = NULL;
    size_t len = rc == 0 ? (size_t)st.st_size : 0;
    if (rc == 0 && len && !(data = malloc(len)))
        rc = -ENOMEM;
    if (rc == 0 && len && pread(t->fd, data, len, 0) != (ssize_t)len)
        rc = errno ? -errno : -EIO;
    size_t good = rc == 0 ? parse(t, data, len) : 0;
    free(data);
    t->size = good;
    if (rc == 0 && (good < len || good > ELIG_CHUNK_FILE_MAX))
        rc = rewrite(t); /* a torn or damaged end: appends must follow good entries */
    if (rc == 0 && lseek(t->fd, 0, SEEK_END) < 0)
        rc = -errno;
    if (rc < 0) {
        elig_chunk_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

bool elig_chunk_find(const struct elig_chunk_table *t, const uint8_t id[ELIG_CHUNK_ID_LEN],
                     struct elig_chunk_result *res, int *status, size_t max)
{
    const struct entry *e = find(t, id);
    if (!e)
        return false;
    *res = e->res;
    if (status && e->res.n <= max) {
        memset(status, 0, e->res.n * sizeof *status);
        for (uint32_t i = 0; i < e->nrej; i++)
            if (e->rej[i].idx < e->res.n)
                status[e->rej[i].idx] = e->rej[i].status;
    }
    return true;
}

int elig_chunk_add(struct elig_chunk_table *t, const uint8_t id[ELIG_CHUNK_ID_LEN],
                   const struct elig_chunk_result *res, const int *status)
{
    uint32_t nrej = 0;
    for (uint32_t i = 0; i < res->n; i++)
        nrej += status[i] != 0;
    struct rej *rej = nrej ? malloc(nrej * sizeof *rej) : NULL;
    if (nrej && !rej)
        return -ENOMEM;
    for (uint32_t i = 0, k = 0; i < res->n; i++)
        if (status[i] != 0)
            rej[k++] = (struct rej){ i, status[i] };
    keep(t, id, res, rej, nrej);
    const struct entry *e = &t->ring[(t->next + ELIG_CHUNK_KEEP - 1) % ELIG_CHUNK_KEEP];
    if (t->size + entry_size(e) > ELIG_CHUNK_FILE_MAX)
        return rewrite(t);
    uint8_t *buf = malloc(entry_size(e));
    if (!buf)
        return -ENOMEM;
    size_t n = encode(e, buf);
    int rc = elig_io_write_all(t->fd, buf, n);
    free(buf);
    if (rc == 0)
        t->size += n;
    else if (ftruncate(t->fd, (off_t)t->size) == 0) /* no torn entry for later ones to follow */
        lseek(t->fd, 0, SEEK_END);
    return rc;
}

int elig_chunk_sync(struct elig_chunk_table *t)
{
    return fdatasync(t->fd) < 0 ? -errno : 0;
}

void elig_chunk_close(struct elig_chunk_table *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    for (unsigned i = 0; i < ELIG_CHUNK_KEEP; i++)
        free(t->ring[i].rej);
    free(t->path);
    free(t);
}

void elig_chunk_record_encode(const struct elig_chunk_record *rec, uint8_t out[ELIG_CHUNK_RECORD])
{
    memcpy(out, rec->id, ELIG_CHUNK_ID_LEN);
    elig_le64(out + ELIG_CHUNK_ID_LEN, rec->hash);
    elig_le32(out + ELIG_CHUNK_ID_LEN + 8, rec->n);
    elig_le64(out + ELIG_CHUNK_RECORD_V1, (uint64_t)rec->entered);
}

int elig_chunk_record_decode(const uint8_t *payload, size_t len, struct elig_chunk_record *rec)
{
    if (len != ELIG_CHUNK_RECORD && len != ELIG_CHUNK_RECORD_V1)
        return -ELIG_EKIND;
    memcpy(rec->id, payload, ELIG_CHUNK_ID_LEN);
    rec->hash = elig_rd64(payload + ELIG_CHUNK_ID_LEN);
    rec->n = elig_rd32(payload + ELIG_CHUNK_ID_LEN + 8);
    rec->entered =
        len == ELIG_CHUNK_RECORD ? (int64_t)elig_rd64(payload + ELIG_CHUNK_RECORD_V1) : 0;
    return 0;
}
