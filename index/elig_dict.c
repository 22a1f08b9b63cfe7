/* SPDX-License-Identifier: MIT */
/*
 * elig_dict: string interning inside a segment region.
 *
 * Layout (all offsets from the region start, 8-byte aligned):
 *   header   magic, capacity, slot count (a power of two, at least capacity / 0.7),
 *            published count, heap size, heap bytes used
 *   slots    uint32 id per slot, 0 = empty: an open-addressing table over
 *            XXH3-64 of the string, linear probing (short probes at <= 70% load,
 *            and a miss stops at the first empty slot)
 *   entries  {uint32 heap offset, uint32 length} per id
 *   heap     the string bytes, back to back
 *
 * Publication order, single writer: string bytes, then its entry, then the
 * count (release), then the slot (release). A reader that reaches an id
 * through a slot (acquire) or through count (acquire) therefore sees a
 * complete entry; nothing published is ever rewritten, so readers need no
 * lock and no retry. Ids are dense, so a record can hold them in few bits.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
/* XXH3 inlined: dictionary strings are short, where a call costs as much as the hash */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "elig_dict.h"
#include "elig_error.h"

#define DICT_MAGIC 0x54434944u /* "DICT" */

struct dict_header {
    uint32_t magic;
    uint32_t capacity;
    uint32_t nslots;
    uint32_t count; /* published with release */
    uint64_t heap_size;
    uint64_t heap_used;
};

struct dict_entry {
    uint32_t off;
    uint32_t len;
};

struct elig_dict {
    struct dict_header *h;
    uint32_t *slots;
    struct dict_entry *entries;
    char *heap;
};

static uint64_t align8(uint64_t v)
{
    return (v + 7) & ~(uint64_t)7;
}

static uint32_t slots_for(uint32_t capacity)
{
    uint64_t want = (uint64_t)capacity * 10 / 7 + 1, n = 16;
    while (n < want)
        n <<= 1;
    return n > UINT32_MAX ? 0 : (uint32_t)n;
}

static uint64_t layout(uint32_t capacity, uint32_t nslots, uint64_t heap, uint64_t *slots_off,
                       uint64_t *entries_off, uint64_t *heap_off)
{
    *slots_off = align8(sizeof(struct dict_header));
    *entries_off = align8(*slots_off + (uint64_t)nslots * sizeof(uint32_t));
    *heap_off = *entries_off + (uint64_t)capacity * sizeof(struct dict_entry);
    return align8(*heap_off + heap);
}

uint64_t elig_dict_region_size(const struct elig_dict_params *p)
{
    uint32_t nslots = p->capacity ? slots_for(p->capacity) : 0;
    if (nslots == 0 || p->heap_bytes > UINT32_MAX)
        return 0;
    uint64_t a, b, c;
    return layout(p->capacity, nslots, p->heap_bytes, &a, &b, &c);
}

static int make_view(void *region, uint64_t size, struct elig_dict **out)
{
    struct dict_header *h = region;
    uint64_t so, eo, ho;
    if (h->nslots == 0 || (h->nslots & (h->nslots - 1)) != 0 || h->capacity == 0 ||
        h->heap_size > UINT32_MAX ||
        layout(h->capacity, h->nslots, h->heap_size, &so, &eo, &ho) > size)
        return -ELIG_ESEGSIZE;
    struct elig_dict *d = malloc(sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->h = h;
    d->slots = (uint32_t *)((char *)region + so);
    d->entries = (struct dict_entry *)((char *)region + eo);
    d->heap = (char *)region + ho;
    *out = d;
    return 0;
}

int elig_dict_init(void *region, uint64_t size, const struct elig_dict_params *p,
                   struct elig_dict **out)
{
    uint64_t need = elig_dict_region_size(p);
    if (need == 0)
        return -EINVAL;
    if (size < need)
        return -ENOSPC;
    struct dict_header *h = region;
    memset(region, 0, need);
    h->capacity = p->capacity;
    h->nslots = slots_for(p->capacity);
    h->heap_size = p->heap_bytes;
    h->count = 1; /* id 0: the empty string, entry {0, 0} */
    h->magic = DICT_MAGIC;
    return make_view(region, size, out);
}

int elig_dict_attach(void *region, uint64_t size, struct elig_dict **out)
{
    if (size < sizeof(struct dict_header) || ((struct dict_header *)region)->magic != DICT_MAGIC)
        return -ELIG_ESEGMAGIC;
    return make_view(region, size, out);
}

void elig_dict_detach(struct elig_dict *d)
{
    free(d);
}

/* Probe for s: returns the slot holding its id, or the empty slot where it would go. */
static uint32_t probe(const struct elig_dict *d, const char *s, size_t len, uint32_t *id)
{
    uint32_t mask = d->h->nslots - 1;
    uint32_t i = (uint32_t)XXH3_64bits(s, len) & mask;
    for (;; i = (i + 1) & mask) { /* ends: load is at most 70%, so an empty slot exists */
        uint32_t v = __atomic_load_n(&d->slots[i], __ATOMIC_ACQUIRE);
        if (v == 0) {
            *id = 0;
            return i;
        }
        const struct dict_entry *e = &d->entries[v];
        if (e->len == len && memcmp(d->heap + e->off, s, len) == 0) {
            *id = v;
            return i;
        }
    }
}

void elig_dict_prefetch(const struct elig_dict *d, const char *s, size_t len)
{
    uint32_t mask = d->h->nslots - 1;
    __builtin_prefetch(&d->slots[(uint32_t)XXH3_64bits(s, len) & mask], 0, 3);
}

int elig_dict_find(const struct elig_dict *d, const char *s, size_t len, uint32_t *id)
{
    if (len == 0) {
        *id = 0;
        return 0;
    }
    probe(d, s, len, id);
    return *id ? 0 : -ENOENT;
}

int elig_dict_intern(struct elig_dict *d, const char *s, size_t len, uint32_t *id)
{
    if (len > ELIG_DICT_STRING_MAX)
        return -E2BIG;
    if (len == 0) {
        *id = 0;
        return 0;
    }
    uint32_t found, slot = probe(d, s, len, &found);
    if (found) {
        *id = found;
        return 0;
    }
    struct dict_header *h = d->h;
    if (h->count >= h->capacity || h->heap_used + len > h->heap_size)
        return -ENOSPC;
    uint32_t next = h->count;
    memcpy(d->heap + h->heap_used, s, len);
    d->entries[next].off = (uint32_t)h->heap_used;
    d->entries[next].len = (uint32_t)len;
    h->heap_used += len;
    __atomic_store_n(&h->count, next + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&d->slots[slot], next, __ATOMIC_RELEASE);
    *id = next;
    return 0;
}

const char *elig_dict_get(const struct elig_dict *d, uint32_t id, size_t *len)
{
    if (id >= __atomic_load_n(&d->h->count, __ATOMIC_ACQUIRE))
        return NULL;
    const struct dict_entry *e = &d->entries[id];
    *len = e->len;
    return d->heap + e->off;
}

uint32_t elig_dict_count(const struct elig_dict *d)
{
    return __atomic_load_n(&d->h->count, __ATOMIC_ACQUIRE);
}

uint32_t elig_dict_capacity(const struct elig_dict *d)
{
    return d->h->capacity;
}
