/* SPDX-License-Identifier: MIT */
/*
 * elig_index: the eligibility index in one shared segment.
 *
 * Regions (each 4 KiB aligned, listed in the segment header):
 *   meta      capacities, table sizes, counters, the free-record list head,
 *             and a "mutating" flag the writer raises around every change
 *   stripes   4,096 sequence counters guarding the records (record r is
 *             guarded by stripe r & 0xfff); few enough to stay in cache, and
 *             with one writer a reader rarely meets its stripe odd
 *   records   capacity x 48-byte records (struct ix_rec); a record holds its
 *             key in compact form, its person reference, the link to the
 *             person's next record, two name-pair ids, packed codes and dates
 *   keys      key table: 64-byte buckets of 11 one-byte tags, an outbound
 *             overflow count and 11 record references, plus the bucket's
 *             sequence counter
 *   persons   person table: 64-byte buckets of 5 (person id, head record)
 *   cards     card table: 64-byte buckets of 3 card links
 *   3 string dictionaries (elig_dict): insurer numbers, key strings, name
 *             pairs; and the name id of each insurer
 *
 * Why this shape. A lookup costs cache misses, not instructions: with a
 * random line read at ~250-330 ns and a core sustaining ~40-60 M independent
 * ones a second, the budget is two lines per key. Bucketized open addressing
 * with one-byte tags (Swiss-table style) gives that: one line holds 11 tags
 * and their references, a key hashes to one bucket and nearly always finds
 * its match there, and the one candidate record is the second line. Probing
 * goes on to the next bucket only when the bucket's outbound count (as in
 * Folly's F14) says some entry passed it because it was full: a full bucket
 * alone does not send a lookup on, and a deleted slot is simply empty again,
 * so there are no tombstones. (With "stop at the first bucket with a free
 * slot" instead, 45% of lookups at 80% load read a second bucket; measured.)
 * Cuckoo hashing would bound the worst case at two buckets but makes every
 * miss read two lines and moves entries under readers' feet; linear bucket
 * probing does neither.
 *
 * A batch of lookups is interleaved (elig_index_lookup): each key is a small
 * state machine that requests the line its next step reads (bucket, then
 * candidate record, then the next bucket if the probe goes on) and yields to
 * the others, so the misses of ELIG_INDEX_GROUP keys are in flight at once
 * and a slow key holds only its own slot. (A fixed three-stage pipeline did
 * the same for the usual key at 25-35% fewer lookups a second: a key that
 * went on to a second bucket stalled the pipeline, and the pipeline ran
 * half-empty while filling and draining each batch.)
 *
 * Keys are stored compactly, and compared exactly, in two 64-bit words: the
 * insurer number's first 7 digits (the 8th is their check digit), the
 * branch, and symbol and number packed as decimal values with their lengths
 * when the symbol has at most 8 digits and the number at most 17 (nearly all
 * real keys), otherwise an id in the key-string dictionary. The same key
 * always takes the same form, so equal compact keys mean equal keys: tags
 * only filter, the compact key is always compared, no false positive is
 * possible. The usual decimal key is made from the typed key alone, without
 * reading any memory. The insurer dictionary only names insurers.
 *
 * The key table holds one entry per record (several versions of a key are
 * several entries), so a record is reached from its key without a chain.
 * Persons chain their records newest-first through the records' next links;
 * the person table holds the head. A card link points at its person.
 *
 * Names: family and given names are each interned as a "kanji<US>kana" pair
 * (US = 0x1f, which valid names cannot contain), so a record holds two ids.
 * Whether a pair's kanji or kana can be shown in JIS X 0208 (elig_jis) is
 * judged once per pair and process, when a record is first read with its
 * names, and kept in the view (name_jis, one byte per pair id): nothing of
 * it is stored in the segment, so segments and snapshots are unchanged.
 *
 * Concurrency: one writer, enforced by the segment's lock; readers anywhere,
 * lock-free, with sequence counters (even = stable). The writer makes a
 * counter odd, changes what it guards, and makes it even again; a reader
 * copies what it needs between two equal even reads, or retries (bounded:
 * -EAGAIN after SEQ_TRIES). Every bucket carries its own counter. A person's
 * chain is guarded by its person bucket's counter: the writer holds it odd
 * while linking or unlinking one of the person's records, so a reader that
 * walked the chain and finds the counter unchanged saw a consistent chain.
 * Record contents are guarded by their stripe. A reader that holds a stale
 * reference finds the slot free or holding another key and skips it; every
 * index it follows is bounds-checked, and every walk is bounded, so a reader
 * can never crash or loop on a slot the writer deleted or reused.
 *
 * A writer that dies inside a change leaves "mutating" set: the next writer
 * refuses to open the segment (-ELIG_EINTERRUPTED) instead of trusting a
 * half-made change; recovery rebuilds it.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* XXH3 inlined: keys are 8-16 bytes, where a call costs as much as the hash */
#define XXH_INLINE_ALL
#include <xxhash.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "elig_dict.h"
#include "elig_error.h"
#include "elig_index.h"
#include "elig_jis.h"
#include "elig_kana.h"

#define META_MAGIC     0x58444e49u /* "INDX" */
#define STRIPES        4096u       /* 16 KiB: stays in cache beside the lines a lookup misses on */
#define KEY_SLOTS      11
#define PERSON_SLOTS   5
#define CARD_SLOTS     3
#define TAG_EMPTY      0
#define OUTBOUND_STUCK 255 /* a saturated outbound count is never lowered again */
#define SEQ_TRIES      100000
#define WALK_TRIES     64
#define INSURERS_MAX   65535u
#define KEY_LOAD_PCT   80 /* key-table slots per record at capacity */
#define KEY_LIMIT_PCT  90 /* live entries beyond which inserts refuse */
#define TABLE_LOAD_PCT 85 /* person and card tables */
#define SEP            '\x1f'

enum {
    R_META,
    R_STRIPES,
    R_RECORDS,
    R_KEYS,
    R_PERSONS,
    R_CARDS,
    R_INSURERS,
    R_KEYSTR,
    R_NAMES,
    R_INSURER_NAMES,
    R_PNAMES, /* the lookup by person's kana name, birth date and sex (disaster mode) */
    R_COUNT
};

struct ix_meta {
    uint32_t magic;
    uint32_t mutating; /* 1 while the writer is inside a change */
    uint64_t capacity;
    uint64_t persons_cap;
    uint64_t cards_cap;
    uint64_t key_buckets;
    uint64_t person_buckets;
    uint64_t card_buckets;
    uint64_t high; /* record slots ever handed out */
    uint32_t free_head;
    uint32_t reserved;
    uint64_t records;
    uint64_t persons;
    uint64_t cards;
    uint64_t key_used;    /* live key-table entries */
    uint64_t key_stuck;   /* buckets whose outbound count saturated */
    uint64_t applied_lsn; /* last log record applied (elig_index_commit) */
};

enum { REC_FREE = 0, REC_LIVE = 1 };

/*
 * The compact key: two words, the first 16 bytes of a record, built from the
 * typed key alone - no dictionary is consulted for the usual decimal key, so
 * a lookup's first step touches no memory - and compared as whole words.
 *   num  number value | length << 57; or the key-string id
 *   kw   bits 0-31  symbol: value | length << 27, or 1 << 31 for the string form
 *        bits 32-55 the insurer number's first 7 digits as a value (the 8th
 *                   is their check digit, so it is implied)
 *        bits 56-62 branch 0..99
 *        bit 63     in a record, its state (REC_LIVE); 0 in a query
 */
struct ix_ckey {
    uint64_t num;
    uint64_t kw;
};

#define KW_SYM(kw)     ((uint32_t)(kw))
#define KW_INSURER(kw) ((uint32_t)((kw) >> 32) & 0xffffffu)
#define KW_BRANCH(kw)  ((uint8_t)((kw) >> 56) & 0x7f)
#define KW_STATE(kw)   ((uint8_t)((kw) >> 63))
#define KW_KEY         ((UINT64_C(1) << 63) - 1)

struct ix_rec {
    uint64_t num;
    uint64_t kw; /* the key word, with REC_FREE / REC_LIVE in its top byte */
    uint32_t person;
    uint32_t next; /* person's next record; free list when FREE */
    uint32_t family;
    uint32_t given;
    uint16_t codes;
    uint16_t date[7];
};

enum { D_BIRTH, D_ACQUIRED, D_FROM, D_UNTIL, D_LOSS, D_ELD_FROM, D_ELD_UNTIL };

struct key_bucket {
    uint32_t seq;
    uint8_t tag[KEY_SLOTS]; /* 0 empty, else 1..255 from the hash */
    uint8_t outbound;       /* entries that passed this bucket, full, to a later one */
    uint32_t rec[KEY_SLOTS];
    uint32_t unused;
};

struct person_bucket {
    uint32_t seq;
    uint32_t head[PERSON_SLOTS];
    uint64_t id[PERSON_SLOTS]; /* 0 = empty */
};

struct card_bucket {
    uint32_t seq;
    uint32_t person[CARD_SLOTS];  /* person reference | state << 30 */
    uint64_t id[CARD_SLOTS];      /* 0 = empty */
    uint16_t date[CARD_SLOTS][4]; /* registered, cert expiry, dereg effective, returned */
};

_Static_assert(sizeof(struct ix_ckey) == 16, "compact key");
_Static_assert(sizeof(struct ix_rec) == 48, "record size");
_Static_assert(sizeof(struct key_bucket) == 64, "key bucket is one cache line");
_Static_assert(sizeof(struct person_bucket) == 64, "person bucket is one cache line");
_Static_assert(sizeof(struct card_bucket) == 64, "card bucket is one cache line");

/*
 * The lookup by person: record references (+1; 0 empty, PNAME_TOMB removed)
 * under the hash of the record's folded kana names, birth date and sex
 * (elig_kana), 15 a cache line, linear probing over lines; a lookup reads
 * the candidates' records to compare, so nothing else is stored: 64 bytes a
 * 12 records of capacity (5.3 bytes a record).
 */
#define PNAME_SLOTS    15
#define PNAME_TOMB     UINT32_MAX
#define PNAME_LOAD_PCT 80
struct pname_bucket {
    uint32_t seq;
    uint32_t ref[PNAME_SLOTS];
};
_Static_assert(sizeof(struct pname_bucket) == 64, "name bucket is one cache line");

struct elig_index {
    struct elig_seg *seg; /* NULL for a view of a snapshot's image (elig_index_image_open) */
    char *base;           /* the segment's first byte (its header page) */
    uint64_t size;        /* bytes mapped from base */
    bool writer;
    bool txn;                /* inside elig_index_begin() .. elig_index_commit() */
    bool unit;               /* inside elig_index_unit_begin() .. elig_index_unit_end() */
    elig_index_hash_fn hash; /* NULL: XXH3-64 */
    struct ix_meta *meta;
    uint32_t *stripes;
    struct ix_rec *recs;
    struct key_bucket *keys;
    struct person_bucket *persons;
    struct card_bucket *cards;
    uint32_t *insurer_names;
    struct elig_dict *insurers, *keystr, *names;
    struct pname_bucket *pnames; /* NULL in a segment made before the lookup by person */
    uint64_t pname_buckets;
    uint64_t capacity, key_buckets, person_buckets, card_buckets;
    struct elig_index_params empty; /* while an image is loaded into it: its own sizes, to make
                                       it empty again if the image is refused */
    uint8_t *name_jis; /* this process's: per name pair id, JIS_KNOWN | which half cannot be
                          shown in JIS X 0208 (pair_jis()); one byte per pair the dictionary
                          can hold, zero pages until touched */
    uint32_t name_jis_n;
};

/* ---- sequence counters ---------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/*
 * Wait a little before retry t of a read: spin first (the writer's changes
 * take nanoseconds), then yield, so that a writer preempted halfway through
 * a change gets the core back instead of readers burning it.
 */
static inline void seq_backoff(int t)
{
    if (t < 1000)
        cpu_relax();
    else
        sched_yield();
}

static inline uint32_t seq_read_begin(const uint32_t *s)
{
    return __atomic_load_n(s, __ATOMIC_ACQUIRE);
}

static inline bool seq_read_ok(const uint32_t *s, uint32_t v)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return (v & 1) == 0 && __atomic_load_n(s, __ATOMIC_RELAXED) == v;
}

