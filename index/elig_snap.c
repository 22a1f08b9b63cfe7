/* SPDX-License-Identifier: MIT */
/*
 * elig_snap: snapshot files: write atomically, check whole, load.
 *
 * Design. A snapshot is the segment's own image (format 2): the bytes of
 * the index from its header page through its last region, taken by the
 * writer between applies, cut in 2 MiB blocks each with its XXH3-64, the
 * table of those checksums after the image and a CRC32C of the table in the
 * trailer. Blocks that are all zero (room not yet used) are left as holes,
 * so the file takes the disk the index uses. Loading into a new segment of
 * the same layout is a read at the speed of the disk straight into the
 * mapping, each block checked as it lands; a block that does not match
 * empties the index again (elig_index_image_load_end), so nothing is loaded
 * from a damaged snapshot. A snapshot of another layout (the store grew
 * since) is checked whole, mapped read-only and its items inserted one by
 * one through the bulk calls.
 *
 * Format 1 (a stream of encoded records, cards and names between a header
 * and a trailer with a CRC32C) was written by earlier versions; it is still
 * checked, loaded and copied so that a store keeps its snapshots across an
 * upgrade, and no longer written.
 *
 * Every file is written to "<name>.tmp", then fdatasync, rename, fsync of
 * the directory: a crash at any point leaves either the old set of
 * snapshots or the new one, and a stray .tmp that nothing reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_codec.h"
#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_io.h"
#include "elig_le.h"
#include "elig_snap.h"

#define SNAP_MAGIC   "ELIGSNP1"
#define SNAP_END     "ELIGEND1" /* format 1's trailer */
#define IMAGE_END    "ELIGEND2" /* format 2's trailer */
#define SNAP_HEADER  64         /* format 1's header */
#define IMAGE_HEADER 128        /* format 2's header (the first bytes of its first page) */
#define SNAP_TRAILER 20
#define IMAGE_DATA   4096u       /* file offset of a format 2 image */
#define IMAGE_BLOCK  (2u << 20)  /* bytes a block checksum covers */
#define IMAGE_FLUSH  (64u << 20) /* written bytes handed to the disk at a time */
#define ENTRY_HEAD   5
#define CARD_BYTES   25
#define IO_BUF       (1u << 16)
#define LOAD_CHUNK   4096

enum { E_RECORD = 1, E_CARD = 2, E_INSURER = 3 };

/* ---- header ------------------------------------------------------------------------------
 * Bytes 0-63 are the same in both formats: magic, version, header size, LSN, counts, creation
 * time, store tag, CRC32C at 60. Format 2 adds bytes 64-127 (image bytes u64, block bytes u32,
 * blocks u32), which its CRC covers too.
 */

static uint32_t header_crc(const uint8_t *h, uint32_t version)
{
    uint32_t crc = elig_crc32c(0, h, 60);
    return version == ELIG_SNAP_IMAGE ? elig_crc32c(crc, h + 64, IMAGE_HEADER - 64) : crc;
}

static void header_make(uint8_t h[IMAGE_HEADER], const struct elig_snap_info *info,
                        uint64_t image_bytes)
{
    memset(h, 0, IMAGE_HEADER);
    memcpy(h, SNAP_MAGIC, 8);
    elig_le32(h + 8, info->format);
    elig_le32(h + 12, info->format == ELIG_SNAP_IMAGE ? IMAGE_DATA : SNAP_HEADER);
    elig_le64(h + 16, info->lsn);
    elig_le64(h + 24, info->records);
    elig_le64(h + 32, info->cards);
    elig_le64(h + 40, info->insurers);
    elig_le64(h + 48, (uint64_t)time(NULL));
    elig_le32(h + 56, info->store_tag);
    if (info->format == ELIG_SNAP_IMAGE) {
        uint64_t blocks = (image_bytes + IMAGE_BLOCK - 1) / IMAGE_BLOCK;
        elig_le64(h + 64, image_bytes);
        elig_le32(h + 72, IMAGE_BLOCK);
        elig_le32(h + 76, (uint32_t)blocks);
    }
    elig_le32(h + 60, header_crc(h, info->format));
}

