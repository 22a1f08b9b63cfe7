/* SPDX-License-Identifier: MIT */
/*
 * test_log: the append log: appends from several threads come back in
 * LSN order, files roll and are pruned, a reopened log continues its LSNs;
 * and recovery in the style of PostgreSQL's end-of-WAL test: byte surgery at
 * exact record offsets (zero length, short header, length past the end, bad
 * CRC, LSN gap, LSN going backwards, garbage after the tail, a truncated file
 * header), each asserting where the scan stops and why; that a torn tail
 * (nothing valid after it in the newest file) is cut by any open, that
 * corruption (good records after the bad one) is refused by REFUSE with
 * nothing changed, and that TRUNCATE cuts exactly there and appends go on
 * from it. Units: a batch whose last record is lost, or whose middle record
 * is damaged, is dropped whole; a short write is completed or reported with
 * the file system's own error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_log.h"
#include "test_support.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_rm_tree(dir);
}

/* Payload of record lsn: its size and bytes follow from the LSN, so a scan can check each. */
static size_t payload_of(uint64_t lsn, uint8_t *buf)
{
    size_t len = 1 + lsn * 7 % 50;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(lsn * 31 + i);
    return len;
}

static struct elig_log *open_log(uint64_t segment_bytes, enum elig_log_tail_policy tail,
                                 struct elig_log_tail_report *rep)
{
    struct elig_log_params p = { .dir = dir, .segment_bytes = segment_bytes, .tail = tail };
    struct elig_log *log = NULL;
    assert_int_equal(elig_log_open(&p, &log, rep), 0);
    return log;
}

static void append_n(struct elig_log *log, uint64_t from, uint64_t n)
{
    uint8_t buf[64];
    for (uint64_t lsn = from; lsn < from + n; lsn++) {
        uint64_t got;
        assert_int_equal(elig_log_append(log, 3, buf, payload_of(lsn, buf), &got), 0);
        assert_int_equal(got, lsn);
    }
}

struct scan_check {
    uint64_t next; /* LSN expected next */
    int bad;
};

static int check_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    struct scan_check *c = ctx;
    uint8_t want[64];
    size_t wlen = payload_of(lsn, want);
    if (lsn != c->next || kind != 3 || len != wlen || memcmp(p, want, len) != 0)
        c->bad++;
    c->next = lsn + 1;
    return 0;
}

/* Scan the whole log; returns the LSN after the last good record. */
static uint64_t scan_all(struct elig_log_tail_report *rep)
{
    struct scan_check c = { .next = 1 };
    assert_int_equal(elig_log_scan(dir, 1, check_record, &c, rep), 0);
    assert_int_equal(c.bad, 0);
    return c.next;
}

struct appender {
    struct elig_log *log;
    unsigned n;
    uint64_t max_lsn;
};

static void *append_main(void *p)
{
    struct appender *a = p;
    for (unsigned i = 0; i < a->n; i++) {
        uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        uint64_t lsn;
        if (elig_log_append(a->log, 3, buf, sizeof buf, &lsn) != 0)
            return NULL;
        a->max_lsn = lsn > a->max_lsn ? lsn : a->max_lsn;
    }
    return a;
}

static int count_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    (void)kind;
    (void)p;
    (void)len;
    uint64_t *next = ctx;
    if (lsn != *next)
        return -1;
    (*next)++;
    return 0;
}

static void test_concurrent_appends(void **state)
{
    (void)state;
    struct elig_log *log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    enum { THREADS = 4, EACH = 500 };
    struct appender a[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){ .log = log, .n = EACH };
        assert_int_equal(pthread_create(&t[i], NULL, append_main, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_non_null(r);
    }
    assert_int_equal(elig_log_durable_lsn(log), THREADS * EACH);
    assert_int_equal(elig_log_failed(log), 0);
    elig_log_close(log);
    uint64_t next = 1;
    struct elig_log_tail_report rep;
    assert_int_equal(elig_log_scan(dir, 1, count_record, &next, &rep), 0);
    assert_int_equal(next, THREADS * EACH + 1);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_END);
    assert_int_equal(rep.last_lsn, THREADS * EACH);
}