static inline void seq_write_begin(uint32_t *s)
{
    __atomic_store_n(s, *s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void seq_write_end(uint32_t *s)
{
    __atomic_store_n(s, *s + 1, __ATOMIC_RELEASE);
}

/* Mark the segment as being changed (on = 1) or consistent (0), unless a
 * transaction (elig_index_begin) holds the mark for a whole log record, or a
 * unit (elig_index_unit_begin) for a whole log unit. */
static void mutating(struct elig_index *ix, uint32_t on)
{
    if (!ix->txn && !ix->unit)
        __atomic_store_n(&ix->meta->mutating, on, __ATOMIC_RELEASE);
}

void elig_index_begin(struct elig_index *ix)
{
    if (!ix->writer)
        return;
    __atomic_store_n(&ix->meta->mutating, 1, __ATOMIC_RELEASE);
    ix->txn = true;
}

void elig_index_commit(struct elig_index *ix, uint64_t lsn)
{
    if (!ix->writer || !ix->txn)
        return;
    __atomic_store_n(&ix->meta->applied_lsn, lsn, __ATOMIC_RELAXED);
    ix->txn = false;
    if (!ix->unit)
        __atomic_store_n(&ix->meta->mutating, 0, __ATOMIC_RELEASE);
}

void elig_index_unit_begin(struct elig_index *ix)
{
    if (!ix->writer)
        return;
    __atomic_store_n(&ix->meta->mutating, 1, __ATOMIC_RELEASE);
    ix->unit = true;
}

void elig_index_unit_end(struct elig_index *ix)
{
    if (!ix->writer || !ix->unit)
        return;
    ix->unit = false;
    if (!ix->txn)
        __atomic_store_n(&ix->meta->mutating, 0, __ATOMIC_RELEASE);
}

uint64_t elig_index_applied_lsn(const struct elig_index *ix)
{
    return __atomic_load_n(&ix->meta->applied_lsn, __ATOMIC_ACQUIRE);
}

static void counter_add(uint64_t *c, int64_t d)
{
    __atomic_store_n(c, *c + (uint64_t)d, __ATOMIC_RELAXED);
}

static uint64_t counter(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ---- hashing ---------------------------------------------------------------- */

/* XXH3-64, unless a test replaced it; inlined with a constant length in the usual case. */
static inline uint64_t hash_of(const struct elig_index *ix, const void *data, size_t len)
{
    return ix->hash ? ix->hash(data, len) : XXH3_64bits(data, len);
}

/* Bucket by multiply-shift of the low 32 bits (tables need not be powers of two). */
static inline uint64_t bucket_of(uint64_t h, uint64_t nbuckets)
{
    return ((h & 0xffffffffu) * nbuckets) >> 32;
}

static inline uint8_t tag_of(uint64_t h)
{
    uint8_t t = (uint8_t)(h >> 56);
    return t < 2 ? (uint8_t)(t + 2) : t;
}

static inline uint64_t next_bucket(uint64_t b, uint64_t nbuckets)
{
    return b + 1 == nbuckets ? 0 : b + 1;
}

/* ---- compact keys ------------------------------------------------------------ */

static bool decimal(const char *s, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return true;
}

/*
 * The value of len <= 8 ASCII digits at s, eight at a time (SWAR): the bytes
 * beyond len are shifted out, the rest checked to be digits in one test and
 * combined pairwise (x10, x100, x10000). Reads 8 bytes at s: the caller
 * guarantees they are inside the key. False if one is not a digit.
 */
static inline bool digits8(const char *s, size_t len, uint64_t *v)
{
    if (len == 0) {
        *v = 0;
        return true;
    }
    uint64_t x;
    memcpy(&x, s, sizeof x);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    x ^= 0x3030303030303030ULL; /* '0'..'9' -> 0..9 */
    x <<= (8 - len) * 8;        /* drop the bytes past len; zeros lead */
    if (((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL)
        return false; /* a byte above 9 */
    x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
    x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
    *v = (x * 10000 + (x >> 32)) & 0xffffffffULL;
    return true;
}

/* A number of up to 17 digits held in a 20-byte key field. */
static inline bool digits17(const char *s, size_t len, uint64_t *v)
{
    uint64_t hi, lo;
    if (len <= 8)
        return digits8(s, len, v);
    if (len <= 16) {
        if (!digits8(s, len - 8, &hi) || !digits8(s + len - 8, 8, &lo))
            return false;
        *v = hi * 100000000 + lo;
        return true;
    }
    if (!decimal(s, 1, &hi) || !digits8(s + 1, 8, &lo) || !digits8(s + 9, 8, v))
        return false;
    *v += (hi * 100000000 + lo) * 100000000;
    return true;
}

static int dict_id(struct elig_dict *d, const char *s, size_t len, bool add, uint32_t *id)
{
    int rc = add ? elig_dict_intern(d, s, len, id) : elig_dict_find(d, s, len, id);
    return rc == -ENOSPC ? -ELIG_EFULL : rc;
}

/*
 * The compact form of a key. add = false (readers) fails with -ENOENT when a
 * part was never interned: no record can have that key.
 */
static int ckey_make(const struct elig_index *ix, const struct elig_key *k, bool add,
                     struct ix_ckey *ck)
{
    uint32_t id;
    uint64_t insv, symv, numv;
    _Static_assert(offsetof(struct elig_key, symbol) + 8 <= sizeof(struct elig_key) &&
                       offsetof(struct elig_key, number) + 17 <= sizeof(struct elig_key),
                   "digits8 reads 8 bytes inside the key");
    if (!digits8(k->insurer, ELIG_INSURER_LEN, &insv) || !decimal(k->branch, 2, &numv) ||
        elig_luhn_check_digit(k->insurer) != (int)(insv % 10))
        return -ENOENT; /* not a normalised key: no record can have it */
    insv /= 10;
    uint64_t kw = insv << 32 | numv << 56;
    int rc;
    if (k->symbol_len <= 8 && k->number_len <= 17 && digits8(k->symbol, k->symbol_len, &symv) &&
        digits17(k->number, k->number_len, &numv)) {
        ck->num = numv | (uint64_t)k->number_len << 57;
        ck->kw = kw | symv | (uint64_t)k->symbol_len << 27;
        return 0;
    }
    char buf[ELIG_SYMBOL_MAX + 1 + ELIG_NUMBER_MAX];
    memcpy(buf, k->symbol, k->symbol_len);
    buf[k->symbol_len] = SEP;
    memcpy(buf + k->symbol_len + 1, k->number, k->number_len);
    rc = dict_id(ix->keystr, buf, k->symbol_len + 1u + k->number_len, add, &id);
    if (rc < 0)
        return rc;
    ck->num = id;
    ck->kw = kw | UINT64_C(1) << 31;
    return 0;
}

static void put_decimal(char *out, uint64_t v, unsigned len)
{
    for (char *p = out + len; p > out; v /= 10)
        *--p = (char)('0' + v % 10);
}

static int ckey_decode(const struct elig_index *ix, const struct ix_rec *r, struct elig_key *k)
{
    size_t len;
    memset(k, 0, sizeof *k);
    uint32_t sym = KW_SYM(r->kw);
    uint8_t branch = KW_BRANCH(r->kw);
    elig_insurer_from_value((uint32_t)KW_INSURER(r->kw), k->insurer);
    k->branch[0] = (char)('0' + branch / 10 % 10);
    k->branch[1] = (char)('0' + branch % 10);
    if (!(sym >> 31)) {
        k->symbol_len = (uint8_t)(sym >> 27);
        k->number_len = (uint8_t)(r->num >> 57);
        if (k->symbol_len > 8 || k->number_len < 1 || k->number_len > 17)
            return -EAGAIN;
        put_decimal(k->symbol, sym & ((1u << 27) - 1), k->symbol_len);
        put_decimal(k->number, r->num & ((UINT64_C(1) << 57) - 1), k->number_len);
        return 0;
    }
    const char *s = elig_dict_get(ix->keystr, (uint32_t)r->num, &len);
    const char *sep = s ? memchr(s, SEP, len) : NULL;
    if (!sep)
        return -EAGAIN;
    size_t sl = (size_t)(sep - s), nl = len - sl - 1;
    if (sl > ELIG_SYMBOL_MAX || nl < 1 || nl > ELIG_NUMBER_MAX)
        return -EAGAIN;
    k->symbol_len = (uint8_t)sl;
    k->number_len = (uint8_t)nl;
    memcpy(k->symbol, s, sl);
    memcpy(k->number, sep + 1, nl);
    return 0;
}

static inline bool ckey_eq(const struct ix_rec *r, const struct ix_ckey *ck)
{
    return r->num == ck->num && (r->kw & KW_KEY) == ck->kw;
}

static inline uint64_t ckey_hash(const struct elig_index *ix, const struct ix_ckey *ck)
{
    return hash_of(ix, ck, sizeof *ck);
}

/* ---- records -------------------------------------------------------------------- */

static uint32_t *stripe_of(const struct elig_index *ix, uint32_t ref)
{
    return &ix->stripes[ref & (STRIPES - 1)];
}

/* A consistent copy of the first bytes of record ref. */
static int rec_load_part(const struct elig_index *ix, uint32_t ref, struct ix_rec *out,
                         size_t bytes)
{
    if (ref >= ix->capacity)
        return -ENOENT;
    const uint32_t *s = stripe_of(ix, ref);
    for (int t = 0; t < SEQ_TRIES; t++) {
        uint32_t v = seq_read_begin(s);
        if (v & 1) {
            seq_backoff(t);
            continue;
        }
        memcpy(out, &ix->recs[ref], bytes);
        if (seq_read_ok(s, v))
            return 0;
    }
    return -EAGAIN;
}

/* A consistent copy of record ref. */
static int rec_load(const struct elig_index *ix, uint32_t ref, struct ix_rec *out)
{
    return rec_load_part(ix, ref, out, sizeof *out);
}

/* What a key lookup reads of a record: key, state, person (usually one cache line). */
#define REC_HEAD offsetof(struct ix_rec, next)

/* Writer: replace record ref under its stripe. */
static void rec_store(struct elig_index *ix, uint32_t ref, const struct ix_rec *r)
{
    uint32_t *s = stripe_of(ix, ref);
    seq_write_begin(s);
#ifdef ELIG_INDEX_TORTURE
    /*
     * Test builds only: write the record a word at a time with pauses, so the
     * readers' stress test would see torn records if the stripes did not
     * guard them (one 48-byte copy is too quick to be caught in the act).
     */
    for (size_t o = 0; o < sizeof *r; o += 8) {
        memcpy((char *)&ix->recs[ref] + o, (const char *)r + o, 8);
        for (int i = 0; i < 64; i++)
            cpu_relax();
    }
#else
    memcpy(&ix->recs[ref], r, sizeof *r);
#endif
    seq_write_end(s);
}

static uint8_t loss_code(uint8_t reason)
{
    return reason == ELIG_LOSS_OTHER ? 4 : reason;
}

static uint8_t loss_reason(unsigned code)
{
    return code == 4 ? ELIG_LOSS_OTHER : (uint8_t)code;
}

static uint16_t codes_pack(const struct elig_record *r)
{
    return (uint16_t)((r->relation == ELIG_REL_DEPENDENT) | (r->sex == ELIG_SEX_FEMALE) << 1 |
                      loss_code(r->loss_reason) << 2 | (r->copay_pct / 10) << 5 |
                      (r->elderly_pct / 10) << 7 | r->limit_category << 9);
}

#define CODES_SEX 0x2 /* codes_pack()'s bit of the sex */

static void codes_unpack(uint16_t c, struct elig_record *r)
{
    r->relation = (c & 1) ? ELIG_REL_DEPENDENT : ELIG_REL_INSURED;
    r->sex = (c & CODES_SEX) ? ELIG_SEX_FEMALE : ELIG_SEX_MALE;
    r->loss_reason = loss_reason(c >> 2 & 7);
    r->copay_pct = (uint8_t)((c >> 5 & 3) * 10);
    r->elderly_pct = (uint8_t)((c >> 7 & 3) * 10);
    r->limit_category = (uint8_t)(c >> 9 & 31);
}

/* "kanji<US>kana" into buf; its length, or 0 when both are empty (the id 0). */
static size_t name_pair(const char *kanji, const char *kana, char buf[2 * ELIG_NAME_MAX + 1])
{
    size_t a = strnlen(kanji, ELIG_NAME_MAX), b = strnlen(kana, ELIG_NAME_MAX);
    if (a == 0 && b == 0)
        return 0;
    memcpy(buf, kanji, a);
    buf[a] = SEP;
    memcpy(buf + a + 1, kana, b);
    return a + 1 + b;
}

static int name_pair_id(struct elig_index *ix, const char *kanji, const char *kana, uint32_t *id)
{
    char buf[2 * ELIG_NAME_MAX + 1];
    size_t len = name_pair(kanji, kana, buf);
    *id = 0;
    return len ? dict_id(ix->names, buf, len, true, id) : 0;
}

static void name_pair_get(const struct elig_index *ix, uint32_t id, char *kanji, char *kana)
{
    size_t len;
    const char *s = id ? elig_dict_get(ix->names, id, &len) : NULL;
    const char *sep = s ? memchr(s, SEP, len) : NULL;
    kanji[0] = kana[0] = '\0';
    if (!sep)
        return;
    size_t a = (size_t)(sep - s), b = len - a - 1;
    if (a > ELIG_NAME_MAX || b > ELIG_NAME_MAX)
        return;
    memcpy(kanji, s, a);
    kanji[a] = '\0';
    memcpy(kana, sep + 1, b);
    kana[b] = '\0';
}

/* Everything of a record but its key and its links. */
static int rec_encode(struct elig_index *ix, const struct elig_record *r, struct ix_rec *out)
{
    int rc = name_pair_id(ix, r->family_kanji, r->family_kana, &out->family);
    if (rc == 0)
        rc = name_pair_id(ix, r->given_kanji, r->given_kana, &out->given);
    if (rc < 0)
        return rc;
    out->codes = codes_pack(r);
    out->date[D_BIRTH] = r->birth_date;
    out->date[D_ACQUIRED] = r->acquired;
    out->date[D_FROM] = r->valid_from;
    out->date[D_UNTIL] = r->valid_until;
    out->date[D_LOSS] = r->loss_date;
    out->date[D_ELD_FROM] = r->elderly_from;
    out->date[D_ELD_UNTIL] = r->elderly_until;
    return 0;
}

#define JIS_KNOWN 0x80
#define JIS_KANJI 0x01
#define JIS_KANA  0x02

/*
 * Which halves of name pair id cannot be shown in JIS X 0208 (JIS_KANJI,
 * JIS_KANA). Judged with iconv once per pair and process, then read from
 * name_jis: interned pairs never change, and readers racing to judge the
 * same pair store the same byte.
 */
static unsigned pair_jis(const struct elig_index *ix, uint32_t id, const char *kanji,
                         const char *kana)
{
    if (id == 0 || id >= ix->name_jis_n)
        return 0;
    uint8_t v = __atomic_load_n(&ix->name_jis[id], __ATOMIC_RELAXED);
    if (!(v & JIS_KNOWN)) {
        v = JIS_KNOWN;
        if (elig_jis_x0208(kanji, strlen(kanji)) == 0)
            v |= JIS_KANJI;
        if (elig_jis_x0208(kana, strlen(kana)) == 0)
            v |= JIS_KANA;
        __atomic_store_n(&ix->name_jis[id], v, __ATOMIC_RELAXED);
    }
    return v & (JIS_KANJI | JIS_KANA);
}

static uint8_t name_flags(const struct elig_index *ix, const struct ix_rec *r,
                          const struct elig_record *out)
{
    unsigned f = pair_jis(ix, r->family, out->family_kanji, out->family_kana);
    unsigned g = pair_jis(ix, r->given, out->given_kanji, out->given_kana);
    return (uint8_t)((f & JIS_KANJI ? ELIG_NAME_FAMILY_KANJI : 0) |
                     (g & JIS_KANJI ? ELIG_NAME_GIVEN_KANJI : 0) |
                     ((f | g) & JIS_KANA ? ELIG_NAME_KANA : 0));
}

static int rec_decode(const struct elig_index *ix, const struct ix_rec *r, uint64_t person_id,
                      bool names, struct elig_record *out)
{
    memset(out, 0, offsetof(struct elig_record, family_kanji));
    int rc = ckey_decode(ix, r, &out->key);
    if (rc < 0)
        return rc;
    out->person_id = person_id;
    out->birth_date = r->date[D_BIRTH];
    out->acquired = r->date[D_ACQUIRED];
    out->valid_from = r->date[D_FROM];
    out->valid_until = r->date[D_UNTIL];
    out->loss_date = r->date[D_LOSS];
    out->elderly_from = r->date[D_ELD_FROM];
    out->elderly_until = r->date[D_ELD_UNTIL];
    codes_unpack(r->codes, out);
    if (names) {
        name_pair_get(ix, r->family, out->family_kanji, out->family_kana);
        name_pair_get(ix, r->given, out->given_kanji, out->given_kana);
        out->name_flags = name_flags(ix, r, out);
    } else {
        out->family_kanji[0] = out->given_kanji[0] = '\0';
        out->family_kana[0] = out->given_kana[0] = '\0';
        out->name_flags = 0;
    }
    return 0;
}

/* ---- person table ---------------------------------------------------------------- */

static struct person_bucket *person_bucket(const struct elig_index *ix, uint32_t person)
{
    return &ix->persons[person / PERSON_SLOTS];
}

/* Reader: the id and head of a person reference, consistently. */
static int person_get(const struct elig_index *ix, uint32_t person, uint64_t *id, uint32_t *head,
                      uint32_t *seq)
{
    if (person >= ix->person_buckets * PERSON_SLOTS)
        return -ENOENT;
    const struct person_bucket *b = person_bucket(ix, person);
    unsigned i = person % PERSON_SLOTS;
    for (int t = 0; t < SEQ_TRIES; t++) {
        uint32_t v = seq_read_begin(&b->seq);
        if (v & 1) {
            seq_backoff(t);
            continue;
        }
        uint64_t pid = b->id[i];
        uint32_t h = b->head[i];
        if (seq_read_ok(&b->seq, v)) {
            if (pid == 0)
                return -ENOENT;
            *id = pid;
            *head = h;
            if (seq)
                *seq = v;
            return 0;
        }
    }
    return -EAGAIN;
}

/*
 * Probe a table of 64-byte buckets of 64-bit ids (0 = empty) - the person and
 * card tables - for id: 0 and *slot (bucket * nslots + i) when present;
 * -ENOENT with *slot = the first empty slot on its probe sequence
 * (ELIG_INDEX_NIL if none); -EAGAIN. Entries are never removed from these
 * tables, so a probe ends at the first empty slot.
 */
static int id_probe(const struct elig_index *ix, const void *table, uint64_t nbuckets,
                    size_t ids_offset, unsigned nslots, uint64_t id, uint64_t *slot)
{
    uint64_t b = bucket_of(hash_of(ix, &id, sizeof id), nbuckets);
    for (uint64_t step = 0; step < nbuckets; step++, b = next_bucket(b, nbuckets)) {
        const char *bucket = (const char *)table + b * 64;
        const uint32_t *seq = (const uint32_t *)bucket;
        uint64_t ids[PERSON_SLOTS > CARD_SLOTS ? PERSON_SLOTS : CARD_SLOTS];
        int t = 0;
        for (; t < SEQ_TRIES; t++) {
            uint32_t v = seq_read_begin(seq);
            memcpy(ids, bucket + ids_offset, nslots * sizeof ids[0]);
            if (seq_read_ok(seq, v))
                break;
            seq_backoff(t);
        }
        if (t == SEQ_TRIES)
            return -EAGAIN;
        for (unsigned i = 0; i < nslots; i++) {
            if (ids[i] == id || ids[i] == 0) {
                *slot = b * nslots + i;
                return ids[i] == id ? 0 : -ENOENT;
            }
        }
    }
    *slot = ELIG_INDEX_NIL;
    return -ENOENT;
}

static int person_probe(const struct elig_index *ix, uint64_t person_id, uint32_t *person)
{
    uint64_t slot;
    int rc = id_probe(ix, ix->persons, ix->person_buckets, offsetof(struct person_bucket, id),
                      PERSON_SLOTS, person_id, &slot);
    *person = (uint32_t)slot;
    return rc;
}

/* Writer: the reference of person_id, adding the person if new. */
static int person_ensure(struct elig_index *ix, uint64_t person_id, uint32_t *person)
{
    int rc = person_probe(ix, person_id, person);
    if (rc != -ENOENT)
        return rc;
    if (*person == ELIG_INDEX_NIL || ix->meta->persons >= ix->meta->persons_cap)
        return -ELIG_EFULL;
    struct person_bucket *b = person_bucket(ix, *person);
    seq_write_begin(&b->seq);
    b->head[*person % PERSON_SLOTS] = ELIG_INDEX_NIL;
    b->id[*person % PERSON_SLOTS] = person_id;
    seq_write_end(&b->seq);
    counter_add(&ix->meta->persons, 1);
    return 0;
}

int elig_index_find_person(const struct elig_index *ix, uint64_t person_id, uint32_t *person)
{
    if (person_id == 0)
        return -ENOENT;
    return person_probe(ix, person_id, person);
}

/* ---- key table -------------------------------------------------------------------- */

/*
 * Ask for the cache line holding p. On x86 an asm statement: GCC 12 drops
 * __builtin_prefetch calls whose address it derives from a struct it has
 * split into scalars (seen in key_scan), which silently undid the batching.
 */
static inline void prefetch_line(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 0, 3);
#endif
}

/* Prefetch the first bytes of record ref (REC_HEAD: what a key lookup reads) and its stripe. */
static inline void prefetch_record(const struct elig_index *ix, uint32_t ref, size_t bytes)
{
    /* a stale reference may be out of range: prefetch something harmless instead */
    ref = ref < ix->capacity ? ref : 0;
    const char *p = (const char *)&ix->recs[ref];
    prefetch_line(p);
    if (((uintptr_t)p & 63) > 64 - bytes)
        prefetch_line(p + bytes - 1);
    prefetch_line(&ix->stripes[ref & (STRIPES - 1)]);
}

/*
 * Masks of bucket kb's slots whose tag is tag, and of its empty slots. With
 * SSE2 one 16-byte load takes the sequence counter and the 11 tags together
 * (straight from the bucket: copying them first would stall on store
 * forwarding), and two compares give both masks.
 */
static inline void tag_masks(const struct key_bucket *kb, uint8_t tag, unsigned *match,
                             unsigned *empty)
{
#ifdef __SSE2__
    __m128i v = _mm_load_si128((const __m128i *)kb);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)tag)));
    unsigned e = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
    *match = m >> 4 & ((1u << KEY_SLOTS) - 1);
    *empty = e >> 4 & ((1u << KEY_SLOTS) - 1);
#else
    *match = *empty = 0;
    for (unsigned i = 0; i < KEY_SLOTS; i++) {
        uint8_t t = __atomic_load_n(&kb->tag[i], __ATOMIC_RELAXED);
        *match |= (unsigned)(t == tag) << i;
        *empty |= (unsigned)(t == TAG_EMPTY) << i;
    }
#endif
}

