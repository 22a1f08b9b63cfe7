/* SPDX-License-Identifier: MIT */
/*
 * elig_audit: encrypted, per-month, per-thread logs of answered checks.
 *
 * A file is a sequence of blocks:
 *
 *   offset size
 *        0    8  magic: "ELAUDIT1" XChaCha20-Poly1305, "ELAUDIT2" AES-256-GCM
 *        8    4  ciphertext length (records + 16-byte tag)
 *       12    4  records in the block
 *       16    8  first reference     (the header's first 32 bytes are the
 *       24    8  last reference       AEAD's associated data)
 *       32   24  nonce (random; AES-GCM uses its first 12 bytes)
 *       56    .  the records, encrypted and authenticated (16-byte tag)
 *
 * back to back, or with zeros up to the next multiple of 4 KiB before a
 * block written by direct I/O; a record (plaintext) is u64 reference, i64
 * time, 10 bytes facility, u8 opcode, u8 validity, u16 length, the answer
 * bytes; little-endian.
 *
 * Writing: a writer (one per answering thread) fills a plaintext buffer of
 * up to 256 KiB, seals it into one of four aligned block buffers and hands
 * that to its own io_uring as one write: a full block at the file's next
 * 4 KiB boundary with O_DIRECT where the file system allows it, a block
 * sealed because a second passed (or a reader waits) right after the last
 * one through the page cache (at a few checks a second, 4 KiB of padding
 * each would be most of the file). The thread goes on answering while the
 * disk takes the block; it waits only when all four are still being
 * written (the disk cannot keep up: back-pressure, not loss). fdatasync goes through the ring too,
 * ordered after the writes before it (IOSQE_IO_DRAIN). Why: written through the page cache from the
 * answering thread, the audit cost 12-20% of the server's throughput at a
 * million checks a second (the copy, the page cache's bookkeeping, and the
 * cache lines it takes from the index); as direct writes of 256 KiB from
 * the ring to a disk, 6% (6-8% at 160M records; bench/results/
 * 2026-11-22-audit-io.md). Blocks of 16 to 128 KiB cost more (one write
 * each); 256 KiB also bounds what a post-hoc read decrypts.
 *
 * Index: per file, the blocks' reference ranges and places, added when a
 * block's write completes (blocks of one writer may complete out of order)
 * and rebuilt from the headers at open (a torn last block, from a crash
 * mid-write, is cut off there). A read scans the ranges (newest first),
 * then reads and opens one block.
 *
 * The cipher: AES-256-GCM where the CPU has AES instructions,
 * XChaCha20-Poly1305 (libsodium) elsewhere. The magic names it, and is
 * authenticated with the header; a reader opens either on any CPU.
 * AES-256-GCM is OpenSSL's libcrypto: with VAES and VPCLMULQDQ it seals
 * 64 KiB at 3.9 GB/s where libsodium 1.0.18 does 1.7 GB/s, and at a
 * million checks a second (some 145 MB/s of records) that difference is a
 * few percent of the server. Each writer keeps its own cipher context with
 * the key schedule done once. Random 96-bit GCM nonces are safe for 2^32
 * blocks per key, some 250 TB of audit.
 *
 * Keys and plaintext buffers are wiped after use (sodium_memzero; OpenSSL
 * clears a context when it is freed).
 */
#include "elig_audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "elig_net_error.h"
#include "elig_le.h"
#include "elig_slog.h"

#define MAGIC     "ELAUDIT1" /* XChaCha20-Poly1305 */
#define MAGIC_GCM "ELAUDIT2" /* AES-256-GCM */
#define GCM_NONCE 12
#define HDR       56
#define AD_LEN    32
#define NONCE     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG       crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY       crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define REC_HEAD  30 /* reference, time, facility, opcode, validity, length */
#define BLOCK_MAX (256u * 1024)
#define BUF_CAP   (BLOCK_MAX + REC_HEAD + ELIG_AUDIT_ANSWER_MAX)
#define ALIGN     4096u /* blocks start at multiples of it: direct I/O */
#define WB_CAP    ((HDR + BUF_CAP + TAG + ALIGN - 1) / ALIGN * ALIGN)
#define NBUF      4              /* blocks a writer may have being written at once */
#define RING      (2 * NBUF + 2) /* room for every write and a sync */
#define SYNC_DATA NBUF           /* user data of the sync's completion */
#define WAIT_S    30             /* longest wait for a disk to complete a write */

