/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DICT_H
#define ELIG_DICT_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * A string dictionary (interning) that lives in one region of the mapped
 * segment: 160M records carry four names each, but only a few million
 * distinct ones exist, so records hold 32-bit ids and answers look the
 * strings up here. Id 0 is always the empty string.
 *
 * The region is addressed by offsets only, so every process that maps the
 * segment can use it. One writer interns; any number of readers in any
 * process look up, lock-free: an entry is complete before it is published,
 * and published entries never change.
 */

#define ELIG_DICT_STRING_MAX 65535 /**< longest string, bytes */

/** Sizing of a dictionary region. */
struct elig_dict_params {
    uint32_t capacity;   /**< distinct strings it can hold, the empty string included */
    uint64_t heap_bytes; /**< bytes for the strings themselves, at most 4 GiB */
};

/** A process's view of a dictionary region (opaque). */
struct elig_dict;

/** Bytes a region with these parameters needs (8-byte aligned). 0 if they are invalid. */
uint64_t elig_dict_region_size(const struct elig_dict_params *p);

/**
 * Lay out an empty dictionary in region (size bytes, zeroed or not) and
 * return a writer view of it.
 *
 * @return 0 and *out set; -EINVAL if capacity is 0 or heap_bytes too large;
 *         -ENOSPC if size is smaller than elig_dict_region_size(); -ENOMEM.
 */
int elig_dict_init(void *region, uint64_t size, const struct elig_dict_params *p,
                   struct elig_dict **out);

/**
 * View an existing dictionary region (in another process, after a restart).
 *
 * @return 0 and *out set; -ELIG_ESEGMAGIC if region does not hold one;
 *         -ELIG_ESEGSIZE if its layout does not fit in size; -ENOMEM.
 */
int elig_dict_attach(void *region, uint64_t size, struct elig_dict **out);

/** Release a view (the region is untouched). NULL is ignored. */
void elig_dict_detach(struct elig_dict *d);

/**
 * Writer only: the id of s[0..len), adding it if it is new.
 *
 * @return 0 and *id set; -ENOSPC when the dictionary or its heap is full
 *         (nothing added); -E2BIG if len > ELIG_DICT_STRING_MAX.
 */
int elig_dict_intern(struct elig_dict *d, const char *s, size_t len, uint32_t *id);

/**
 * The id of s[0..len) if it is present. Readers: lock-free, thread-safe.
 * @return 0 and *id set; -ENOENT.
 */
int elig_dict_find(const struct elig_dict *d, const char *s, size_t len, uint32_t *id);

/**
 * Request the cache line where s[0..len) would be looked up, ahead of an
 * intern or find of it (bulk loading). Has no other effect. Thread-safe.
 */
void elig_dict_prefetch(const struct elig_dict *d, const char *s, size_t len);

/**
 * The string of an id, not NUL-terminated, and its length. Readers:
 * lock-free, thread-safe.
 * @return a pointer into the region, or NULL if id was never published.
 */
const char *elig_dict_get(const struct elig_dict *d, uint32_t id, size_t *len);

/** Number of strings held, the empty string included. */
uint32_t elig_dict_count(const struct elig_dict *d);

/** Number of strings it can hold, the empty string included (the heap may fill first). */
uint32_t elig_dict_capacity(const struct elig_dict *d);

#endif