static int count_files(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^log-.*\\.eld$'", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static void test_roll_reopen_prune(void **state)
{
    (void)state;
    struct elig_log *log = open_log(1024, ELIG_LOG_TAIL_REFUSE, NULL);
    append_n(log, 1, 200);
    elig_log_close(log);
    int files = count_files();
    assert_true(files > 3);
    struct elig_log_tail_report rep;
    assert_int_equal(scan_all(&rep), 201);
    /* reopened, it continues at 201 */
    log = open_log(1024, ELIG_LOG_TAIL_REFUSE, &rep);
    assert_int_equal(rep.last_lsn, 200);
    append_n(log, 201, 50);
    elig_log_close(log);
    assert_int_equal(scan_all(&rep), 251);
    /* records from 100 on */
    uint64_t next = 100;
    assert_int_equal(elig_log_scan(dir, 100, count_record, &next, NULL), 0);
    assert_int_equal(next, 251);
    /* prune what a snapshot at 120 covers: the files holding only LSNs <= 120 */
    int before = count_files(), deleted = elig_log_prune(dir, 120);
    assert_true(deleted > 0);
    assert_int_equal(count_files(), before - deleted);
    next = 121;
    assert_int_equal(elig_log_scan(dir, 121, count_record, &next, &rep), 0);
    assert_int_equal(next, 251);
    /* the log now starts after 1; reopening still continues at 251 */
    log = open_log(1024, ELIG_LOG_TAIL_REFUSE, &rep);
    assert_int_equal(rep.last_lsn, 250);
    append_n(log, 251, 1);
    elig_log_close(log);
    assert_int_equal(elig_log_prune(dir, 10), 0); /* nothing left that low */
}

/* ---- byte surgery ---------------------------------------------------------------------------- */

static char *first_file(void)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/log-%020llu.eld", dir, 1ULL);
    return path;
}

/* Offset of record lsn in the first file (all records there). */
static uint64_t offset_of(uint64_t lsn)
{
    uint64_t off = ELIG_LOG_HEADER_SIZE;
    uint8_t buf[64];
    for (uint64_t l = 1; l < lsn; l++)
        off += ELIG_LOG_RECORD_HEAD + payload_of(l, buf);
    return off;
}

static void peek(const char *path, uint64_t off, void *bytes, size_t len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, bytes, len, (off_t)off), (ssize_t)len);
    close(fd);
}

/* Rewrite record lsn's LSN field to v and fix its CRC, so only the sequence is wrong. */
static void set_lsn(uint64_t lsn, uint64_t v)
{
    uint64_t off = offset_of(lsn);
    uint8_t rec[ELIG_LOG_RECORD_HEAD + 64];
    uint32_t len;
    peek(first_file(), off, &len, 4);
    peek(first_file(), off, rec, ELIG_LOG_RECORD_HEAD + len);
    memcpy(rec + 8, &v, 8);
    uint32_t crc = elig_crc32c(0, rec + 8, ELIG_LOG_RECORD_HEAD - 8 + len);
    memcpy(rec + 4, &crc, 4);
    test_poke(first_file(), off, rec, ELIG_LOG_RECORD_HEAD + len);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

enum surgery {
    ZERO_LENGTH,
    SHORT_HEAD,
    LENGTH_PAST_END,
    BAD_CRC,
    LSN_GAP,
    LSN_BACK,
    GARBAGE_AFTER,
    SURGERY_COUNT
};

/* Damage a 40-record log at record 25 (or after record 40); returns the expected stop. */
static enum elig_log_stop operate(enum surgery s, uint64_t *stop_lsn)
{
    const uint64_t k = 25;
    uint64_t off = offset_of(k);
    uint32_t v;
    uint8_t b;
    *stop_lsn = k;
    switch (s) {
    case ZERO_LENGTH:
        v = 0;
        test_poke(first_file(), off, &v, 4);
        return ELIG_LOG_STOP_ZERO_LENGTH;
    case SHORT_HEAD:
        assert_int_equal(truncate(first_file(), (off_t)off + 10), 0);
        return ELIG_LOG_STOP_SHORT_HEAD;
    case LENGTH_PAST_END:
        v = 0x00100000; /* the maximum, but past the end of the file */
        test_poke(first_file(), off, &v, 4);
        return ELIG_LOG_STOP_LENGTH;
    case BAD_CRC:
        peek(first_file(), off + ELIG_LOG_RECORD_HEAD, &b, 1);
        b ^= 0x01;
        test_poke(first_file(), off + ELIG_LOG_RECORD_HEAD, &b, 1);
        return ELIG_LOG_STOP_CRC;
    case LSN_GAP:
        set_lsn(k, k + 1);
        return ELIG_LOG_STOP_LSN_GAP;
    case LSN_BACK:
        set_lsn(k, k - 1);
        return ELIG_LOG_STOP_LSN_BACK;
    default: {
        uint8_t junk[37];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)(0xa5 ^ i * 17);
        test_poke(first_file(), offset_of(41), junk, sizeof junk);
        *stop_lsn = 41;
        return ELIG_LOG_STOP_LENGTH; /* 0xa5..: a length past the end */
    }
    }
}