/*
 * Snapshot bucket b: the references whose tag is tag, and whether the probe
 * must go on to the next bucket (an entry passed this one). The candidate
 * records are prefetched, so that a caller scanning many buckets before
 * comparing (elig_index_lookup) has them arriving meanwhile.
 */
static int key_scan(const struct elig_index *ix, uint64_t b, uint8_t tag, uint32_t *cand,
                    unsigned *ncand, bool *more)
{
    const struct key_bucket *kb = &ix->keys[b];
    _Static_assert(offsetof(struct key_bucket, tag) == 4, "tags follow the counter");
    for (int t = 0; t < SEQ_TRIES; t++) {
        uint32_t v = seq_read_begin(&kb->seq);
        unsigned match, empty, n = 0;
        tag_masks(kb, tag, &match, &empty);
        for (; match; match &= match - 1)
            cand[n++] = kb->rec[__builtin_ctz(match)];
        uint8_t outbound = kb->outbound;
        if (!seq_read_ok(&kb->seq, v)) {
            seq_backoff(t);
            continue;
        }
        for (unsigned i = 0; i < n; i++)
            prefetch_record(ix, cand[i], REC_HEAD);
        *ncand = n;
        *more = outbound != 0;
        return 0;
    }
    return -EAGAIN;
}

/* Writer: the first empty slot on the probe sequence of h. */
static int key_free_slot(const struct elig_index *ix, uint64_t h, uint64_t *bucket, unsigned *slot)
{
    uint64_t b = bucket_of(h, ix->key_buckets);
    for (uint64_t step = 0; step < ix->key_buckets; step++, b = next_bucket(b, ix->key_buckets)) {
        const struct key_bucket *kb = &ix->keys[b];
        for (unsigned i = 0; i < KEY_SLOTS; i++) {
            if (kb->tag[i] == TAG_EMPTY) {
                *bucket = b;
                *slot = i;
                return 0;
            }
        }
    }
    return -ELIG_EFULL;
}

