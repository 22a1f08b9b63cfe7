/* SPDX-License-Identifier: MIT */
/*
 * test_seg: the mapped segment: creation and reopening, the single-writer
 * lock (in this process and across processes), header publication without
 * torn reads, and validation of damaged files by byte surgery at exact
 * offsets (bad magic, wrong version, truncated, wrong size, bad checksum).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_seg.h"
#include "test_support.h"

#define VERSION 7

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/index.seg", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char other[320];
    snprintf(other, sizeof(other), "%s.new", path);
    unlink(other);
    unlink(path);
    rmdir(dir);
    return 0;
}

static struct elig_seg *create(uint64_t size, enum elig_seg_pages pages)
{
    struct elig_seg_params p = {
        .path = path, .size = size, .capacity = 1000, .layout_version = VERSION, .pages = pages
    };
    struct elig_seg *seg = NULL;
    assert_int_equal(elig_seg_create(&p, &seg), 0);
    return seg;
}

static void test_create_reopen(void **state)
{
    (void)state;
    struct elig_seg *seg = create(1 << 20, ELIG_SEG_PAGES_SMALL);
    assert_int_equal(elig_seg_size(seg), 1 << 20);
    assert_int_equal(elig_seg_backing(seg), ELIG_SEG_BACKING_SMALL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the index holds personal data */
    struct elig_seg_header h;
    assert_int_equal(elig_seg_header_read(seg, &h), 0);
    assert_int_equal(h.state, ELIG_SEG_DIRTY);
    assert_int_equal(h.capacity, 1000);
    h.count = 42;
    h.applied_lsn = 4242;
    h.regions[0].offset = ELIG_SEG_HEADER_SIZE;
    h.regions[0].size = 1234;
    elig_seg_header_publish(seg, &h);
    memcpy((char *)elig_seg_base(seg) + ELIG_SEG_HEADER_SIZE, "payload", 8);
    elig_seg_close(seg, true);

    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &seg), 0);
    assert_int_equal(elig_seg_header_read(seg, &h), 0);
    assert_int_equal(h.state, ELIG_SEG_CLEAN);
    assert_int_equal(h.count, 42);
    assert_int_equal(h.applied_lsn, 4242);
    assert_int_equal(h.regions[0].size, 1234);
    assert_string_equal((char *)elig_seg_base(seg) + ELIG_SEG_HEADER_SIZE, "payload");
    elig_seg_close(seg, true);

    /* a writer that goes away without an orderly close leaves it dirty */
    assert_int_equal(elig_seg_open(path, ELIG_SEG_WRITER, VERSION, &seg), 0);
    elig_seg_close(seg, false);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &seg), 0);
    assert_int_equal(elig_seg_header_read(seg, &h), 0);
    assert_int_equal(h.state, ELIG_SEG_DIRTY);
    elig_seg_close(seg, false);

    struct elig_seg_params p = { .path = path, .size = 4096, .capacity = 1 };
    assert_int_equal(elig_seg_create(&p, &seg), -EEXIST);
    p.size = 0;
    assert_int_equal(elig_seg_create(&p, &seg), -EINVAL);
    unlink(path);
}

static void test_huge_pages_or_a_clear_error(void **state)
{
    (void)state;
    struct elig_seg_params p = { .path = path,
                                 .size = 3 << 20,
                                 .capacity = 1,
                                 .layout_version = VERSION,
                                 .pages = ELIG_SEG_PAGES_HUGE };
    struct elig_seg *seg = NULL;
    int rc = elig_seg_create(&p, &seg);
    if (rc == 0) {
        assert_int_not_equal(elig_seg_backing(seg), ELIG_SEG_BACKING_SMALL);
        assert_int_equal(elig_seg_size(seg) % ELIG_SEG_HUGE_PAGE, 0);
        elig_seg_close(seg, true);
        unlink(path);
    } else {
        assert_int_equal(rc, -ELIG_ENOHUGEPAGES);
        assert_int_equal(access(path, F_OK), -1); /* nothing left behind */
    }
    /* AUTO never fails for want of huge pages, and says what it got */
    p.pages = ELIG_SEG_PAGES_AUTO;
    assert_int_equal(elig_seg_create(&p, &seg), 0);
    const char *name = elig_seg_backing_name(elig_seg_backing(seg));
    assert_true(strcmp(name, "4KiB") == 0 || strcmp(name, "2MiB-thp") == 0 ||
                strcmp(name, "2MiB-hugetlbfs") == 0);
    elig_seg_close(seg, true);
    unlink(path);
}

