/* SPDX-License-Identifier: MIT */
/*
 * test_index: the shared-memory index: insert, replace, delete and lookup
 * on both paths (key -> persons -> records, card -> person -> records);
 * exactness when every key collides (a constant test hash); capacity limits;
 * attach validation by byte surgery; the interrupted-writer guard; rebuild
 * and swap; and readers racing the writer in threads and in another process,
 * each record carrying a checksum of its own fields so a torn read shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_index.h"
#include "elig_seg.h"
#include "test_support.h"

static char dir[256];
static char path[300];
static char path2[300];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/index.seg", dir);
    snprintf(path2, sizeof path2, "%s/index.seg.new", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path2);
    unlink(path);
    rmdir(dir);
    return 0;
}

static struct elig_index *create(uint64_t capacity)
{
    return test_index_create(path, capacity);
}

static uint64_t constant_hash(const void *data, size_t len)
{
    (void)data;
    (void)len;
    return 0x0123456789abcdefULL;
}

/* The persons a key lookup reports, as a count; *person gets the first. */
static int lookup_one(const struct elig_index *ix, const struct elig_key *k, uint32_t *person)
{
    struct elig_index_hit hit;
    assert_int_equal(elig_index_lookup(ix, k, 1, &hit), 0);
    if (hit.status == 0 && person)
        *person = hit.person[0];
    return hit.status == 0 ? (int)hit.npersons : hit.status;
}

static size_t person_records(const struct elig_index *ix, uint64_t person_id,
                             struct elig_record *recs, size_t max)
{
    uint32_t person;
    size_t n = 0;
    assert_int_equal(elig_index_find_person(ix, person_id, &person), 0);
    assert_int_equal(elig_index_person_records(ix, person, ELIG_INDEX_NAMES, recs, NULL, max, &n),
                     0);
    return n;
}

static void assert_same_record(const struct elig_record *a, const struct elig_record *b)
{
    assert_true(elig_key_equal(&a->key, &b->key));
    assert_int_equal(a->person_id, b->person_id);
    assert_memory_equal(&a->birth_date, &b->birth_date,
                        offsetof(struct elig_record, family_kanji) -
                            offsetof(struct elig_record, birth_date));
    assert_string_equal(a->family_kanji, b->family_kanji);
    assert_string_equal(a->given_kanji, b->given_kanji);
    assert_string_equal(a->family_kana, b->family_kana);
    assert_string_equal(a->given_kana, b->given_kana);
}

static void test_round_trip_both_key_forms(void **state)
{
    (void)state;
    struct elig_index *ix = create(100);
    /* packed form: decimal symbol and number; string form: kanji symbol, letters */
    struct elig_key k1 = test_key("01130012", "12345678", "00042", "1");
    struct elig_key k2 = test_key("138057", "練馬", "A-12", "");
    struct elig_key k3 = test_key("06130017", "", "12345678901234567", "99");
    struct elig_key k4 = test_key("06130017", "", "123456789012345678", "99");
    struct elig_record r1 = test_record(&k1, 1001, "1980-04-01", "2020-04-01", "", "");
    struct elig_record r2 =
        test_record(&k2, 1002, "1950-12-31", "2019-01-01", "2023-03-31", "2023-04-01");
    r2.sex = ELIG_SEX_FEMALE;
    r2.relation = ELIG_REL_DEPENDENT;
    r2.copay_pct = 20;
    r2.elderly_pct = 20;
    r2.elderly_from = test_date("2020-01-01");
    r2.limit_category = ELIG_LIMIT_MAX;
    r2.loss_reason = ELIG_LOSS_DEATH;
    strcpy(r2.given_kanji, "𠮷子"); /* outside JIS X 0208 */
    strcpy(r2.given_kana, "");
    struct elig_record r3 = test_record(&k3, 1003, "2001-02-03", "2021-01-01", "", "");
    struct elig_record r4 = test_record(&k4, 1004, "2001-02-03", "2021-01-01", "", "");
    const struct elig_record *all[] = { &r1, &r2, &r3, &r4 };
    uint32_t refs[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(elig_index_insert(ix, all[i], &refs[i]), 0);

    for (int i = 0; i < 4; i++) {
        struct elig_record got;
        uint32_t person = ELIG_INDEX_NIL;
        assert_int_equal(lookup_one(ix, &all[i]->key, &person), 1);
        size_t n = 0;
        assert_int_equal(elig_index_person_records(ix, person, ELIG_INDEX_NAMES, &got, NULL, 1, &n),
                         0);
        assert_int_equal(n, 1);
        assert_same_record(&got, all[i]);
        assert_int_equal(elig_index_read(ix, refs[i], &got), 0);
        assert_same_record(&got, all[i]);
        /* without ELIG_INDEX_NAMES the names stay empty */
        assert_int_equal(elig_index_person_records(ix, person, 0, &got, NULL, 1, &n), 0);
        assert_string_equal(got.family_kanji, "");
    }
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.persons, 4);
    assert_int_equal(st.insurers, 3);
    assert_int_equal(st.key_strings, 2); /* k2 (kanji) and k4 (18 digits) */
    elig_index_close(ix, true);
}