static uint64_t align_up(uint64_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

struct ablock {
    uint64_t first, last;
    uint64_t offset; /* of the header */
    uint32_t clen;
};

struct afile {
    int month; /* YYYYMM */
    unsigned worker;
    char path[4096];
    struct ablock *b;
    size_t n, cap;
    uint64_t size; /* bytes of whole blocks */
};

struct elig_audit {
    char dir[4000];
    uint8_t key[KEY];
    bool gcm; /* the CPU has AES instructions: write AES-256-GCM */
    pthread_mutex_t mu;
    struct afile *f;
    size_t nf, capf;
};

/* A sealed block's buffer: header, ciphertext, padding; 4 KiB aligned for direct I/O. */
struct wblock {
    uint8_t *mem;
    size_t size;     /* bytes written: header, ciphertext and padding */
    struct ablock b; /* what the index gets once it is written */
    int month;       /* of its file */
    bool direct;     /* written with O_DIRECT (a full block) */
    enum { WB_FREE, WB_WRITING, WB_FAILED } state;
};

struct elig_audit_writer {
    struct elig_audit *a;
    unsigned id;
    int month;        /* of the file open for writing */
    int64_t month_at; /* the second rec_month was computed for (localtime_r is not free) */
    int rec_month;
    int fd, dfd;         /* the month's file, plainly and for direct I/O (-1: none) */
    uint64_t off;        /* where the last block ends */
    EVP_CIPHER_CTX *gcm; /* keyed once; NULL when writing XChaCha20-Poly1305 */
    uint8_t *buf;        /* the records not yet sealed (plaintext: sodium_malloc) */
    size_t len;
    uint32_t count;
    uint64_t first, last;
    struct io_uring ring; /* this writer's block writes and syncs */
    bool ring_ok, syncing;
    unsigned inflight; /* writes and syncs submitted, not completed */
    int error;         /* of a write or sync, until reported */
    struct wblock wb[NBUF];
};

static int month_of(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

static int month_before(int month)
{
    return month % 100 == 1 ? (month / 100 - 1) * 100 + 12 : month - 1;
}

/* ---- the index ------------------------------------------------------------ */

/* The file of (month, worker), made if new; its index (under a->mu). */
static long file_get(struct elig_audit *a, int month, unsigned worker, bool make)
{
    for (size_t i = 0; i < a->nf; i++)
        if (a->f[i].month == month && a->f[i].worker == worker)
            return (long)i;
    if (!make)
        return -ENOENT;
    if (a->nf == a->capf) {
        size_t cap = a->capf ? a->capf * 2 : 16;
        struct afile *nf = realloc(a->f, cap * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        a->f = nf;
        a->capf = cap;
    }
    struct afile *f = &a->f[a->nf];
    memset(f, 0, sizeof(*f));
    f->month = month;
    f->worker = worker;
    snprintf(f->path, sizeof f->path, "%s/%06d-w%03u.audit", a->dir, month, worker);
    return (long)a->nf++;
}

static int block_add(struct afile *f, const struct ablock *b)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct ablock *nb = realloc(f->b, cap * sizeof(*nb));
        if (!nb)
            return -ENOMEM;
        f->b = nb;
        f->cap = cap;
    }
    f->b[f->n++] = *b;
    if (b->offset + HDR + b->clen > f->size) /* blocks of one writer complete in any order */
        f->size = b->offset + HDR + b->clen;
    return 0;
}

/* Whether the bytes from off to the next 4 KiB boundary (not past end) are zeros after a block. */
static bool padding(int fd, uint64_t off, uint64_t end)
{
    uint64_t to = align_up(off);
    if (to == off || to > end)
        return false;
    uint8_t z[ALIGN];
    size_t n = (size_t)(to - off);
    if (pread(fd, z, n, (off_t)off) != (ssize_t)n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (z[i])
            return false;
    return true;
}

/*
 * Read a file's block headers into its index; cut a torn tail. Blocks are
 * back to back, or with zeros up to the 4 KiB boundary where one written by
 * direct I/O begins.
 */
static int file_scan(struct afile *f)
{
    int fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st)) {
        close(fd);
        return -errno;
    }
    uint64_t off = 0, end = (uint64_t)st.st_size;
    int rc = 0;
    while (rc == 0 && off + HDR <= end) {
        uint8_t h[HDR];
        if (pread(fd, h, HDR, (off_t)off) != HDR) {
            rc = -EIO;
            break;
        }
        struct ablock b = { .first = elig_rd64(h + 16),
                            .last = elig_rd64(h + 24),
                            .offset = off,
                            .clen = elig_rd32(h + 8) };
        bool magic = memcmp(h, MAGIC, 8) == 0 || memcmp(h, MAGIC_GCM, 8) == 0;
        if (!magic && padding(fd, off, end)) {
            off = align_up(off); /* zeros up to the next 4 KiB: the next block is there */
            continue;
        }
        if (!magic || b.clen < TAG || b.clen > BUF_CAP + TAG || b.first > b.last)
            break; /* not a block: a torn or damaged tail */
        if (off + HDR + b.clen > end)
            break;
        rc = block_add(f, &b);
        off += HDR + b.clen;
    }
    if (rc == 0 && off != end && align_up(off) == end && padding(fd, off, end))
        off = end; /* the last block's padding */
    if (rc == 0 && off != end) {
        elig_slog(ELIG_SLOG_WARN, "audit: %s: %llu bytes after the last whole block cut off",
                  f->path, (unsigned long long)(end - off));
        if (ftruncate(fd, (off_t)off))
            rc = -errno;
    }
    f->size = off;
    close(fd);
    return rc;
}

