/* SPDX-License-Identifier: MIT */
#ifndef ELIG_LIVE_H
#define ELIG_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "elig_index.h"

/**
 * @file
 * The index being served, and the hand-over to a new one (after a grow).
 *
 * Readers are the threads that answer checks (io_uring loops, DPDK lcores).
 * Each registers once and calls elig_live_enter() at a safe point of its
 * loop, when it holds nothing that points into the index: it gets the index
 * to use until its next safe point. elig_live_swap() publishes a new index
 * and returns once every registered reader has passed a safe point since,
 * so that the caller may then close the old one. A reader that leaves
 * (elig_live_leave()) is not waited for.
 *
 * The cost on the readers' path is one relaxed atomic load per safe point
 * while nothing changes.
 */

/** Readers one instance can hold. */
#define ELIG_LIVE_READERS 256

/** The served index and its readers (opaque). */
struct elig_live;

/**
 * @param ix the index served first (not owned)
 * @return 0 and *out; -ENOMEM.
 */
int elig_live_create(const struct elig_index *ix, struct elig_live **out);

/** Free. Every reader must have left. NULL is ignored. */
void elig_live_destroy(struct elig_live *lv);

/**
 * Register a reader; it counts as having passed a safe point now.
 * Thread-safe.
 * @return its slot (>= 0); -ENOSPC when ELIG_LIVE_READERS are registered.
 */
int elig_live_join(struct elig_live *lv);

/**
 * At a safe point of reader slot: the index to use from now on. Sets
 * *changed (if not NULL) when it differs from the one the slot had.
 * Thread-safe for distinct slots.
 */
const struct elig_index *elig_live_enter(struct elig_live *lv, int slot, bool *changed);

/** The reader of slot is done: it is not waited for again. */
void elig_live_leave(struct elig_live *lv, int slot);

/** The index published last. Thread-safe. */
const struct elig_index *elig_live_current(const struct elig_live *lv);

/**
 * Publish ix; wait (bounded) until every registered reader, except the
 * caller's own slot (-1: none), has passed a safe point since. One caller at
 * a time.
 *
 * @return 0: nothing reads the previous index any more; -ETIMEDOUT: some
 *         reader did not pass a safe point within timeout_ms (the previous
 *         index must then be kept mapped).
 */
int elig_live_swap(struct elig_live *lv, const struct elig_index *ix, int self,
                   uint32_t timeout_ms);

#endif