static void test_misses_are_exact(void **state)
{
    (void)state;
    struct elig_index *ix = create(100);
    struct elig_key k = test_key("01130012", "12345678", "42", "01");
    struct elig_record r = test_record(&k, 7, "1980-04-01", "2020-04-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    assert_int_equal(lookup_one(ix, &k, NULL), 1);
    /* each part differs in turn; "042" is not "42"; unknown insurer; branch */
    struct elig_key miss[] = {
        test_key("01130012", "12345678", "042", "01"),
        test_key("01130012", "12345678", "43", "01"),
        test_key("01130012", "1234567", "42", "01"),
        test_key("01130012", "012345678", "42", "01"),
        test_key("01130012", "12345678", "42", "02"),
        test_key("33120015", "12345678", "42", "01"),
        test_key("01130012", "12345678", "4 2X", "01"),
    };
    for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++)
        assert_int_equal(lookup_one(ix, &miss[i], NULL), -ENOENT);
    elig_index_close(ix, true);
}

/* Numbers of every length, with leading zeros; each found exactly, each digit matters. */
static void test_every_number_length(void **state)
{
    (void)state;
    struct elig_index *ix = create(64);
    const char *digits = "01234567890123456789";
    for (size_t len = 1; len <= ELIG_NUMBER_MAX; len++) {
        char num[ELIG_NUMBER_MAX + 1], sym[9];
        memcpy(num, digits, len);
        num[len] = '\0';
        snprintf(sym, sizeof sym, "%.*s", (int)(len % 9), "00000007");
        struct elig_key k = test_key("06130017", sym, num, "");
        struct elig_record r = test_record(&k, 900 + len, "1970-01-01", "2000-01-01", "", "");
        assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    }
    for (size_t len = 1; len <= ELIG_NUMBER_MAX; len++) {
        char num[ELIG_NUMBER_MAX + 1], sym[9];
        memcpy(num, digits, len);
        num[len] = '\0';
        snprintf(sym, sizeof sym, "%.*s", (int)(len % 9), "00000007");
        struct elig_key k = test_key("06130017", sym, num, "");
        uint32_t person = ELIG_INDEX_NIL;
        assert_int_equal(lookup_one(ix, &k, &person), 1);
        struct elig_record got;
        size_t n;
        assert_int_equal(elig_index_person_records(ix, person, 0, &got, NULL, 1, &n), 0);
        assert_int_equal(got.person_id, 900 + len);
        assert_true(elig_key_equal(&got.key, &k));
        for (size_t pos = 0; pos < len; pos++) { /* change one digit: no match */
            char other[ELIG_NUMBER_MAX + 1];
            memcpy(other, num, len + 1);
            other[pos] = other[pos] == '9' ? '8' : (char)(other[pos] + 1);
            struct elig_key m = test_key("06130017", sym, other, "");
            assert_int_equal(lookup_one(ix, &m, NULL), -ENOENT);
        }
    }
    elig_index_close(ix, true);
}

