/* SPDX-License-Identifier: MIT */
/*
 * test_audit: the audit log with an injected clock.
 *
 * Records read back by reference only by their facility; nothing personal
 * in the files in clear; a reopened log finds its blocks again and cuts a
 * torn tail; a flipped byte in a block fails its authentication; the key
 * file is checked; months are pruned at the end of the following month; a
 * block made by hand from the format's description (sealed by libsodium)
 * reads back, a writer appends to such a file, full blocks at 4 KiB
 * boundaries after a small one read back, and what
 * the writer writes opens with libsodium; a failed write is reported and
 * written again.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "elig_audit.h"
#include "elig_net_error.h"
#include "elig_le.h"
#include "test_support.h"

/* 2025-02-10 12:00, 2025-03-31 23:00 and 2025-04-01 01:00, Japan time (main sets TZ) */
#define FEB     1739156400
#define MAR_END 1743429600
#define APR_1   1743436800

static const char secret[] = "ヤマダ タロウ 19800510 A1001";

static void dir_make(char *dir)
{
    test_temp_dir(dir, 256);
    strcat(dir, "/audit");
}

/* Remove the audit directory and the temporary directory it was made in. */
static void rm_tree(const char *dir)
{
    char parent[300], cmd[700];
    snprintf(parent, sizeof parent, "%s", dir);
    *strrchr(parent, '/') = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
    assert_int_equal(system(cmd), 0);
}

/* A fresh audit directory, its log opened in February and writer id. */
static void open_fresh(char *dir, unsigned id, struct elig_audit **a, struct elig_audit_writer **w)
{
    dir_make(dir);
    assert_int_equal(elig_audit_open(dir, FEB, a), 0);
    assert_int_equal(elig_audit_writer_open(*a, id, w), 0);
}

static void put(struct elig_audit_writer *w, uint64_t ref, int64_t t, const char *fac)
{
    char answer[64];
    int n = snprintf(answer, sizeof answer, "%s %llu", secret, (unsigned long long)ref);
    assert_int_equal(elig_audit_record(w, ref, t, fac, 0x02, 1, (const uint8_t *)answer, (size_t)n),
                     0);
}

/* Whether any file under dir holds needle (the files must not, in clear). */
static bool files_hold(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (size_t i = 0; !found && i + strlen(needle) <= n; i++)
            found = memcmp(buf + i, needle, strlen(needle)) == 0;
    }
    closedir(d);
    return found;
}

static void test_read_back(void **state)
{
    (void)state;
    char dir[300];
    struct elig_audit *a;
    struct elig_audit_writer *w;
    open_fresh(dir, 3, &a, &w);
    put(w, 900, FEB, "1310000001");
    assert_int_equal(elig_audit_flush(w), 0); /* a small block first: the full ones pad to 4 KiB */
    for (uint64_t r = 1000; r < 13000; r++)   /* some 900 KB: several blocks */
        put(w, r, FEB + (int64_t)r, r % 2 ? "1310000001" : "1340000001");
    struct elig_audit_entry *e = malloc(sizeof(*e));
    /* full blocks were sealed on the way (256 KiB each), the last records not yet */
    assert_int_equal(elig_audit_read(a, 12999, "1310000001", e), -ENOENT);
    assert_int_equal(elig_audit_write(w), 0); /* started, not waited for */
    assert_int_equal(elig_audit_flush(w), 0); /* waited for */
    assert_int_equal(elig_audit_read(a, 12999, "1310000001", e), 0);
    assert_int_equal(elig_audit_read(a, 7001, "1310000001", e), 0);
    assert_int_equal(elig_audit_sync(w), 0);
    assert_int_equal(elig_audit_read(a, 1001, "1310000001", e), 0);
    assert_int_equal(e->time, FEB + 1001);
    assert_int_equal(e->opcode, 0x02);
    assert_int_equal(e->validity, 1);
    char want[64];
    int n = snprintf(want, sizeof want, "%s %llu", secret, 1001ull);
    assert_int_equal(e->len, n);
    assert_memory_equal(e->answer, want, (size_t)n);
    /* another facility's check is "not found", as is a reference never given */
    assert_int_equal(elig_audit_read(a, 1001, "1340000001", e), -ENOENT);
    assert_int_equal(elig_audit_read(a, 1002, "1340000001", e), 0);
    assert_int_equal(elig_audit_read(a, 999, "1310000001", e), -ENOENT);
    assert_int_equal(elig_audit_read(a, 15001, "1310000001", e), -ENOENT);
    /* the files hold nothing personal in clear */
    assert_false(files_hold(dir, "19800510"));
    assert_false(files_hold(dir, "A1001"));
    assert_false(files_hold(dir, "ヤマダ"));
    assert_int_equal(elig_audit_writer_close(w), 0);
    elig_audit_close(a);

    /* reopened: the blocks are found from their headers, past their padding */
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 12999, "1310000001", e), 0);
    assert_int_equal(e->time, FEB + 12999);
    assert_int_equal(elig_audit_read(a, 7001, "1310000001", e), 0);
    assert_int_equal(e->time, FEB + 7001);
    assert_int_equal(elig_audit_read(a, 900, "1310000001", e), 0);
    elig_audit_close(a);
    free(e);
    rm_tree(dir);
}

