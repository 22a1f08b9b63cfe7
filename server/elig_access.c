/* SPDX-License-Identifier: MIT */
/*
 * elig_access: the registry as eligd serves it, and per-facility allowances.
 *
 * Snapshots. The current registry sits behind a mutex as a reference-counted
 * snapshot; acquire takes a reference, release drops one and frees the
 * snapshot when it was replaced and nobody holds it. Workers acquire only
 * when the generation (an atomic, read every loop tick) moved, so the mutex
 * is taken a few times per reload, never per request.
 *
 * Allowances. A fixed table of TABLE slots, open addressing on the code
 * (as a 64-bit number: 10 decimal digits fit), claimed by CAS on first use
 * and never freed: a facility keeps its slot across reloads, so revoking
 * and re-adding it does not reset its rate. Rate limiting is GCRA: slot's
 * "theoretical arrival time" (TAT) in ns; n checks at now are let through
 * when max(TAT, now) + n*T - now <= tau (T = 1/rate, tau = burst*T), and
 * TAT moves to max(TAT, now) + n*T by compare-and-swap.
 */
#include "elig_access.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "elig_error.h"

#define TABLE (1u << 20) /* allowance slots: ELIG_FAC_MAX facilities */

struct snap {
    struct elig_fac_registry *reg;
    unsigned refs;
    struct snap *next; /* every live snapshot, current first: a few (one per worker) at most */
};

struct allowance {
    _Atomic uint64_t code;       /* 0: free; else the code as a number + 1 */
    _Atomic uint64_t tat;        /* GCRA: ns */
    _Atomic uint64_t person_tat; /* GCRA of the lookups by person (disaster mode): ns */
    _Atomic uint32_t conns;
};

/* The lookups by person's own, lower allowance: one each 5 s, 20 at once (a desk's queue of
 * patients without cards), whatever the facility's check rate. */
#define PERSON_PERIOD_NS (5ull * 1000000000)
#define PERSON_TAU_NS    (20ull * PERSON_PERIOD_NS)

struct elig_access {
    struct elig_access_params p;
    char *path;
    pthread_mutex_t mu;
    struct snap *cur; /* head of the live list */
    _Atomic uint64_t gen;
    _Atomic uint64_t period_ns, tau_ns; /* of the rate and burst: set live by SIGHUP */
    _Atomic uint32_t max_conns;
    struct allowance *slots;
};

static uint64_t code_value(const char *code)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++)
        v = v * 10 + (uint64_t)(code[i] - '0');
    return v + 1;
}

static struct snap *snap_new(struct elig_fac_registry *reg)
{
    struct snap *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->reg = reg;
    s->refs = 1; /* the access state's own, while it is current */
    return s;
}