/* A person with two keys, one of them in two versions; another person. */
static void test_persons_and_versions(void **state)
{
    (void)state;
    struct elig_index *ix = create(100);
    struct elig_key ka = test_key("01130012", "11", "1", "");
    struct elig_key kb = test_key("06130017", "22", "2", "");
    struct elig_record a1 = test_record(&ka, 55, "1970-01-01", "2000-01-01", "2010-12-31", "");
    struct elig_record a2 = test_record(&ka, 55, "1970-01-01", "2011-01-01", "", "");
    a2.copay_pct = 20;
    struct elig_record b1 =
        test_record(&kb, 55, "1970-01-01", "1990-01-01", "1999-12-31", "2000-01-01");
    struct elig_record other = test_record(&kb, 56, "1971-01-01", "2001-01-01", "", "");
    uint32_t ra1, ra2, rb1, ro;
    assert_int_equal(elig_index_insert(ix, &a1, &ra1), 0);
    assert_int_equal(elig_index_insert(ix, &a2, &ra2), 0);
    assert_int_equal(elig_index_insert(ix, &b1, &rb1), 0);
    assert_int_equal(elig_index_insert(ix, &other, &ro), 0);

    uint32_t refs[8];
    size_t n;
    assert_int_equal(elig_index_key_records(ix, &ka, refs, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(elig_index_key_records(ix, &ka, refs, 1, &n), -ENOBUFS);
    /* kb is held by two persons: the lookup reports both */
    struct elig_index_hit hit;
    assert_int_equal(elig_index_lookup(ix, &kb, 1, &hit), 0);
    assert_int_equal(hit.status, 0);
    assert_int_equal(hit.npersons, 2);

    struct elig_record recs[8];
    assert_int_equal(person_records(ix, 55, recs, 8), 3);
    /* newest first */
    assert_int_equal(recs[0].valid_from, b1.valid_from);
    assert_int_equal(recs[1].valid_from, a2.valid_from);
    assert_int_equal(recs[2].valid_from, a1.valid_from);
    uint32_t p55;
    assert_int_equal(elig_index_find_person(ix, 55, &p55), 0);
    assert_int_equal(elig_index_person_records(ix, p55, 0, recs, refs, 2, &n), -ENOBUFS);
    assert_int_equal(elig_index_find_person(ix, 57, &p55), -ENOENT);
    elig_index_close(ix, true);
}

static void test_replace_and_delete(void **state)
{
    (void)state;
    struct elig_index *ix = create(8);
    struct elig_key k = test_key("01130012", "11", "1", "");
    struct elig_key k2 = test_key("01130012", "11", "2", "");
    struct elig_record r[3];
    uint32_t ref[3];
    for (int i = 0; i < 3; i++) {
        char from[16];
        snprintf(from, sizeof from, "20%02d-01-01", 10 + i);
        r[i] = test_record(&k, 9, "1970-01-01", from, "", "");
        if (i < 2) {
            snprintf(from, sizeof from, "20%02d-12-31", 10 + i);
            r[i].valid_until = test_date(from);
        }
        assert_int_equal(elig_index_insert(ix, &r[i], &ref[i]), 0);
    }
    /* a LOSS rewrites in place */
    struct elig_record lost = r[2];
    lost.loss_date = test_date("2015-06-01");
    lost.loss_reason = ELIG_LOSS_WELFARE;
    strcpy(lost.family_kanji, "佐藤");
    assert_int_equal(elig_index_replace(ix, ref[2], &lost), 0);
    struct elig_record got;
    assert_int_equal(elig_index_read(ix, ref[2], &got), 0);
    assert_same_record(&got, &lost);
    /* key or person may not change in place; invalid records are refused */
    struct elig_record bad = lost;
    bad.key = k2;
    assert_int_equal(elig_index_replace(ix, ref[2], &bad), -EINVAL);
    bad = lost;
    bad.person_id = 10;
    assert_int_equal(elig_index_replace(ix, ref[2], &bad), -EINVAL);
    bad = lost;
    bad.copay_pct = 25;
    assert_true(elig_index_replace(ix, ref[2], &bad) < 0);

    /* delete the middle of the person's chain, then its head */
    struct elig_record recs[4];
    assert_int_equal(elig_index_delete(ix, ref[1]), 0);
    assert_int_equal(elig_index_delete(ix, ref[1]), -ENOENT);
    assert_int_equal(elig_index_read(ix, ref[1], &got), -ENOENT);
    assert_int_equal(person_records(ix, 9, recs, 4), 2);
    assert_int_equal(recs[0].valid_from, r[2].valid_from);
    assert_int_equal(recs[1].valid_from, r[0].valid_from);
    assert_int_equal(elig_index_delete(ix, ref[2]), 0);
    assert_int_equal(person_records(ix, 9, recs, 4), 1);
    uint32_t refs[4];
    size_t n;
    assert_int_equal(elig_index_key_records(ix, &k, refs, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0], ref[0]);
    /* freed slots are reused; the key table reuses the tombstones */
    struct elig_record again = test_record(&k2, 9, "1970-01-01", "2020-01-01", "", "");
    uint32_t ra;
    assert_int_equal(elig_index_insert(ix, &again, &ra), 0);
    assert_true(ra == ref[1] || ra == ref[2]);
    assert_int_equal(lookup_one(ix, &k2, NULL), 1);
    assert_int_equal(person_records(ix, 9, recs, 4), 2);
    assert_int_equal(elig_index_delete(ix, ref[0]), 0);
    assert_int_equal(lookup_one(ix, &k, NULL), -ENOENT);
    elig_index_close(ix, true);
}

static void test_cards(void **state)
{
    (void)state;
    struct elig_index *ix = create(10);
    struct elig_key k = test_key("01130012", "11", "1", "");
    struct elig_record r = test_record(&k, 77, "1970-01-01", "2000-01-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    struct elig_card c = {
        .card_id = 0xA1001,
        .person_id = 77,
        .registered_on = test_date("2023-01-01"),
        .cert_expiry = test_date("2028-05-31"),
        .state = ELIG_CARD_REGISTERED,
    };
    assert_int_equal(elig_index_card_put(ix, &c), 0);
    /* a card of a person without records yet */
    struct elig_card c2 = c;
    c2.card_id = 0xB2;
    c2.person_id = 78;
    assert_int_equal(elig_index_card_put(ix, &c2), 0);

    uint64_t ids[3] = { 0xA1001, 0xB2, 0xC3 };
    struct elig_index_card_hit hits[3];
    assert_int_equal(elig_index_lookup_cards(ix, ids, 3, hits), 0);
    assert_int_equal(hits[0].status, 0);
    assert_memory_equal(&hits[0].card, &c, sizeof c);
    assert_int_equal(hits[1].status, 0);
    assert_int_equal(hits[1].card.person_id, 78);
    assert_int_equal(hits[2].status, -ENOENT);
    struct elig_record recs[2];
    size_t n;
    assert_int_equal(elig_index_person_records(ix, hits[0].person, 0, recs, NULL, 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(elig_index_person_records(ix, hits[1].person, 0, recs, NULL, 2, &n), 0);
    assert_int_equal(n, 0);

    /* the state machine's result replaces the link */
    c.state = ELIG_CARD_DEREG_PENDING;
    c.dereg_effective = test_date("2025-03-01");
    assert_int_equal(elig_index_card_put(ix, &c), 0);
    assert_int_equal(elig_index_lookup_cards(ix, ids, 1, hits), 0);
    assert_memory_equal(&hits[0].card, &c, sizeof c);
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    assert_int_equal(st.cards, 2);
    c.state = 9;
    assert_int_equal(elig_index_card_put(ix, &c), -EINVAL);
    c.state = ELIG_CARD_RETURNED;
    c.card_id = 0;
    assert_int_equal(elig_index_card_put(ix, &c), -EINVAL);

    char name[ELIG_INSURER_NAME_MAX + 1];
    assert_int_equal(elig_index_insurer_name(ix, k.insurer, name), -ENOENT);
    assert_int_equal(elig_index_insurer_name_set(ix, k.insurer, "全国健康保険協会", 24), 0);
    assert_int_equal(elig_index_insurer_name(ix, k.insurer, name), 0);
    assert_string_equal(name, "全国健康保険協会");
    elig_index_close(ix, true);
}

static struct elig_key numbered_key(unsigned i)
{
    char num[24];
    snprintf(num, sizeof num, "%u", i);
    /* every 5th key takes the string form */
    if (i % 5 == 0)
        snprintf(num, sizeof num, "X%u", i);
    return test_key(i % 2 ? "01130012" : "138057", "7", num, "");
}

/* Every key collides: answers must still be exact, through inserts and deletes. */
static void test_constant_hash_is_still_exact(void **state)
{
    (void)state;
    enum { N = 300 };
    struct elig_index *ix = create(N);
    elig_index_set_hash(ix, constant_hash);
    uint32_t ref[N];
    for (unsigned i = 0; i < N; i++) {
        struct elig_key k = numbered_key(i);
        struct elig_record r = test_record(&k, 5000 + i, "1970-01-01", "2000-01-01", "", "");
        assert_int_equal(elig_index_insert(ix, &r, &ref[i]), 0);
    }
    for (unsigned i = 0; i < N; i += 3)
        assert_int_equal(elig_index_delete(ix, ref[i]), 0);
    struct elig_key keys[N];
    struct elig_index_hit hits[N];
    for (unsigned i = 0; i < N; i++)
        keys[i] = numbered_key(i);
    assert_int_equal(elig_index_lookup(ix, keys, N, hits), 0);
    for (unsigned i = 0; i < N; i++) {
        if (i % 3 == 0) {
            assert_int_equal(hits[i].status, -ENOENT);
            continue;
        }
        assert_int_equal(hits[i].status, 0);
        assert_int_equal(hits[i].npersons, 1);
        struct elig_record rec;
        size_t n;
        assert_int_equal(elig_index_person_records(ix, hits[i].person[0], 0, &rec, NULL, 1, &n), 0);
        assert_int_equal(rec.person_id, 5000 + i);
    }
    struct elig_key absent = numbered_key(N + 1);
    assert_int_equal(lookup_one(ix, &absent, NULL), -ENOENT);
    elig_index_close(ix, true);
}

static void test_capacity_full(void **state)
{
    (void)state;
    struct elig_index_params p = { .path = path, .capacity = 20, .persons = 10, .cards = 4 };
    struct elig_index *ix;
    assert_int_equal(elig_index_create(&p, &ix), 0);
    unsigned i = 0;
    for (; i < 10; i++) {
        struct elig_key k = numbered_key(i + 1);
        struct elig_record r = test_record(&k, 100 + i, "1970-01-01", "2000-01-01", "", "");
        assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    }
    /* an 11th person is refused, and nothing of it is added */
    struct elig_key k = numbered_key(99);
    struct elig_record r = test_record(&k, 999, "1970-01-01", "2000-01-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), -ELIG_EFULL);
    assert_int_equal(lookup_one(ix, &k, NULL), -ENOENT);
    /* known persons may still gain records up to the record capacity */
    for (; i < 20; i++) {
        struct elig_key kk = numbered_key(i + 1);
        struct elig_record rr = test_record(&kk, 100 + i % 10, "1970-01-01", "2000-01-01", "", "");
        assert_int_equal(elig_index_insert(ix, &rr, NULL), 0);
    }
    r.person_id = 100;
    assert_int_equal(elig_index_insert(ix, &r, NULL), -ELIG_EFULL);
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    assert_int_equal(st.records, 20);
    assert_int_equal(st.persons, 10);
    /* cards */
    for (unsigned c = 1; c <= 4; c++) {
        struct elig_card card = { .card_id = c, .person_id = 100, .state = ELIG_CARD_REGISTERED };
        assert_int_equal(elig_index_card_put(ix, &card), 0);
    }
    struct elig_card card = { .card_id = 5, .person_id = 100, .state = ELIG_CARD_REGISTERED };
    assert_int_equal(elig_index_card_put(ix, &card), -ELIG_EFULL);
    card.card_id = 4; /* replacing an existing link still works */
    assert_int_equal(elig_index_card_put(ix, &card), 0);
    assert_string_equal(elig_strerror(-ELIG_EFULL), "index is full: make it larger (eligctl grow)");
    elig_index_close(ix, true);
}

static void fill(struct elig_index *ix, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct elig_key k = numbered_key(i + 1);
        struct elig_record r = test_record(&k, 100 + i, "1970-01-01", "2000-01-01", "", "");
        assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
        struct elig_card c = { .card_id = 0xC000 + i,
                               .person_id = 100 + i,
                               .state = ELIG_CARD_REGISTERED };
        assert_int_equal(elig_index_card_put(ix, &c), 0);
    }
}

static void check_filled(const struct elig_index *ix, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct elig_key k = numbered_key(i + 1);
        uint32_t person = ELIG_INDEX_NIL;
        assert_int_equal(lookup_one(ix, &k, &person), 1);
        struct elig_record rec;
        size_t got;
        assert_int_equal(elig_index_person_records(ix, person, 0, &rec, NULL, 1, &got), 0);
        assert_int_equal(rec.person_id, 100 + i);
        uint64_t id = 0xC000 + i;
        struct elig_index_card_hit hit;
        assert_int_equal(elig_index_lookup_cards(ix, &id, 1, &hit), 0);
        assert_int_equal(hit.status, 0);
        assert_int_equal(hit.person, person);
    }
}

static void test_rebuild_and_swap(void **state)
{
    (void)state;
    struct elig_index *ix = create(30);
    fill(ix, 30);
    struct elig_key k = numbered_key(1000);
    struct elig_record r = test_record(&k, 1, "1970-01-01", "2000-01-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), -ELIG_EFULL);
    assert_int_equal(elig_index_insurer_name_set(ix, "01130012", "協会", 6), 0);
    elig_index_publish(ix, 1234);

    /* a reader of the old file keeps working through the swap */
    struct elig_index *reader;
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &reader), 0);

    struct elig_index_params p = { .path = path2, .capacity = 60, .persons = 60, .cards = 60 };
    struct elig_index *bigger;
    assert_int_equal(elig_index_rebuild(ix, &p, &bigger), 0);
    assert_int_equal(elig_seg_rename(elig_index_seg(bigger), path), 0);
    assert_int_equal(elig_index_insert(bigger, &r, NULL), 0);
    elig_index_close(bigger, true);
    elig_index_close(ix, true);

    check_filled(reader, 30);
    assert_int_equal(lookup_one(reader, &k, NULL), -ENOENT);
    elig_index_close(reader, false);

    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &reader), 0);
    check_filled(reader, 30);
    assert_int_equal(lookup_one(reader, &k, NULL), 1);
    struct elig_index_stats st;
    elig_index_stats(reader, &st);
    assert_int_equal(st.capacity, 60);
    assert_int_equal(st.records, 31);
    assert_int_equal(st.applied_lsn, 1234);
    char name[ELIG_INSURER_NAME_MAX + 1];
    assert_int_equal(elig_index_insurer_name(reader, "01130012", name), 0);
    assert_string_equal(name, "協会");
    elig_index_close(reader, false);
}