/* h holds n bytes read from the start of a file: 0 and *info (bytes 0), or -ELIG_ESNAPSHOT. */
static int header_parse(const uint8_t *h, size_t n, struct elig_snap_info *info,
                        uint64_t *image_bytes)
{
    if (n < SNAP_HEADER || memcmp(h, SNAP_MAGIC, 8) != 0)
        return -ELIG_ESNAPSHOT;
    uint32_t version = elig_rd32(h + 8);
    if ((version != ELIG_SNAP_ENTRIES && version != ELIG_SNAP_IMAGE) ||
        (version == ELIG_SNAP_IMAGE && n < IMAGE_HEADER) ||
        elig_rd32(h + 60) != header_crc(h, version))
        return -ELIG_ESNAPSHOT;
    *info = (struct elig_snap_info){ .lsn = elig_rd64(h + 16),
                                     .records = elig_rd64(h + 24),
                                     .cards = elig_rd64(h + 32),
                                     .insurers = elig_rd64(h + 40),
                                     .store_tag = elig_rd32(h + 56),
                                     .format = version };
    *image_bytes = 0;
    if (version == ELIG_SNAP_IMAGE) {
        uint64_t bytes = elig_rd64(h + 64);
        if (elig_rd32(h + 12) != IMAGE_DATA || elig_rd32(h + 72) != IMAGE_BLOCK ||
            bytes < IMAGE_DATA || bytes % 4096 != 0 || bytes > (UINT64_C(1) << 46) ||
            elig_rd32(h + 76) != (bytes + IMAGE_BLOCK - 1) / IMAGE_BLOCK)
            return -ELIG_ESNAPSHOT;
        *image_bytes = bytes;
    }
    return 0;
}

static void snap_names(const char *dir, uint64_t lsn, char path[4096], char tmp[4200])
{
    snprintf(path, 4096, "%s/snapshot-%020llu.els", dir, (unsigned long long)lsn);
    snprintf(tmp, 4200, "%s.tmp", path);
}

