/* SPDX-License-Identifier: MIT */
#ifndef ELIG_INDEX_H
#define ELIG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_key.h"
#include "elig_record.h"
#include "elig_seg.h"

/**
 * @file
 * The eligibility index: every qualification record and card link of the
 * nation in one mapped segment (elig_seg), found two ways:
 *
 *   insurance-number key -> the persons holding it -> their records
 *   card id              -> the card link and its person -> their records
 *
 * Exactly one writer (the applier) changes it; any number of readers in any
 * process look up at the same time without locks. Lookups are exact: hash
 * tags only filter, the stored key is always compared.
 *
 * Records are referred to by a 32-bit reference (their slot), persons by a
 * 32-bit person reference. References stay valid until the record is deleted.
 */

/** The layout version this code reads and writes (recorded in the segment header). */
#define ELIG_INDEX_LAYOUT_VERSION 1

/** Distinct persons reported for one key by a lookup (keys are, in practice, one person's). */
#define ELIG_INDEX_KEY_PERSONS 4

/** Keys (and cards) whose lookups are in flight together (see elig_index_lookup()). */
#define ELIG_INDEX_GROUP 16

/** No record or person. */
#define ELIG_INDEX_NIL UINT32_MAX

/** Creation parameters. Zero in an optional field picks the default shown. */
struct elig_index_params {
    const char *path;          /**< segment file to create (must not exist) */
    uint64_t capacity;         /**< qualification records it can hold, at most 2^31 */
    uint64_t persons;          /**< optional: distinct persons (default 80% of capacity) */
    uint64_t cards;            /**< optional: card links (default 50% of capacity) */
    uint32_t names;            /**< optional: distinct (kanji, kana) name pairs
                                    (default capacity / 32 + 4096) */
    uint32_t key_strings;      /**< optional: symbol/number pairs that are not both short
                                    decimal strings (default capacity / 64 + 4096) */
    enum elig_seg_pages pages; /**< page policy (see elig_seg.h) */
    const uint8_t *store_id;   /**< optional: the store's 16-byte id, recorded in the segment */
};

/** Occupancy, for operators and benchmarks. */
struct elig_index_stats {
    uint64_t records;              /**< live qualification records */
    uint64_t capacity;             /**< records it can hold */
    uint64_t persons;              /**< persons known */
    uint64_t persons_capacity;     /**< persons it can hold */
    uint64_t cards;                /**< card links */
    uint64_t cards_capacity;       /**< card links it can hold */
    uint64_t key_stuck;            /**< key-table buckets whose overflow count saturated
                                        (lookups through them read on; a rebuild clears it) */
    uint32_t insurers;             /**< distinct insurer numbers */
    uint32_t names;                /**< distinct name pairs */
    uint32_t key_strings;          /**< keys held in string form */
    uint32_t names_capacity;       /**< name pairs it can hold */
    uint32_t key_strings_capacity; /**< keys in string form it can hold */
    uint64_t segment_bytes;        /**< size of the mapping */
    enum elig_seg_backing backing; /**< pages backing it */
    uint64_t applied_lsn;          /**< as last published */
};

/** Result of looking up one insurance-number key. */
struct elig_index_hit {
    int32_t status;                          /**< 0 found; -ENOENT; -E2BIG more persons
                                                  than fit (the first ones are listed);
                                                  -EAGAIN the writer kept changing it */
    uint32_t npersons;                       /**< persons listed in person[] */
    uint32_t person[ELIG_INDEX_KEY_PERSONS]; /**< person references */
};

/** Result of looking up one card. */
struct elig_index_card_hit {
    int32_t status;        /**< 0 found; -ENOENT; -EAGAIN */
    uint32_t person;       /**< person reference of the card's holder */
    struct elig_card card; /**< the link (person_id filled in) */
};

/** Where one person's records landed in the output of elig_index_gather(). */
struct elig_index_span {
    int32_t status; /**< as elig_index_person_records() */
    uint32_t first; /**< index of the first record in the output array */
    uint32_t count; /**< records written */
};

/** An open index (opaque): one process's view of the segment. */
struct elig_index;

/** Hash function: 64 bits of data[0..len). XXH3-64 unless a test replaces it. */
typedef uint64_t (*elig_index_hash_fn)(const void *data, size_t len);

