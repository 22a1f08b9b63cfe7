/* SPDX-License-Identifier: MIT */
/*
 * test_apply: the applier on a real index: each event kind, the applied
 * LSN (replays skip what was applied; a rejected event still counts; a full
 * index does not), and the begin/commit unit (a writer that dies between
 * them leaves a segment the next writer refuses).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elig_apply.h"
#include "elig_error.h"
#include "test_support.h"

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/index.seg", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

static struct elig_index *create(uint64_t capacity)
{
    return test_index_create(path, capacity);
}

/* An event of kind with its date and the key's insurer as source. */
static struct elig_event event(uint8_t kind, const char *effective, const struct elig_key *k)
{
    struct elig_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.effective = test_date(effective);
    if (k)
        memcpy(ev.source, k->insurer, ELIG_INSURER_LEN);
    return ev;
}

static struct elig_event acquire(const struct elig_key *k, uint64_t person, const char *from)
{
    struct elig_event ev = event(ELIG_EV_ACQUIRE, from, k);
    ev.u.acquire = test_record(k, person, "1970-01-01", from, "", "");
    return ev;
}

static size_t records_of(struct elig_index *ix, uint64_t person, struct elig_record *out)
{
    uint32_t p;
    size_t n = 0;
    assert_int_equal(elig_index_find_person(ix, person, &p), 0);
    assert_int_equal(elig_index_person_records(ix, p, 0, out, NULL, 8, &n), 0);
    return n;
}

static void test_events_and_lsns(void **state)
{
    (void)state;
    struct elig_index *ix = create(16);
    struct elig_key k = test_key("01130012", "1", "2", "");
    struct elig_event ev = acquire(&k, 5, "2020-04-01");
    assert_int_equal(elig_apply(ix, &ev, 1, NULL), 0);
    assert_int_equal(elig_index_applied_lsn(ix), 1);
    /* replayed: skipped, not a second record, not an overlap rejection */
    assert_int_equal(elig_apply(ix, &ev, 1, NULL), ELIG_APPLY_SKIPPED);
    /* the same event as a new LSN overlaps: rejected, yet LSN 2 is done */
    assert_int_equal(elig_apply(ix, &ev, 2, NULL), -ELIG_EOVERLAP);
    assert_int_equal(elig_index_applied_lsn(ix), 2);

    /* CHANGE after the start splits the record: the old version keeps its values */
    struct elig_event ch = event(ELIG_EV_CHANGE, "2024-01-01", &k);
    ch.u.change.key = k;
    ch.u.change.fields = ELIG_CHG_COPAY;
    ch.u.change.values.copay_pct = 20;
    assert_int_equal(elig_apply(ix, &ch, 3, NULL), 0);
    struct elig_record recs[8];
    assert_int_equal(records_of(ix, 5, recs), 2);
    assert_int_equal(recs[0].copay_pct, 20);
    assert_int_equal(recs[0].valid_from, test_date("2024-01-01"));
    assert_int_equal(recs[1].copay_pct, 30);
    assert_int_equal(recs[1].valid_until, test_date("2023-12-31"));

    /* LOSS of the current version */
    struct elig_event loss = event(ELIG_EV_LOSS, "2025-01-01", &k);
    loss.u.loss.key = k;
    loss.u.loss.reason = ELIG_LOSS_DEATH;
    assert_int_equal(elig_apply(ix, &loss, 4, NULL), 0);
    assert_int_equal(records_of(ix, 5, recs), 2);
    assert_int_equal(recs[0].loss_date, test_date("2025-01-01"));
    assert_int_equal(elig_apply(ix, &loss, 5, NULL), -ELIG_ENOCURRENT);

    /* cards: register, a second register refused, renew */
    struct elig_event card = event(ELIG_EV_CARD_REGISTER, "2024-02-01", NULL);
    card.u.card.card_id = 0xA1;
    card.u.card.person_id = 5;
    card.u.card.cert_expiry = test_date("2029-01-31");
    assert_int_equal(elig_apply(ix, &card, 6, NULL), 0);
    assert_int_equal(elig_apply(ix, &card, 7, NULL), -ELIG_ECARDSTATE);
    card.kind = ELIG_EV_CERT_RENEW;
    card.u.card.cert_expiry = test_date("2034-01-31");
    assert_int_equal(elig_apply(ix, &card, 8, NULL), 0);
    uint64_t id = 0xA1;
    struct elig_index_card_hit hit;
    assert_int_equal(elig_index_lookup_cards(ix, &id, 1, &hit), 0);
    assert_int_equal(hit.card.cert_expiry, test_date("2034-01-31"));

    /* insurer name; an unknown kind */
    struct elig_event ins = event(ELIG_EV_INSURER, "", &k);
    strcpy(ins.u.insurer.name, "協会けんぽ");
    assert_int_equal(elig_apply(ix, &ins, 9, NULL), 0);
    char name[ELIG_INSURER_NAME_MAX + 1];
    assert_int_equal(elig_index_insurer_name(ix, k.insurer, name), 0);
    assert_string_equal(name, "協会けんぽ");
    ins.kind = 42;
    assert_int_equal(elig_apply(ix, &ins, 10, NULL), -ELIG_EKIND);
    assert_int_equal(elig_index_applied_lsn(ix), 10);
    elig_index_close(ix, true);
}

/* A full index: the event is not done with, so its LSN is not recorded (retry after growing). */
static void test_full_is_not_applied(void **state)
{
    (void)state;
    struct elig_index *ix = create(1);
    struct elig_key k1 = test_key("01130012", "1", "1", ""),
                    k2 = test_key("01130012", "1", "2", "");
    struct elig_event e1 = acquire(&k1, 1, "2020-01-01"), e2 = acquire(&k2, 1, "2020-01-01");
    assert_int_equal(elig_apply(ix, &e1, 1, NULL), 0);
    assert_int_equal(elig_apply(ix, &e2, 2, NULL), -ELIG_EFULL);
    assert_int_equal(elig_index_applied_lsn(ix), 1);
    elig_index_close(ix, true);
    /* and the segment is consistent: a writer may attach */
    assert_int_equal(elig_index_open(path, ELIG_SEG_WRITER, &ix), 0);
    elig_index_close(ix, true);
}

/* A writer killed between begin and commit: the next writer refuses the segment. */
static void test_killed_inside_a_change(void **state)
{
    (void)state;
    struct elig_index *ix = create(8);
    elig_index_close(ix, true);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct elig_index *w;
        if (elig_index_open(path, ELIG_SEG_WRITER, &w) < 0)
            _exit(2);
        elig_index_begin(w);
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        for (;;) /* killed here, mid-change */
            pause();
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    close(ready[0]);
    close(ready[1]);
    assert_int_equal(elig_index_open(path, ELIG_SEG_WRITER, &ix), -ELIG_EINTERRUPTED);
    assert_int_equal(elig_index_open(path, ELIG_SEG_READONLY, &ix), 0);
    elig_index_close(ix, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_and_lsns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_is_not_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_inside_a_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
