/* SPDX-License-Identifier: MIT */
/*
 * fuzz_log: libFuzzer harness for the log reader and its tail recovery.
 *
 * The first input byte picks the form of the rest:
 *   0: the rest is a whole segment file, as a damaged disk would leave it;
 *   1: a valid file header, then the rest as the records;
 *   2: the rest describes records the harness writes with valid CRCs
 *      (per record: payload length, kind, flags, an LSN step that is usually
 *      +1, payload bytes), then garbage: units, LSN sequence and torn tails
 *      are what is explored.
 * The log is scanned (records must come in LSN order, whole units only,
 * never past the reported tail), then opened for appending (which cuts a
 * torn tail, refuses corruption and may change nothing else), then scanned
 * again: after an open that succeeded, the log must end cleanly at the LSN
 * the first scan reported.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_le.h"
#include "elig_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    uint64_t next, last;
};

static int on_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    (void)kind;
    struct seen *s = ctx;
    if ((s->next && lsn != s->next) || len == 0 || len > ELIG_LOG_PAYLOAD_MAX)
        abort();
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) /* every payload byte is readable */
        sum = (uint8_t)(sum + p[i]);
    s->next = lsn + 1;
    s->last = lsn;
    return 0;
}

static void header(FILE *f)
{
    uint8_t h[ELIG_LOG_HEADER_SIZE] = { 0 };
    memcpy(h, "ELIGLOG1", 8);
    elig_le32(h + 8, 1);
    elig_le32(h + 12, ELIG_LOG_HEADER_SIZE);
    elig_le64(h + 16, 1);
    elig_le32(h + 60, elig_crc32c(0, h, 60));
    fwrite(h, 1, sizeof h, f);
}

/* Records from a description: len u8, kind u8, flags u8, step u8, then len bytes. */
static void records(const uint8_t *d, size_t n, FILE *f)
{
    uint64_t lsn = 1;
    size_t off = 0;
    while (n - off >= 4) {
        uint32_t len = (uint32_t)d[off] + 1;
        uint16_t kind = d[off + 1], flags = d[off + 2] & 1;
        int step = d[off + 3] < 250 ? 1 : (int)d[off + 3] - 251; /* mostly +1 */
        off += 4;
        if (len > n - off)
            break;
        uint8_t r[ELIG_LOG_RECORD_HEAD + 256];
        elig_le32(r, len);
        elig_le64(r + 8, lsn);
        elig_le16(r + 16, kind);
        elig_le16(r + 18, flags);
        memcpy(r + ELIG_LOG_RECORD_HEAD, d + off, len);
        elig_le32(r + 4, elig_crc32c(0, r + 8, ELIG_LOG_RECORD_HEAD - 8 + len));
        fwrite(r, 1, ELIG_LOG_RECORD_HEAD + len, f);
        off += len;
        lsn = (uint64_t)((int64_t)lsn + step);
    }
    fwrite(d + off, 1, n - off, f); /* what is left: a torn tail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char dir[64], path[128], cmd[160];
    snprintf(dir, sizeof dir, "/dev/shm/fuzz-log-%d", (int)getpid());
    snprintf(path, sizeof path, "%s/log-00000000000000000001.eld", dir);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (data[0] % 3 != 0)
        header(f);
    if (data[0] % 3 == 2)
        records(data + 1, size - 1, f);
    else
        fwrite(data + 1, 1, size - 1, f);
    fclose(f);

    struct seen s = { 0, 0 };
    struct elig_log_tail_report rep;
    if (elig_log_scan(dir, 1, on_record, &s, &rep) != 0)
        abort();
    if (s.next && rep.last_lsn != s.last)
        abort(); /* delivered past the tail it reports, or short of it */
    struct elig_log_params p = { .dir = dir };
    struct elig_log *log = NULL;
    int rc = elig_log_open(&p, &log, &rep);
    if (rc == 0) {
        elig_log_close(log);
        struct seen again = { 0, 0 };
        struct elig_log_tail_report end;
        if (elig_log_scan(dir, 1, on_record, &again, &end) != 0 || end.stop != ELIG_LOG_STOP_END ||
            again.last != s.last)
            abort(); /* an open that succeeded leaves a log that ends cleanly, nothing lost */
    } else if (rc != -ELIG_ELOGTAIL && rc != -ENOMEM) {
        abort();
    }
    snprintf(cmd, sizeof cmd, "%s/LOCK", dir);
    unlink(cmd);
    unlink(path);
    rmdir(dir);
    return 0;
}