/** Fill the optional sizes of p left at zero with their defaults (as creation does). */
void elig_index_params_resolve(struct elig_index_params *p);

/**
 * The bytes a segment made with p takes (before rounding to huge pages).
 * @return 0 and *bytes; -EINVAL when the sizes cannot be laid out (as
 *         elig_index_create() would say).
 */
int elig_index_size(const struct elig_index_params *p, uint64_t *bytes);

/**
 * Create an empty index in a new segment file and open it as its writer.
 *
 * @return 0 and *out set; -EINVAL (capacity 0 or above 2^31, or persons or
 *         cards above 2^30); the errors of elig_seg_create(); -ENOMEM.
 */
int elig_index_create(const struct elig_index_params *p, struct elig_index **out);

/**
 * Open an existing index.
 *
 * @param mode ELIG_SEG_READONLY (any number, any process; the mapping is
 *             read-only) or ELIG_SEG_WRITER (one at a time)
 * @return 0 and *out set; the errors of elig_seg_open() (-ENOENT, -EBUSY,
 *         -ELIG_ESEGMAGIC, -ELIG_ESEGVERSION, -ELIG_ESEGSIZE,
 *         -ELIG_ESEGCHECKSUM); -ELIG_ESEGMAGIC also when a region does not
 *         hold what the layout says; -ELIG_EINTERRUPTED when opening as
 *         WRITER a segment whose last writer died inside a change (its
 *         structure cannot be trusted: rebuild it from snapshot and log);
 *         -ENOMEM.
 */
int elig_index_open(const char *path, unsigned mode, struct elig_index **out);

/** Close; a writer marks the segment CLEAN when clean is true. NULL is ignored. */
void elig_index_close(struct elig_index *ix, bool clean);

/** The underlying segment (for elig_seg_rename() in a rebuild, or its header). */
struct elig_seg *elig_index_seg(struct elig_index *ix);

/**
 * Test hook: replace the hash of every table in this view. Every view of a
 * segment must use the same function, set before any other call. Not for
 * production use: a poor hash only makes the index slow, never wrong.
 */
void elig_index_set_hash(struct elig_index *ix, elig_index_hash_fn fn);

/* ---- writer ----------------------------------------------------------------
 * Writer functions need a view opened with ELIG_SEG_WRITER (or created) and
 * must be called from one thread at a time. Readers in any thread or process
 * may run concurrently with them.
 */

/**
 * Add a qualification record.
 *
 * @param ref if not NULL, set to the new record's reference
 * @return 0; the errors of elig_record_check() for an invalid record;
 *         -ELIG_EFULL when records, persons, key-table slots or a string
 *         dictionary are exhausted (nothing is added; rebuild larger);
 *         -EROFS on a read-only view.
 */
int elig_index_insert(struct elig_index *ix, const struct elig_record *rec, uint32_t *ref);

/**
 * Add n records, as n calls of elig_index_insert() would, with the key- and
 * person-table lines of the records ahead requested while each is inserted
 * (the bulk path: building from a snapshot or a population). A failing record
 * does not stop the others.
 *
 * @param refs    if not NULL, refs[i] is set for each record added
 * @param status  status[i] is what elig_index_insert() returned for recs[i]
 * @return the number of records added; -EINVAL if n > 0 and recs or status
 *         is NULL; -EROFS on a read-only view.
 */
int elig_index_insert_batch(struct elig_index *ix, const struct elig_record *recs, size_t n,
                            uint32_t *refs, int *status);

/**
 * Hints for a writer that knows what it will change next (a log replay
 * reading ahead, a bulk insert): request the lines a lookup of key, the
 * insert of rec (key and person buckets, name slots) or a lookup of a card
 * will read first. Change nothing, never fail; any thread.
 */
void elig_index_prefetch_key(const struct elig_index *ix, const struct elig_key *key);
void elig_index_prefetch_record(const struct elig_index *ix, const struct elig_record *rec);
void elig_index_prefetch_card(const struct elig_index *ix, uint64_t card_id);

/**
 * Rewrite record ref in place (a LOSS or CHANGE). The key and the person may
 * not change: delete and insert for that.
 *
 * @return 0; -ENOENT if ref is not a live record; -EINVAL if the key or
 *         person differs; the errors of elig_record_check(); -ELIG_EFULL
 *         (a name dictionary is full); -EROFS.
 */
