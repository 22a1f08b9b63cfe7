/* SPDX-License-Identifier: MIT */
/*
 * elig_lag: registration lag, counted per (month of entry, insurer, class).
 *
 * Design: rows in an array that grows by doubling, found through an
 * open-addressing table of row indexes (linear probing, at most half full)
 * over XXH3 of the row's key. A month of a nation is ~3,400 insurers x 3
 * classes, so a table of years stays small. Sorting happens only when rows
 * are handed out.
 *
 * The file (DATA/lag) is the table as of an LSN, written whole and renamed
 * into place (elig_io_replace_file):
 *
 *   offset size
 *        0    8  magic "ELIGLAG1"
 *        8    8  through: the last LSN it counts
 *       16    4  row count
 *       20    4  reserved, 0
 *       24   80  each row: month u32, insurer 8, class u8, 3 reserved,
 *                six bucket counts u64, days summed u64, longest lag u32, reserved u32
 *     ....    4  CRC32C of everything before
 *
 * A file of the wrong size, magic or checksum is refused (-ELIG_ELAGFILE),
 * never half read.
 *
 * Scanning the log reads each chunk record's entry time and event count and
 * counts that many events after it: a chunk is one unit of the log, its
 * record and then its events in LSN order. Events logged without a chunk record (a bare
 * elig_db_submit) have no entry time; they are counted apart, never guessed.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_chunk.h"
#include "elig_codec.h"
#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_io.h"
#include "elig_lag.h"
#include "elig_le.h"
#include "elig_log.h"
#include "elig_update.h"

#define LAG_MAGIC "ELIGLAG1"
#define LAG_HEAD  24
#define LAG_ROW   80

static const struct {
    const char *name;
    int hi; /* the bucket's largest lag in days */
} buckets[ELIG_LAG_BUCKETS] = {
    [ELIG_LAG_EARLY] = { "early", -1 }, [ELIG_LAG_0_5] = { "0-5", 5 },
    [ELIG_LAG_6_10] = { "6-10", 10 },   [ELIG_LAG_11_30] = { "11-30", 30 },
    [ELIG_LAG_31_60] = { "31-60", 60 }, [ELIG_LAG_OVER_60] = { "61-", INT32_MAX },
};

const char *elig_lag_bucket_name(unsigned b)
{
    return b < ELIG_LAG_BUCKETS ? buckets[b].name : "?";
}

int elig_lag_bucket_bound(unsigned b)
{
    return b < ELIG_LAG_BUCKETS ? buckets[b].hi : INT32_MAX;
}

unsigned elig_lag_bucket_of(int days)
{
    unsigned b = 0;
    while (days > buckets[b].hi)
        b++;
    return b;
}

int elig_lag_class_of(uint8_t kind)
{
    switch (kind) {
    case ELIG_EV_ACQUIRE:
        return ELIG_LAG_ACQUIRE;
    case ELIG_EV_LOSS:
        return ELIG_LAG_LOSS;
    case ELIG_EV_CHANGE:
        return ELIG_LAG_CHANGE;
    default:
        return -1;
    }
}

int elig_lag_allowed(unsigned c)
{
    return c == ELIG_LAG_CHANGE ? 10 : 5;
}

int elig_lag_late(unsigned c, unsigned b)
{
    return b > 0 && buckets[b - 1].hi >= elig_lag_allowed(c);
}

struct elig_lag {
    struct elig_lag_row *rows;
    uint32_t nrows, cap;
    uint32_t *slots; /* row index + 1; 0 empty */
    uint32_t nslots; /* a power of two, >= 2 * cap */
};

int elig_lag_create(struct elig_lag **out)
{
    struct elig_lag *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    *out = t;
    return 0;
}

void elig_lag_destroy(struct elig_lag *t)
{
    if (t == NULL)
        return;
    free(t->rows);
    free(t->slots);
    free(t);
}

static uint64_t row_hash(uint32_t month, const char insurer[8], uint8_t cls)
{
    uint8_t k[13];
    elig_le32(k, month);
    memcpy(k + 4, insurer, 8);
    k[12] = cls;
    return XXH3_64bits(k, sizeof k);
}