static void test_byte_surgery(void **state)
{
    (void)state;
    for (enum surgery s = 0; s < SURGERY_COUNT; s++) {
        teardown(state);
        setup(state);
        struct elig_log *log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
        append_n(log, 1, 40);
        elig_log_close(log);
        uint64_t k;
        enum elig_log_stop want = operate(s, &k);
        off_t damaged_size = file_size(first_file());

        /* scanning reports exactly where and why */
        struct elig_log_tail_report rep;
        assert_int_equal(scan_all(&rep), k);
        assert_int_equal(rep.stop, want);
        assert_int_equal(rep.offset, offset_of(k));
        assert_int_equal(rep.last_lsn, k - 1);
        assert_string_equal(rep.file, strrchr(first_file(), '/') + 1);
        assert_int_equal(rep.dropped_bytes, (uint64_t)damaged_size - offset_of(k));

        /* torn (nothing valid after it): cut by any open; corrupt: REFUSE changes nothing */
        bool torn = s == SHORT_HEAD || s == GARBAGE_AFTER;
        assert_int_equal(rep.torn, torn);
        struct elig_log_params p = { .dir = dir, .tail = ELIG_LOG_TAIL_REFUSE };
        struct elig_log *refused = NULL;
        if (torn) {
            assert_int_equal(elig_log_open(&p, &refused, &rep), 0);
            assert_true(rep.torn);
            assert_int_equal(file_size(first_file()), (off_t)offset_of(k));
            elig_log_close(refused);
            continue;
        }
        assert_int_equal(elig_log_open(&p, &refused, &rep), -ELIG_ELOGTAIL);
        assert_null(refused);
        assert_int_equal(file_size(first_file()), damaged_size);

        /* TRUNCATE: cut at the bad record; appends continue from it */
        log = open_log(0, ELIG_LOG_TAIL_TRUNCATE, &rep);
        assert_int_equal(rep.stop, want);
        assert_int_equal(file_size(first_file()), (off_t)offset_of(k));
        append_n(log, k, 5);
        elig_log_close(log);
        assert_int_equal(scan_all(&rep), k + 5);
        assert_int_equal(rep.stop, ELIG_LOG_STOP_END);
    }
}