int elig_index_replace(struct elig_index *ix, uint32_t ref, const struct elig_record *rec);

/**
 * Delete record ref. Its slot may be reused by a later insert; readers that
 * still hold ref see it gone or holding another record, never a torn one.
 *
 * @return 0; -ENOENT if ref is not a live record; -EROFS.
 */
int elig_index_delete(struct elig_index *ix, uint32_t ref);

/**
 * Insert or replace the link of card->card_id. The person need not have
 * records yet.
 *
 * @return 0; -EINVAL for a zero card or person id or a bad state;
 *         -ELIG_EFULL (cards or persons exhausted); -EROFS.
 */
int elig_index_card_put(struct elig_index *ix, const struct elig_card *card);

/**
 * Store n card links, as n calls of elig_index_card_put() would, with the
 * table lines of the links ahead requested meanwhile (the bulk path).
 *
 * @param status  status[i] is what elig_index_card_put() returned for cards[i]
 * @return the number stored; -EINVAL if n > 0 and cards or status is NULL;
 *         -EROFS.
 */
int elig_index_card_put_batch(struct elig_index *ix, const struct elig_card *cards, size_t n,
                              int *status);

/**
 * Record an insurer's name (INSURER event).
 *
 * @return 0; -ELIG_EFULL; -E2BIG (name longer than ELIG_INSURER_NAME_MAX);
 *         -EROFS.
 */
int elig_index_insurer_name_set(struct elig_index *ix, const char insurer[ELIG_INSURER_LEN],
                                const char *name, size_t len);

/**
 * Writer: make the changes of one log record one unit. From begin to commit
 * the segment is marked as being changed; commit records lsn as the last
 * applied and clears the mark. A writer that dies in between leaves the
 * segment marked, and the next writer refuses it (-ELIG_EINTERRUPTED)
 * instead of serving a half-applied record; one that dies after commit
 * leaves the exact applied LSN, so a replay skips what was applied.
 */
void elig_index_begin(struct elig_index *ix);
void elig_index_commit(struct elig_index *ix, uint64_t lsn);

/**
 * Writer: hold the "being changed" mark across the records of one log unit
 * (elig_log_append_batch), so that a writer dying inside a unit leaves the
 * segment refused (-ELIG_EINTERRUPTED) rather than applied halfway: a warm
 * start then always resumes at a unit boundary. Commits inside record their
 * LSN as usual. Not nested.
 */
void elig_index_unit_begin(struct elig_index *ix);
void elig_index_unit_end(struct elig_index *ix);

/** The last LSN committed (elig_index_commit) or published. Thread-safe. */
uint64_t elig_index_applied_lsn(const struct elig_index *ix);

/**
 * Publish the record count and the last applied log sequence number in the
 * segment header, where a restart and other processes read them.
 */
void elig_index_publish(struct elig_index *ix, uint64_t applied_lsn);

/**
 * Everything an index holds, handed out one item at a time: the visitor of
 * elig_index_export(). A callback returning nonzero stops the export with
 * that value. NULL callbacks are skipped.
 */
struct elig_index_export {
    void *ctx;                                               /**< passed to each call */
    int (*record)(void *ctx, const struct elig_record *rec); /**< each live record */
    int (*card)(void *ctx, const struct elig_card *card);    /**< each card link */
    int (*insurer)(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                   size_t len); /**< each insurer name */
};

/**
 * Walk every live record (in slot order), then every card link, then every
 * named insurer. Readers may call it on a live index: each item is consistent;
 * for an image of one moment, the writer must not change the index meanwhile
 * (snapshots are taken by the writer, between applies).
 *
 * @return 0; the first nonzero callback value; -EAGAIN; -ENOMEM.
 */
int elig_index_export(const struct elig_index *ix, const struct elig_index_export *ex);

/**
 * Rebuild: create a new index with parameters p (a larger capacity, say) and
 * copy every live record, card link and insurer name of src into it, while
 * readers keep using src. The caller then moves it over the old file with
 * elig_seg_rename(elig_index_seg(*out), old_path) and readers reopen.
 * Record and person references are not preserved.
 *
 * @return 0 and *out set (a writer view); the errors of elig_index_create()
 *         and elig_index_insert(); -EAGAIN if src kept changing.
 */