/*
 * Gather over chains of every length around its local limit (8 records are
 * walked interleaved, longer chains the careful way), persons repeated and
 * unknown, in a batch longer than the walks in flight: each person's records
 * in order, persons in order, exactly as elig_index_person_records() gives.
 */
static void test_gather_chains(void **state)
{
    (void)state;
    enum { PERSONS = 13, BATCH = 100 };
    struct elig_index *ix = create(200);
    unsigned key = 1;
    for (unsigned p = 0; p < PERSONS; p++)
        for (unsigned i = 0; i < p; i++) { /* person 500 + p holds p records */
            struct elig_key k = numbered_key(key++);
            struct elig_record r = test_record(&k, 500 + p, "1970-01-01", "2000-01-01", "", "");
            assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
        }
    uint32_t ref[PERSONS], persons[BATCH];
    for (unsigned p = 1; p < PERSONS; p++)
        assert_int_equal(elig_index_find_person(ix, 500 + p, &ref[p]), 0);
    ref[0] = ELIG_INDEX_NIL;
    for (unsigned i = 0; i < BATCH; i++)
        persons[i] = ref[(i * 7) % PERSONS];
    static struct elig_record out[BATCH * PERSONS], want[PERSONS];
    struct elig_index_span spans[BATCH];
    assert_int_equal(
        elig_index_gather(ix, persons, BATCH, ELIG_INDEX_NAMES, out, BATCH * PERSONS, spans), 0);
    size_t at = 0;
    for (unsigned i = 0; i < BATCH; i++) {
        unsigned p = (i * 7) % PERSONS;
        assert_int_equal(spans[i].first, at);
        if (p == 0) {
            assert_int_equal(spans[i].status, -ENOENT);
            assert_int_equal(spans[i].count, 0);
            continue;
        }
        size_t n;
        assert_int_equal(
            elig_index_person_records(ix, ref[p], ELIG_INDEX_NAMES, want, NULL, PERSONS, &n), 0);
        assert_int_equal(spans[i].status, 0);
        assert_int_equal(spans[i].count, p);
        assert_int_equal(n, p);
        for (unsigned r = 0; r < p; r++)
            assert_same_record(&out[at + r], &want[r]);
        at += p;
    }
    /* room for 20 records: each person, in order, gets what is left */
    assert_int_equal(elig_index_gather(ix, persons, BATCH, 0, out, 20, spans), 0);
    size_t used = 0, refused = 0;
    for (unsigned i = 0; i < BATCH; i++) {
        unsigned p = (i * 7) % PERSONS;
        int want_status = p == 0 ? -ENOENT : p <= 20 - used ? 0 : -ENOBUFS;
        assert_int_equal(spans[i].status, want_status);
        assert_int_equal(spans[i].first, used);
        used += want_status == 0 ? p : 0;
        refused += want_status == -ENOBUFS;
    }
    assert_true(refused > 0 && used <= 20);
    elig_index_close(ix, true);
}