static int load_key(struct elig_audit *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/audit.key", a->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r = read(fd, a->key, KEY);
        uint8_t extra;
        bool more = read(fd, &extra, 1) > 0;
        close(fd);
        if (r != KEY || more) {
            elig_slog(ELIG_SLOG_ERROR, "audit: %s is not an audit key (%d bytes)", path, KEY);
            return -ELIG_EAUDIT;
        }
        return 0;
    }
    if (errno != ENOENT)
        return -errno;
    crypto_aead_xchacha20poly1305_ietf_keygen(a->key);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = write(fd, a->key, KEY) == KEY && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    return rc;
}

int elig_audit_open(const char *dir, int64_t now, struct elig_audit **out)
{
    if (sodium_init() < 0)
        return -EIO;
    struct elig_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    pthread_mutex_init(&a->mu, NULL);
    int rc = mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
    if (rc == 0)
        rc = load_key(a);
    a->gcm = crypto_aead_aes256gcm_is_available(); /* AES-NI and PCLMULQDQ */
    DIR *d = rc ? NULL : opendir(dir);
    if (rc == 0 && !d)
        rc = -errno;
    for (struct dirent *e; d && rc == 0 && (e = readdir(d));) {
        int month;
        unsigned worker;
        char tail;
        if (sscanf(e->d_name, "%6d-w%3u.audi%c", &month, &worker, &tail) != 3 || tail != 't')
            continue;
        long i = file_get(a, month, worker, true);
        rc = i < 0 ? (int)i : file_scan(&a->f[i]);
    }
    if (d)
        closedir(d);
    if (rc == 0)
        rc = elig_audit_prune(a, now) < 0 ? -EIO : 0;
    if (rc) {
        elig_audit_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void elig_audit_close(struct elig_audit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nf; i++)
        free(a->f[i].b);
    free(a->f);
    sodium_memzero(a->key, sizeof a->key);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int elig_audit_prune(struct elig_audit *a, int64_t now)
{
    int keep_from = month_before(month_of(now)), deleted = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nf;) {
        if (a->f[i].month >= keep_from) {
            i++;
            continue;
        }
        if (unlink(a->f[i].path) == 0 || errno == ENOENT)
            deleted++;
        free(a->f[i].b);
        a->f[i] = a->f[--a->nf];
    }
    pthread_mutex_unlock(&a->mu);
    return deleted;
}

/* ---- AES-256-GCM (OpenSSL) ------------------------------------------------- */

/* Seal m into c (mlen bytes, then the tag) under ctx's key, with ad and nonce. */
static int gcm_seal(EVP_CIPHER_CTX *ctx, uint8_t *c, const uint8_t *m, size_t mlen,
                    const uint8_t *ad, const uint8_t *nonce)
{
    int n = 0, fin = 0;
    return EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
                   EVP_EncryptUpdate(ctx, NULL, &n, ad, AD_LEN) == 1 &&
                   EVP_EncryptUpdate(ctx, c, &n, m, (int)mlen) == 1 &&
                   EVP_EncryptFinal_ex(ctx, c + n, &fin) == 1 &&
                   EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, c + mlen) == 1
               ? 0
               : -EIO;
}