int elig_index_rebuild(const struct elig_index *src, const struct elig_index_params *p,
                       struct elig_index **out);

/* ---- segment images ---------------------------------------------------------
 * A snapshot may hold the segment's own bytes (an image): every reference
 * inside is an offset, so the image of an index taken between applies, copied
 * into a new segment of the same layout, is that index. Loading one is a copy
 * at the speed of the disk instead of an insert per record.
 */

/**
 * The bytes of ix's segment an image holds: from its header page through its
 * last region (*bytes, a multiple of 4 KiB). For an image of one moment the
 * writer must not change ix while they are read.
 *
 * @return 0; -EINVAL for an image view; the errors of elig_seg_header_read().
 *         Thread-safe.
 */
int elig_index_image(const struct elig_index *ix, const uint8_t **base, uint64_t *bytes);

/**
 * Start loading an image into ix, an empty index just created (writer). page
 * is the image's first ELIG_SEG_HEADER_SIZE bytes (its segment header). When
 * its layout is ix's own, *dst is ix's segment and the caller copies the
 * image's bytes [ELIG_SEG_HEADER_SIZE, *bytes) to the same offsets of *dst
 * (never the header page), then calls elig_index_image_load_end(). Readers of
 * ix see garbage meanwhile: load before serving.
 *
 * @return 0; -ELIG_ESEGSIZE (another layout: capacity or sizes differ; load
 *         it item by item from elig_index_image_open()); -EBUSY (ix is not
 *         empty); -EROFS (not a writer); the errors of elig_seg_header_parse().
 */
int elig_index_image_load_begin(struct elig_index *ix, const void *page, uint8_t **dst,
                                uint64_t *bytes);

/**
 * Finish a load: with filled true, take the copied bytes as the index (its
 * applied LSN is the image's, published) after checking that its meta and
 * dictionaries are whole and fit the layout; with filled false (the copy
 * failed), or when that check fails, make ix empty again as created.
 *
 * @return 0 (filled: loaded; not filled: emptied); -ELIG_ESEGMAGIC,
 *         -ELIG_ESEGSIZE or -ELIG_EINTERRUPTED (the image was taken inside a
 *         change) when the copied bytes are refused (ix is empty again).
 */
int elig_index_image_load_end(struct elig_index *ix, bool filled);

/**
 * A read-only view of an image held in memory (a snapshot file mapped), for
 * elig_index_export() and lookups; bytes from image's header page. The
 * memory must stay mapped until elig_index_close(). elig_index_stats() gives
 * no backing for it; writer calls return -EROFS.
 *
 * @return 0 and *out; the errors of elig_seg_header_parse(); -ELIG_ESEGSIZE
 *         (regions beyond bytes); -ELIG_ESEGMAGIC; -ELIG_EINTERRUPTED; -ENOMEM.
 */
int elig_index_image_open(const void *image, uint64_t bytes, struct elig_index **out);

/**
 * The store id recorded in the segment when it was made (all zero: none).
 * @return 0; the errors of elig_seg_header_read(). Thread-safe.
 */
int elig_index_store_id(const struct elig_index *ix, uint8_t out[16]);

/**
 * Whether a larger segment has taken this one's path (elig_db_grow()): a
 * reader that keeps the index open should open the path again and move to
 * it; this one no longer changes. Thread-safe; lock-free.
 */
bool elig_index_replaced(const struct elig_index *ix);

/* ---- readers ---------------------------------------------------------------
 * Lock-free, thread-safe, in any process with the segment mapped; they never
 * block the writer. Each record read is consistent (never torn); a lookup that
 * races with an update sees each record either before or after it.
 */

/**
 * Batch lookup of insurance-number keys: N keys in, N hits out. Up to
 * ELIG_INDEX_GROUP lookups are interleaved, each requesting the line it reads
 * next (bucket, candidate record) before yielding to the others, so their
 * cache misses overlap. One key is the thin case n = 1.
 *
 * @return 0 (each hit carries its own status); -EINVAL if n > 0 and keys or
 *         hits is NULL.
 */
int elig_index_lookup(const struct elig_index *ix, const struct elig_key *keys, size_t n,
                      struct elig_index_hit *hits);