static char *only_file(const char *dir, char *path, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    path[0] = '\0';
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".audit"))
            snprintf(path, size, "%s/%s", dir, e->d_name);
    closedir(d);
    assert_true(path[0] != '\0');
    return path;
}

static void test_damage(void **state)
{
    (void)state;
    char dir[300], path[700];
    struct elig_audit *a;
    struct elig_audit_writer *w;
    open_fresh(dir, 0, &a, &w);
    put(w, 10, FEB, "1310000001");
    assert_int_equal(elig_audit_flush(w), 0);
    put(w, 20, FEB, "1310000001");
    assert_int_equal(elig_audit_writer_close(w), 0);
    elig_audit_close(a);
    only_file(dir, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* a torn write at the end: cut off at open, the whole blocks kept */
    FILE *f = fopen(path, "ab");
    fputs("ELAUDIT1 torn", f);
    fclose(f);
    struct elig_audit_entry *e = malloc(sizeof(*e));
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 20, "1310000001", e), 0);
    elig_audit_close(a);
    struct stat st2;
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st2.st_size, st.st_size);

    /* a flipped byte in the first block's ciphertext: that block fails, the other reads */
    f = fopen(path, "r+b");
    fseek(f, 56 + 5, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 56 + 5, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 10, "1310000001", e), -ELIG_EAUDIT);
    assert_int_equal(elig_audit_read(a, 20, "1310000001", e), 0);
    elig_audit_close(a);

    /* the key: a file of another size is refused */
    char key[400];
    snprintf(key, sizeof key, "%s/audit.key", dir);
    f = fopen(key, "ab");
    fputc('x', f);
    fclose(f);
    assert_int_equal(elig_audit_open(dir, FEB, &a), -ELIG_EAUDIT);
    free(e);
    rm_tree(dir);
}

static void key_read(const char *dir, uint8_t key[32])
{
    char path[400];
    snprintf(path, sizeof path, "%s/audit.key", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(key, 1, 32, f), 32);
    fclose(f);
}

/* Seal rec into blk (header already there) with libsodium, by the magic's cipher. */
static void seal(uint8_t *blk, const uint8_t *rec, size_t len, const uint8_t key[32])
{
    unsigned long long clen;
    if (memcmp(blk, "ELAUDIT2", 8) == 0) /* 12-byte nonce: the first of the field's 24 */
        assert_int_equal(
            crypto_aead_aes256gcm_encrypt(blk + 56, &clen, rec, len, blk, 32, NULL, blk + 32, key),
            0);
    else
        assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(blk + 56, &clen, rec, len, blk,
                                                                    32, NULL, blk + 32, key),
                         0);
    assert_int_equal(clen, len + 16);
}

/*
 * A block written as the file format says, by hand, sealed by libsodium
 * (an implementation other than the writer's for AES-256-GCM): read back,
 * and failed when its authenticated header is changed. ELAUDIT1 is what
 * hosts without AES instructions write; ELAUDIT2 can be made here only on
 * a CPU that has them (libsodium needs them), and is skipped otherwise.
 */