/* A second file whose header was torn: recovery stops at its start and drops it. */
static void test_truncated_file_header(void **state)
{
    (void)state;
    struct elig_log *log = open_log(1024, ELIG_LOG_TAIL_REFUSE, NULL);
    append_n(log, 1, 60);
    elig_log_close(log);
    struct elig_log_tail_report rep;
    assert_int_equal(scan_all(&rep), 61);
    /* find the second file and cut its header short */
    char cmd[400], name[64];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep '^log-' | sort | sed -n 2p", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%63s", name), 1);
    pclose(f);
    unsigned long long second;
    assert_int_equal(sscanf(name, "log-%20llu.eld", &second), 1);
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int files = count_files();
    assert_int_equal(truncate(path, 30), 0);

    assert_int_equal(scan_all(&rep), second);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_FILE_HEADER);
    assert_string_equal(rep.file, name);
    assert_int_equal(rep.offset, 0);
    assert_int_equal(rep.last_lsn, second - 1);
    assert_int_equal(rep.dropped_files, files - 2);

    log = open_log(1024, ELIG_LOG_TAIL_TRUNCATE, &rep);
    assert_int_equal(count_files(), 1);
    append_n(log, second, 3);
    elig_log_close(log);
    assert_int_equal(scan_all(&rep), second + 3);
    assert_string_equal(elig_log_stop_name(ELIG_LOG_STOP_FILE_HEADER), "bad segment file header");
}

/* Append units of sizes 1, 5, 3, 7 (16 records); returns the offset of each unit's first record. */
static void append_units(struct elig_log *log, uint64_t unit_off[4])
{
    static const size_t sizes[4] = { 1, 5, 3, 7 };
    uint8_t bufs[7][64];
    uint64_t lsn = 1;
    for (int u = 0; u < 4; u++) {
        struct elig_log_rec recs[7];
        unit_off[u] = offset_of(lsn);
        for (size_t i = 0; i < sizes[u]; i++)
            recs[i] = (struct elig_log_rec){ 3, bufs[i], payload_of(lsn + i, bufs[i]) };
        uint64_t first = 0;
        assert_int_equal(elig_log_append_batch(log, recs, sizes[u], &first), 0);
        assert_int_equal(first, lsn);
        lsn += sizes[u];
    }
}

/* A unit is read whole or not at all, whatever is left of it. */
static void test_units(void **state)
{
    (void)state;
    struct elig_log *log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    uint64_t unit_off[4];
    append_units(log, unit_off);
    elig_log_close(log);
    struct elig_log_tail_report rep;
    assert_int_equal(scan_all(&rep), 17);
    off_t whole = file_size(first_file());

    /* the last unit lost its last record (a write cut short): all 7 are dropped */
    assert_int_equal(truncate(first_file(), (off_t)offset_of(16)), 0);
    assert_int_equal(scan_all(&rep), 10);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_UNIT);
    assert_int_equal(rep.offset, unit_off[3]);
    assert_int_equal(rep.dropped_records, 6);
    assert_true(rep.torn);
    /* a plain open cuts it: torn, never acknowledged */
    log = open_log(0, ELIG_LOG_TAIL_REFUSE, &rep);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_UNIT);
    assert_int_equal(file_size(first_file()), (off_t)unit_off[3]);
    append_n(log, 10, 2);
    elig_log_close(log);
    assert_int_equal(scan_all(&rep), 12);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_END);

    /* the last record of the third unit half-written, the file ending there */
    teardown(state);
    setup(state);
    log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    append_units(log, unit_off);
    elig_log_close(log);
    assert_int_equal(file_size(first_file()), whole);
    assert_int_equal(truncate(first_file(), (off_t)offset_of(9) + 25), 0);
    assert_int_equal(scan_all(&rep), 7);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_LENGTH);
    assert_int_equal(rep.offset, unit_off[2]);
    assert_int_equal(rep.dropped_records, 2);
    assert_true(rep.torn);

    /* a damaged record in the middle of the second unit, good units after it: corruption */
    teardown(state);
    setup(state);
    log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    append_units(log, unit_off);
    elig_log_close(log);
    uint8_t b;
    peek(first_file(), offset_of(4) + ELIG_LOG_RECORD_HEAD, &b, 1);
    b ^= 0x40;
    test_poke(first_file(), offset_of(4) + ELIG_LOG_RECORD_HEAD, &b, 1);
    assert_int_equal(scan_all(&rep), 2);
    assert_int_equal(rep.stop, ELIG_LOG_STOP_CRC);
    assert_int_equal(rep.offset, unit_off[1]);
    assert_false(rep.torn);
    struct elig_log_params p = { .dir = dir, .tail = ELIG_LOG_TAIL_REFUSE };
    struct elig_log *refused = NULL;
    assert_int_equal(elig_log_open(&p, &refused, &rep), -ELIG_ELOGTAIL);
    assert_int_equal(file_size(first_file()), whole);
    log = open_log(0, ELIG_LOG_TAIL_TRUNCATE, &rep);
    assert_int_equal(file_size(first_file()), (off_t)unit_off[1]);
    elig_log_close(log);
    assert_string_equal(elig_log_stop_name(ELIG_LOG_STOP_UNIT),
                        "update unit without its last record");
}