/* fdatasync, rename into place, directory sync; on any error the temporary file is removed. */
static int file_commit(int fd, int rc, const char *dir, const char *path, const char *tmp,
                       uint64_t *bytes)
{
    struct stat st;
    if (rc == 0 && (fdatasync(fd) < 0 || fstat(fd, &st) < 0))
        rc = -errno;
    if (rc == 0) /* on the disk now: its pages need not stay in memory beside the index */
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = elig_io_sync_dir(dir);
    if (rc < 0)
        unlink(tmp);
    else
        *bytes = (uint64_t)st.st_size;
    return rc;
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    for (uint8_t *b = p; n > 0;) {
        ssize_t got = pread(fd, b, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -errno : -ELIG_ESNAPSHOT; /* shorter than it says */
        b += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t w[8];
        memcpy(w, p + i, sizeof w);
        acc |= w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
        if (acc)
            return false;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- format 2: the segment's image ---------------------------------------------------------
 * File: header (128 bytes, the rest of the first 4 KiB zero), the image's bytes at 4096, the
 * blocks' XXH3-64 (u64 each), trailer "ELIGEND2", blocks u64, CRC32C of the table u32.
 */

struct image_writer {
    int fd, err;
    uint64_t bytes, flushed, dropped;
    uint32_t blocks;
    uint64_t *hash;
    struct elig_snap_info info;
    char path[4096], tmp[4200];
};

static int iw_open(const char *dir, uint64_t lsn, uint64_t bytes, struct image_writer **out)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct image_writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->bytes = bytes;
    w->blocks = (uint32_t)((bytes + IMAGE_BLOCK - 1) / IMAGE_BLOCK);
    w->hash = calloc(w->blocks, sizeof *w->hash);
    snap_names(dir, lsn, w->path, w->tmp);
    w->fd = w->hash ? open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int rc = w->hash ? (w->fd < 0 ? -errno : 0) : -ENOMEM;
    /* the whole length at once: the blocks never written read back as zero (holes) */
    if (rc == 0 && ftruncate(w->fd, (off_t)(IMAGE_DATA + bytes)) < 0)
        rc = -errno;
    if (rc < 0) {
        if (w->fd >= 0) {
            close(w->fd);
            unlink(w->tmp);
        }
        free(w->hash);
        free(w);
        return rc;
    }
    w->info = (struct elig_snap_info){ .lsn = lsn, .format = ELIG_SNAP_IMAGE };
    *out = w;
    return 0;
}

/*
 * Hand what is written to the disk as it goes, and drop it from the page cache once it is
 * there: a snapshot as large as the index must not push the index's own pages out of memory
 * or leave gigabytes for the final fdatasync.
 */
static void iw_flush_behind(struct image_writer *w, uint64_t upto)
{
    if (upto - w->flushed < IMAGE_FLUSH)
        return;
    sync_file_range(w->fd, (off_t)w->flushed, (off_t)(upto - w->flushed), SYNC_FILE_RANGE_WRITE);
    if (w->flushed > w->dropped) { /* the window before this one: wait for it, then drop it */
        sync_file_range(w->fd, (off_t)w->dropped, (off_t)(w->flushed - w->dropped),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
        posix_fadvise(w->fd, (off_t)w->dropped, (off_t)(w->flushed - w->dropped),
                      POSIX_FADV_DONTNEED);
        w->dropped = w->flushed;
    }
    w->flushed = upto;
}

/* Block b of the image (its bytes p): its checksum; written unless all zero. */
static void iw_block(struct image_writer *w, uint32_t b, const uint8_t *p, size_t n)
{
    uint64_t off = (uint64_t)b * IMAGE_BLOCK;
    w->hash[b] = XXH3_64bits(p, n);
    if (w->err == 0 && !all_zero(p, n)) {
        w->err = elig_io_pwrite_all(w->fd, p, n, IMAGE_DATA + off);
        iw_flush_behind(w, IMAGE_DATA + off + n);
    }
}

/* The table, the trailer, the header; commit (or remove on any error). Frees w. */
static int iw_finish(struct image_writer *w, int rc, const char *dir, struct elig_snap_info *info)
{
    size_t table = (size_t)w->blocks * 8;
    uint8_t *tail = malloc(table + SNAP_TRAILER), h[IMAGE_HEADER];
    rc = rc ? rc : w->err ? w->err : tail ? 0 : -ENOMEM;
    if (rc == 0) {
        for (uint32_t b = 0; b < w->blocks; b++)
            elig_le64(tail + (size_t)b * 8, w->hash[b]);
        memcpy(tail + table, IMAGE_END, 8);
        elig_le64(tail + table + 8, w->blocks);
        elig_le32(tail + table + 16, elig_crc32c(0, tail, table));
        rc = elig_io_pwrite_all(w->fd, tail, table + SNAP_TRAILER, IMAGE_DATA + w->bytes);
    }
    header_make(h, &w->info, w->bytes);
    if (rc == 0)
        rc = elig_io_pwrite_all(w->fd, h, sizeof h, 0);
    rc = file_commit(w->fd, rc, dir, w->path, w->tmp, &w->info.bytes);
    if (rc == 0 && info)
        *info = w->info;
    free(tail);
    free(w->hash);
    free(w);
    return rc;
}

int elig_snap_write(const struct elig_index *ix, const char *dir, uint64_t lsn,
                    struct elig_snap_info *info)
{
    const uint8_t *base;
    uint64_t bytes;
    int rc = elig_index_image(ix, &base, &bytes);
    struct image_writer *w;
    if (rc < 0 || (rc = iw_open(dir, lsn, bytes, &w)) < 0)
        return rc;
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    w->info.records = st.records;
    w->info.cards = st.cards;
    w->info.insurers = st.insurers;
    uint8_t id[16];
    if (elig_index_store_id(ix, id) == 0) /* the snapshot names the store it was taken from */
        w->info.store_tag = elig_rd32(id);
    for (uint32_t b = 0; b < w->blocks && w->err == 0; b++) {
        uint64_t off = (uint64_t)b * IMAGE_BLOCK;
        iw_block(w, b, base + off, bytes - off < IMAGE_BLOCK ? bytes - off : IMAGE_BLOCK);
    }
    return iw_finish(w, 0, dir, info);
}

/* A format 2 file open for reading: header, length, table and trailer checked. */
struct image {
    int fd;
    struct elig_snap_info info;
    uint64_t bytes;
    uint32_t blocks;
    uint64_t *hash;
};

static void image_close(struct image *im)
{
    if (im->fd >= 0)
        close(im->fd);
    free(im->hash);
    im->fd = -1;
    im->hash = NULL;
}

static int image_open(const char *path, struct image *im)
{
    memset(im, 0, sizeof *im);
    im->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (im->fd < 0)
        return -errno;
    uint8_t h[IMAGE_DATA];
    struct stat st;
    int rc = fstat(im->fd, &st) < 0 ? -errno : pread_all(im->fd, h, sizeof h, 0);
    if (rc == 0)
        rc = header_parse(h, sizeof h, &im->info, &im->bytes);
    if (rc == 0 && !all_zero(h + IMAGE_HEADER, sizeof h - IMAGE_HEADER))
        rc = -ELIG_ESNAPSHOT; /* every byte of the file is checked: the padding is zero */
    if (rc == 0 && im->info.format != ELIG_SNAP_IMAGE)
        rc = -ELIG_ESNAPSHOT;
    if (rc < 0) {
        image_close(im);
        return rc;
    }
    im->blocks = elig_rd32(h + 76);
    size_t table = (size_t)im->blocks * 8;
    im->info.bytes = (uint64_t)st.st_size;
    uint8_t *tail = malloc(table + SNAP_TRAILER);
    im->hash = malloc(table);
    if (!tail || !im->hash)
        rc = -ENOMEM;
    else if ((uint64_t)st.st_size != IMAGE_DATA + im->bytes + table + SNAP_TRAILER)
        rc = -ELIG_ESNAPSHOT;
    else
        rc = pread_all(im->fd, tail, table + SNAP_TRAILER, IMAGE_DATA + im->bytes);
    if (rc == 0 &&
        (memcmp(tail + table, IMAGE_END, 8) != 0 || elig_rd64(tail + table + 8) != im->blocks ||
         elig_rd32(tail + table + 16) != elig_crc32c(0, tail, table)))
        rc = -ELIG_ESNAPSHOT;
    for (uint32_t b = 0; rc == 0 && b < im->blocks; b++)
        im->hash[b] = elig_rd64(tail + (size_t)b * 8);
    free(tail);
    if (rc < 0)
        image_close(im);
    else
        posix_fadvise(im->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return rc;
}

static size_t image_block_len(const struct image *im, uint32_t b)
{
    uint64_t off = (uint64_t)b * IMAGE_BLOCK;
    return im->bytes - off < IMAGE_BLOCK ? (size_t)(im->bytes - off) : IMAGE_BLOCK;
}

/* Block b into dst, checked against its checksum; its pages then leave the page cache. */
static int image_block(struct image *im, uint32_t b, uint8_t *dst)
{
    uint64_t off = (uint64_t)b * IMAGE_BLOCK;
    size_t n = image_block_len(im, b);
    int rc = pread_all(im->fd, dst, n, IMAGE_DATA + off);
    if (rc == 0 && XXH3_64bits(dst, n) != im->hash[b])
        rc = -ELIG_ESNAPSHOT;
    posix_fadvise(im->fd, (off_t)(IMAGE_DATA + off), (off_t)n, POSIX_FADV_DONTNEED);
    return rc;
}

/* Every block checked (and, with w, written to a copy). */
static int image_pass(struct image *im, struct image_writer *w)
{
    uint8_t *buf = malloc(IMAGE_BLOCK);
    int rc = buf ? 0 : -ENOMEM;
    for (uint32_t b = 0; rc == 0 && b < im->blocks; b++) {
        rc = image_block(im, b, buf);
        if (rc == 0 && w) {
            iw_block(w, b, buf, image_block_len(im, b));
            rc = w->err;
        }
    }
    free(buf);
    return rc;
}

/* Same layout: the image straight into the segment, block by block. */
static int image_load_direct(struct image *im, struct elig_index *ix, bool *other_layout)
{
    uint8_t *first = malloc(IMAGE_BLOCK), *dst;
    uint64_t bytes;
    int rc = first ? image_block(im, 0, first) : -ENOMEM;
    if (rc == 0) { /* the first block holds the image's segment header: checked before use */
        rc = elig_index_image_load_begin(ix, first, &dst, &bytes);
        if (rc == -ELIG_ESEGSIZE || (rc == 0 && bytes != im->bytes)) {
            *other_layout = true; /* begin wrote nothing: nothing to undo */
            free(first);
            return 0;
        }
        if (rc < 0 && rc != -EBUSY && rc != -EROFS)
            rc = -ELIG_ESNAPSHOT; /* a checked block whose header is not a segment's */
    }
    if (rc < 0) {
        free(first);
        return rc;
    }
    size_t n0 = image_block_len(im, 0);
    memcpy(dst + ELIG_SEG_HEADER_SIZE, first + ELIG_SEG_HEADER_SIZE, n0 - ELIG_SEG_HEADER_SIZE);
    free(first);
    for (uint32_t b = 1; rc == 0 && b < im->blocks; b++)
        rc = image_block(im, b, dst + (uint64_t)b * IMAGE_BLOCK);
    int end = elig_index_image_load_end(ix, rc == 0);
    if (rc == 0 && end < 0)
        rc = -ELIG_ESNAPSHOT; /* whole blocks that do not make an index */
    return rc;
}

/* ---- format 1: entries (read and copied, no longer written) -------------------------------- */

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
    if (w->err == 0 && w->used)
        w->err = elig_io_write_all(w->fd, w->buf, w->used);
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

/* A writer on dir/snapshot-<lsn>.els.tmp, its header's room reserved. */
static int w_open(const char *dir, uint64_t lsn, struct writer **out, char path[4096],
                  char tmp[4200])
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    snap_names(dir, lsn, path, tmp);
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

/* The trailer, the header (counts, tag); commit (or remove on any error). Frees w. */
static int w_finish(struct writer *w, int rc, const char *dir, const char *path, const char *tmp,
                    struct elig_snap_info *info)
{
    uint8_t t[SNAP_TRAILER], h[IMAGE_HEADER];
    memcpy(t, SNAP_END, 8);
    elig_le64(t + 8, w->entries);
    elig_le32(t + 16, w->crc);
    w_put(w, t, sizeof t);
    w_flush(w);
    rc = rc ? rc : w->err;
    w->info.format = ELIG_SNAP_ENTRIES;
    header_make(h, &w->info, 0);
    if (rc == 0)
        rc = elig_io_pwrite_all(w->fd, h, SNAP_HEADER, 0);
    rc = file_commit(w->fd, rc, dir, path, tmp, &w->info.bytes);
    if (rc == 0 && info)
        *info = w->info;
    free(w);
    return rc;
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
    uint64_t image_bytes;
    if (!r_get(r, h, sizeof h) || header_parse(h, sizeof h, info, &image_bytes) != 0 ||
        info->format != ELIG_SNAP_ENTRIES)
        goto out;
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
    uint8_t h[IMAGE_HEADER];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = pread(fd, h, sizeof h, 0);
    int rc = got < 0 ? -errno : 0;
    close(fd);
    uint64_t image_bytes;
    return rc ? rc : header_parse(h, (size_t)got, info, &image_bytes);
}

int elig_snap_check(const char *path, struct elig_snap_info *info)
{
    struct elig_snap_info peek;
    int rc = elig_snap_peek(path, &peek);
    if (rc == 0 && peek.format == ELIG_SNAP_IMAGE) {
        struct image im;
        if ((rc = image_open(path, &im)) == 0) {
            rc = image_pass(&im, NULL);
            *info = im.info;
            image_close(&im);
        }
        return rc;
    }
    struct stat st;
    if (rc == 0)
        rc = snap_pass(path, NULL, NULL, info);
    if (rc == 0 && stat(path, &st) == 0)
        info->bytes = (uint64_t)st.st_size;
    return rc;
}

/* Copying format 1: each entry of the source, checked by the pass, written again. */
static int copy_entry(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
    struct writer *w = ctx;
    w_entry(w, type, p, n);
    return w->err;
}

static int copy_entries(const char *src, const struct elig_snap_info *in, const char *dir,
                        uint32_t store_tag, struct elig_snap_info *info)
{
    char path[4096], tmp[4200];
    struct writer *w = NULL;
    int rc = w_open(dir, in->lsn, &w, path, tmp);
    if (rc)
        return rc;
    struct elig_snap_info seen;
    rc = snap_pass(src, copy_entry, w, &seen);
    w->info = (struct elig_snap_info){ .lsn = in->lsn,
                                       .records = in->records,
                                       .cards = in->cards,
                                       .insurers = in->insurers,
                                       .store_tag = store_tag };
    return w_finish(w, rc, dir, path, tmp, info);
}

int elig_snap_copy(const char *src, const char *dir, uint32_t store_tag,
                   struct elig_snap_info *info)
{
    struct elig_snap_info in;
    int rc = elig_snap_peek(src, &in);
    if (rc)
        return rc;
    if (in.format == ELIG_SNAP_ENTRIES)
        return copy_entries(src, &in, dir, store_tag, info);
    struct image im;
    struct image_writer *w;
    if ((rc = image_open(src, &im)) < 0)
        return rc;
    if ((rc = iw_open(dir, im.info.lsn, im.bytes, &w)) == 0) {
        w->info.records = im.info.records;
        w->info.cards = im.info.cards;
        w->info.insurers = im.info.insurers;
        w->info.store_tag = store_tag;
        rc = iw_finish(w, image_pass(&im, w), dir, info);
    }
    image_close(&im);
    return rc;
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

/* Each item into the loader's chunks; an insurer name after the items before it (order kept). */
static int load_record(void *ctx, const struct elig_record *rec)
{
    struct loader *l = ctx;
    l->recs[l->nrecs++] = *rec;
    return l->nrecs == LOAD_CHUNK ? load_flush(l) : 0;
}

static int load_card(void *ctx, const struct elig_card *card)
{
    struct loader *l = ctx;
    l->cards[l->ncards++] = *card;
    return l->ncards == LOAD_CHUNK ? load_flush(l) : 0;
}

static int load_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                        size_t len)
{
    struct loader *l = ctx;
    int rc = load_flush(l);
    return rc ? rc : elig_index_insurer_name_set(l->ix, insurer, name, len);
}

/* A format 1 entry decoded into its item. */
static int load_entry(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
    struct elig_event ev;
    if (type == E_CARD) {
        if (n != CARD_BYTES)
            return -ELIG_ESNAPSHOT;
        struct elig_card c = { elig_rd64(p),
                               elig_rd64(p + 8),
                               elig_rd16(p + 16),
                               elig_rd16(p + 18),
                               elig_rd16(p + 20),
                               elig_rd16(p + 22),
                               p[24] };
        return load_card(ctx, &c);
    }
    if (elig_event_decode(p, n, &ev) != 0 ||
        ev.kind != (type == E_RECORD ? ELIG_EV_ACQUIRE : ELIG_EV_INSURER))
        return -ELIG_ESNAPSHOT;
    if (type == E_RECORD)
        return load_record(ctx, &ev.u.acquire);
    return load_insurer(ctx, ev.source, ev.u.insurer.name, strlen(ev.u.insurer.name));
}

static void loader_free(struct loader *l)
{
    if (l)
        free(l->recs);
    free(l);
}

static struct loader *loader_new(struct elig_index *ix)
{
    struct loader *l = calloc(1, sizeof *l);
    if (l && !(l->recs = malloc(LOAD_CHUNK * sizeof *l->recs))) {
        loader_free(l);
        l = NULL;
    }
    if (l)
        l->ix = ix;
    return l;
}

/* Another layout: checked whole, then mapped and its items inserted into ix. */
static int image_load_items(struct image *im, struct elig_index *ix)
{
    int rc = image_pass(im, NULL);
    if (rc < 0)
        return rc;
    struct loader *l = loader_new(ix);
    void *map = l ? mmap(NULL, IMAGE_DATA + im->bytes, PROT_READ, MAP_PRIVATE, im->fd, 0) : NULL;
    if (!l || map == MAP_FAILED) {
        rc = l ? -errno : -ENOMEM;
        loader_free(l);
        return rc;
    }
    madvise(map, IMAGE_DATA + im->bytes, MADV_SEQUENTIAL);
    struct elig_index *view;
    rc = elig_index_image_open((uint8_t *)map + IMAGE_DATA, im->bytes, &view);
    if (rc < 0) {
        rc = rc == -ENOMEM ? rc : -ELIG_ESNAPSHOT;
    } else {
        struct elig_index_export ex = { l, load_record, load_card, load_insurer };
        rc = elig_index_export(view, &ex);
        if (rc == 0)
            rc = load_flush(l);
        elig_index_close(view, false);
    }
    munmap(map, IMAGE_DATA + im->bytes);
    loader_free(l);
    return rc;
}

/* Format 1: checked whole, then its entries inserted. */
static int entries_load(const char *path, struct elig_index *ix, struct elig_snap_info *info)
{
    int rc = elig_snap_check(path, info);
    if (rc < 0)
        return rc;
    struct loader *l = loader_new(ix);
    if (!l)
        return -ENOMEM;
    struct elig_snap_info again;
    rc = snap_pass(path, load_entry, l, &again);
    if (rc == 0)
        rc = load_flush(l);
    loader_free(l);
    return rc;
}

int elig_snap_load(const char *path, struct elig_index *ix, struct elig_snap_info *info)
{
    struct elig_snap_info local;
    info = info ? info : &local;
    int rc = elig_snap_peek(path, info);
    if (rc < 0)
        return rc;
    if (info->format == ELIG_SNAP_IMAGE) {
        struct image im;
        bool other_layout = false;
        if ((rc = image_open(path, &im)) == 0) {
            *info = im.info;
            rc = image_load_direct(&im, ix, &other_layout);
            if (rc == 0 && other_layout)
                rc = image_load_items(&im, ix);
            image_close(&im);
        }
    } else {
        rc = entries_load(path, ix, info);
    }
    if (rc == 0)
        elig_index_publish(ix, info->lsn);
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
