/* SPDX-License-Identifier: MIT */
/*
 * Snapshot files (index/elig_snap.h): the segment's image written, checked,
 * copied and loaded, into the same layout (straight copy) and into a larger
 * one (item by item); byte surgery at exact offsets of every part of the
 * file (header, its padding, the image's first, middle and last blocks, the
 * checksum table, the trailer, the length), each refused by the checker, the
 * loader (the index is left empty and usable, even when the damage is found
 * halfway through the copy) and the copier (nothing left behind); and the
 * older format of encoded entries, still loaded and copied.
 *
 * Indexes are compared by a digest of everything they export: records
 * encoded by the event codec, card links and insurer names, each hashed and
 * summed (order-free).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_codec.h"
#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_index.h"
#include "elig_le.h"
#include "elig_snap.h"
#include "test_support.h"

#define CAPACITY 200000
#define RECORDS  3000
#define DELETED  500
#define CARDS    200
#define LSN      77

static char dir[256], snaps[300], seg_a[300], seg_b[300], good[400];

/* ---- digests ---------------------------------------------------------------------------- */

struct digest {
    uint64_t sum, records, cards, insurers;
};

/* A record as the event codec writes it (an ACQUIRE): its bytes in buf, their count. */
static uint32_t encode_record(const struct elig_record *rec, uint8_t buf[ELIG_EVENT_WIRE_MAX])
{
    struct elig_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ELIG_EV_ACQUIRE;
    memcpy(ev.source, rec->key.insurer, ELIG_INSURER_LEN);
    ev.u.acquire = *rec;
    int n = elig_event_encode(&ev, buf, ELIG_EVENT_WIRE_MAX);
    assert_true(n > 0);
    return (uint32_t)n;
}

static int d_record(void *ctx, const struct elig_record *rec)
{
    struct digest *d = ctx;
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    d->sum += XXH3_64bits_withSeed(buf, encode_record(rec, buf), 1);
    d->records++;
    return 0;
}

static int d_card(void *ctx, const struct elig_card *c)
{
    struct digest *d = ctx;
    uint64_t f[7] = { c->card_id,         c->person_id,   c->registered_on, c->cert_expiry,
                      c->dereg_effective, c->returned_on, c->state };
    d->sum += XXH3_64bits_withSeed(f, sizeof f, 2);
    d->cards++;
    return 0;
}

static int d_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name, size_t len)
{
    struct digest *d = ctx;
    d->sum += XXH3_64bits_withSeed(insurer, ELIG_INSURER_LEN, 3) ^ XXH3_64bits(name, len);
    d->insurers++;
    return 0;
}

static struct digest digest_of(const struct elig_index *ix)
{
    struct digest d = { 0 };
    struct elig_index_export ex = { &d, d_record, d_card, d_insurer };
    assert_int_equal(elig_index_export(ix, &ex), 0);
    return d;
}

static void assert_same(struct digest a, struct digest b)
{
    assert_int_equal(a.records, b.records);
    assert_int_equal(a.cards, b.cards);
    assert_int_equal(a.insurers, b.insurers);
    assert_true(a.sum == b.sum);
}

/* ---- fixtures --------------------------------------------------------------------------- */

static struct elig_key key_of(unsigned i)
{
    char num[16];
    snprintf(num, sizeof num, "%u", 100000 + i);
    return test_key(i % 2 ? "01130012" : "06130017", "77", num, "");
}

/* RECORDS inserted, DELETED of them deleted (the free list in use), cards, names. */
static void fill(struct elig_index *ix)
{
    uint32_t refs[RECORDS];
    for (unsigned i = 0; i < RECORDS; i++) {
        struct elig_key k = key_of(i);
        struct elig_record r = test_record(&k, 1 + i, "1970-01-01", "2020-04-01", "", "");
        assert_int_equal(elig_index_insert(ix, &r, &refs[i]), 0);
    }
    for (unsigned i = 0; i < DELETED; i++)
        assert_int_equal(elig_index_delete(ix, refs[i * 3]), 0);
    for (unsigned i = 0; i < CARDS; i++) {
        struct elig_card c = { .card_id = 5000 + i,
                               .person_id = 1 + i,
                               .registered_on = test_date("2021-10-20"),
                               .state = 1 };
        assert_int_equal(elig_index_card_put(ix, &c), 0);
    }
    assert_int_equal(elig_index_insurer_name_set(ix, "01130012", "Kyokai Hokkaido", 15), 0);
    assert_int_equal(elig_index_insurer_name_set(ix, "06130017", "Kenpo A", 7), 0);
    elig_index_publish(ix, LSN);
}

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    snprintf(snaps, sizeof snaps, "%s/snapshots", dir);
    snprintf(seg_a, sizeof seg_a, "%s/a.seg", dir);
    snprintf(seg_b, sizeof seg_b, "%s/b.seg", dir);
    snprintf(good, sizeof good, "%s/snapshot-%020d.els", snaps, LSN);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_rm_tree(dir);
}

