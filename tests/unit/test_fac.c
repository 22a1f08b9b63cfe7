/* SPDX-License-Identifier: MIT */
/*
 * test_fac: the facility registry and the handshake's proof.
 *
 * Registry rules (codes, kinds, add/rotate/revoke), the file's round trip
 * and its refusal of damage (a flipped byte, a cut tail, a forged line with
 * a correct checksum but a bad code), the proof against an independently
 * computed HMAC-SHA-256, and what must not verify: another key, another
 * challenge (a replayed proof), a revoked facility.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_net_error.h"
#include "elig_fac.h"
#include "test_support.h"

static void test_rules(void **state)
{
    (void)state;
    assert_int_equal(elig_fkey_init(), 0);
    struct elig_fac_registry *r;
    assert_int_equal(elig_fac_new(&r), 0);
    uint8_t k1[ELIG_FKEY_LEN], k2[ELIG_FKEY_LEN];
    assert_int_equal(elig_fac_add(r, "1310000001", ELIG_FAC_CLINIC, 100, k1), 0);
    assert_int_equal(elig_fac_add(r, "0140000002", ELIG_FAC_PHARMACY, 100, k2), 0);
    assert_memory_not_equal(k1, k2, ELIG_FKEY_LEN);
    assert_int_equal(elig_fac_add(r, "1310000001", ELIG_FAC_CLINIC, 100, k2), -EEXIST);
    assert_int_equal(elig_fac_add(r, "1340000003", ELIG_FAC_DENTAL, 100, k2), -EINVAL); /* '4' */
    assert_int_equal(elig_fac_add(r, "9910000003", ELIG_FAC_CLINIC, 100, k2), -EINVAL);
    assert_int_equal(elig_fac_add(r, "131000001", ELIG_FAC_CLINIC, 100, k2), -EINVAL);
    assert_int_equal(elig_fac_count(r), 2);
    assert_string_equal(elig_fac_at(r, 0)->code, "0140000002"); /* kept in code order */
    const struct elig_fac *f = elig_fac_find(r, "1310000001");
    assert_non_null(f);
    assert_memory_equal(f->key, k1, ELIG_FKEY_LEN);
    assert_int_equal(f->key_version, 1);
    assert_null(elig_fac_find(r, "1310000002"));

    uint8_t k3[ELIG_FKEY_LEN];
    assert_int_equal(elig_fac_rotate(r, "1310000001", 200, k3), 0);
    assert_memory_not_equal(k1, k3, ELIG_FKEY_LEN);
    assert_int_equal(f->key_version, 2);
    assert_int_equal(elig_fac_rotate(r, "1310000009", 200, k3), -ENOENT);
    assert_int_equal(elig_fac_revoke(r, "1310000001", 300), 0);
    assert_true(f->revoked);
    assert_int_equal(elig_fac_revoke(r, "1310000001", 300), -EALREADY);
    assert_int_equal(elig_fac_rotate(r, "1310000001", 300, k3), -EPERM);
    enum elig_fac_type t;
    assert_int_equal(elig_fac_type_parse("dental", &t), 0);
    assert_int_equal(t, ELIG_FAC_DENTAL);
    assert_int_equal(elig_fac_type_parse("spa", &t), -EINVAL);
    elig_fac_free(r);
}

static void paths(char *dir, char *file)
{
    test_temp_dir(dir, 256);
    snprintf(file, 300, "%s/facilities", dir);
}

static struct elig_fac_registry *sample(uint8_t key[ELIG_FKEY_LEN])
{
    struct elig_fac_registry *r;
    assert_int_equal(elig_fac_new(&r), 0);
    uint8_t other[ELIG_FKEY_LEN];
    assert_int_equal(elig_fac_add(r, "1310000001", ELIG_FAC_HOSPITAL, 1700000000, key), 0);
    assert_int_equal(elig_fac_add(r, "2730000005", ELIG_FAC_DENTAL, 1700000001, other), 0);
    assert_int_equal(elig_fac_add(r, "4740000009", ELIG_FAC_PHARMACY, 1700000002, other), 0);
    assert_int_equal(elig_fac_revoke(r, "4740000009", 1700000003), 0);
    return r;
}

static void test_file_round_trip(void **state)
{
    (void)state;
    char dir[256], file[300];
    paths(dir, file);
    uint8_t key[ELIG_FKEY_LEN];
    struct elig_fac_registry *r = sample(key), *back;
    assert_int_equal(elig_fac_load(file, &back), -ENOENT);
    assert_int_equal(elig_fac_save(r, file), 0);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(elig_fac_load(file, &back), 0);
    assert_int_equal(elig_fac_count(back), 3);
    const struct elig_fac *f = elig_fac_find(back, "1310000001");
    assert_non_null(f);
    assert_memory_equal(f->key, key, ELIG_FKEY_LEN);
    assert_int_equal(f->type, ELIG_FAC_HOSPITAL);
    assert_int_equal(f->changed, 1700000000);
    assert_true(elig_fac_find(back, "4740000009")->revoked);
    assert_false(elig_fac_find(back, "2730000005")->revoked);
    elig_fac_free(back);
    elig_fac_free(r);
    unlink(file);
    rmdir(dir);
}