/* The bulk calls: each item gets its own status, a bad one does not stop the rest. */
static void test_batches(void **state)
{
    (void)state;
    enum { N = 40 };
    struct elig_index *ix = create(N);
    struct elig_record recs[N];
    struct elig_card cards[N];
    int status[N];
    uint32_t refs[N];
    for (unsigned i = 0; i < N; i++) {
        struct elig_key k = numbered_key(i + 1);
        recs[i] = test_record(&k, 700 + i / 2, "1970-01-01", "2000-01-01", "", "");
        cards[i] = (struct elig_card){ .card_id = 0xD000 + i,
                                       .person_id = 700 + i / 2,
                                       .state = ELIG_CARD_REGISTERED };
    }
    recs[7].copay_pct = 25; /* invalid */
    cards[9].person_id = 0; /* invalid */
    assert_int_equal(elig_index_insert_batch(ix, recs, N, refs, status), N - 1);
    assert_int_equal(elig_index_card_put_batch(ix, cards, N, status), N - 1);
    assert_int_equal(status[9], -EINVAL);
    assert_int_equal(status[10], 0);
    struct elig_record got;
    assert_int_equal(elig_index_read(ix, refs[8], &got), 0);
    assert_same_record(&got, &recs[8]);

    /* gather: persons of every other record, one unknown, then too little room */
    uint32_t persons[N / 2 + 1];
    struct elig_index_span spans[N / 2 + 1];
    struct elig_record out[N];
    for (unsigned i = 0; i < N / 2; i++)
        assert_int_equal(elig_index_find_person(ix, 700 + i, &persons[i]), 0);
    persons[N / 2] = ELIG_INDEX_NIL;
    assert_int_equal(elig_index_gather(ix, persons, N / 2 + 1, 0, out, N, spans), 0);
    size_t total = 0;
    for (unsigned i = 0; i < N / 2; i++) {
        assert_int_equal(spans[i].status, 0);
        assert_int_equal(spans[i].first, total);
        assert_int_equal(spans[i].count, i == 3 ? 1 : 2); /* record 7 was refused */
        for (unsigned r = 0; r < spans[i].count; r++)
            assert_int_equal(out[spans[i].first + r].person_id, 700 + i);
        total += spans[i].count;
    }
    assert_int_equal(spans[N / 2].status, -ENOENT);
    assert_int_equal(elig_index_gather(ix, persons, N / 2, 0, out, 5, spans), 0);
    assert_int_equal(spans[0].status, 0);
    assert_int_equal(spans[1].status, 0);
    assert_int_equal(spans[2].status, -ENOBUFS);
    elig_index_close(ix, true);
}