/* Open c (clen bytes: ciphertext, then the tag) into plain; false if it fails authentication. */
static bool gcm_open(const uint8_t *key, uint8_t *plain, const uint8_t *c, size_t clen,
                     const uint8_t *ad, const uint8_t *nonce)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t mlen = clen - TAG;
    int n = 0, fin = 0;
    bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
              EVP_DecryptUpdate(ctx, NULL, &n, ad, AD_LEN) == 1 &&
              EVP_DecryptUpdate(ctx, plain, &n, c, (int)mlen) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(c + mlen)) == 1 &&
              EVP_DecryptFinal_ex(ctx, plain + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* ---- writing -------------------------------------------------------------- */

/* Start writing block i (sealed in w->wb[i]) at its offset. */
static void block_submit(struct elig_audit_writer *w, unsigned i)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring); /* never full: see RING */
    int fd = w->wb[i].direct ? w->dfd : w->fd;
    io_uring_prep_write(sqe, fd, w->wb[i].mem, (unsigned)w->wb[i].size, w->wb[i].b.offset);
    io_uring_sqe_set_data64(sqe, i);
    w->wb[i].state = WB_WRITING;
    w->inflight++;
    io_uring_submit(&w->ring);
}

/* One completion: a block written (now in the index and readable), or not; a sync done. */
static void complete(struct elig_audit_writer *w, const struct io_uring_cqe *cqe)
{
    uint64_t i = io_uring_cqe_get_data64(cqe);
    w->inflight--;
    if (i == SYNC_DATA) {
        w->syncing = false;
        if (cqe->res < 0 && !w->error)
            w->error = cqe->res;
        return;
    }
    struct wblock *wb = &w->wb[i];
    if (cqe->res != (int)wb->size) {
        if (!w->error)
            w->error = cqe->res < 0 ? cqe->res : -EIO;
        /* kept, and written again by the next write or flush; but not into another month's file */
        wb->state = wb->month == w->month ? WB_FAILED : WB_FREE;
        return;
    }
    wb->state = WB_FREE;
    pthread_mutex_lock(&w->a->mu);
    long f = file_get(w->a, wb->month, w->id, true);
    int rc = f < 0 ? (int)f : block_add(&w->a->f[f], &wb->b);
    pthread_mutex_unlock(&w->a->mu);
    if (rc && !w->error)
        w->error = rc;
}

/*
 * Take the completions there are; with wait, until nothing is in flight or
 * a disk has not answered for WAIT_S seconds (-ETIMEDOUT; what is in flight
 * stays so, and is taken by a later call).
 */
