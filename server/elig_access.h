/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ACCESS_H
#define ELIG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_fac.h"

/**
 * @file
 * Who may ask, and how much: eligd's view of the facility registry, and
 * each facility's rate and connection allowance, shared by every worker.
 *
 * The registry is published as immutable snapshots with a generation
 * number: a worker keeps one snapshot (acquired, reference-counted) and
 * takes the new one when the generation moves (after a reload), then
 * closes the connections of facilities that are gone or revoked.
 *
 * Allowances live in a table keyed by facility code that survives reloads:
 * a rate limit per facility as GCRA (a "theoretical arrival time" per
 * facility, advanced by a compare-and-swap: lock-free, one atomic per
 * decision) and a count of open authenticated connections against a cap.
 *
 * A trusted-network instance (no registry path) lets every connection in
 * without a key: for benchmarks and for a segment where the network is
 * the only guard. eligd says so in its log at start.
 *
 * All functions are thread-safe.
 */

/** Access parameters. Zero in an optional field picks the default shown. */
struct elig_access_params {
    const char *registry; /**< the registry file; NULL: trusted network (no keys) */
    double rate;          /**< optional: checks per second per facility (default 50) */
    double burst;         /**< optional: checks a facility may send at once (default 2000;
                               at least the largest BATCH, 1000) */
    unsigned max_conns;   /**< optional: open connections per facility (default 16) */
};

/** Access state (opaque). */
struct elig_access;

/**
 * Load the registry (a missing file is an empty registry: nobody gets in,
 * which eligd logs) and make the allowance table.
 * @return 0 and *out; -ELIG_EFACFILE (damaged file); -ENOMEM; -errno.
 */
int elig_access_open(const struct elig_access_params *p, struct elig_access **out);
/** Free it; every acquired snapshot must have been released. */
void elig_access_close(struct elig_access *a);

/** Whether this is a trusted-network instance (no registry). */
bool elig_access_trusted(const struct elig_access *a);

/**
 * Read the registry file again and publish it (generation + 1). On error
 * the current registry stays. @return 0 and *count (facilities);
 * -ELIG_EFACFILE; -ENOENT; -EINVAL (trusted network: no registry); -errno.
 */
int elig_access_reload(struct elig_access *a, size_t *count);

/** The published generation (starts at 1). */
uint64_t elig_access_generation(const struct elig_access *a);

/** The current snapshot (NULL on a trusted network) and its generation; release it after use. */
const struct elig_fac_registry *elig_access_acquire(struct elig_access *a, uint64_t *gen);
void elig_access_release(struct elig_access *a, const struct elig_fac_registry *r);

/**
 * The allowance slot of a facility code (made on first use).
 * @return slot >= 0; -ENOSPC (the table is full: more codes than it holds).
 */
int elig_access_slot(struct elig_access *a, const char *code);

/**
 * Change every facility's allowance while eligd serves (SIGHUP): checks a
 * second, checks at once and open connections, as in elig_access_params (0
 * picks the default). What a facility has spent stays spent (its allowance
 * is whole again when it would have been at the old rate); connections over
 * a lowered cap stay open, new ones are refused. Thread-safe: a decision in
 * progress sees the old or the new values.
 */
void elig_access_set_limits(struct elig_access *a, double rate, double burst, unsigned max_conns);

/** Count one more connection of slot. @return 0; -EUSERS (the facility is at its cap). */
int elig_access_enter(struct elig_access *a, int slot);
/** One connection of slot ended. */
void elig_access_leave(struct elig_access *a, int slot);

/**
 * Spend n checks of slot's allowance at now_ns (a monotonic clock).
 * @return true (go ahead); false (over its rate: answer ELIG_PS_RATE_LIMITED).
 */
bool elig_access_take(struct elig_access *a, int slot, unsigned n, uint64_t now_ns);

/**
 * Spend one lookup by person (disaster mode) of slot's own allowance: one
 * each 5 seconds, 20 at once, apart from its checks'.
 * @return true (go ahead); false (spent: answer ELIG_PS_RATE_LIMITED).
 */
bool elig_access_take_person(struct elig_access *a, int slot, uint64_t now_ns);

/**
 * Give back n checks taken and not spent (a connection's unused credit at
 * its close); never more than the allowance holds. Thread-safe.
 */
void elig_access_refund(struct elig_access *a, int slot, unsigned n, uint64_t now_ns);

#endif