/*
 * A write the file system takes only part of (RLIMIT_FSIZE: the kernel
 * writes up to the limit, then refuses with EFBIG, as a full disk does with
 * ENOSPC): the error named is the file system's, the log stops, and the
 * half-written unit is cut at the next open.
 */
static void test_short_write(void **state)
{
    (void)state;
    struct elig_log *log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    append_n(log, 1, 10);
    off_t before = file_size(first_file());
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 30; /* part of the next unit's first record fits */
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t bufs[4][64];
    struct elig_log_rec recs[4];
    for (int i = 0; i < 4; i++)
        recs[i] = (struct elig_log_rec){ 3, bufs[i], payload_of(11 + (uint64_t)i, bufs[i]) };
    uint64_t first = 0;
    int rc = elig_log_append_batch(log, recs, 4, &first);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(elig_log_failed(log), -EFBIG);
    assert_int_equal(elig_log_append_batch(log, recs, 1, &first), -EFBIG); /* fatal: no retry */
    assert_int_equal(elig_log_durable_lsn(log), 10);
    elig_log_close(log);
    assert_int_equal(file_size(first_file()), before + 30);

    struct elig_log_tail_report rep;
    log = open_log(0, ELIG_LOG_TAIL_REFUSE, &rep);
    assert_true(rep.torn);
    assert_int_equal(rep.last_lsn, 10);
    assert_int_equal(file_size(first_file()), before);
    append_n(log, 11, 2);
    elig_log_close(log);
    assert_int_equal(scan_all(&rep), 13);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct elig_log *log = open_log(0, ELIG_LOG_TAIL_REFUSE, NULL);
    /* one appender per directory */
    struct elig_log_params p = { .dir = dir };
    struct elig_log *second = NULL;
    assert_int_equal(elig_log_open(&p, &second, NULL), -EBUSY);
    uint8_t b = 0;
    assert_int_equal(elig_log_append(log, 1, &b, 0, NULL), -EINVAL);
    assert_int_equal(elig_log_append(log, 1, &b, ELIG_LOG_PAYLOAD_MAX + 1, NULL), -EINVAL);
    /* a batch: consecutive LSNs; one bad length refuses all of it */
    uint8_t p1[5] = { 1, 2, 3, 4, 5 }, p2[3] = { 9, 9, 9 };
    struct elig_log_rec recs[3] = { { 3, p1, sizeof p1 }, { 4, p2, sizeof p2 }, { 5, p1, 0 } };
    uint64_t first = 0;
    assert_int_equal(elig_log_append_batch(log, recs, 3, &first), -EINVAL);
    assert_int_equal(elig_log_durable_lsn(log), 0);
    assert_int_equal(elig_log_append_batch(log, recs, 2, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(elig_log_durable_lsn(log), 2);
    assert_int_equal(elig_log_append_batch(log, recs, 0, &first), -EINVAL);
    elig_log_close(log);
    uint64_t next = 1;
    assert_int_equal(elig_log_scan(dir, 1, count_record, &next, NULL), 0);
    assert_int_equal(next, 3);
    assert_int_equal(elig_log_scan("/nonexistent/elig-log", 1, NULL, NULL, NULL), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_reopen_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_surgery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