static int grow(struct elig_lag *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 64, nslots = cap * 2;
    struct elig_lag_row *rows = realloc(t->rows, cap * sizeof *rows);
    if (rows == NULL)
        return -ENOMEM;
    t->rows = rows;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->nrows; i++) {
        const struct elig_lag_row *r = &t->rows[i];
        uint32_t s = (uint32_t)row_hash(r->month, r->insurer, r->cls) & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    t->cap = cap;
    return 0;
}

/* The row of (month, insurer, cls), made empty if new; NULL when out of memory. */
static struct elig_lag_row *row_get(struct elig_lag *t, uint32_t month, const char insurer[8],
                                    uint8_t cls)
{
    if (t->nrows == t->cap && grow(t) < 0)
        return NULL;
    uint32_t s = (uint32_t)row_hash(month, insurer, cls) & (t->nslots - 1);
    for (; t->slots[s]; s = (s + 1) & (t->nslots - 1)) {
        struct elig_lag_row *r = &t->rows[t->slots[s] - 1];
        if (r->month == month && r->cls == cls && memcmp(r->insurer, insurer, 8) == 0)
            return r;
    }
    struct elig_lag_row *r = &t->rows[t->nrows];
    *r = (struct elig_lag_row){ .month = month, .cls = cls };
    memcpy(r->insurer, insurer, 8);
    t->slots[s] = ++t->nrows;
    return r;
}

static void row_add(struct elig_lag_row *to, const struct elig_lag_row *from)
{
    for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
        to->count[b] += from->count[b];
    to->days_sum += from->days_sum;
    if (from->days_max > to->days_max)
        to->days_max = from->days_max;
}

int elig_lag_add(struct elig_lag *t, const char insurer[8], uint8_t kind, elig_date_t effective,
                 int64_t entered)
{
    int cls = elig_lag_class_of(kind);
    if (cls < 0)
        return 0;
    elig_date_t day = elig_date_of_time(entered);
    if (effective == ELIG_DATE_NONE || day == ELIG_DATE_NONE)
        return -EINVAL;
    int y, m, d;
    elig_date_to_ymd(day, &y, &m, &d);
    struct elig_lag_row *r = row_get(t, (uint32_t)(y * 100 + m), insurer, (uint8_t)cls);
    if (r == NULL)
        return -ENOMEM;
    int days = (int)day - (int)effective;
    r->count[elig_lag_bucket_of(days)]++;
    if (days > 0) {
        r->days_sum += (uint64_t)days;
        if ((uint32_t)days > r->days_max)
            r->days_max = (uint32_t)days;
    }
    return 0;
}

int elig_lag_merge(struct elig_lag *t, const struct elig_lag *src)
{
    for (uint32_t i = 0; i < src->nrows; i++) {
        const struct elig_lag_row *s = &src->rows[i];
        struct elig_lag_row *r = row_get(t, s->month, s->insurer, s->cls);
        if (r == NULL)
            return -ENOMEM;
        row_add(r, s);
    }
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct elig_lag_row *x = a, *y = b;
    if (x->month != y->month)
        return x->month < y->month ? -1 : 1;
    int c = memcmp(x->insurer, y->insurer, 8);
    return c ? c : (int)x->cls - (int)y->cls;
}

long elig_lag_rows(const struct elig_lag *t, uint32_t month, struct elig_lag_row **rows)
{
    struct elig_lag_row *out = malloc((t->nrows ? t->nrows : 1) * sizeof *out);
    if (out == NULL)
        return -ENOMEM;
    long n = 0;
    for (uint32_t i = 0; i < t->nrows; i++)
        if (month == 0 || t->rows[i].month == month)
            out[n++] = t->rows[i];
    qsort(out, (size_t)n, sizeof *out, row_cmp);
    *rows = out;
    return n;
}

/* ---- the log ---------------------------------------------------------------- */

struct scan {
    struct elig_lag *t;
    uint64_t upto, last, untimed;
    int64_t entered; /* the current chunk's, 0: none */
    uint32_t left;   /* events of that chunk still to come */
    int err;
};