static void reap(struct elig_audit_writer *w, bool wait)
{
    struct io_uring_cqe *cqe;
    if (wait)
        io_uring_submit(&w->ring); /* anything a failed submit left behind */
    for (unsigned intr = 0; w->inflight > 0 && intr < 1000;) {
        struct __kernel_timespec ts = { .tv_sec = WAIT_S, .tv_nsec = 0 };
        int rc = wait ? io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts)
                      : io_uring_peek_cqe(&w->ring, &cqe);
        if (rc == -EINTR) {
            intr++;
            continue;
        }
        if (rc == -ETIME && !w->error)
            w->error = -ETIMEDOUT;
        if (rc)
            return; /* -EAGAIN: nothing yet */
        complete(w, cqe);
        io_uring_cqe_seen(&w->ring, cqe);
    }
}

/* Write again the blocks whose write failed. */
static void retry_failed(struct elig_audit_writer *w)
{
    for (unsigned i = 0; i < NBUF; i++)
        if (w->wb[i].state == WB_FAILED)
            block_submit(w, i);
}

/* The first free block buffer, or -1. */
static long first_free(const struct elig_audit_writer *w)
{
    for (unsigned i = 0; i < NBUF; i++)
        if (w->wb[i].state == WB_FREE)
            return i;
    return -1;
}

/* A buffer to seal the next block into: waits while all are being written. */
static long wb_free(struct elig_audit_writer *w)
{
    for (int round = 0; round < 2; round++) {
        reap(w, false);
        long i = first_free(w);
        if (i >= 0)
            return i;
        retry_failed(w);
        reap(w, true);
        if ((i = first_free(w)) >= 0)
            return i;
    }
    return w->error ? w->error : -EIO; /* the file system keeps failing */
}

/* The error of a write or sync that failed since the last call (reported once). */
static int take_error(struct elig_audit_writer *w)
{
    int rc = w->error;
    w->error = 0;
    return rc;
}

