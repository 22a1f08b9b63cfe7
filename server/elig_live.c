/* SPDX-License-Identifier: MIT */
/*
 * elig_live: the index being served, and the hand-over to a new one.
 *
 * Design. A generation counter and the index pointer, and one cache line per
 * reader slot holding the generation that reader saw at its last safe
 * point. The writer stores the new pointer, then bumps the generation
 * (release); a reader loads the generation (acquire) and, only when it moved,
 * the pointer: so the pointer it gets is at least as new as the generation
 * it records. A slot that recorded generation g can no longer hold a
 * pointer from before g, which is all the swapper waits for (a grace period
 * as in RCU, with the loops' own iterations as quiescent states).
 *
 * Concurrency. Readers write only their own slot; join/leave claim and free
 * slots with atomic operations; one swapper at a time (the admin loop). The
 * swapper polls the slots every millisecond: loops reach a safe point at
 * least once a tick (100 ms), so a swap waits about that long.
 */
#include "elig_live.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define LEFT UINT64_MAX /* a slot not waited for */

struct slot {
    _Atomic uint64_t seen; /* generation at the last safe point; LEFT: free or gone */
    _Atomic int used;
    const struct elig_index *cur; /* the reader's own */
} __attribute__((aligned(64)));

struct elig_live {
    _Atomic(const struct elig_index *) ix;
    _Atomic uint64_t gen;
    struct slot slot[ELIG_LIVE_READERS];
};

int elig_live_create(const struct elig_index *ix, struct elig_live **out)
{
    struct elig_live *lv = aligned_alloc(64, sizeof *lv);
    if (!lv)
        return -ENOMEM;
    atomic_init(&lv->ix, ix);
    atomic_init(&lv->gen, 1);
    for (int i = 0; i < ELIG_LIVE_READERS; i++) {
        atomic_init(&lv->slot[i].seen, LEFT);
        atomic_init(&lv->slot[i].used, 0);
        lv->slot[i].cur = NULL;
    }
    *out = lv;
    return 0;
}

void elig_live_destroy(struct elig_live *lv)
{
    free(lv);
}

int elig_live_join(struct elig_live *lv)
{
    for (int i = 0; i < ELIG_LIVE_READERS; i++) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&lv->slot[i].used, &expect, 1))
            continue;
        uint64_t g = atomic_load_explicit(&lv->gen, memory_order_acquire);
        lv->slot[i].cur = atomic_load_explicit(&lv->ix, memory_order_acquire);
        atomic_store_explicit(&lv->slot[i].seen, g, memory_order_release);
        return i;
    }
    return -ENOSPC;
}

const struct elig_index *elig_live_enter(struct elig_live *lv, int slot, bool *changed)
{
    struct slot *s = &lv->slot[slot];
    uint64_t g = atomic_load_explicit(&lv->gen, memory_order_acquire);
    bool moved = g != atomic_load_explicit(&s->seen, memory_order_relaxed);
    if (moved) {
        const struct elig_index *ix = atomic_load_explicit(&lv->ix, memory_order_acquire);
        moved = ix != s->cur;
        s->cur = ix;
        atomic_store_explicit(&s->seen, g, memory_order_release);
    }
    if (changed)
        *changed = moved;
    return s->cur;
}

void elig_live_leave(struct elig_live *lv, int slot)
{
    atomic_store_explicit(&lv->slot[slot].seen, LEFT, memory_order_release);
    atomic_store_explicit(&lv->slot[slot].used, 0, memory_order_release);
}

const struct elig_index *elig_live_current(const struct elig_live *lv)
{
    return atomic_load_explicit(&((struct elig_live *)lv)->ix, memory_order_acquire);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int elig_live_swap(struct elig_live *lv, const struct elig_index *ix, int self, uint32_t timeout_ms)
{
    atomic_store_explicit(&lv->ix, ix, memory_order_release);
    uint64_t g = atomic_fetch_add_explicit(&lv->gen, 1, memory_order_acq_rel) + 1;
    if (self >= 0)
        elig_live_enter(lv, self, NULL);
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        bool all = true;
        for (int i = 0; i < ELIG_LIVE_READERS && all; i++) {
            uint64_t seen = atomic_load_explicit(&lv->slot[i].seen, memory_order_acquire);
            all = seen == LEFT || seen >= g;
        }
        if (all)
            return 0;
        if (mono_ms() >= deadline)
            return -ETIMEDOUT;
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
}