static void poke(uint64_t off, const void *bytes, size_t len)
{
    test_poke(path, off, bytes, len);
}

static uint64_t meta_offset(void)
{
    struct elig_index *ix;
    struct elig_seg_header h;
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    assert_int_equal(elig_seg_header_read(elig_index_seg(ix), &h), 0);
    elig_index_close(ix, false);
    return h.regions[0].offset;
}

static void test_attach_validation(void **state)
{
    (void)state;
    struct elig_index *ix = create(50);
    fill(ix, 10);
    elig_index_close(ix, true);
    uint64_t meta = meta_offset();

    /* read-only views refuse writes */
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    struct elig_key k = numbered_key(1);
    struct elig_record r = test_record(&k, 1, "1970-01-01", "2000-01-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), -EROFS);
    assert_int_equal(elig_index_delete(ix, 0), -EROFS);
    check_filled(ix, 10);
    /* a second writer is refused while the first holds the segment */
    struct elig_index *w1, *w2;
    assert_int_equal(elig_index_open(path, ELIG_SEG_WRITER, &w1), 0);
    assert_int_equal(elig_index_open(path, ELIG_SEG_WRITER, &w2), -EBUSY);
    elig_index_close(w1, true);
    elig_index_close(ix, false);

    /* the index region's own magic */
    poke(meta, "X", 1);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), -ELIG_ESEGMAGIC);
    poke(meta, "I", 1);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    elig_index_close(ix, false);

    /* header damage is caught by the segment layer */
    poke(0, "X", 1);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), -ELIG_ESEGMAGIC);
    poke(0, "E", 1);
    uint32_t version = ELIG_INDEX_LAYOUT_VERSION + 1;
    poke(offsetof(struct elig_seg_header, layout_version), &version, sizeof version);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), -ELIG_ESEGVERSION);
    version = ELIG_INDEX_LAYOUT_VERSION;
    poke(offsetof(struct elig_seg_header, layout_version), &version, sizeof version);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 4096), 0);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), -ELIG_ESEGSIZE);
    assert_int_equal(truncate(path, sb.st_size + 4096), 0);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), -ELIG_ESEGSIZE);
    assert_int_equal(truncate(path, sb.st_size), 0);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    elig_index_close(ix, false);

    /* a writer that died inside a change: "mutating" left at 1 */
    uint32_t one = 1;
    poke(meta + 4, &one, sizeof one);
    assert_int_equal(elig_index_open(path, ELIG_SEG_WRITER, &ix), -ELIG_EINTERRUPTED);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    check_filled(ix, 10);
    elig_index_close(ix, false);
}