int elig_audit_writer_open(struct elig_audit *a, unsigned id, struct elig_audit_writer **out)
{
    struct elig_audit_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->a = a;
    w->id = id;
    w->fd = w->dfd = -1;
    w->buf = sodium_malloc(BUF_CAP);
    int rc = w->buf ? io_uring_queue_init(RING, &w->ring, 0) : -ENOMEM;
    w->ring_ok = rc == 0;
    for (unsigned i = 0; rc == 0 && i < NBUF; i++) {
        void *mem = NULL;
        rc = posix_memalign(&mem, ALIGN, WB_CAP) ? -ENOMEM : 0;
        w->wb[i].mem = mem;
    }
    if (rc == 0 && a->gcm) {
        w->gcm = EVP_CIPHER_CTX_new();
        if (!w->gcm || EVP_EncryptInit_ex(w->gcm, EVP_aes_256_gcm(), NULL, a->key, NULL) != 1)
            rc = -ENOMEM;
    }
    if (rc) {
        elig_audit_writer_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

/*
 * Make the writer's file the one of month: the blocks of the old one
 * written first. Opened twice: for direct I/O where the file system has it
 * (full blocks go to the disk from the writer's buffers, not through the
 * page cache), and plainly (blocks sealed because time passed, small and
 * not worth a padded 4 KiB each).
 */
static int writer_month(struct elig_audit_writer *w, int month)
{
    if (w->fd >= 0 && w->month == month)
        return 0;
    if (w->fd >= 0) {
        retry_failed(w);
        reap(w, true);
        close(w->fd);
        if (w->dfd >= 0)
            close(w->dfd);
        w->fd = w->dfd = -1;
        for (unsigned i = 0; i < NBUF; i++)
            if (w->wb[i].state == WB_FAILED)
                w->wb[i].state = WB_FREE; /* a block that still fails is lost with its month */
    }
    pthread_mutex_lock(&w->a->mu);
    long i = file_get(w->a, month, w->id, true);
    char path[4096];
    uint64_t size = 0;
    if (i >= 0) {
        memcpy(path, w->a->f[i].path, sizeof path);
        size = w->a->f[i].size;
    }
    pthread_mutex_unlock(&w->a->mu);
    if (i < 0)
        return (int)i;
    w->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return -errno;
    w->dfd = open(path, O_WRONLY | O_CLOEXEC | O_DIRECT); /* -1 (EINVAL): no direct I/O here */
    w->month = month;
    w->off = size;
    return 0;
}

/*
 * Seal the buffered records into a free buffer and start writing them: a
 * full block by direct I/O at the next 4 KiB boundary, padded to one;
 * another (sealed because time passed or a reader waits) right after the
 * last block, through the page cache.
 */
static int seal(struct elig_audit_writer *w, bool full)
{
    long i = wb_free(w);
    if (i < 0)
        return (int)i; /* the records stay buffered for the next try */
    struct wblock *wb = &w->wb[i];
    uint8_t *h = wb->mem;
    memcpy(h, w->gcm ? MAGIC_GCM : MAGIC, 8);
    elig_le32(h + 8, (uint32_t)(w->len + TAG));
    elig_le32(h + 12, w->count);
    elig_le64(h + 16, w->first);
    elig_le64(h + 24, w->last);
    memset(h + AD_LEN, 0, NONCE);
    randombytes_buf(h + AD_LEN, w->gcm ? GCM_NONCE : NONCE);
    unsigned long long clen = w->len + TAG;
    if (w->gcm) {
        if (gcm_seal(w->gcm, h + HDR, w->buf, w->len, h, h + AD_LEN))
            return -EIO;
    } else {
        crypto_aead_xchacha20poly1305_ietf_encrypt(h + HDR, &clen, w->buf, w->len, h, AD_LEN, NULL,
                                                   h + AD_LEN, w->a->key);
    }
    wb->direct = full && w->dfd >= 0;
    uint64_t at = wb->direct ? align_up(w->off) : w->off; /* zeros between: padding */
    wb->size = wb->direct ? align_up(HDR + clen) : HDR + clen;
    memset(h + HDR + clen, 0, wb->size - HDR - clen); /* padding to the next block */
    wb->b =
        (struct ablock){ .first = w->first, .last = w->last, .offset = at, .clen = (uint32_t)clen };
    wb->month = w->month;
    w->off = at + wb->size;
    block_submit(w, (unsigned)i);
    sodium_memzero(w->buf, w->len);
    w->len = 0;
    w->count = 0;
    return 0;
}

int elig_audit_write(struct elig_audit_writer *w)
{
    reap(w, false);
    retry_failed(w);
    int rc = w->count ? seal(w, false) : 0;
    int err = take_error(w);
    return rc ? rc : err;
}

int elig_audit_flush(struct elig_audit_writer *w)
{
    int rc = elig_audit_write(w);
    reap(w, true);
    int err = take_error(w);
    return rc ? rc : err;
}

int elig_audit_record(struct elig_audit_writer *w, uint64_t reference, int64_t now,
                      const char facility[10], uint8_t opcode, uint8_t validity,
                      const uint8_t *answer, size_t len)
{
    if (now != w->month_at || w->rec_month == 0) { /* once a second, not once a check */
        w->rec_month = month_of(now);
        w->month_at = now;
    }
    int month = w->rec_month, rc = 0;
    if (len > ELIG_AUDIT_ANSWER_MAX)
        len = 0; /* cannot happen for answers of eligd: keep the record, not its body */
    if (w->count && (w->month != month || w->len + REC_HEAD + len > BLOCK_MAX))
        rc = seal(w, w->month == month);
    if (rc == 0 && w->count == 0)
        rc = writer_month(w, month);
    if (rc)
        return rc;
    uint8_t *p = w->buf + w->len;
    elig_le64(p, reference);
    elig_le64(p + 8, (uint64_t)now);
    memcpy(p + 16, facility, 10);
    p[26] = opcode;
    p[27] = validity;
    elig_le16(p + 28, (uint16_t)len);
    memcpy(p + REC_HEAD, answer, len);
    w->len += REC_HEAD + len;
    if (w->count++ == 0) {
        w->first = w->last = reference;
    } else {
        w->first = reference < w->first ? reference : w->first;
        w->last = reference > w->last ? reference : w->last;
    }
    return 0;
}

int elig_audit_sync(struct elig_audit_writer *w)
{
    reap(w, false);
    if (w->fd >= 0 && !w->syncing) {
        /* after the writes started before it; the writes after it wait for it */
        struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
        io_uring_prep_fsync(sqe, w->fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
        io_uring_sqe_set_data64(sqe, SYNC_DATA);
        w->syncing = true;
        w->inflight++;
        io_uring_submit(&w->ring);
    }
    return take_error(w);
}

int elig_audit_writer_close(struct elig_audit_writer *w)
{
    if (!w)
        return 0;
    int rc = 0;
    if (w->ring_ok) {
        rc = w->buf && w->fd >= 0 ? elig_audit_flush(w) : 0;
        if (w->fd >= 0 && fdatasync(w->fd) && rc == 0)
            rc = -errno;
        io_uring_queue_exit(&w->ring);
    }
    if (w->fd >= 0)
        close(w->fd);
    if (w->dfd >= 0)
        close(w->dfd);
    sodium_free(w->buf);
    for (unsigned i = 0; i < NBUF && w->inflight == 0; i++)
        free(w->wb[i].mem); /* (left to a disk that never answered: it may still read them) */
    EVP_CIPHER_CTX_free(w->gcm);
    free(w);
    return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* Authenticate and decrypt one block (header at blk, clen bytes after it) into plain. */
static bool block_open(const struct elig_audit *a, const uint8_t *blk, uint32_t clen,
                       uint8_t *plain, unsigned long long *plen)
{
    if (memcmp(blk, MAGIC_GCM, 8) == 0) {
        *plen = clen - TAG;
        return gcm_open(a->key, plain, blk + HDR, clen, blk, blk + AD_LEN);
    }
    return memcmp(blk, MAGIC, 8) == 0 &&
           crypto_aead_xchacha20poly1305_ietf_decrypt(plain, plen, NULL, blk + HDR, clen, blk,
                                                      AD_LEN, blk + AD_LEN, a->key) == 0;
}

int elig_audit_read(struct elig_audit *a, uint64_t reference, const char facility[10],
                    struct elig_audit_entry *out)
{
    char path[4096] = "";
    struct ablock b = { 0 };
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nf && !path[0]; i++)
        for (size_t j = a->f[i].n; j-- > 0;)
            if (a->f[i].b[j].first <= reference && reference <= a->f[i].b[j].last) {
                b = a->f[i].b[j];
                memcpy(path, a->f[i].path, sizeof path);
                break;
            }
    pthread_mutex_unlock(&a->mu);
    if (!path[0])
        return -ENOENT;
    uint8_t *blk = malloc(HDR + b.clen), *plain = sodium_malloc(b.clen);
    int rc = blk && plain ? 0 : -ENOMEM, fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (rc == 0 && fd < 0)
        rc = errno == ENOENT ? -ENOENT : -errno; /* pruned meanwhile */
    if (rc == 0 && pread(fd, blk, HDR + b.clen, (off_t)b.offset) != (ssize_t)(HDR + b.clen))
        rc = -EIO;
    unsigned long long plen = 0;
    if (rc == 0 && !block_open(a, blk, b.clen, plain, &plen)) {
        elig_slog(ELIG_SLOG_ERROR, "audit: %s: block at %llu fails authentication", path,
                  (unsigned long long)b.offset);
        rc = -ELIG_EAUDIT;
    }
    if (rc == 0)
        rc = -ENOENT;
    for (size_t off = 0; rc == -ENOENT && off + REC_HEAD <= plen;) {
        const uint8_t *p = plain + off;
        size_t len = elig_rd16(p + 28);
        if (off + REC_HEAD + len > plen)
            break;
        if (elig_rd64(p) == reference) {
            if (memcmp(p + 16, facility, 10) == 0) { /* another facility's: not found */
                out->time = (int64_t)elig_rd64(p + 8);
                out->opcode = p[26];
                out->validity = p[27];
                out->len = (uint16_t)len;
                memcpy(out->answer, p + REC_HEAD, len);
                rc = 0;
            }
            break;
        }
        off += REC_HEAD + len;
    }
    if (fd >= 0)
        close(fd);
    free(blk);
    sodium_free(plain);
    return rc;
}