static int scan_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *payload, size_t len)
{
    struct scan *s = ctx;
    if (lsn > s->upto)
        return 1;
    s->last = lsn;
    if (kind == ELIG_CHUNK_RECORD_KIND) {
        struct elig_chunk_record rec;
        bool ok = elig_chunk_record_decode(payload, len, &rec) == 0;
        s->entered = ok ? rec.entered : 0;
        s->left = ok ? rec.n : 0;
        return 0;
    }
    int64_t entered = s->left ? s->entered : 0; /* an event past its chunk's count has none */
    if (s->left)
        s->left--;
    uint8_t ek;
    elig_date_t effective;
    char source[ELIG_INSURER_LEN];
    if (elig_event_head(payload, len, &ek, &effective, source) != 0 || ek != kind ||
        elig_lag_class_of(ek) < 0)
        return 0;
    if (entered == 0) {
        s->untimed++;
        return 0;
    }
    int rc = elig_lag_add(s->t, source, ek, effective, entered);
    if (rc == -ENOMEM) {
        s->err = rc;
        return 1;
    }
    return 0;
}

int elig_lag_scan_log(struct elig_lag *t, const char *dir, uint64_t after, uint64_t upto,
                      uint64_t *last, uint64_t *untimed)
{
    struct scan s = { .t = t, .upto = upto, .last = after };
    /* after is a unit's end (a snapshot's LSN, or 0), so the first record read starts one */
    int rc = elig_log_scan(dir, after + 1, scan_record, &s, NULL);
    if (last)
        *last = s.last;
    if (untimed)
        *untimed = s.untimed;
    if (s.err)
        return s.err;
    return rc < 0 ? rc : 0;
}

/* ---- the file ---------------------------------------------------------------- */

int elig_lag_save(const struct elig_lag *t, const char *path, uint64_t through)
{
    size_t len = LAG_HEAD + (size_t)t->nrows * LAG_ROW + 4;
    uint8_t *buf = calloc(1, len);
    if (buf == NULL)
        return -ENOMEM;
    memcpy(buf, LAG_MAGIC, 8);
    elig_le64(buf + 8, through);
    elig_le32(buf + 16, t->nrows);
    for (uint32_t i = 0; i < t->nrows; i++) {
        const struct elig_lag_row *r = &t->rows[i];
        uint8_t *p = buf + LAG_HEAD + (size_t)i * LAG_ROW;
        elig_le32(p, r->month);
        memcpy(p + 4, r->insurer, 8);
        p[12] = r->cls;
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
            elig_le64(p + 16 + 8 * b, r->count[b]);
        elig_le64(p + 64, r->days_sum);
        elig_le32(p + 72, r->days_max);
    }
    elig_le32(buf + len - 4, elig_crc32c(0, buf, len - 4));
    int rc = elig_io_replace_file(path, buf, len);
    free(buf);
    return rc;
}

int elig_lag_load(struct elig_lag *t, const char *path, uint64_t *through)
{
    *through = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *buf = size >= LAG_HEAD + 4 && size < (1 << 30) ? malloc((size_t)size) : NULL;
    int rc = size < LAG_HEAD + 4 || size >= (1 << 30) ? -ELIG_ELAGFILE
             : buf == NULL                            ? -ENOMEM
                                                      : elig_io_pread_all(fd, buf, (size_t)size, 0);
    close(fd);
    size_t len = (size_t)size;
    uint32_t n = rc == 0 ? elig_rd32(buf + 16) : 0;
    if (rc == 0 && (memcmp(buf, LAG_MAGIC, 8) != 0 || len != LAG_HEAD + (size_t)n * LAG_ROW + 4 ||
                    elig_rd32(buf + len - 4) != elig_crc32c(0, buf, len - 4)))
        rc = -ELIG_ELAGFILE;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *p = buf + LAG_HEAD + (size_t)i * LAG_ROW;
        struct elig_lag_row r = { .month = elig_rd32(p), .cls = p[12] };
        memcpy(r.insurer, p + 4, 8);
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
            r.count[b] = elig_rd64(p + 16 + 8 * b);
        r.days_sum = elig_rd64(p + 64);
        r.days_max = elig_rd32(p + 72);
        if (r.cls >= ELIG_LAG_CLASSES) {
            rc = -ELIG_ELAGFILE;
            break;
        }
        struct elig_lag_row *to = row_get(t, r.month, r.insurer, r.cls);
        if (to == NULL)
            rc = -ENOMEM;
        else
            row_add(to, &r);
    }
    if (rc == 0)
        *through = elig_rd64(buf + 8);
    free(buf);
    return rc;
}
