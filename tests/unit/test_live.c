/* SPDX-License-Identifier: MIT */
/*
 * test_live: the hand-over of the served index: a reader keeps its index
 * until its next safe point; a swap returns only once every registered
 * reader has passed one since (so the old index may go), times out while
 * one has not, and does not wait for a reader that left.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "elig_live.h"
#include "test_support.h"

/* elig_live never looks inside an index: two distinct addresses stand for two. */
static char a_ix, b_ix;
#define A ((const struct elig_index *)&a_ix)
#define B ((const struct elig_index *)&b_ix)

static void test_readers_move_at_safe_points(void **state)
{
    (void)state;
    struct elig_live *lv;
    assert_int_equal(elig_live_create(A, &lv), 0);
    int r0 = elig_live_join(lv), r1 = elig_live_join(lv);
    assert_true(r0 >= 0 && r1 >= 0 && r0 != r1);
    bool changed = true;
    assert_ptr_equal(elig_live_enter(lv, r0, &changed), A);
    assert_false(changed);
    /* nobody passes a safe point: the swap publishes but cannot say the old one is free */
    assert_int_equal(elig_live_swap(lv, B, -1, 20), -ETIMEDOUT);
    assert_ptr_equal(elig_live_current(lv), B);
    assert_ptr_equal(elig_live_enter(lv, r0, &changed), B);
    assert_true(changed);
    assert_ptr_equal(elig_live_enter(lv, r0, &changed), B);
    assert_false(changed);
    /* r1 still holds A until it enters; once it leaves it is not waited for */
    elig_live_leave(lv, r1);
    assert_int_equal(elig_live_swap(lv, A, r0, 20), 0); /* r0 is the caller: not waited for */
    assert_ptr_equal(elig_live_enter(lv, r0, &changed), A);
    assert_false(changed); /* the swapper's own slot moved with the swap */
    elig_live_leave(lv, r0);
    elig_live_destroy(lv);
}

struct reader {
    struct elig_live *lv;
    int slot;
    atomic_bool stop;
    atomic_int saw_b;
};

static void *reader_loop(void *arg)
{
    struct reader *r = arg;
    for (long i = 0; i < 100000000L && !atomic_load(&r->stop); i++)
        if (elig_live_enter(r->lv, r->slot, NULL) == B)
            atomic_store(&r->saw_b, 1);
    return NULL;
}

static void test_swap_waits_for_a_running_reader(void **state)
{
    (void)state;
    struct elig_live *lv;
    assert_int_equal(elig_live_create(A, &lv), 0);
    struct reader r = { .lv = lv, .slot = elig_live_join(lv) };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_loop, &r), 0);
    assert_int_equal(elig_live_swap(lv, B, -1, 10000), 0);
    /* the swap returned: the reader has taken B at a safe point since */
    assert_int_equal(atomic_load(&r.saw_b), 1);
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    elig_live_leave(lv, r.slot);
    elig_live_destroy(lv);
}

static void test_slots_are_bounded(void **state)
{
    (void)state;
    struct elig_live *lv;
    assert_int_equal(elig_live_create(A, &lv), 0);
    for (int i = 0; i < ELIG_LIVE_READERS; i++)
        assert_int_equal(elig_live_join(lv), i);
    assert_int_equal(elig_live_join(lv), -ENOSPC);
    elig_live_leave(lv, 7);
    assert_int_equal(elig_live_join(lv), 7); /* a slot left is taken again */
    elig_live_destroy(lv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_move_at_safe_points),
        cmocka_unit_test(test_swap_waits_for_a_running_reader),
        cmocka_unit_test(test_slots_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
