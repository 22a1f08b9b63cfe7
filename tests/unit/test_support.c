/* SPDX-License-Identifier: MIT */
/*
 * test_support: fixtures shared by the unit tests.
 *
 * Design: tests describe data as readable strings (ISO dates, typed keys) and
 * these helpers turn them into model structs, failing the running cmocka test
 * on any malformed fixture, so a typo in a test table cannot silently turn
 * into a record with an absent date.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_db.h"
#include "elig_store.h"
#include "test_support.h"

elig_date_t test_date(const char *iso)
{
    if (iso == NULL || *iso == '\0')
        return ELIG_DATE_NONE;
    elig_date_t d = ELIG_DATE_NONE;
    int rc = elig_date_parse(iso, strlen(iso), &d);
    if (rc != 0)
        fail_msg("fixture date %s does not parse", iso);
    return d;
}

struct elig_key test_key(const char *insurer, const char *symbol, const char *number,
                         const char *branch)
{
    struct elig_key k;
    int rc = elig_key_normalize(insurer, strlen(insurer), symbol, strlen(symbol), number,
                                strlen(number), branch, strlen(branch), &k, NULL);
    if (rc != 0)
        fail_msg("fixture key %s/%s/%s/%s does not normalise", insurer, symbol, number, branch);
    return k;
}

struct elig_record test_record(const struct elig_key *key, uint64_t person, const char *birth,
                               const char *from, const char *until, const char *loss)
{
    struct elig_record r;
    memset(&r, 0, sizeof(r));
    r.key = *key;
    r.person_id = person;
    r.birth_date = test_date(birth);
    r.acquired = r.valid_from = test_date(from);
    r.valid_until = test_date(until);
    r.loss_date = test_date(loss);
    r.loss_reason = r.loss_date ? ELIG_LOSS_OTHER : ELIG_LOSS_NONE;
    r.relation = ELIG_REL_INSURED;
    r.sex = ELIG_SEX_MALE;
    r.copay_pct = 30;
    r.limit_category = 3; /* A03 */
    strcpy(r.family_kanji, "山田");
    strcpy(r.given_kanji, "太郎");
    strcpy(r.family_kana, "ヤマダ");
    strcpy(r.given_kana, "タロウ");
    const char *field = NULL;
    int rc = elig_record_check(&r, &field);
    if (rc != 0)
        fail_msg("fixture record for person %llu is invalid at %s", (unsigned long long)person,
                 field ? field : "?");
    return r;
}

char *test_temp_file(const void *data, size_t len)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/elig-test-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

void test_temp_dir(char *buf, size_t size)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, size, "%s/elig-test-XXXXXX", base);
    if (mkdtemp(buf) == NULL)
        fail_msg("cannot make a temporary directory under %s", base);
}

void test_poke(const char *path, uint64_t off, const void *bytes, size_t len)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
    close(fd);
}

struct elig_index *test_index_create(const char *path, uint64_t capacity)
{
    struct elig_index_params p = {
        .path = path, .capacity = capacity, .persons = capacity, .cards = capacity
    };
    struct elig_index *ix = NULL;
    assert_int_equal(elig_index_create(&p, &ix), 0);
    return ix;
}

int test_rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int test_spawn(void (*child)(int fd), int *read_fd)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

void test_kill(int pid)
{
    int status;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

void test_store_paths(const char *dir, char *data, char *seg, char *scratch)
{
    snprintf(data, 300, "%s/data", dir);
    snprintf(seg, 300, "%s/index.seg", dir);
    snprintf(scratch, 300, "%s/scratch.seg", dir);
}

int test_store_make(struct test_store *ts)
{
    test_temp_dir(ts->dir, sizeof ts->dir);
    test_store_paths(ts->dir, ts->data, ts->seg, ts->scratch);
    return 0;
}

int test_store_remove(const struct test_store *ts)
{
    return test_rm_tree(ts->dir);
}

struct elig_db *test_store_open(const struct test_store *ts, struct elig_db_start *st)
{
    struct elig_db_params p = { .data_dir = ts->data, .segment_path = ts->seg };
    p.index.capacity = 1000;
    struct elig_store_info made;
    if (elig_store_read(ts->data, &made, NULL) == 0)
        p.index.capacity = 0; /* as recorded (a grow changes it) */
    struct elig_db *db = NULL;
    struct elig_db_start own;
    assert_int_equal(elig_db_open(&p, &db, st ? st : &own), 0);
    return db;
}