static void test_single_writer(void **state)
{
    (void)state;
    struct elig_seg *w = create(1 << 20, ELIG_SEG_PAGES_SMALL), *other = NULL;
    assert_int_equal(elig_seg_open(path, ELIG_SEG_WRITER, VERSION, &other), -EBUSY);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &other), 0);
    elig_seg_close(other, false);

    /* another process is refused too */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct elig_seg *s = NULL;
        int rc = elig_seg_open(path, ELIG_SEG_WRITER, VERSION, &s);
        _exit(rc == -EBUSY ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    elig_seg_close(w, true);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_WRITER, VERSION, &w), 0);
    elig_seg_close(w, true);
    unlink(path);
}

struct publisher {
    struct elig_seg *seg;
    int rounds;
};

static void *publish_loop(void *arg)
{
    struct publisher *p = arg;
    struct elig_seg_header h;
    memset(&h, 0, sizeof(h));
    h.state = ELIG_SEG_DIRTY;
    for (int i = 1; i <= p->rounds; i++) {
        h.count = (uint64_t)i;
        h.applied_lsn = (uint64_t)i * 3;
        for (int r = 0; r < ELIG_SEG_REGIONS_MAX; r++)
            h.regions[r].size = (uint64_t)i;
        elig_seg_header_publish(p->seg, &h);
    }
    return NULL;
}

static void test_header_never_torn(void **state)
{
    (void)state;
    struct elig_seg *w = create(1 << 20, ELIG_SEG_PAGES_SMALL), *r = NULL;
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &r), 0);
    struct publisher p = { w, 200000 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, publish_loop, &p), 0);
    uint64_t last = 0, reads = 0, retries = 0;
    for (int i = 0; i < 200000 && last < (uint64_t)p.rounds; i++) {
        struct elig_seg_header h;
        int rc = elig_seg_header_read(r, &h);
        if (rc == -EAGAIN) {
            retries++;
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(h.applied_lsn, h.count * 3);
        for (int k = 0; k < ELIG_SEG_REGIONS_MAX; k++)
            assert_int_equal(h.regions[k].size, h.count);
        assert_true(h.count >= last); /* never goes back */
        last = h.count;
        reads++;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(reads > 0);
    print_message("%llu consistent reads, %llu gave up while busy\n", (unsigned long long)reads,
                  (unsigned long long)retries);
    elig_seg_close(r, false);
    elig_seg_close(w, true);
    unlink(path);
}

/* Open the (damaged or repaired) closed segment file and expect rc. */
static void expect_open(int rc)
{
    struct elig_seg *seg = NULL;
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &seg), rc);
    if (rc == 0)
        elig_seg_close(seg, false);
    else
        assert_null(seg);
}

static void poke(off_t off, const void *bytes, size_t n)
{
    test_poke(path, (uint64_t)off, bytes, n);
}

static void test_validation(void **state)
{
    (void)state;
    const uint64_t size = 1 << 20;
    struct elig_seg *seg = create(size, ELIG_SEG_PAGES_SMALL);
    elig_seg_close(seg, true);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &seg), 0);
    elig_seg_close(seg, false);

    /* wrong layout version expected */
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION + 1, &seg), -ELIG_ESEGVERSION);

    /* bad magic: one byte at offset 0 */
    poke(0, "X", 1);
    expect_open(-ELIG_ESEGMAGIC);
    poke(0, "E", 1);
    expect_open(0);

    /* a header field changed behind the checksum's back */
    uint64_t cap = 999;
    poke(offsetof(struct elig_seg_header, capacity), &cap, sizeof(cap));
    expect_open(-ELIG_ESEGCHECKSUM);
    cap = 1000;
    poke(offsetof(struct elig_seg_header, capacity), &cap, sizeof(cap));
    expect_open(0);

    /* one bit of the checksum itself */
    unsigned char b0;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b0, 1, offsetof(struct elig_seg_header, checksum)), 1);
    close(fd);
    b0 ^= 0x10;
    poke(offsetof(struct elig_seg_header, checksum), &b0, 1);
    expect_open(-ELIG_ESEGCHECKSUM);
    unlink(path);

    /* truncated to half, grown, shorter than the header, empty */
    seg = create(size, ELIG_SEG_PAGES_SMALL);
    elig_seg_close(seg, true);
    assert_int_equal(truncate(path, (off_t)size / 2), 0);
    expect_open(-ELIG_ESEGSIZE);
    assert_int_equal(truncate(path, (off_t)size * 2), 0);
    expect_open(-ELIG_ESEGSIZE);
    assert_int_equal(truncate(path, (off_t)size), 0);
    expect_open(0);
    assert_int_equal(truncate(path, 100), 0);
    expect_open(-ELIG_ESEGSIZE);
    assert_int_equal(truncate(path, 0), 0);
    expect_open(-ELIG_ESEGSIZE);
    unlink(path);
    expect_open(-ENOENT);
}