/* ---- readers racing the writer ---------------------------------------------------------- */

/*
 * Stress records are versions: every field that a replace changes is derived
 * from one version number v, spread over all the words the writer rewrites
 * (names, codes, dates), so a record mixing two versions - a torn read - no
 * longer agrees with itself. Version names come from a set of 50, so the name
 * dictionary does not fill.
 */
enum { STABLE = 48, CHURN = 48, STRESS_CAP = 256, VERSIONS = 1000 };

static void stamp(struct elig_record *r, unsigned v)
{
    elig_date_t base = test_date("2000-01-01");
    r->valid_from = r->acquired = (elig_date_t)(base + v);
    r->valid_until = (elig_date_t)(base + 2 * VERSIONS + v % 7);
    r->copay_pct = (uint8_t)(10 + 10 * (v % 3));
    r->limit_category = (uint8_t)(v % (ELIG_LIMIT_MAX + 1));
    snprintf(r->family_kanji, sizeof r->family_kanji, "v%u", v % 50);
}

static bool consistent(const struct elig_record *r)
{
    struct elig_record c = *r;
    unsigned v = (unsigned)(r->valid_from - test_date("2000-01-01"));
    stamp(&c, v);
    return v < VERSIONS && memcmp(&c, r, sizeof c) == 0;
}

static struct elig_record stress_record(unsigned key, unsigned version)
{
    struct elig_key k = numbered_key(key + 1);
    struct elig_record r = test_record(&k, 10000 + key, "1970-01-01", "2000-01-01", "", "");
    stamp(&r, version % VERSIONS);
    return r;
}

struct reader_result {
    unsigned long lookups, reads, torn, stable_missing, retries;
};

/* Look up every stable key and some churning ones, checking every record read. */
static void reader_pass(const struct elig_index *ix, struct reader_result *res, unsigned seed)
{
    struct elig_key keys[64];
    struct elig_index_hit hits[64];
    struct elig_record recs[8];
    for (unsigned i = 0; i < 64; i++)
        keys[i] = numbered_key((seed + i * 37) % (STABLE + CHURN) + 1);
    elig_index_lookup(ix, keys, 64, hits);
    for (unsigned i = 0; i < 64; i++) {
        unsigned key = (seed + i * 37) % (STABLE + CHURN);
        res->lookups++;
        if (hits[i].status == -EAGAIN) { /* kept changing under the reader: "retry", by contract */
            res->retries++;
            continue;
        }
        if (hits[i].status != 0) {
            res->stable_missing += key < STABLE;
            continue;
        }
        size_t n = 0;
        if (elig_index_person_records(ix, hits[i].person[0], ELIG_INDEX_NAMES, recs, NULL, 8, &n) <
            0)
            continue;
        for (size_t j = 0; j < n; j++) {
            res->reads++;
            res->torn += !consistent(&recs[j]);
        }
    }
    /* the same persons through the interleaved walks */
    uint32_t persons[64];
    struct elig_index_span spans[64];
    static __thread struct elig_record many[64 * 8];
    for (unsigned i = 0; i < 64; i++)
        persons[i] = hits[i].status == 0 ? hits[i].person[0] : ELIG_INDEX_NIL;
    elig_index_gather(ix, persons, 64, ELIG_INDEX_NAMES, many, 64 * 8, spans);
    for (unsigned i = 0; i < 64; i++) {
        res->retries += spans[i].status == -EAGAIN;
        for (uint32_t j = 0; spans[i].status == 0 && j < spans[i].count; j++) {
            res->reads++;
            res->torn += !consistent(&many[spans[i].first + j]);
        }
    }
}