/* Writer: change the outbound counts of the buckets from home up to (not including) last. */
static void key_outbound(struct elig_index *ix, uint64_t home, uint64_t last, int delta)
{
    for (uint64_t b = home; b != last; b = next_bucket(b, ix->key_buckets)) {
        struct key_bucket *kb = &ix->keys[b];
        if (kb->outbound == OUTBOUND_STUCK)
            continue;
        seq_write_begin(&kb->seq);
        kb->outbound = (uint8_t)(kb->outbound + delta);
        seq_write_end(&kb->seq);
        if (kb->outbound == OUTBOUND_STUCK)
            counter_add(&ix->meta->key_stuck, 1);
    }
}

/*
 * Writer: store (tag, ref) in slot i of bucket b, found by key_free_slot()
 * for hash h. The entry is in place before the outbound counts that lead
 * readers to it are raised, so a reader never follows a count to nothing.
 */
static void key_put(struct elig_index *ix, uint64_t h, uint64_t b, unsigned i, uint8_t tag,
                    uint32_t ref)
{
    struct key_bucket *kb = &ix->keys[b];
    seq_write_begin(&kb->seq);
    kb->rec[i] = ref;
    kb->tag[i] = tag;
    seq_write_end(&kb->seq);
    key_outbound(ix, bucket_of(h, ix->key_buckets), b, +1);
    counter_add(&ix->meta->key_used, 1);
}

/* Writer: remove the key-table entry of record ref; its slot is empty again. */
static void key_remove(struct elig_index *ix, const struct ix_ckey *ck, uint32_t ref)
{
    uint64_t h = ckey_hash(ix, ck), home = bucket_of(h, ix->key_buckets), b = home;
    uint8_t tag = tag_of(h);
    for (uint64_t step = 0; step < ix->key_buckets; step++, b = next_bucket(b, ix->key_buckets)) {
        struct key_bucket *kb = &ix->keys[b];
        for (unsigned i = 0; i < KEY_SLOTS; i++) {
            if (kb->tag[i] == tag && kb->rec[i] == ref) {
                key_outbound(ix, home, b, -1);
                seq_write_begin(&kb->seq);
                kb->tag[i] = TAG_EMPTY;
                seq_write_end(&kb->seq);
                counter_add(&ix->meta->key_used, -1);
                return;
            }
        }
        if (kb->outbound == 0)
            return;
    }
}

/* ---- layout ------------------------------------------------------------------------ */