static void test_writer_died_mid_publish(void **state)
{
    (void)state;
    struct elig_seg *seg = create(1 << 20, ELIG_SEG_PAGES_SMALL);
    elig_seg_close(seg, true);
    /* the sequence counter left odd, as by a writer killed between its two increments */
    uint64_t odd = 7;
    poke(offsetof(struct elig_seg_header, seq), &odd, sizeof(odd));
    expect_open(0); /* header whole (checksum excludes the counter): readable */

    struct elig_seg *w = NULL, *r = NULL;
    assert_int_equal(elig_seg_open(path, ELIG_SEG_WRITER, VERSION, &w), 0);
    const struct elig_seg_header *live = elig_seg_base(w);
    assert_int_equal(live->seq % 2, 0); /* the new writer's publish restored parity */
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &r), 0);
    struct elig_seg_header h;
    assert_int_equal(elig_seg_header_read(r, &h), 0);
    assert_int_equal(h.state, ELIG_SEG_DIRTY);

    /* while a writer is alive, a counter stuck odd is waited on, not trusted */
    ((struct elig_seg_header *)elig_seg_base(w))->seq |= 1;
    assert_int_equal(elig_seg_header_read(r, &h), -EAGAIN);
    elig_seg_close(r, false);
    elig_seg_close(w, false);

    /* a torn header left by the dead writer is caught by the checksum */
    uint64_t count = 99;
    poke(offsetof(struct elig_seg_header, count), &count, sizeof(count));
    expect_open(-ELIG_ESEGCHECKSUM);
    unlink(path);
}

static void test_rename_swaps_atomically(void **state)
{
    (void)state;
    struct elig_seg *live = create(1 << 20, ELIG_SEG_PAGES_SMALL);
    elig_seg_close(live, true);
    char next_path[320];
    snprintf(next_path, sizeof(next_path), "%s.new", path);
    struct elig_seg_params p = { .path = next_path,
                                 .size = 2 << 20,
                                 .capacity = 5000,
                                 .layout_version = VERSION,
                                 .pages = ELIG_SEG_PAGES_SMALL };
    struct elig_seg *next = NULL, *reader = NULL;
    assert_int_equal(elig_seg_create(&p, &next), 0);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &reader), 0);
    assert_int_equal(elig_seg_rename(next, path), 0);
    assert_int_equal(access(next_path, F_OK), -1);
    /* the old reader keeps its mapping; a new open sees the new segment */
    struct elig_seg_header h;
    assert_int_equal(elig_seg_header_read(reader, &h), 0);
    assert_int_equal(h.capacity, 1000);
    elig_seg_close(reader, false);
    elig_seg_close(next, true);
    assert_int_equal(elig_seg_open(path, ELIG_SEG_READONLY, VERSION, &reader), 0);
    assert_int_equal(elig_seg_header_read(reader, &h), 0);
    assert_int_equal(h.capacity, 5000);
    elig_seg_close(reader, false);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_reopen),
        cmocka_unit_test(test_huge_pages_or_a_clear_error),
        cmocka_unit_test(test_single_writer),
        cmocka_unit_test(test_header_never_torn),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_writer_died_mid_publish),
        cmocka_unit_test(test_rename_swaps_atomically),
    };
    return cmocka_run_group_tests_name("seg", tests, setup, teardown);
}