struct writer_arg {
    struct elig_index *ix;
    unsigned ops;
    volatile int *stop;
};

/* Churn: replace stable records, delete and re-insert churning ones (fixed seed). */
static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    uint32_t churn_ref[CHURN];
    unsigned seed = 12345;
    for (unsigned i = 0; i < CHURN; i++)
        churn_ref[i] = ELIG_INDEX_NIL;
    for (unsigned op = 0; op < a->ops; op++) {
        seed = seed * 1103515245u + 12345u;
        unsigned key = (seed >> 8) % (STABLE + CHURN);
        struct elig_record r = stress_record(key, op);
        if (key < STABLE) {
            uint32_t ref;
            size_t n;
            if (elig_index_key_records(a->ix, &r.key, &ref, 1, &n) == 0 && n == 1)
                elig_index_replace(a->ix, ref, &r);
        } else if (churn_ref[key - STABLE] != ELIG_INDEX_NIL) {
            elig_index_delete(a->ix, churn_ref[key - STABLE]);
            churn_ref[key - STABLE] = ELIG_INDEX_NIL;
        } else {
            elig_index_insert(a->ix, &r, &churn_ref[key - STABLE]);
        }
    }
    *a->stop = 1;
    return NULL;
}

struct reader_arg {
    const struct elig_index *ix;
    volatile int *stop;
    struct reader_result res;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    for (unsigned pass = 0; !*a->stop && pass < 1000000; pass++)
        reader_pass(a->ix, &a->res, pass * 64);
    return NULL;
}

static struct elig_index *stress_index(void)
{
    struct elig_index_params p = { .path = path, .capacity = STRESS_CAP };
    struct elig_index *ix;
    assert_int_equal(elig_index_create(&p, &ix), 0);
    for (unsigned i = 0; i < STABLE; i++) {
        struct elig_record r = stress_record(i, 0);
        assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    }
    return ix;
}

static void test_readers_race_writer_threads(void **state)
{
    (void)state;
    struct elig_index *ix = stress_index();
    volatile int stop = 0;
    struct writer_arg w = { .ix = ix, .ops = 200000, .stop = &stop };
    struct reader_arg r[2] = { { .ix = ix, .stop = &stop }, { .ix = ix, .stop = &stop } };
    pthread_t wt, rt[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &r[i]), 0);
    assert_int_equal(pthread_create(&wt, NULL, writer_main, &w), 0);
    pthread_join(wt, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(rt[i], NULL);
        print_message("reader %d: %lu records read, %lu torn, %lu stable keys missed, %lu of %lu "
                      "lookups answered retry\n",
                      i, r[i].res.reads, r[i].res.torn, r[i].res.stable_missing, r[i].res.retries,
                      r[i].res.lookups);
        assert_true(r[i].res.reads > 0);
        assert_int_equal(r[i].res.torn, 0);
        assert_int_equal(r[i].res.stable_missing, 0);
        assert_true(r[i].res.retries * 100 <= r[i].res.lookups); /* rare, or readers starve */
    }
    elig_index_close(ix, true);
}

/* The same with the reader in another process, through its own read-only mapping. */
static void test_reader_in_another_process(void **state)
{
    (void)state;
    struct elig_index *ix = stress_index();
    int go[2], out[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct elig_index *ro;
        struct reader_result res = { 0 };
        char c;
        close(go[1]);
        if (elig_index_open(path, ELIG_SEG_READONLY, &ro) < 0)
            _exit(2);
        if (write(out[1], "r", 1) != 1)
            _exit(2);
        /* read until the parent closes the pipe (bounded by a pass count) */
        fcntl(go[0], F_SETFL, O_NONBLOCK);
        for (unsigned pass = 0; pass < 1000000 && read(go[0], &c, 1) < 0; pass++)
            reader_pass(ro, &res, pass * 64);
        elig_index_close(ro, false);
        _exit(res.reads == 0                    ? 3
              : res.torn                        ? 4
              : res.stable_missing              ? 5
              : res.retries * 100 > res.lookups ? 6
                                                : 0);
    }
    close(go[0]);
    char c;
    assert_int_equal(read(out[0], &c, 1), 1); /* child attached */
    volatile int stop = 0;
    struct writer_arg w = { .ix = ix, .ops = 200000, .stop = &stop };
    writer_main(&w);
    close(go[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(out[0]);
    close(out[1]);
    elig_index_close(ix, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_both_key_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misses_are_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_number_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persons_and_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gather_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constant_hash_is_still_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_and_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_race_writer_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_in_another_process, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