static void format_by_hand(const char *magic)
{
    char dir[300], path[700];
    dir_make(dir);
    struct elig_audit *a;
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0); /* makes the key */
    elig_audit_close(a);
    uint8_t key[32];
    key_read(dir, key);

    const char answer[] = "an answer";
    uint8_t rec[30 + sizeof answer - 1], blk[56 + sizeof rec + 16];
    elig_le64(rec, 4242);                    /* reference */
    elig_le64(rec + 8, (uint64_t)(FEB + 7)); /* time */
    memcpy(rec + 16, "1310000001", 10);
    rec[26] = 0x03; /* opcode */
    rec[27] = 2;    /* validity */
    elig_le16(rec + 28, sizeof answer - 1);
    memcpy(rec + 30, answer, sizeof answer - 1);
    memcpy(blk, magic, 8);
    elig_le32(blk + 8, sizeof rec + 16);
    elig_le32(blk + 12, 1);
    elig_le64(blk + 16, 4242);
    elig_le64(blk + 24, 4242);
    randombytes_buf(blk + 32, 24);
    seal(blk, rec, sizeof rec, key);
    snprintf(path, sizeof path, "%s/202502-w007.audit", dir);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(blk, 1, sizeof blk, f), sizeof blk);
    fclose(f);

    struct elig_audit_entry *e = malloc(sizeof(*e));
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 4242, "1310000001", e), 0);
    assert_int_equal(e->time, FEB + 7);
    assert_int_equal(e->opcode, 0x03);
    assert_int_equal(e->validity, 2);
    assert_int_equal(e->len, sizeof answer - 1);
    assert_memory_equal(e->answer, answer, sizeof answer - 1);
    assert_int_equal(elig_audit_read(a, 4242, "1340000001", e), -ENOENT);

    /* a writer appends to the file: its last block, sealed at close, right after the others */
    struct elig_audit_writer *w;
    assert_int_equal(elig_audit_writer_open(a, 7, &w), 0);
    put(w, 5000, FEB + 8, "1310000001");
    assert_int_equal(elig_audit_writer_close(w), 0);
    elig_audit_close(a);
    struct stat st, st2;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > (off_t)sizeof blk && st.st_size < 4096);
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 4242, "1310000001", e), 0);
    assert_int_equal(elig_audit_read(a, 5000, "1310000001", e), 0);
    assert_int_equal(e->time, FEB + 8);
    elig_audit_close(a);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st2.st_size, st.st_size); /* nothing cut off at open */

    /* the header is authenticated too: another reference range fails the block */
    f = fopen(path, "r+b");
    fseek(f, 24, SEEK_SET);
    fputc(0x93, f); /* last reference 4243 */
    fclose(f);
    assert_int_equal(elig_audit_open(dir, FEB, &a), 0);
    assert_int_equal(elig_audit_read(a, 4242, "1310000001", e), -ELIG_EAUDIT);
    assert_int_equal(elig_audit_read(a, 5000, "1310000001", e), 0);
    elig_audit_close(a);
    sodium_memzero(key, sizeof key);
    free(e);
    rm_tree(dir);
}

static void test_format_xchacha(void **state)
{
    (void)state;
    format_by_hand("ELAUDIT1");
}

static void test_format_gcm(void **state)
{
    (void)state;
    if (!crypto_aead_aes256gcm_is_available())
        skip();
    format_by_hand("ELAUDIT2");
}

/*
 * What the writer writes opens with libsodium as the format says: the
 * cipher the magic names (AES-256-GCM on this CPU if it has AES
 * instructions), the header as associated data, the record's fields;
 * a block sealed at close is not padded.
 */
static void test_writer_format(void **state)
{
    (void)state;
    char dir[300], path[700];
    struct elig_audit *a;
    struct elig_audit_writer *w;
    open_fresh(dir, 2, &a, &w);
    put(w, 31337, FEB + 9, "1340000001");
    assert_int_equal(elig_audit_writer_close(w), 0);
    elig_audit_close(a);
    uint8_t key[32], blk[8192], rec[512];
    key_read(dir, key);
    FILE *f = fopen(only_file(dir, path, sizeof path), "rb");
    size_t n = fread(blk, 1, sizeof blk, f);
    fclose(f);
    assert_true(n > 56 + 16);
    uint32_t clen = elig_rd32(blk + 8);
    assert_int_equal(n, 56 + clen); /* one block, sealed at close: not padded */
    assert_int_equal(elig_rd32(blk + 12), 1);
    assert_int_equal(elig_rd64(blk + 16), 31337);
    assert_int_equal(elig_rd64(blk + 24), 31337);
    unsigned long long len = 0;
    if (crypto_aead_aes256gcm_is_available()) {
        assert_memory_equal(blk, "ELAUDIT2", 8);
        assert_int_equal(
            crypto_aead_aes256gcm_decrypt(rec, &len, NULL, blk + 56, clen, blk, 32, blk + 32, key),
            0);
    } else {
        assert_memory_equal(blk, "ELAUDIT1", 8);
        assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(rec, &len, NULL, blk + 56, clen,
                                                                    blk, 32, blk + 32, key),
                         0);
    }
    char want[64];
    int wl = snprintf(want, sizeof want, "%s %llu", secret, 31337ull);
    assert_int_equal(len, 30 + (unsigned)wl);
    assert_int_equal(elig_rd64(rec), 31337);
    assert_int_equal(elig_rd64(rec + 8), FEB + 9);
    assert_memory_equal(rec + 16, "1340000001", 10);
    assert_int_equal(rec[26], 0x02);
    assert_int_equal(rec[27], 1);
    assert_int_equal(elig_rd16(rec + 28), wl);
    assert_memory_equal(rec + 30, want, (size_t)wl);
    sodium_memzero(key, sizeof key);
    sodium_memzero(rec, sizeof rec);
    rm_tree(dir);
}