/**
 * Batch lookup of cards, as elig_index_lookup().
 * @return 0; -EINVAL.
 */
int elig_index_lookup_cards(const struct elig_index *ix, const uint64_t *card_ids, size_t n,
                            struct elig_index_card_hit *hits);

/** Read the records' names too (elig_index_person_records()). */
#define ELIG_INDEX_NAMES 0x1

/**
 * Every record of a person: what the rules need to answer a check.
 *
 * @param recs  out: the records (names empty unless flags has ELIG_INDEX_NAMES)
 * @param refs  out, may be NULL: their references, for elig_index_read()
 * @param max   room in recs and refs
 * @param n     out: records written
 * @return 0; -ENOENT (no such person); -ENOBUFS if the person has more than
 *         max records; -EAGAIN if the writer kept changing them.
 */
int elig_index_person_records(const struct elig_index *ix, uint32_t person, unsigned flags,
                              struct elig_record *recs, uint32_t *refs, size_t max, size_t *n);

/**
 * Batch of elig_index_person_records(): the records of n persons, one after
 * the other in recs. Their walks are interleaved as elig_index_lookup()'s
 * (person bucket, then each record of the chain, each requesting the next
 * line before yielding); the second half of a batch of checks.
 *
 * @param persons person references (ELIG_INDEX_NIL gives status -ENOENT)
 * @param recs    out: records of persons[0], then of persons[1], ...
 * @param max     room in recs for all of them
 * @param spans   out: for each person its status, first record and count;
 *                -ENOBUFS once recs is full
 * @return 0; -EINVAL if n > 0 and an array is NULL.
 */
int elig_index_gather(const struct elig_index *ix, const uint32_t *persons, size_t n,
                      unsigned flags, struct elig_record *recs, size_t max,
                      struct elig_index_span *spans);

/**
 * Find a person by pseudonymous person id.
 * @return 0 and *person set; -ENOENT; -EAGAIN.
 */
int elig_index_find_person(const struct elig_index *ix, uint64_t person_id, uint32_t *person);

/**
 * References of the records stored under one key (the applier's view of a
 * key: the target of a LOSS or CHANGE is among them).
 *
 * @return 0 and *n set; -ENOBUFS if more than max; -EAGAIN.
 */
int elig_index_key_records(const struct elig_index *ix, const struct elig_key *key, uint32_t *refs,
                           size_t max, size_t *n);

/**
 * The lookup by person (disaster mode): the records whose kana names fold
 * (elig_kana) to those given, born that day, of that sex. Every candidate
 * the table gives is read and compared, so what comes back matches.
 * Thread-safe, lock-free as the other lookups.
 *
 * @param refs out: the records' references (elig_index_read())
 * @param n    out: how many
 * @return 0; -ENOBUFS (more than max: *n = max); -ENOTSUP (a segment made
 *         before this lookup existed: grow or rebuild it); -EINVAL (kana that
 *         do not fold); -EAGAIN.
 */
int elig_index_find_by_name(const struct elig_index *ix, const char *family_kana,
                            const char *given_kana, elig_date_t birth, uint8_t sex, uint32_t *refs,
                            size_t max, size_t *n);

/**
 * Read one whole record, names included.
 * @return 0; -ENOENT if ref is not a live record; -EAGAIN.
 */
int elig_index_read(const struct elig_index *ix, uint32_t ref, struct elig_record *out);

/**
 * An insurer's name, NUL-terminated, into buf (at least ELIG_INSURER_NAME_MAX + 1 bytes).
 * @return 0; -ENOENT if the insurer or its name is unknown.
 */
int elig_index_insurer_name(const struct elig_index *ix, const char insurer[ELIG_INSURER_LEN],
                            char *buf);

/**
 * The same name without a copy: a pointer into the segment, valid until the
 * index is closed (interned strings never move or change; a rename points the
 * insurer at another string). NULL if the insurer or its name is unknown.
 */
const char *elig_index_insurer_name_ref(const struct elig_index *ix,
                                        const char insurer[ELIG_INSURER_LEN], size_t *len);

/** Occupancy figures. Counts are read without a lock and may be a moment old. */
void elig_index_stats(const struct elig_index *ix, struct elig_index_stats *st);

#endif