/* A snapshot of a filled index in snaps; its digest. */
static struct digest write_good(void)
{
    struct elig_index *ix = test_index_create(seg_a, CAPACITY);
    fill(ix);
    struct digest d = digest_of(ix);
    struct elig_snap_info info;
    assert_int_equal(elig_snap_write(ix, snaps, LSN, &info), 0);
    assert_int_equal(info.format, ELIG_SNAP_IMAGE);
    assert_int_equal(info.lsn, LSN);
    assert_int_equal(info.records, RECORDS - DELETED);
    assert_int_equal(info.cards, CARDS);
    assert_int_equal(info.insurers, 2);
    elig_index_close(ix, false);
    unlink(seg_a);
    return d;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    for (size_t n; (n = fread(buf, 1, sizeof buf, in)) > 0;)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* The index is empty and works: the old keys are gone, a new record goes in and is found. */
static void assert_empty_and_usable(struct elig_index *ix)
{
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    assert_int_equal(st.records, 0);
    assert_int_equal(st.cards, 0);
    assert_int_equal(st.insurers, 0);
    assert_int_equal(elig_index_applied_lsn(ix), 0);
    struct elig_key k = key_of(1);
    struct elig_index_hit hit;
    assert_int_equal(elig_index_lookup(ix, &k, 1, &hit), 0);
    assert_int_equal(hit.status, -ENOENT);
    struct elig_record r = test_record(&k, 9, "1970-01-01", "2020-04-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    assert_int_equal(elig_index_lookup(ix, &k, 1, &hit), 0);
    assert_int_equal(hit.status, 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

/* Written, checked, loaded into the same layout: the same index, sparse on disk, working. */
static void test_image_round_trip(void **state)
{
    (void)state;
    struct digest d = write_good();
    struct elig_snap_info info;
    assert_int_equal(elig_snap_check(good, &info), 0);
    assert_int_equal(info.format, ELIG_SNAP_IMAGE);
    assert_int_equal(info.bytes, file_size(good));
    struct stat st;
    assert_int_equal(stat(good, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size); /* unused room: holes */

    struct elig_index *ix = test_index_create(seg_b, CAPACITY);
    assert_int_equal(elig_snap_load(good, ix, &info), 0);
    assert_same(digest_of(ix), d);
    assert_int_equal(elig_index_applied_lsn(ix), LSN);
    struct elig_index_stats s;
    elig_index_stats(ix, &s);
    assert_int_equal(s.records, RECORDS - DELETED);
    assert_int_equal(s.cards, CARDS);
    /* it goes on as an index: a kept key is found, a deleted one is not, slots are reused */
    struct elig_key keys[2] = { key_of(1), key_of(0) };
    struct elig_index_hit hits[2];
    assert_int_equal(elig_index_lookup(ix, keys, 2, hits), 0);
    assert_int_equal(hits[0].status, 0);
    assert_int_equal(hits[1].status, -ENOENT);
    struct elig_record r = test_record(&keys[1], 1, "1970-01-01", "2020-04-01", "", "");
    assert_int_equal(elig_index_insert(ix, &r, NULL), 0);
    elig_index_stats(ix, &s);
    assert_int_equal(s.records, RECORDS - DELETED + 1);
    /* and a second load into it is refused: it is not empty */
    assert_int_equal(elig_snap_load(good, ix, &info), -EBUSY);
    elig_index_stats(ix, &s);
    assert_int_equal(s.records, RECORDS - DELETED + 1);
    elig_index_close(ix, false);
}

/* Into a larger layout (the store grew since): checked whole, then item by item. */
static void test_image_into_other_layout(void **state)
{
    (void)state;
    struct digest d = write_good();
    struct elig_index *ix = test_index_create(seg_b, CAPACITY * 2);
    struct elig_snap_info info;
    assert_int_equal(elig_snap_load(good, ix, &info), 0);
    assert_same(digest_of(ix), d);
    assert_int_equal(elig_index_applied_lsn(ix), LSN);
    elig_index_close(ix, false);
    /* too small for it: the index's own error, not "damaged" */
    unlink(seg_b);
    ix = test_index_create(seg_b, 1000);
    assert_int_equal(elig_snap_load(good, ix, &info), -ELIG_EFULL);
    elig_index_close(ix, false);
}

/* One damaged byte, or a wrong length, anywhere: refused by all three, nothing kept. */
static void test_image_damage(void **state)
{
    (void)state;
    write_good();
    uint8_t h[128];
    FILE *f = fopen(good, "rb");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    uint64_t bytes = elig_rd64(h + 64), blocks = elig_rd32(h + 76), size = file_size(good);
    assert_true(blocks >= 3); /* a damaged middle block is found after earlier ones landed */
    assert_int_equal(size, 4096 + bytes + 8 * blocks + 20);
    struct {
        const char *what;
        uint64_t off; /* UINT64_MAX: cut the last byte; UINT64_MAX - 1: one byte more */
    } cases[] = {
        { "header: LSN", 16 },
        { "header: image bytes", 64 },
        { "header page padding", 200 },
        { "image: the segment header", 4096 + 100 },
        { "image: the index meta", 4096 + 4096 + 8 },
        { "image: a middle block", 4096 + (blocks / 2) * (2u << 20) + 12345 },
        { "image: the last byte", 4096 + bytes - 1 },
        { "checksum table", 4096 + bytes + 8 * (blocks - 1) + 3 },
        { "trailer", size - 2 },
        { "cut short", UINT64_MAX },
        { "one byte more", UINT64_MAX - 1 },
    };
    char bad[400], copies[400];
    snprintf(bad, sizeof bad, "%s/bad.els", dir);
    snprintf(copies, sizeof copies, "%s/copies", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_file(good, bad);
        if (cases[i].off == UINT64_MAX) {
            assert_int_equal(truncate(bad, (off_t)size - 1), 0);
        } else if (cases[i].off == UINT64_MAX - 1) {
            assert_int_equal(truncate(bad, (off_t)size + 1), 0);
        } else {
            uint8_t b;
            f = fopen(bad, "rb");
            assert_non_null(f);
            assert_int_equal(fseek(f, (long)cases[i].off, SEEK_SET), 0);
            assert_int_equal(fread(&b, 1, 1, f), 1);
            fclose(f);
            b ^= 0x10;
            test_poke(bad, cases[i].off, &b, 1);
        }
        print_message("%s\n", cases[i].what);
        struct elig_snap_info info;
        assert_int_equal(elig_snap_check(bad, &info), -ELIG_ESNAPSHOT);
        struct elig_index *ix = test_index_create(seg_b, CAPACITY);
        assert_int_equal(elig_snap_load(bad, ix, &info), -ELIG_ESNAPSHOT);
        assert_empty_and_usable(ix);
        elig_index_close(ix, false);
        unlink(seg_b);
        assert_int_equal(elig_snap_copy(bad, copies, 1, &info), -ELIG_ESNAPSHOT);
        char left[2][4096];
        int n = elig_snap_list(copies, left, 2);
        assert_true(n == 0 || n == -ENOENT);
    }
    unlink(bad);
}

/* A copy for another store: its tag, the same image, still sparse. */
static void test_image_copy(void **state)
{
    (void)state;
    struct digest d = write_good();
    char copies[400], copy[500];
    snprintf(copies, sizeof copies, "%s/copies", dir);
    snprintf(copy, sizeof copy, "%s/snapshot-%020d.els", copies, LSN);
    struct elig_snap_info info, peek;
    assert_int_equal(elig_snap_copy(good, copies, 0x0a0b0c0d, &info), 0);
    assert_int_equal(elig_snap_peek(copy, &peek), 0);
    assert_int_equal(peek.store_tag, 0x0a0b0c0d);
    assert_int_equal(peek.format, ELIG_SNAP_IMAGE);
    assert_int_equal(peek.records, RECORDS - DELETED);
    assert_int_equal(file_size(copy), file_size(good));
    struct stat st;
    assert_int_equal(stat(copy, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size);
    struct elig_index *ix = test_index_create(seg_b, CAPACITY);
    assert_int_equal(elig_snap_load(copy, ix, &info), 0);
    assert_same(digest_of(ix), d);
    elig_index_close(ix, false);
}

/* ---- format 1 ---------------------------------------------------------------------------- */

struct v1 {
    FILE *f;
    uint32_t crc;
    uint64_t entries, counts[4];
};

static void v1_entry(struct v1 *w, uint8_t type, const uint8_t *p, uint32_t n)
{
    uint8_t h[5] = { type };
    elig_le32(h + 1, n);
    w->crc = elig_crc32c(elig_crc32c(w->crc, h, 5), p, n);
    assert_int_equal(fwrite(h, 1, 5, w->f), 5);
    assert_int_equal(fwrite(p, 1, n, w->f), n);
    w->entries++;
    w->counts[type]++;
}

static int v1_record(void *ctx, const struct elig_record *rec)
{
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    v1_entry(ctx, 1, buf, encode_record(rec, buf));
    return 0;
}

static int v1_card(void *ctx, const struct elig_card *c)
{
    uint8_t b[25];
    elig_le64(b, c->card_id);
    elig_le64(b + 8, c->person_id);
    elig_le16(b + 16, c->registered_on);
    elig_le16(b + 18, c->cert_expiry);
    elig_le16(b + 20, c->dereg_effective);
    elig_le16(b + 22, c->returned_on);
    b[24] = c->state;
    v1_entry(ctx, 2, b, sizeof b);
    return 0;
}

static int v1_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name, size_t len)
{
    struct elig_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ELIG_EV_INSURER;
    memcpy(ev.source, insurer, ELIG_INSURER_LEN);
    memcpy(ev.u.insurer.name, name, len);
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    int n = elig_event_encode(&ev, buf, sizeof buf);
    assert_true(n > 0);
    v1_entry(ctx, 3, buf, (uint32_t)n);
    return 0;
}

/* A store's snapshot as earlier versions wrote it (index/elig_snap.h, format 1). */
static void write_v1(const struct elig_index *ix, const char *path)
{
    struct v1 w = { .f = fopen(path, "wb") };
    assert_non_null(w.f);
    uint8_t h[64] = { 0 }, t[20];
    assert_int_equal(fwrite(h, 1, sizeof h, w.f), sizeof h);
    struct elig_index_export ex = { &w, v1_record, v1_card, v1_insurer };
    assert_int_equal(elig_index_export(ix, &ex), 0);
    memcpy(t, "ELIGEND1", 8);
    elig_le64(t + 8, w.entries);
    elig_le32(t + 16, w.crc);
    assert_int_equal(fwrite(t, 1, sizeof t, w.f), sizeof t);
    memcpy(h, "ELIGSNP1", 8);
    elig_le32(h + 8, 1);
    elig_le32(h + 12, 64);
    elig_le64(h + 16, LSN);
    elig_le64(h + 24, w.counts[1]);
    elig_le64(h + 32, w.counts[2]);
    elig_le64(h + 40, w.counts[3]);
    elig_le32(h + 60, elig_crc32c(0, h, 60));
    assert_int_equal(fseek(w.f, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(h, 1, sizeof h, w.f), sizeof h);
    assert_int_equal(fclose(w.f), 0);
}

/* The older format is still checked, loaded and copied (a store keeps its snapshots). */
static void test_entries_format_still_read(void **state)
{
    (void)state;
    struct elig_index *ix = test_index_create(seg_a, CAPACITY);
    fill(ix);
    struct digest d = digest_of(ix);
    assert_int_equal(mkdir(snaps, 0700), 0);
    write_v1(ix, good);
    elig_index_close(ix, false);
    struct elig_snap_info info;
    assert_int_equal(elig_snap_check(good, &info), 0);
    assert_int_equal(info.format, ELIG_SNAP_ENTRIES);
    assert_int_equal(info.records, RECORDS - DELETED);
    ix = test_index_create(seg_b, CAPACITY);
    assert_int_equal(elig_snap_load(good, ix, &info), 0);
    assert_same(digest_of(ix), d);
    assert_int_equal(elig_index_applied_lsn(ix), LSN);
    elig_index_close(ix, false);
    unlink(seg_b);

    char copies[400], copy[500];
    snprintf(copies, sizeof copies, "%s/copies", dir);
    snprintf(copy, sizeof copy, "%s/snapshot-%020d.els", copies, LSN);
    assert_int_equal(elig_snap_copy(good, copies, 7, &info), 0);
    assert_int_equal(elig_snap_peek(copy, &info), 0);
    assert_int_equal(info.format, ELIG_SNAP_ENTRIES);
    assert_int_equal(info.store_tag, 7);
    ix = test_index_create(seg_b, CAPACITY);
    assert_int_equal(elig_snap_load(copy, ix, &info), 0);
    assert_same(digest_of(ix), d);
    elig_index_close(ix, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_image_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_into_other_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries_format_still_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