/*
 * A write that fails (here: the file may not grow, RLIMIT_FSIZE)
 * is reported, its records are not readable, and the block is written
 * again by the next flush once the file system lets it.
 */
static void test_write_fails(void **state)
{
    (void)state;
    char dir[300];
    struct elig_audit *a;
    struct elig_audit_writer *w;
    open_fresh(dir, 4, &a, &w);
    struct elig_audit_entry *e = malloc(sizeof(*e));
    put(w, 100, FEB, "1310000001");
    assert_int_equal(elig_audit_flush(w), 0);
    char path[700];
    struct stat st;
    assert_int_equal(stat(only_file(dir, path, sizeof path), &st), 0);
    struct rlimit old, small = { .rlim_cur = (rlim_t)st.st_size, .rlim_max = RLIM_INFINITY };
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0); /* the file may not grow */
    put(w, 200, FEB, "1310000001");
    int rc = elig_audit_flush(w);
    assert_true(rc == -EFBIG || rc == -EIO); /* refused, or cut short at the limit */
    assert_int_equal(elig_audit_read(a, 100, "1310000001", e), 0);
    assert_int_equal(elig_audit_read(a, 200, "1310000001", e), -ENOENT);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(elig_audit_flush(w), 0); /* written again */
    assert_int_equal(elig_audit_read(a, 200, "1310000001", e), 0);
    assert_int_equal(elig_audit_writer_close(w), 0);
    elig_audit_close(a);
    signal(SIGXFSZ, SIG_DFL);
    free(e);
    rm_tree(dir);
}

/* Kept until the end of the following month: February is readable all of March, not in April. */
static void test_retention(void **state)
{
    (void)state;
    char dir[300];
    struct elig_audit *a;
    struct elig_audit_writer *w;
    open_fresh(dir, 1, &a, &w);
    put(w, 77, FEB, "1310000001");
    put(w, 78, MAR_END, "1310000001"); /* a new month: a new file */
    assert_int_equal(elig_audit_writer_close(w), 0);
    struct elig_audit_entry *e = malloc(sizeof(*e));
    assert_int_equal(elig_audit_prune(a, MAR_END), 0);
    assert_int_equal(elig_audit_read(a, 77, "1310000001", e), 0);
    assert_int_equal(elig_audit_prune(a, APR_1), 1); /* February's file */
    assert_int_equal(elig_audit_read(a, 77, "1310000001", e), -ENOENT);
    assert_int_equal(elig_audit_read(a, 78, "1310000001", e), 0);
    elig_audit_close(a);
    /* and at open */
    assert_int_equal(elig_audit_open(dir, APR_1 + 31 * 86400, &a), 0);
    assert_int_equal(elig_audit_read(a, 78, "1310000001", e), -ENOENT);
    elig_audit_close(a);
    free(e);
    rm_tree(dir);
}

int main(void)
{
    setenv("TZ", "JST-9", 1); /* POSIX form: no time zone database needed */
    if (sodium_init() < 0)    /* CPU features for crypto_aead_aes256gcm_is_available() */
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_back),   cmocka_unit_test(test_damage),
        cmocka_unit_test(test_retention),   cmocka_unit_test(test_format_xchacha),
        cmocka_unit_test(test_format_gcm),  cmocka_unit_test(test_writer_format),
        cmocka_unit_test(test_write_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