static size_t slurp(const char *file, char *buf, size_t cap)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void spit(const char *file, const char *buf, size_t n)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

/* Damage of every kind is refused as ELIG_EFACFILE, never half read. */
static void test_file_damage(void **state)
{
    (void)state;
    char dir[256], file[300];
    paths(dir, file);
    uint8_t key[ELIG_FKEY_LEN];
    struct elig_fac_registry *r = sample(key), *back = NULL;
    assert_int_equal(elig_fac_save(r, file), 0);
    char good[4096], bad[4096];
    size_t n = slurp(file, good, sizeof good);
    assert_true(n > 100 && n < sizeof good);
    /* every single flipped byte */
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, good, n);
        bad[i] ^= 0x20;
        spit(file, bad, n);
        int rc = elig_fac_load(file, &back);
        if (rc != -ELIG_EFACFILE)
            fail_msg("byte %zu flipped: load gave %d", i, rc);
    }
    /* cut anywhere */
    for (size_t cut = 0; cut < n; cut += 7) {
        spit(file, good, cut);
        assert_int_equal(elig_fac_load(file, &back), -ELIG_EFACFILE);
    }
    /* a forged line with a right checksum: the content rules still hold */
    const char *forged[] = {
        "9910000001\thospital\tactive\t1\t0\t" /* prefecture 99 */
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        "1340000001\tdental\tactive\t1\t0\t" /* fee digit 4 is a pharmacy */
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        "1310000002\tclinic\tactive\t1\t0\t00\n", /* a short key */
        "1310000002\tclinic\tactive\t1\t0\t-\n",  /* active without a key */
        "1310000001\tclinic\tactive\t1\t0\t"      /* a duplicate code */
        "0000000000000000000000000000000000000000000000000000000000000000\n",
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        size_t body = n - 18; /* without the checksum line */
        memcpy(bad, good, body);
        size_t len = body + (size_t)snprintf(bad + body, sizeof bad - body, "%s", forged[i]);
        len += (size_t)snprintf(bad + len, sizeof bad - len, "# crc32c %08x\n",
                                elig_crc32c(0, bad, len));
        spit(file, bad, len);
        int rc = elig_fac_load(file, &back);
        if (rc != -ELIG_EFACFILE)
            fail_msg("forged line %zu: load gave %d", i, rc);
    }
    /* the same append with a well-formed line is accepted: the forgeries failed on content */
    size_t body = n - 18;
    memcpy(bad, good, body);
    size_t len = body + (size_t)snprintf(bad + body, sizeof bad - body,
                                         "1310000002\tclinic\trevoked\t1\t0\t-\n");
    len +=
        (size_t)snprintf(bad + len, sizeof bad - len, "# crc32c %08x\n", elig_crc32c(0, bad, len));
    spit(file, bad, len);
    assert_int_equal(elig_fac_load(file, &back), 0);
    assert_int_equal(elig_fac_count(back), 4);
    elig_fac_free(back);
    elig_fac_free(r);
    unlink(file);
    rmdir(dir);
}

static void test_proof(void **state)
{
    (void)state;
    uint8_t key[ELIG_FKEY_LEN], ch[ELIG_FKEY_CHALLENGE_LEN], mac[ELIG_FKEY_MAC_LEN];
    for (int i = 0; i < ELIG_FKEY_LEN; i++)
        key[i] = (uint8_t)i;
    memset(ch, 0xAA, sizeof ch);
    elig_fkey_proof(key, "1310000001", ch, mac);
    /* HMAC-SHA-256(key 00..1f, "eligd-hello-v1" "1310000001" aa x 32), computed independently */
    uint8_t want[ELIG_FKEY_MAC_LEN];
    assert_int_equal(elig_fkey_parse("164c10df5e196edcbb765aad00a37e31"
                                     "5ea99f824d9921fbd37deb0d17b15221",
                                     want),
                     0);
    assert_memory_equal(mac, want, sizeof want);

    struct elig_fac f = { .code = "1310000001", .type = ELIG_FAC_CLINIC, .key_version = 1 };
    memcpy(f.key, key, sizeof key);
    assert_true(elig_fac_verify(&f, ch, mac));
    uint8_t other[ELIG_FKEY_CHALLENGE_LEN];
    elig_fac_challenge(other);
    assert_memory_not_equal(other, ch, sizeof ch);
    assert_false(elig_fac_verify(&f, other, mac)); /* a proof replayed on a new challenge */
    mac[31] ^= 1;
    assert_false(elig_fac_verify(&f, ch, mac));
    mac[31] ^= 1;
    f.key[0] ^= 1; /* another key */
    assert_false(elig_fac_verify(&f, ch, mac));
    f.key[0] ^= 1;
    memcpy(f.code, "1310000002", 10); /* the proof names the facility */
    assert_false(elig_fac_verify(&f, ch, mac));
    memcpy(f.code, "1310000001", 10);
    f.revoked = true;
    assert_false(elig_fac_verify(&f, ch, mac));
    assert_false(elig_fac_verify(NULL, ch, mac));
    assert_int_equal(elig_fkey_parse("zz", want), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_file_damage),
        cmocka_unit_test(test_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