/* Drop a reference (under the mutex); the last one unlinks and frees. */
static void snap_put(struct elig_access *a, struct snap *s)
{
    if (--s->refs)
        return;
    for (struct snap **p = &a->cur; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    elig_fac_free(s->reg);
    free(s);
}

int elig_access_open(const struct elig_access_params *p, struct elig_access **out)
{
    struct elig_access *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->p = *p;
    elig_access_set_limits(a, a->p.rate, a->p.burst, a->p.max_conns);
    pthread_mutex_init(&a->mu, NULL);
    atomic_store(&a->gen, 1);
    int rc = elig_fkey_init();
    struct elig_fac_registry *reg = NULL;
    if (rc == 0 && p->registry) {
        a->path = strdup(p->registry);
        rc = a->path ? elig_fac_load(p->registry, &reg) : -ENOMEM;
        if (rc == -ENOENT)
            rc = elig_fac_new(&reg);
        if (rc == 0 && !(a->cur = snap_new(reg))) {
            elig_fac_free(reg);
            rc = -ENOMEM;
        }
        a->slots = rc ? NULL : calloc(TABLE, sizeof(*a->slots));
        if (rc == 0 && !a->slots)
            rc = -ENOMEM;
    }
    if (rc) {
        elig_access_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void elig_access_close(struct elig_access *a)
{
    if (!a)
        return;
    for (struct snap *s = a->cur, *next; s; s = next) { /* the workers have ended */
        next = s->next;
        elig_fac_free(s->reg);
        free(s);
    }
    pthread_mutex_destroy(&a->mu);
    free(a->slots);
    free(a->path);
    free(a);
}

bool elig_access_trusted(const struct elig_access *a)
{
    return a->path == NULL;
}

int elig_access_reload(struct elig_access *a, size_t *count)
{
    if (!a->path)
        return -EINVAL;
    struct elig_fac_registry *reg;
    int rc = elig_fac_load(a->path, &reg);
    if (rc)
        return rc;
    struct snap *s = snap_new(reg);
    if (!s) {
        elig_fac_free(reg);
        return -ENOMEM;
    }
    pthread_mutex_lock(&a->mu);
    struct snap *old = a->cur;
    s->next = old;
    a->cur = s;
    snap_put(a, old); /* the own reference moves to the new one */
    atomic_fetch_add(&a->gen, 1);
    pthread_mutex_unlock(&a->mu);
    *count = elig_fac_count(reg);
    return 0;
}

uint64_t elig_access_generation(const struct elig_access *a)
{
    return atomic_load(&a->gen);
}

const struct elig_fac_registry *elig_access_acquire(struct elig_access *a, uint64_t *gen)
{
    if (!a->path) {
        *gen = atomic_load(&a->gen);
        return NULL;
    }
    pthread_mutex_lock(&a->mu);
    struct snap *s = a->cur;
    s->refs++;
    *gen = atomic_load(&a->gen);
    pthread_mutex_unlock(&a->mu);
    return s->reg;
}

void elig_access_release(struct elig_access *a, const struct elig_fac_registry *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&a->mu);
    for (struct snap *s = a->cur; s; s = s->next)
        if (s->reg == r) {
            snap_put(a, s);
            break;
        }
    pthread_mutex_unlock(&a->mu);
}

int elig_access_slot(struct elig_access *a, const char *code)
{
    if (!a->slots)
        return -ENOSPC;
    uint64_t v = code_value(code);
    uint32_t i = (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> 44) & (TABLE - 1);
    for (uint32_t probes = 0; probes < TABLE; probes++, i = (i + 1) & (TABLE - 1)) {
        uint64_t have = atomic_load(&a->slots[i].code);
        if (have == v)
            return (int)i;
        if (have == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&a->slots[i].code, &zero, v) || zero == v)
                return (int)i;
        }
    }
    return -ENOSPC;
}

void elig_access_set_limits(struct elig_access *a, double rate, double burst, unsigned max_conns)
{
    rate = rate > 0 ? rate : 50;
    burst = burst > 0 ? burst : 2000;
    atomic_store(&a->period_ns, (uint64_t)(1e9 / rate));
    atomic_store(&a->tau_ns, (uint64_t)(burst * 1e9 / rate));
    atomic_store(&a->max_conns, max_conns ? max_conns : 16);
}

int elig_access_enter(struct elig_access *a, int slot)
{
    _Atomic uint32_t *c = &a->slots[slot].conns;
    uint32_t n = atomic_load(c);
    do {
        if (n >= atomic_load_explicit(&a->max_conns, memory_order_relaxed))
            return -EUSERS;
    } while (!atomic_compare_exchange_weak(c, &n, n + 1));
    return 0;
}

void elig_access_leave(struct elig_access *a, int slot)
{
    atomic_fetch_sub(&a->slots[slot].conns, 1);
}

void elig_access_refund(struct elig_access *a, int slot, unsigned n, uint64_t now_ns)
{
    _Atomic uint64_t *tat = &a->slots[slot].tat;
    uint64_t inc = (uint64_t)n * atomic_load_explicit(&a->period_ns, memory_order_relaxed);
    uint64_t old = atomic_load(tat), next;
    do {
        if (old <= now_ns)
            return; /* the allowance is whole again already */
        next = old - now_ns > inc ? old - inc : now_ns;
    } while (!atomic_compare_exchange_weak(tat, &old, next));
}

/* GCRA: spend inc ns of the allowance whose theoretical arrival time is *tat, burst tau. */
static bool gcra_take(_Atomic uint64_t *tat, uint64_t inc, uint64_t tau, uint64_t now_ns)
{
    uint64_t old = atomic_load(tat), next;
    do {
        uint64_t base = old > now_ns ? old : now_ns;
        next = base + inc;
        if (next - now_ns > tau)
            return false;
    } while (!atomic_compare_exchange_weak(tat, &old, next));
    return true;
}

bool elig_access_take(struct elig_access *a, int slot, unsigned n, uint64_t now_ns)
{
    uint64_t inc = (uint64_t)n * atomic_load_explicit(&a->period_ns, memory_order_relaxed);
    return gcra_take(&a->slots[slot].tat, inc,
                     atomic_load_explicit(&a->tau_ns, memory_order_relaxed), now_ns);
}

bool elig_access_take_person(struct elig_access *a, int slot, uint64_t now_ns)
{
    return gcra_take(&a->slots[slot].person_tat, PERSON_PERIOD_NS, PERSON_TAU_NS, now_ns);
}