static uint64_t align_page(uint64_t v)
{
    return (v + 4095) & ~(uint64_t)4095;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

struct layout {
    uint64_t persons, cards; /* capacities, defaults resolved */
    uint64_t key_buckets, person_buckets, card_buckets;
    struct elig_dict_params dicts[3]; /* insurers, key strings, names */
    struct elig_seg_region r[R_COUNT];
    uint64_t total;
};

void elig_index_params_resolve(struct elig_index_params *p)
{
    uint64_t cap = p->capacity;
    p->persons = p->persons ? p->persons : cap * 8 / 10 + 1;
    p->cards = p->cards ? p->cards : cap / 2 + 1;
    uint64_t ks = p->key_strings ? p->key_strings : cap / 64 + 4096;
    uint64_t nm = p->names ? p->names : cap / 32 + 4096;
    p->key_strings = ks > UINT32_MAX ? UINT32_MAX : (uint32_t)ks;
    p->names = nm > UINT32_MAX ? UINT32_MAX : (uint32_t)nm;
}

static int layout_plan(const struct elig_index_params *given, struct layout *l)
{
    struct elig_index_params rp = *given, *p = &rp;
    elig_index_params_resolve(p);
    uint64_t cap = p->capacity, persons = p->persons, cards = p->cards;
    if (cap == 0 || cap > (UINT64_C(1) << 31) || persons > (UINT64_C(1) << 30) ||
        cards > (UINT64_C(1) << 30))
        return -EINVAL;
    memset(l, 0, sizeof *l);
    l->persons = persons;
    l->cards = cards;
    l->key_buckets = div_up(cap * 100, (uint64_t)KEY_SLOTS * KEY_LOAD_PCT);
    l->person_buckets = div_up(persons * 100, (uint64_t)PERSON_SLOTS * TABLE_LOAD_PCT);
    l->card_buckets = div_up(cards * 100, (uint64_t)CARD_SLOTS * TABLE_LOAD_PCT);
    l->dicts[0] =
        (struct elig_dict_params){ INSURERS_MAX, (uint64_t)INSURERS_MAX * ELIG_INSURER_LEN };
    uint64_t ks = p->key_strings, nm = p->names;
    if (ks > UINT32_MAX / 2 || nm > UINT32_MAX / 2)
        return -EINVAL;
    l->dicts[1] = (struct elig_dict_params){ (uint32_t)ks, ks * 32 };
    l->dicts[2] = (struct elig_dict_params){ (uint32_t)nm, nm * 32 + 65536 };
    if (l->dicts[1].heap_bytes > UINT32_MAX || l->dicts[2].heap_bytes > UINT32_MAX)
        return -EINVAL;
    uint64_t sizes[R_COUNT] = {
        [R_META] = sizeof(struct ix_meta),
        [R_STRIPES] = STRIPES * sizeof(uint32_t),
        [R_RECORDS] = cap * sizeof(struct ix_rec),
        [R_KEYS] = l->key_buckets * sizeof(struct key_bucket),
        [R_PERSONS] = l->person_buckets * sizeof(struct person_bucket),
        [R_CARDS] = l->card_buckets * sizeof(struct card_bucket),
        [R_INSURERS] = elig_dict_region_size(&l->dicts[0]),
        [R_KEYSTR] = elig_dict_region_size(&l->dicts[1]),
        [R_NAMES] = elig_dict_region_size(&l->dicts[2]),
        [R_INSURER_NAMES] = (INSURERS_MAX + 1) * sizeof(uint32_t),
        [R_PNAMES] =
            div_up(cap * 100, (uint64_t)PNAME_SLOTS * PNAME_LOAD_PCT) * sizeof(struct pname_bucket),
    };
    uint64_t off = ELIG_SEG_HEADER_SIZE;
    for (int i = 0; i < R_COUNT; i++) {
        if (sizes[i] == 0)
            return -EINVAL;
        l->r[i].offset = off;
        l->r[i].size = sizes[i];
        off = align_page(off + sizes[i]);
    }
    l->total = off;
    return 0;
}

int elig_index_size(const struct elig_index_params *p, uint64_t *bytes)
{
    struct layout l;
    int rc = layout_plan(p, &l);
    if (rc == 0)
        *bytes = l.total;
    return rc;
}

static void *region(const struct elig_index *ix, const struct elig_seg_region *r)
{
    return ix->base + r->offset;
}

/* Build the view's pointers from the header's regions, checking they fit. */
static int view_attach(struct elig_index *ix, const struct elig_seg_header *h)
{
    uint64_t size = ix->size;
    for (int i = 0; i < R_COUNT; i++) {
        const struct elig_seg_region *r = &h->regions[i];
        if (i == R_PNAMES && r->offset == 0 && r->size == 0)
            continue; /* a segment made before the lookup by person: served without it */
        if (r->offset < ELIG_SEG_HEADER_SIZE || r->size == 0 || r->offset > size ||
            r->size > size - r->offset || (r->offset & 63))
            return -ELIG_ESEGSIZE;
    }
    const struct elig_seg_region *pr = &h->regions[R_PNAMES];
    ix->pname_buckets = pr->size / sizeof(struct pname_bucket);
    ix->pnames = ix->pname_buckets ? region(ix, pr) : NULL;
    ix->meta = region(ix, &h->regions[R_META]);
    if (h->regions[R_META].size < sizeof(struct ix_meta) || ix->meta->magic != META_MAGIC)
        return -ELIG_ESEGMAGIC;
    const struct ix_meta *m = ix->meta;
    ix->capacity = m->capacity;
    ix->key_buckets = m->key_buckets;
    ix->person_buckets = m->person_buckets;
    ix->card_buckets = m->card_buckets;
    if (m->capacity == 0 || m->key_buckets == 0 || m->person_buckets == 0 || m->card_buckets == 0 ||
        m->capacity != h->capacity || h->regions[R_STRIPES].size < STRIPES * sizeof(uint32_t) ||
        h->regions[R_RECORDS].size / sizeof(struct ix_rec) < m->capacity ||
        h->regions[R_KEYS].size / sizeof(struct key_bucket) < m->key_buckets ||
        h->regions[R_PERSONS].size / sizeof(struct person_bucket) < m->person_buckets ||
        h->regions[R_CARDS].size / sizeof(struct card_bucket) < m->card_buckets ||
        h->regions[R_INSURER_NAMES].size < (INSURERS_MAX + 1) * sizeof(uint32_t))
        return -ELIG_ESEGSIZE;
    ix->stripes = region(ix, &h->regions[R_STRIPES]);
    ix->recs = region(ix, &h->regions[R_RECORDS]);
    ix->keys = region(ix, &h->regions[R_KEYS]);
    ix->persons = region(ix, &h->regions[R_PERSONS]);
    ix->cards = region(ix, &h->regions[R_CARDS]);
    ix->insurer_names = region(ix, &h->regions[R_INSURER_NAMES]);
    struct elig_dict **d[3] = { &ix->insurers, &ix->keystr, &ix->names };
    for (int i = 0; i < 3; i++) {
        const struct elig_seg_region *r = &h->regions[R_INSURERS + i];
        int rc = elig_dict_attach(region(ix, r), r->size, d[i]);
        if (rc < 0)
            return rc;
    }
    /* the dictionaries may have been made anew (an emptied index): forget what was judged */
    free(ix->name_jis);
    ix->name_jis_n = elig_dict_capacity(ix->names);
    ix->name_jis = calloc(ix->name_jis_n, 1);
    return ix->name_jis ? 0 : -ENOMEM;
}

static void dicts_detach(struct elig_index *ix)
{
    elig_dict_detach(ix->insurers);
    elig_dict_detach(ix->keystr);
    elig_dict_detach(ix->names);
    ix->insurers = ix->keystr = ix->names = NULL;
}

static void view_free(struct elig_index *ix)
{
    dicts_detach(ix);
    free(ix->name_jis);
    free(ix);
}

/* Write an empty index's meta and dictionaries into regions laid out as l (all zero before). */
static int layout_init(struct elig_index *ix, const struct layout *l, uint64_t capacity)
{
    struct ix_meta *m = region(ix, &l->r[R_META]);
    *m = (struct ix_meta){
        .magic = META_MAGIC,
        .capacity = capacity,
        .persons_cap = l->persons,
        .cards_cap = l->cards,
        .key_buckets = l->key_buckets,
        .person_buckets = l->person_buckets,
        .card_buckets = l->card_buckets,
        .free_head = ELIG_INDEX_NIL,
    };
    for (int i = 0; i < 3; i++) {
        struct elig_dict *d;
        int rc = elig_dict_init(region(ix, &l->r[R_INSURERS + i]), l->r[R_INSURERS + i].size,
                                &l->dicts[i], &d);
        if (rc < 0)
            return rc;
        elig_dict_detach(d);
    }
    return 0;
}

int elig_index_create(const struct elig_index_params *p, struct elig_index **out)
{
    struct layout l;
    int rc = layout_plan(p, &l);
    if (rc < 0)
        return rc;
    struct elig_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -ENOMEM;
    struct elig_seg_params sp = {
        .path = p->path,
        .size = l.total,
        .capacity = p->capacity,
        .layout_version = ELIG_INDEX_LAYOUT_VERSION,
        .pages = p->pages,
        .store_id = p->store_id,
    };
    rc = elig_seg_create(&sp, &ix->seg);
    if (rc < 0) {
        free(ix);
        return rc;
    }
    ix->writer = true;
    ix->base = elig_seg_base(ix->seg);
    ix->size = elig_seg_size(ix->seg);
    if ((rc = layout_init(ix, &l, p->capacity)) < 0)
        goto fail;
    struct elig_seg_header h;
    rc = elig_seg_header_read(ix->seg, &h);
    if (rc < 0)
        goto fail;
    memcpy(h.regions, l.r, sizeof l.r);
    elig_seg_header_publish(ix->seg, &h);
    rc = elig_seg_header_read(ix->seg, &h);
    if (rc == 0)
        rc = view_attach(ix, &h);
    if (rc < 0)
        goto fail;
    *out = ix;
    return 0;
fail:
    elig_seg_close(ix->seg, false);
    unlink(p->path);
    view_free(ix);
    return rc;
}

int elig_index_open(const char *path, unsigned mode, struct elig_index **out)
{
    struct elig_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -ENOMEM;
    int rc = elig_seg_open(path, mode, ELIG_INDEX_LAYOUT_VERSION, &ix->seg);
    if (rc < 0) {
        free(ix);
        return rc;
    }
    ix->writer = (mode & ELIG_SEG_WRITER) != 0;
    ix->base = elig_seg_base(ix->seg);
    ix->size = elig_seg_size(ix->seg);
    struct elig_seg_header h;
    rc = elig_seg_header_read(ix->seg, &h);
    if (rc == 0)
        rc = view_attach(ix, &h);
    if (rc == 0 && ix->writer && __atomic_load_n(&ix->meta->mutating, __ATOMIC_ACQUIRE))
        rc = -ELIG_EINTERRUPTED;
    if (rc < 0) {
        elig_seg_close(ix->seg, false);
        view_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

void elig_index_close(struct elig_index *ix, bool clean)
{
    if (!ix)
        return;
    if (ix->writer && clean)
        elig_index_publish(ix, UINT64_MAX);
    elig_seg_close(ix->seg, clean);
    view_free(ix);
}

struct elig_seg *elig_index_seg(struct elig_index *ix)
{
    return ix->seg;
}

void elig_index_set_hash(struct elig_index *ix, elig_index_hash_fn fn)
{
    ix->hash = fn;
}

void elig_index_publish(struct elig_index *ix, uint64_t applied_lsn)
{
    struct elig_seg_header h;
    if (!ix->writer || elig_seg_header_read(ix->seg, &h) < 0)
        return;
    h.count = ix->meta->records;
    if (applied_lsn != UINT64_MAX) {
        h.applied_lsn = applied_lsn;
        __atomic_store_n(&ix->meta->applied_lsn, applied_lsn, __ATOMIC_RELAXED);
    } else {
        h.applied_lsn = elig_index_applied_lsn(ix);
    }
    elig_seg_header_publish(ix->seg, &h);
}

/* ---- writer operations ---------------------------------------------------------------- */

/* ---- the lookup by person (disaster mode) -------------------------------------------- */

/* The folded kana "family<US>given" into out (room for both names): its length, or -1. */
static int pname_fold(const char *family_kana, const char *given_kana, char *out, size_t cap)
{
    size_t a, b;
    if (elig_kana_fold(family_kana, strlen(family_kana), out, cap, &a) != 0 || a + 2 > cap)
        return -1;
    out[a] = SEP;
    if (elig_kana_fold(given_kana, strlen(given_kana), out + a + 1, cap - a - 1, &b) != 0)
        return -1;
    return (int)(a + 1 + b);
}

#define PNAME_KEY_MAX (2 * ELIG_NAME_MAX + 4)

static uint64_t pname_hash(const char *folded, int len, elig_date_t birth, uint8_t sex)
{
    return XXH3_64bits_withSeed(folded, (size_t)len, ((uint64_t)birth << 8) | sex);
}

/* The hash of a record's names, birth date and sex; false when its kana do not fold. */
static bool pname_of(const struct elig_record *r, uint64_t *h)
{
    char key[PNAME_KEY_MAX];
    int len = pname_fold(r->family_kana, r->given_kana, key, sizeof key);
    if (len < 0)
        return false;
    *h = pname_hash(key, len, r->birth_date, r->sex);
    return true;
}

static uint64_t pname_next(const struct elig_index *ix, uint64_t b)
{
    return b + 1 == ix->pname_buckets ? 0 : b + 1;
}

/* Writer: a free slot (empty or removed) on h's probe; -ELIG_EFULL when there is none. */
static int pname_free_slot(const struct elig_index *ix, uint64_t h, uint64_t *bucket,
                           unsigned *slot)
{
    uint64_t b = bucket_of(h, ix->pname_buckets);
    for (uint64_t n = 0; n < ix->pname_buckets; n++, b = pname_next(ix, b))
        for (unsigned i = 0; i < PNAME_SLOTS; i++)
            if (ix->pnames[b].ref[i] == 0 || ix->pnames[b].ref[i] == PNAME_TOMB) {
                *bucket = b;
                *slot = i;
                return 0;
            }
    return -ELIG_EFULL;
}

static void pname_set(struct elig_index *ix, uint64_t b, unsigned i, uint32_t v)
{
    struct pname_bucket *pb = &ix->pnames[b];
    seq_write_begin(&pb->seq);
    __atomic_store_n(&pb->ref[i], v, __ATOMIC_RELAXED);
    seq_write_end(&pb->seq);
}

/* Writer: take record ref's entry (under h) out. */
static void pname_remove(struct elig_index *ix, uint64_t h, uint32_t ref)
{
    uint64_t b = bucket_of(h, ix->pname_buckets);
    for (uint64_t n = 0; n < ix->pname_buckets; n++, b = pname_next(ix, b)) {
        bool empty = false;
        for (unsigned i = 0; i < PNAME_SLOTS; i++) {
            if (ix->pnames[b].ref[i] == ref + 1) {
                pname_set(ix, b, i, PNAME_TOMB);
                return;
            }
            empty |= ix->pnames[b].ref[i] == 0;
        }
        if (empty)
            return;
    }
}

/* Writer: the entry of a stored record (its names read back), for pname_remove(). */
static bool pname_stored(const struct elig_index *ix, const struct ix_rec *r, uint64_t *h)
{
    struct elig_record old;
    return rec_decode(ix, r, 0, true, &old) == 0 && pname_of(&old, h);
}

int elig_index_find_by_name(const struct elig_index *ix, const char *family_kana,
                            const char *given_kana, elig_date_t birth, uint8_t sex, uint32_t *refs,
                            size_t max, size_t *n)
{
    *n = 0;
    if (!ix->pnames)
        return -ENOTSUP;
    char want[PNAME_KEY_MAX], got[PNAME_KEY_MAX];
    int wlen = pname_fold(family_kana, given_kana, want, sizeof want);
    if (wlen < 0)
        return -EINVAL;
    uint64_t b = bucket_of(pname_hash(want, wlen, birth, sex), ix->pname_buckets);
    struct elig_record cand, *r = &cand;
    int rc = 0;
    for (uint64_t steps = 0; rc == 0 && steps < ix->pname_buckets; steps++, b = pname_next(ix, b)) {
        const struct pname_bucket *pb = &ix->pnames[b];
        uint32_t copy[PNAME_SLOTS];
        int t = 0;
        for (; t < SEQ_TRIES; t++) {
            uint32_t v = seq_read_begin(&pb->seq);
            if (v & 1) {
                seq_backoff(t);
                continue;
            }
            for (unsigned i = 0; i < PNAME_SLOTS; i++)
                copy[i] = __atomic_load_n(&pb->ref[i], __ATOMIC_RELAXED);
            if (seq_read_ok(&pb->seq, v))
                break;
        }
        if (t == SEQ_TRIES) {
            rc = -EAGAIN;
            break;
        }
        bool empty = false;
        for (unsigned i = 0; rc == 0 && i < PNAME_SLOTS; i++) {
            if (copy[i] == 0 || copy[i] == PNAME_TOMB) {
                empty |= copy[i] == 0;
                continue;
            }
            uint32_t ref = copy[i] - 1;
            /* the candidate itself decides: a record gone meanwhile, or a hash's neighbour */
            if (elig_index_read(ix, ref, r) != 0 || r->birth_date != birth || r->sex != sex)
                continue;
            int glen = pname_fold(r->family_kana, r->given_kana, got, sizeof got);
            if (glen != wlen || memcmp(got, want, (size_t)wlen) != 0)
                continue;
            if (*n == max)
                rc = -ENOBUFS;
            else
                refs[(*n)++] = ref;
        }
        if (empty)
            break;
    }
    return rc;
}

int elig_index_insert(struct elig_index *ix, const struct elig_record *rec, uint32_t *ref_out)
{
    if (!ix->writer)
        return -EROFS;
    int rc = elig_record_check(rec, NULL);
    if (rc < 0)
        return rc;
    struct ix_meta *m = ix->meta;
    struct ix_ckey ck;
    struct ix_rec r;
    memset(&r, 0, sizeof r);
    uint32_t ins;
    if ((rc = ckey_make(ix, &rec->key, true, &ck)) < 0 || (rc = rec_encode(ix, rec, &r)) < 0 ||
        (rc = dict_id(ix->insurers, rec->key.insurer, ELIG_INSURER_LEN, true, &ins)) < 0)
        return rc;
    if (m->free_head == ELIG_INDEX_NIL && m->high >= m->capacity)
        return -ELIG_EFULL;
    uint64_t h = ckey_hash(ix, &ck), kb, nh = 0, nb = 0;
    unsigned ks, ns = 0;
    if ((rc = key_free_slot(ix, h, &kb, &ks)) < 0)
        return rc;
    if (m->key_used + 1 > ix->key_buckets * KEY_SLOTS * KEY_LIMIT_PCT / 100)
        return -ELIG_EFULL;
    bool named = ix->pnames && pname_of(rec, &nh);
    if (named && (rc = pname_free_slot(ix, nh, &nb, &ns)) < 0)
        return rc;

    mutating(ix, 1);
    uint32_t person;
    if ((rc = person_ensure(ix, rec->person_id, &person)) < 0) {
        mutating(ix, 0);
        return rc;
    }
    uint32_t ref;
    if (m->free_head != ELIG_INDEX_NIL) {
        ref = m->free_head;
        m->free_head = ix->recs[ref].next;
    } else {
        ref = (uint32_t)m->high;
        __atomic_store_n(&m->high, m->high + 1, __ATOMIC_RELAXED);
    }
    struct person_bucket *pb = person_bucket(ix, person);
    unsigned pi = person % PERSON_SLOTS;
    r.num = ck.num;
    r.kw = ck.kw | (uint64_t)REC_LIVE << 63;
    r.person = person;
    seq_write_begin(&pb->seq);
    r.next = pb->head[pi];
    rec_store(ix, ref, &r);
    pb->head[pi] = ref;
    seq_write_end(&pb->seq);
    key_put(ix, h, kb, ks, tag_of(h), ref);
    if (named)
        pname_set(ix, nb, ns, ref + 1);
    counter_add(&m->records, 1);
    mutating(ix, 0);
    if (ref_out)
        *ref_out = ref;
    return 0;
}

void elig_index_prefetch_key(const struct elig_index *ix, const struct elig_key *key)
{
    struct ix_ckey ck;
    if (ckey_make(ix, key, false, &ck) == 0) /* a new string key: nothing to ask for */
        prefetch_line(&ix->keys[bucket_of(ckey_hash(ix, &ck), ix->key_buckets)]);
}

void elig_index_prefetch_card(const struct elig_index *ix, uint64_t card_id)
{
    prefetch_line(&ix->cards[bucket_of(hash_of(ix, &card_id, sizeof card_id), ix->card_buckets)]);
}

/* Writer: request the lines inserting rec will touch: key and person buckets, name slots. */
void elig_index_prefetch_record(const struct elig_index *ix, const struct elig_record *rec)
{
    elig_index_prefetch_key(ix, &rec->key);
    uint64_t pid = rec->person_id;
    prefetch_line(&ix->persons[bucket_of(hash_of(ix, &pid, sizeof pid), ix->person_buckets)]);
    char buf[2 * ELIG_NAME_MAX + 1];
    size_t len = name_pair(rec->family_kanji, rec->family_kana, buf);
    if (len)
        elig_dict_prefetch(ix->names, buf, len);
    if ((len = name_pair(rec->given_kanji, rec->given_kana, buf)) != 0)
        elig_dict_prefetch(ix->names, buf, len);
    uint64_t nh;
    if (ix->pnames && pname_of(rec, &nh))
        prefetch_line(&ix->pnames[bucket_of(nh, ix->pname_buckets)]);
}

int elig_index_insert_batch(struct elig_index *ix, const struct elig_record *recs, size_t n,
                            uint32_t *refs, int *status)
{
    enum { D = ELIG_INDEX_GROUP };
    if (!ix->writer)
        return -EROFS;
    if (n > 0 && (!recs || !status))
        return -EINVAL;
    size_t added = 0;
    for (size_t i = 0; i < n + D; i++) {
        if (i < n)
            elig_index_prefetch_record(ix, &recs[i]);
        if (i >= D) {
            size_t k = i - D;
            status[k] = elig_index_insert(ix, &recs[k], refs ? &refs[k] : NULL);
            added += status[k] == 0;
        }
    }
    return (int)(added > INT32_MAX ? INT32_MAX : added);
}

/* Writer: live record ref, or -ENOENT. */
static int live_record(const struct elig_index *ix, uint32_t ref, const struct ix_rec **r)
{
    if (ref >= ix->meta->high || KW_STATE(ix->recs[ref].kw) != REC_LIVE)
        return -ENOENT;
    *r = &ix->recs[ref];
    return 0;
}

int elig_index_replace(struct elig_index *ix, uint32_t ref, const struct elig_record *rec)
{
    if (!ix->writer)
        return -EROFS;
    const struct ix_rec *old;
    int rc = live_record(ix, ref, &old);
    if (rc < 0)
        return rc;
    if ((rc = elig_record_check(rec, NULL)) < 0)
        return rc;
    struct ix_ckey ck;
    uint32_t person;
    if (ckey_make(ix, &rec->key, false, &ck) < 0 || !ckey_eq(old, &ck) ||
        person_probe(ix, rec->person_id, &person) < 0 || person != old->person)
        return -EINVAL;
    struct ix_rec r = *old;
    if ((rc = rec_encode(ix, rec, &r)) < 0)
        return rc;
    /* the lookup by person moves the record only when what it hashes changed (interned name
     * pairs compare as ids): a loss or a co-payment change reads no names back */
    bool moved = ix->pnames && (r.family != old->family || r.given != old->given ||
                                r.date[D_BIRTH] != old->date[D_BIRTH] ||
                                ((r.codes ^ old->codes) & CODES_SEX) != 0);
    uint64_t oh = 0, nh = 0, nb = 0;
    unsigned ns = 0;
    bool had = moved && pname_stored(ix, old, &oh);
    bool named = moved && pname_of(rec, &nh);
    if (named && (rc = pname_free_slot(ix, nh, &nb, &ns)) < 0)
        return rc; /* nothing changed */
    mutating(ix, 1);
    rec_store(ix, ref, &r);
    if (had)
        pname_remove(ix, oh, ref);
    if (named)
        pname_set(ix, nb, ns, ref + 1);
    mutating(ix, 0);
    return 0;
}

int elig_index_delete(struct elig_index *ix, uint32_t ref)
{
    if (!ix->writer)
        return -EROFS;
    const struct ix_rec *cur;
    int rc = live_record(ix, ref, &cur);
    if (rc < 0)
        return rc;
    struct ix_rec r = *cur;
    struct ix_ckey ck = { r.num, r.kw & KW_KEY };
    struct ix_meta *m = ix->meta;
    uint64_t nh;
    bool named = ix->pnames && pname_stored(ix, cur, &nh);
    mutating(ix, 1);
    key_remove(ix, &ck, ref);
    if (named)
        pname_remove(ix, nh, ref);
    struct person_bucket *pb = person_bucket(ix, r.person);
    unsigned pi = r.person % PERSON_SLOTS;
    seq_write_begin(&pb->seq);
    if (pb->head[pi] == ref) {
        pb->head[pi] = r.next;
    } else {
        /* bounded: a chain holds at most every record once */
        uint32_t p = pb->head[pi];
        for (uint64_t steps = 0; p != ELIG_INDEX_NIL && steps < m->high; steps++) {
            if (ix->recs[p].next == ref) {
                struct ix_rec prev = ix->recs[p];
                prev.next = r.next;
                rec_store(ix, p, &prev);
                break;
            }
            p = ix->recs[p].next;
        }
    }
    r.kw &= KW_KEY; /* REC_FREE */
    r.next = m->free_head;
    rec_store(ix, ref, &r);
    seq_write_end(&pb->seq);
    m->free_head = ref;
    counter_add(&m->records, -1);
    mutating(ix, 0);
    return 0;
}

static int card_probe(const struct elig_index *ix, uint64_t card_id, uint64_t *slot)
{
    return id_probe(ix, ix->cards, ix->card_buckets, offsetof(struct card_bucket, id), CARD_SLOTS,
                    card_id, slot);
}

int elig_index_card_put(struct elig_index *ix, const struct elig_card *c)
{
    if (!ix->writer)
        return -EROFS;
    if (c->card_id == 0 || c->person_id == 0 || c->state < ELIG_CARD_REGISTERED ||
        c->state > ELIG_CARD_RETURNED)
        return -EINVAL;
    uint64_t slot;
    int rc = card_probe(ix, c->card_id, &slot);
    if (rc == -ENOENT && (slot == ELIG_INDEX_NIL || ix->meta->cards >= ix->meta->cards_cap))
        return -ELIG_EFULL;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    bool fresh = rc == -ENOENT;
    mutating(ix, 1);
    uint32_t person;
    if ((rc = person_ensure(ix, c->person_id, &person)) < 0) {
        mutating(ix, 0);
        return rc;
    }
    struct card_bucket *cb = &ix->cards[slot / CARD_SLOTS];
    unsigned i = (unsigned)(slot % CARD_SLOTS);
    seq_write_begin(&cb->seq);
    cb->id[i] = c->card_id;
    cb->person[i] = person | (uint32_t)c->state << 30;
    cb->date[i][0] = c->registered_on;
    cb->date[i][1] = c->cert_expiry;
    cb->date[i][2] = c->dereg_effective;
    cb->date[i][3] = c->returned_on;
    seq_write_end(&cb->seq);
    if (fresh)
        counter_add(&ix->meta->cards, 1);
    mutating(ix, 0);
    return 0;
}

int elig_index_card_put_batch(struct elig_index *ix, const struct elig_card *cards, size_t n,
                              int *status)
{
    enum { D = ELIG_INDEX_GROUP };
    if (!ix->writer)
        return -EROFS;
    if (n > 0 && (!cards || !status))
        return -EINVAL;
    size_t stored = 0;
    for (size_t i = 0; i < n + D; i++) {
        if (i < n) {
            uint64_t cid = cards[i].card_id, pid = cards[i].person_id;
            elig_index_prefetch_card(ix, cid);
            prefetch_line(
                &ix->persons[bucket_of(hash_of(ix, &pid, sizeof pid), ix->person_buckets)]);
        }
        if (i >= D) {
            status[i - D] = elig_index_card_put(ix, &cards[i - D]);
            stored += status[i - D] == 0;
        }
    }
    return (int)(stored > INT32_MAX ? INT32_MAX : stored);
}

int elig_index_insurer_name_set(struct elig_index *ix, const char insurer[ELIG_INSURER_LEN],
                                const char *name, size_t len)
{
    if (!ix->writer)
        return -EROFS;
    if (len > ELIG_INSURER_NAME_MAX)
        return -E2BIG;
    uint32_t ins, nid = 0;
    int rc = dict_id(ix->insurers, insurer, ELIG_INSURER_LEN, true, &ins);
    if (rc == 0 && len > 0)
        rc = dict_id(ix->names, name, len, true, &nid);
    if (rc < 0)
        return rc;
    __atomic_store_n(&ix->insurer_names[ins], nid, __ATOMIC_RELEASE);
    return 0;
}

/* ---- readers ----------------------------------------------------------------------------- */

static void hit_add_person(struct elig_index_hit *hit, uint32_t person)
{
    for (uint32_t i = 0; i < hit->npersons; i++)
        if (hit->person[i] == person)
            return;
    if (hit->npersons == ELIG_INDEX_KEY_PERSONS) {
        hit->status = -E2BIG;
        return;
    }
    hit->person[hit->npersons++] = person;
}

/* Compare the candidates of one bucket with the key; add their persons to hit. */
static void key_verify(const struct elig_index *ix, const struct ix_ckey *ck, const uint32_t *cand,
                       unsigned n, struct elig_index_hit *hit)
{
    for (unsigned i = 0; i < n; i++) {
        struct ix_rec r;
        int rc = rec_load_part(ix, cand[i], &r, REC_HEAD);
        if (rc == -EAGAIN)
            hit->status = -EAGAIN;
        if (rc == 0 && KW_STATE(r.kw) == REC_LIVE && ckey_eq(&r, ck))
            hit_add_person(hit, r.person);
    }
}

/*
 * One key's lookup as a small state machine, so that many can be in flight
 * (elig_index_lookup). Each step ends by requesting the line the next step
 * will read, and returns to the scheduler instead of waiting for it.
 */
enum probe_step {
    PROBE_IDLE,   /* slot free */
    PROBE_SCAN,   /* bucket requested: scan it */
    PROBE_VERIFY, /* candidate records requested: compare them */
};

struct key_probe {
    struct ix_ckey ck;
    uint64_t bucket;
    size_t at;      /* the key's position in the batch */
    unsigned scans; /* buckets scanned: the table's size bounds the walk */
    uint8_t tag;
    uint8_t step; /* enum probe_step */
    bool more;
    unsigned ncand;
    uint32_t cand[KEY_SLOTS];
};

static void hit_finish(struct elig_index_hit *hit)
{
    if (hit->status == -ENOENT && hit->npersons > 0)
        hit->status = 0;
}

/* Compact key and hash; request the home bucket. PROBE_IDLE when no record can have the key. */
static void probe_start(const struct elig_index *ix, const struct elig_key *key, size_t at,
                        struct key_probe *p, struct elig_index_hit *hit)
{
    *hit = (struct elig_index_hit){ .status = -ENOENT };
    p->at = at;
    p->scans = 0;
    p->step = PROBE_IDLE;
    if (ckey_make(ix, key, false, &p->ck) < 0)
        return;
    uint64_t h = ckey_hash(ix, &p->ck);
    p->tag = tag_of(h);
    p->bucket = bucket_of(h, ix->key_buckets);
    p->step = PROBE_SCAN;
    prefetch_line(&ix->keys[p->bucket]);
}

/* Go on to the next bucket of the probe (an entry passed this one): request it. */
static void probe_next_bucket(const struct elig_index *ix, struct key_probe *p)
{
    p->bucket = next_bucket(p->bucket, ix->key_buckets);
    p->step = PROBE_SCAN;
    prefetch_line(&ix->keys[p->bucket]);
}

/* One step of probe p. Returns true when its lookup is finished. */
static bool probe_step(const struct elig_index *ix, struct key_probe *p, struct elig_index_hit *hit)
{
    if (p->step == PROBE_SCAN) {
        if (++p->scans > ix->key_buckets ||
            key_scan(ix, p->bucket, p->tag, p->cand, &p->ncand, &p->more) < 0) {
            hit->status = -EAGAIN;
            return true;
        }
        if (p->ncand) { /* key_scan requested the candidates */
            p->step = PROBE_VERIFY;
            return false;
        }
    } else {
        key_verify(ix, &p->ck, p->cand, p->ncand, hit);
    }
    if (!p->more)
        return true;
    probe_next_bucket(ix, p);
    return false;
}

/* Slot p takes the next key that can be looked up; false when none is left (p idle). */
static bool probe_refill(const struct elig_index *ix, const struct elig_key *keys, size_t n,
                         size_t *next, struct key_probe *p, struct elig_index_hit *hits)
{
    for (p->step = PROBE_IDLE; p->step == PROBE_IDLE && *next < n; ++*next)
        probe_start(ix, &keys[*next], *next, p, &hits[*next]);
    return p->step != PROBE_IDLE;
}

/*
 * Interleaved lookups (AMAC: asynchronous memory access chaining): up to
 * ELIG_INDEX_GROUP keys are in flight, each a state machine (key_probe) that
 * requests the line its next step reads and yields; the scheduler visits the
 * slots in turn, and a slot whose lookup finished takes the next key at once.
 * So a key that needs a second bucket or a second candidate holds only its
 * own slot, where a fixed pipeline would stall every key behind it, and the
 * misses of the whole group stay overlapped until the batch runs out.
 */
int elig_index_lookup(const struct elig_index *ix, const struct elig_key *keys, size_t n,
                      struct elig_index_hit *hits)
{
    enum { W = ELIG_INDEX_GROUP };
    if (n > 0 && (!keys || !hits))
        return -EINVAL;
    struct key_probe pr[W];
    size_t next = 0, active = 0;
    const unsigned slots = n < W ? (unsigned)n : W; /* one key (n = 1) is one slot, not W */
    for (unsigned s = 0; s < slots; s++)
        active += probe_refill(ix, keys, n, &next, &pr[s], hits);
    while (active > 0) {
        for (unsigned s = 0; s < slots; s++) {
            struct key_probe *p = &pr[s];
            if (p->step == PROBE_IDLE || !probe_step(ix, p, &hits[p->at]))
                continue;
            hit_finish(&hits[p->at]);
            active -= !probe_refill(ix, keys, n, &next, p, hits);
        }
    }
    return 0;
}

int elig_index_key_records(const struct elig_index *ix, const struct elig_key *key, uint32_t *refs,
                           size_t max, size_t *n)
{
    struct ix_ckey ck;
    *n = 0;
    if (ckey_make(ix, key, false, &ck) < 0)
        return 0;
    uint64_t h = ckey_hash(ix, &ck);
    uint8_t tag = tag_of(h);
    uint64_t b = bucket_of(h, ix->key_buckets);
    bool more = true;
    for (uint64_t step = 0; more && step < ix->key_buckets;
         step++, b = next_bucket(b, ix->key_buckets)) {
        uint32_t cand[KEY_SLOTS];
        unsigned nc;
        int rc = key_scan(ix, b, tag, cand, &nc, &more);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < nc; i++) {
            struct ix_rec r;
            if ((rc = rec_load(ix, cand[i], &r)) == -EAGAIN)
                return rc;
            if (rc < 0 || KW_STATE(r.kw) != REC_LIVE || !ckey_eq(&r, &ck))
                continue;
            if (*n == max)
                return -ENOBUFS;
            refs[(*n)++] = cand[i];
        }
    }
    return 0;
}

/* One walk of a person's chain; -ESTALE when the writer changed it meanwhile. */
static int person_walk(const struct elig_index *ix, uint32_t person, unsigned flags,
                       struct elig_record *recs, uint32_t *refs, size_t max, size_t *n)
{
    uint64_t pid;
    uint32_t head, seq;
    int rc = person_get(ix, person, &pid, &head, &seq);
    if (rc < 0)
        return rc;
    const uint32_t *s = &person_bucket(ix, person)->seq;
    size_t k = 0;
    for (uint32_t cur = head; cur != ELIG_INDEX_NIL;) {
        struct ix_rec r;
        rc = k == max ? -ENOBUFS : rec_load(ix, cur, &r);
        if (rc == 0 && (KW_STATE(r.kw) != REC_LIVE || r.person != person))
            rc = -ESTALE;
        if (rc == 0)
            rc = rec_decode(ix, &r, pid, flags & ELIG_INDEX_NAMES, &recs[k]);
        if (rc < 0)
            return seq_read_ok(s, seq) ? (rc == -ENOENT ? -ESTALE : rc) : -ESTALE;
        if (refs)
            refs[k] = cur;
        k++;
        cur = r.next;
    }
    if (!seq_read_ok(s, seq))
        return -ESTALE;
    *n = k;
    return 0;
}

int elig_index_person_records(const struct elig_index *ix, uint32_t person, unsigned flags,
                              struct elig_record *recs, uint32_t *refs, size_t max, size_t *n)
{
    *n = 0;
    for (int t = 0; t < WALK_TRIES; t++) {
        int rc = person_walk(ix, person, flags, recs, refs, max, n);
        if (rc != -ESTALE)
            return rc;
        seq_backoff(t);
    }
    return -EAGAIN;
}

/*
 * One person's walk in elig_index_gather(), as a state machine like
 * key_probe: the person bucket, then each record of the chain, each step
 * requesting the line of the next. The records are copied here (at most
 * WALK_LOCAL) and decoded, in the persons' order, once the person bucket's
 * counter shows the chain did not change meanwhile. Anything unusual (a
 * longer chain, the writer in the way, a stale link) hands the person to the
 * careful elig_index_person_records(), which retries.
 */
enum walk_step {
    WALK_BUCKET,   /* person bucket requested */
    WALK_RECORD,   /* record cur requested */
    WALK_DONE,     /* chain copied: decode it when its turn comes */
    WALK_FAILED,   /* status set: nothing to decode */
    WALK_FALLBACK, /* do it the careful way when its turn comes */
};
#define WALK_LOCAL 8

struct walk_state {
    uint32_t person;
    uint32_t cur;   /* the record to read next */
    uint32_t seq;   /* the person bucket's counter when its head was read */
    int32_t status; /* WALK_FAILED's */
    uint64_t pid;
    uint8_t step; /* enum walk_step */
    unsigned k;   /* records copied */
    struct ix_rec r[WALK_LOCAL];
};

/* Begin a person's walk: request its bucket. */
static void walk_start(const struct elig_index *ix, uint32_t person, struct walk_state *w)
{
    w->person = person;
    w->k = 0;
    if (person >= ix->person_buckets * PERSON_SLOTS) {
        w->status = -ENOENT;
        w->step = WALK_FAILED;
        return;
    }
    w->step = WALK_BUCKET;
    prefetch_line(person_bucket(ix, person));
}

/* One step of walk w: read what the previous step requested, request the next line. */
static void walk_step(const struct elig_index *ix, struct walk_state *w)
{
    if (w->step == WALK_BUCKET) {
        int rc = person_get(ix, w->person, &w->pid, &w->cur, &w->seq);
        if (rc < 0) {
            w->status = rc;
            w->step = WALK_FAILED;
            return;
        }
        w->step = WALK_RECORD;
    } else {
        struct ix_rec *r = &w->r[w->k];
        if (w->k == WALK_LOCAL || rec_load(ix, w->cur, r) < 0 || KW_STATE(r->kw) != REC_LIVE ||
            r->person != w->person) {
            w->step = WALK_FALLBACK;
            return;
        }
        w->k++;
        w->cur = r->next;
    }
    if (w->cur == ELIG_INDEX_NIL)
        w->step = WALK_DONE;
    else
        prefetch_record(ix, w->cur, sizeof(struct ix_rec));
}

/* The walk's records, decoded into recs + *used (its turn come); its span. */
static void walk_commit(const struct elig_index *ix, struct walk_state *w, unsigned flags,
                        struct elig_record *recs, size_t max, size_t *used,
                        struct elig_index_span *sp)
{
    *sp = (struct elig_index_span){ .first = (uint32_t)*used };
    if (w->step == WALK_FAILED) {
        sp->status = w->status;
        return;
    }
    if (w->step == WALK_DONE && seq_read_ok(&person_bucket(ix, w->person)->seq, w->seq)) {
        if (w->k > max - *used) {
            sp->status = -ENOBUFS;
            return;
        }
        unsigned i = 0;
        while (i < w->k &&
               rec_decode(ix, &w->r[i], w->pid, flags & ELIG_INDEX_NAMES, &recs[*used + i]) == 0)
            i++;
        if (i == w->k) {
            sp->status = 0;
            sp->count = w->k;
            *used += w->k;
            return;
        }
    }
    size_t got = 0; /* the chain moved, or something was unusual */
    sp->status =
        elig_index_person_records(ix, w->person, flags, recs + *used, NULL, max - *used, &got);
    sp->count = (uint32_t)got;
    *used += got;
}

/*
 * Interleaved as elig_index_lookup(): up to W persons' walks in flight, each
 * stepping when the line it asked for has had time to come. Walks end out of
 * order but are committed (decoded into recs) in order, through a ring of
 * RING states: a walk may start only while its ring entry is free, so one
 * long chain holds up starts at most RING - W persons later.
 */
int elig_index_gather(const struct elig_index *ix, const uint32_t *persons, size_t n,
                      unsigned flags, struct elig_record *recs, size_t max,
                      struct elig_index_span *spans)
{
    enum { W = 2 * ELIG_INDEX_GROUP, RING = 4 * ELIG_INDEX_GROUP };
    _Static_assert((RING & (RING - 1)) == 0, "a power of two");
    if (n > 0 && (!persons || !spans || (max > 0 && !recs)))
        return -EINVAL;
    struct walk_state ring[RING];
    size_t commit = 0, next = 0, used = 0;
    unsigned inflight = 0;
    while (commit < n) {
        for (; inflight < W && next < n && next - commit < RING; next++) {
            walk_start(ix, persons[next], &ring[next & (RING - 1)]);
            inflight += ring[next & (RING - 1)].step <= WALK_RECORD;
        }
        for (size_t i = commit; i < next; i++) {
            struct walk_state *w = &ring[i & (RING - 1)];
            if (w->step <= WALK_RECORD) {
                walk_step(ix, w);
                inflight -= w->step > WALK_RECORD;
            }
        }
        for (; commit < next && ring[commit & (RING - 1)].step > WALK_RECORD; commit++)
            walk_commit(ix, &ring[commit & (RING - 1)], flags, recs, max, &used, &spans[commit]);
    }
    return 0;
}

int elig_index_read(const struct elig_index *ix, uint32_t ref, struct elig_record *out)
{
    for (int t = 0; t < WALK_TRIES; t++) {
        struct ix_rec r;
        uint64_t pid;
        uint32_t head;
        int rc = rec_load(ix, ref, &r);
        if (rc < 0)
            return rc;
        if (KW_STATE(r.kw) != REC_LIVE)
            return -ENOENT;
        if ((rc = person_get(ix, r.person, &pid, &head, NULL)) < 0)
            return rc == -ENOENT ? -EAGAIN : rc;
        if ((rc = rec_decode(ix, &r, pid, true, out)) < 0)
            return rc;
        /* the slot may have been freed and reused while we read its person */
        struct ix_rec again;
        if (rec_load(ix, ref, &again) == 0 && memcmp(&again, &r, sizeof r) == 0)
            return 0;
    }
    return -EAGAIN;
}

static void card_fill(const struct elig_index *ix, const struct card_bucket *cb, unsigned i,
                      struct elig_index_card_hit *hit)
{
    uint32_t v;
    for (int t = 0; t < SEQ_TRIES; t++) {
        v = seq_read_begin(&cb->seq);
        struct elig_card c = {
            .card_id = cb->id[i],
            .registered_on = cb->date[i][0],
            .cert_expiry = cb->date[i][1],
            .dereg_effective = cb->date[i][2],
            .returned_on = cb->date[i][3],
            .state = (uint8_t)(cb->person[i] >> 30),
        };
        uint32_t person = cb->person[i] & ((1u << 30) - 1);
        if (!seq_read_ok(&cb->seq, v)) {
            seq_backoff(t);
            continue;
        }
        if (c.card_id != hit->card.card_id) {
            hit->status = -ENOENT;
            return;
        }
        uint32_t head;
        int rc = person_get(ix, person, &c.person_id, &head, NULL);
        hit->status = rc == -ENOENT ? -EAGAIN : rc;
        hit->person = person;
        hit->card = c;
        return;
    }
    hit->status = -EAGAIN;
}

/* The person reference of card slot i of bucket cb, or ELIG_INDEX_NIL if it kept changing. */
static uint32_t card_person(const struct card_bucket *cb, unsigned i)
{
    for (int t = 0; t < SEQ_TRIES; t++) {
        uint32_t v = seq_read_begin(&cb->seq);
        uint32_t person = cb->person[i] & ((1u << 30) - 1);
        if (seq_read_ok(&cb->seq, v))
            return person;
        seq_backoff(t);
    }
    return ELIG_INDEX_NIL;
}

/* The same software pipeline as elig_index_lookup(): card bucket, person bucket, fill. */
int elig_index_lookup_cards(const struct elig_index *ix, const uint64_t *ids, size_t n,
                            struct elig_index_card_hit *hits)
{
    enum { D = ELIG_INDEX_GROUP, RING = 4 * ELIG_INDEX_GROUP };
    if (n > 0 && (!ids || !hits))
        return -EINVAL;
    uint64_t slot[RING];
    for (size_t i = 0; i < n + 2 * D; i++) {
        if (i < n) {
            uint64_t id = ids[i];
            elig_index_prefetch_card(ix, id);
        }
        if (i >= D && i - D < n) {
            size_t k = i - D;
            struct elig_index_card_hit *hit = &hits[k];
            memset(hit, 0, sizeof *hit);
            hit->card.card_id = ids[k];
            hit->status = ids[k] ? card_probe(ix, ids[k], &slot[k & (RING - 1)]) : -ENOENT;
            if (hit->status == 0) {
                uint64_t sl = slot[k & (RING - 1)];
                uint32_t p = card_person(&ix->cards[sl / CARD_SLOTS], (unsigned)(sl % CARD_SLOTS));
                if (p != ELIG_INDEX_NIL)
                    prefetch_line(person_bucket(ix, p < ix->person_buckets * PERSON_SLOTS ? p : 0));
            }
        }
        if (i >= 2 * D && i - 2 * D < n) {
            size_t k = i - 2 * D;
            uint64_t sl = slot[k & (RING - 1)];
            if (hits[k].status == 0)
                card_fill(ix, &ix->cards[sl / CARD_SLOTS], (unsigned)(sl % CARD_SLOTS), &hits[k]);
        }
    }
    return 0;
}

const char *elig_index_insurer_name_ref(const struct elig_index *ix,
                                        const char insurer[ELIG_INSURER_LEN], size_t *len)
{
    uint32_t ins;
    if (elig_dict_find(ix->insurers, insurer, ELIG_INSURER_LEN, &ins) < 0)
        return NULL;
    uint32_t nid = __atomic_load_n(&ix->insurer_names[ins], __ATOMIC_ACQUIRE);
    const char *s = nid ? elig_dict_get(ix->names, nid, len) : NULL;
    return s && *len <= ELIG_INSURER_NAME_MAX ? s : NULL;
}

int elig_index_insurer_name(const struct elig_index *ix, const char insurer[ELIG_INSURER_LEN],
                            char *buf)
{
    size_t len;
    const char *s = elig_index_insurer_name_ref(ix, insurer, &len);
    if (s == NULL)
        return -ENOENT;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

void elig_index_stats(const struct elig_index *ix, struct elig_index_stats *st)
{
    const struct ix_meta *m = ix->meta;
    memset(st, 0, sizeof *st);
    st->records = counter(&m->records);
    st->capacity = m->capacity;
    st->persons = counter(&m->persons);
    st->persons_capacity = m->persons_cap;
    st->cards = counter(&m->cards);
    st->cards_capacity = m->cards_cap;
    st->key_stuck = counter(&m->key_stuck);
    st->insurers = elig_dict_count(ix->insurers) - 1;
    st->names = elig_dict_count(ix->names) - 1;
    st->key_strings = elig_dict_count(ix->keystr) - 1;
    st->names_capacity = elig_dict_capacity(ix->names) - 1;
    st->key_strings_capacity = elig_dict_capacity(ix->keystr) - 1;
    st->segment_bytes = ix->size;
    st->backing = ix->seg ? elig_seg_backing(ix->seg) : 0;
    st->applied_lsn = elig_index_applied_lsn(ix);
}

/* ---- export and rebuild ------------------------------------------------------------------ */

static int export_records(const struct elig_index *ix, const struct elig_index_export *ex)
{
    uint64_t high = __atomic_load_n(&ix->meta->high, __ATOMIC_RELAXED);
    struct elig_record *rec = malloc(sizeof *rec);
    int rc = rec ? 0 : -ENOMEM;
    for (uint64_t ref = 0; rc == 0 && ex->record && ref < high; ref++) {
        rc = elig_index_read(ix, (uint32_t)ref, rec);
        if (rc == 0)
            rc = ex->record(ex->ctx, rec);
        else if (rc == -ENOENT)
            rc = 0; /* a free slot */
    }
    free(rec);
    return rc;
}

static int export_cards(const struct elig_index *ix, const struct elig_index_export *ex)
{
    for (uint64_t b = 0; ex->card && b < ix->card_buckets; b++) {
        for (unsigned i = 0; i < CARD_SLOTS; i++) {
            struct elig_index_card_hit hit = { .card.card_id = ix->cards[b].id[i] };
            if (hit.card.card_id == 0)
                continue;
            card_fill(ix, &ix->cards[b], i, &hit);
            if (hit.status == -ENOENT)
                continue; /* replaced meanwhile */
            int rc = hit.status < 0 ? hit.status : ex->card(ex->ctx, &hit.card);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int export_insurers(const struct elig_index *ix, const struct elig_index_export *ex)
{
    uint32_t n = elig_dict_count(ix->insurers);
    for (uint32_t id = 1; ex->insurer && id < n; id++) {
        size_t len, nlen;
        const char *ins = elig_dict_get(ix->insurers, id, &len);
        uint32_t nid = __atomic_load_n(&ix->insurer_names[id], __ATOMIC_ACQUIRE);
        const char *name = nid ? elig_dict_get(ix->names, nid, &nlen) : NULL;
        if (!ins || len != ELIG_INSURER_LEN || !name)
            continue;
        int rc = ex->insurer(ex->ctx, ins, name, nlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int elig_index_export(const struct elig_index *ix, const struct elig_index_export *ex)
{
    int rc = export_records(ix, ex);
    if (rc == 0)
        rc = export_cards(ix, ex);
    if (rc == 0)
        rc = export_insurers(ix, ex);
    return rc;
}

static int rebuild_record(void *ctx, const struct elig_record *rec)
{
    return elig_index_insert(ctx, rec, NULL);
}

static int rebuild_card(void *ctx, const struct elig_card *card)
{
    return elig_index_card_put(ctx, card);
}

static int rebuild_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                           size_t len)
{
    return elig_index_insurer_name_set(ctx, insurer, name, len);
}

int elig_index_store_id(const struct elig_index *ix, uint8_t out[16])
{
    struct elig_seg_header h;
    int rc = ix->seg ? elig_seg_header_read(ix->seg, &h) : -EINVAL;
    if (rc == 0)
        memcpy(out, h.store_id, sizeof h.store_id);
    return rc;
}

bool elig_index_replaced(const struct elig_index *ix)
{
    struct elig_seg_header h;
    return ix->seg && elig_seg_header_read(ix->seg, &h) == 0 && h.state == ELIG_SEG_REPLACED;
}

/* ---- segment images --------------------------------------------------------------------
 * A snapshot can be the segment's own bytes: everything inside is an offset, so an image taken
 * between applies and copied into a segment of the same layout is that index, in any process.
 */

/* The end of the last region, page aligned: the bytes an image holds. */
static uint64_t regions_end(const struct elig_seg_header *h)
{
    uint64_t end = 0;
    for (int i = 0; i < R_COUNT; i++)
        if (h->regions[i].offset + h->regions[i].size > end)
            end = h->regions[i].offset + h->regions[i].size;
    return align_page(end);
}

int elig_index_image(const struct elig_index *ix, const uint8_t **base, uint64_t *bytes)
{
    struct elig_seg_header h;
    int rc = ix->seg ? elig_seg_header_read(ix->seg, &h) : -EINVAL;
    if (rc < 0)
        return rc;
    *base = (const uint8_t *)ix->base;
    *bytes = regions_end(&h);
    return 0;
}

int elig_index_image_load_begin(struct elig_index *ix, const void *page, uint8_t **dst,
                                uint64_t *bytes)
{
    if (!ix->writer || !ix->seg)
        return -EROFS;
    const struct ix_meta *m = ix->meta;
    if (m->high || m->records || m->persons || m->cards || elig_dict_count(ix->insurers) > 1 ||
        elig_dict_count(ix->keystr) > 1 || elig_dict_count(ix->names) > 1)
        return -EBUSY;
    struct elig_seg_header img, own;
    int rc = elig_seg_header_parse(page, ELIG_INDEX_LAYOUT_VERSION, &img);
    if (rc == 0)
        rc = elig_seg_header_read(ix->seg, &own);
    if (rc < 0)
        return rc;
    if (img.capacity != own.capacity || memcmp(img.regions, own.regions, sizeof own.regions) != 0)
        return -ELIG_ESEGSIZE;
    ix->empty = (struct elig_index_params){ .capacity = m->capacity,
                                            .persons = m->persons_cap,
                                            .cards = m->cards_cap,
                                            .names = elig_dict_capacity(ix->names),
                                            .key_strings = elig_dict_capacity(ix->keystr) };
    *dst = (uint8_t *)ix->base;
    *bytes = regions_end(&own);
    return 0;
}

int elig_index_image_load_end(struct elig_index *ix, bool filled)
{
    struct layout l;
    struct elig_seg_header h;
    int rc = layout_plan(&ix->empty, &l);
    if (rc == 0)
        rc = elig_seg_header_read(ix->seg, &h);
    if (rc < 0)
        return rc; /* cannot happen after a successful begin */
    int why = -ELIG_ESEGMAGIC;
    dicts_detach(ix);
    if (filled && (why = view_attach(ix, &h)) == 0) {
        const struct ix_meta *m = ix->meta;
        if (m->mutating)
            why = -ELIG_EINTERRUPTED;
        else if (m->high > m->capacity || m->records > m->high || m->persons > m->persons_cap ||
                 m->cards > m->cards_cap)
            why = -ELIG_ESEGSIZE;
        if (why == 0) {
            elig_index_publish(ix, m->applied_lsn);
            return 0;
        }
    }
    /* Refused: every region back to zero, then what creation writes. */
    dicts_detach(ix);
    memset(ix->base + l.r[0].offset, 0, l.total - l.r[0].offset);
    if ((rc = layout_init(ix, &l, ix->empty.capacity)) == 0)
        rc = view_attach(ix, &h);
    if (rc < 0)
        return rc;
    elig_index_publish(ix, 0);
    return filled ? why : 0;
}

int elig_index_image_open(const void *image, uint64_t bytes, struct elig_index **out)
{
    struct elig_seg_header h;
    if (bytes < ELIG_SEG_HEADER_SIZE)
        return -ELIG_ESEGSIZE;
    int rc = elig_seg_header_parse(image, ELIG_INDEX_LAYOUT_VERSION, &h);
    if (rc < 0)
        return rc;
    struct elig_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -ENOMEM;
    ix->base = (char *)image;
    ix->size = bytes;
    if ((rc = view_attach(ix, &h)) == 0 && ix->meta->mutating)
        rc = -ELIG_EINTERRUPTED;
    if (rc < 0) {
        view_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

int elig_index_rebuild(const struct elig_index *src, const struct elig_index_params *p,
                       struct elig_index **out)
{
    struct elig_index *dst;
    uint8_t id[16];
    struct elig_index_params same = *p; /* the rebuilt segment belongs to the same store */
    if (!same.store_id && elig_index_store_id(src, id) == 0)
        same.store_id = id;
    int rc = elig_index_create(&same, &dst);
    if (rc < 0)
        return rc;
    dst->hash = src->hash;
    struct elig_index_export ex = { dst, rebuild_record, rebuild_card, rebuild_insurer };
    rc = elig_index_export(src, &ex);
    if (rc < 0) {
        elig_index_close(dst, false);
        unlink(p->path);
        return rc;
    }
    elig_index_publish(dst, elig_index_applied_lsn(src));
    *out = dst;
    return 0;
}
