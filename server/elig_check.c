/* SPDX-License-Identifier: MIT */
/*
 * elig_check: batches of checks through the index and the rules.
 *
 * Design. A run walks the requests in chunks of CHUNK. For a chunk it
 * looks up every number key together and every card together (the index
 * pipelines their cache misses), lists the persons found, gathers all their
 * records in one elig_index_gather() call (names included: the answer
 * carries them), and then evaluates the rules request by request. A
 * request's records are contiguous in the gather output because its
 * persons are listed consecutively.
 *
 * The record scratch holds REC_CAP records. If a chunk's persons need more,
 * the chunk is cut at the first request whose records did not fit and the
 * rest starts the next chunk; a single request that cannot fit on its own
 * is answered ELIG_AS_TOO_MANY. -EAGAIN from the index (a record that kept
 * changing under the reader's bounded retries) answers ELIG_AS_RETRY.
 *
 * Insurer names: every answered record carries its insurer's name, and a
 * dictionary probe per record cost about a tenth of a batch's time, so a
 * checker keeps a small direct-mapped cache of names by insurer number. It
 * is emptied whenever the index's applied LSN has moved since it was filled
 * (an INSURER event may have renamed one), checked once per run: a run sees
 * names as of its start or later, as it sees records. Moving to another
 * index (a grown one) empties it too: its entries point into the old one.
 *
 * A checker belongs to one thread; it allocates once, at creation.
 */
#include "elig_check.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elig_error.h"
#include "elig_rules.h"

#define CHUNK      256
#define REC_CAP    (CHUNK * 8)
#define PER_CAP    (CHUNK * ELIG_INDEX_KEY_PERSONS)
#define NAME_BITS  12 /* insurer names cached: 2^NAME_BITS sets of 2 */
#define NAME_CACHE (1u << NAME_BITS)

struct name_entry {
    char insurer[ELIG_INSURER_LEN]; /* all zero: empty */
    const char *name;               /* in the segment (elig_index_insurer_name_ref), or NULL */
    size_t len;
};

struct elig_checker {
    const struct elig_index *ix;
    uint64_t next_ref;
    struct elig_check_counters ctr;
    /* per chunk */
    struct elig_key keys[CHUNK];
    uint32_t key_of[CHUNK]; /* request -> slot in keys/hits, or UINT32_MAX */
    struct elig_index_hit hits[CHUNK];
    uint64_t card_ids[CHUNK];
    struct elig_index_card_hit card_hits[CHUNK];
    uint32_t persons[PER_CAP];
    uint32_t pfirst[CHUNK], pcount[CHUNK]; /* request -> its persons */
    struct elig_index_span spans[PER_CAP];
    struct elig_record recs[REC_CAP];
    struct elig_proto_answer ans;
    uint64_t names_lsn;                     /* applied LSN when the name cache was last emptied */
    struct name_entry names[NAME_CACHE][2]; /* two ways a set: the nation's ~3,400 insurers in
                                             * 4,096 sets of one thrashed on collisions */
};

int elig_checker_create(const struct elig_index *ix, uint64_t ref_base, struct elig_checker **out)
{
    struct elig_checker *ck = calloc(1, sizeof(*ck));
    if (ck == NULL)
        return -ENOMEM;
    memset(ck, 0, sizeof(*ck)); /* resident from the start, as the round's arrays */
    ck->ix = ix;
    ck->next_ref = ref_base;
    *out = ck;
    return 0;
}

void elig_checker_set_index(struct elig_checker *ck, const struct elig_index *ix)
{
    ck->ix = ix;
    memset(ck->names, 0, sizeof ck->names); /* they point into the old index */
}

void elig_checker_destroy(struct elig_checker *ck)
{
    free(ck);
}

#define WORD(f) (unsigned)(offsetof(struct elig_check_counters, f) / sizeof(uint64_t))

#define FAM_METHOD "eligd_checks_by_method_total"
#define FAM_FEE    "eligd_checks_by_facility_type_total"
#define FAM_ANSWER "eligd_answers_total"
#define FAM_CARD   "eligd_card_refusals_total"

const struct elig_check_stat elig_check_stats[] = {
    { "checks", WORD(checks), NULL, NULL }, /* the sum of eligd_checks_total */
    { "checks_by_number", WORD(by_number), FAM_METHOD, "method=\"number\"" },
    { "checks_by_card", WORD(by_card), FAM_METHOD, "method=\"card\"" },
    { "checks_medical", WORD(by_fee[0]), FAM_FEE, "facility_type=\"medical\"" },
    { "checks_dental", WORD(by_fee[1]), FAM_FEE, "facility_type=\"dental\"" },
    { "checks_pharmacy", WORD(by_fee[2]), FAM_FEE, "facility_type=\"pharmacy\"" },
    { "answers_refused", WORD(validity[0]), FAM_ANSWER, "status=\"ok\",validity=\"refused\"" },
    { "answers_valid", WORD(validity[1]), FAM_ANSWER, "status=\"ok\",validity=\"valid\"" },
    { "answers_lost", WORD(validity[2]), FAM_ANSWER, "status=\"ok\",validity=\"lost\"" },
    { "answers_lost_newer", WORD(validity[3]), FAM_ANSWER,
      "status=\"ok\",validity=\"lost_newer\"" },
    { "answers_no_match", WORD(validity[4]), FAM_ANSWER, "status=\"ok\",validity=\"no_match\"" },
    { "answers_multiple", WORD(validity[5]), FAM_ANSWER, "status=\"ok\",validity=\"multiple\"" },
    { "answers_bad_key", WORD(status[ELIG_AS_BAD_KEY]), FAM_ANSWER, "status=\"bad_key\"" },
    { "answers_bad_date", WORD(status[ELIG_AS_BAD_DATE]), FAM_ANSWER, "status=\"bad_date\"" },
    { "answers_bad_card", WORD(status[ELIG_AS_BAD_CARD]), FAM_ANSWER, "status=\"bad_card\"" },
    { "answers_retry", WORD(status[ELIG_AS_RETRY]), FAM_ANSWER, "status=\"retry\"" },
    { "answers_too_many", WORD(status[ELIG_AS_TOO_MANY]), FAM_ANSWER, "status=\"too_many\"" },
    { "card_refused_unregistered", WORD(refusal[0]), FAM_CARD, "refusal=\"card_unregistered\"" },
    { "card_refused_deregistered", WORD(refusal[1]), FAM_CARD, "refusal=\"card_deregistered\"" },
    { "card_refused_returned", WORD(refusal[2]), FAM_CARD, "refusal=\"card_returned\"" },
    { "card_refused_cert_expired", WORD(refusal[3]), FAM_CARD, "refusal=\"cert_expired\"" },
};
const unsigned elig_check_stats_count = sizeof elig_check_stats / sizeof elig_check_stats[0];
/* every word of the counters is reported, but status[ELIG_AS_OK] */
_Static_assert(sizeof elig_check_stats / sizeof elig_check_stats[0] + 1 == ELIG_CHECK_WORDS,
               "a counter of struct elig_check_counters is missing from elig_check_stats");

const struct elig_check_counters *elig_checker_counters(const struct elig_checker *ck)
{
    return &ck->ctr;
}

static void prepare_common(uint8_t flags, uint32_t date, char fee, elig_date_t today,
                           struct elig_check_req *r)
{
    memset(r, 0, sizeof(*r));
    r->consent = flags & ELIG_PROTO_CONSENT;
    r->fee = (uint8_t)fee;
    if (date == 0)
        r->date = today;
    else if (elig_proto_date_in(date, &r->date))
        r->status = ELIG_AS_BAD_DATE;
}

void elig_check_prepare_number(const struct elig_proto_number *q, char fee, elig_date_t today,
                               struct elig_check_req *r)
{
    prepare_common(q->flags, q->date, fee, today, r);
    r->kind = ELIG_CHECK_NUMBER;
    if (r->status)
        return;
    if (q->birth == 0 || elig_proto_date_in(q->birth, &r->birth)) {
        r->status = ELIG_AS_BAD_DATE;
        return;
    }
    enum elig_key_field bad;
    if (elig_key_normalize(q->insurer, q->insurer_len, q->symbol, q->symbol_len, q->number,
                           q->number_len, q->branch, q->branch_len, &r->key, &bad))
        r->status = ELIG_AS_BAD_KEY;
}

void elig_check_prepare_card(const struct elig_proto_card *q, char fee, elig_date_t today,
                             struct elig_check_req *r)
{
    prepare_common(q->flags, q->date, fee, today, r);
    r->kind = ELIG_CHECK_CARD;
    r->card_id = q->card_id;
    if (r->status == 0 && q->card_id == 0)
        r->status = ELIG_AS_BAD_CARD;
}

/* Lookups of one chunk: number keys together, cards together. */
static void chunk_lookup(struct elig_checker *ck, const struct elig_check_req *reqs, size_t n)
{
    size_t nk = 0, nc = 0;
    for (size_t i = 0; i < n; i++) {
        ck->key_of[i] = UINT32_MAX;
        if (reqs[i].status != ELIG_AS_OK)
            continue;
        if (reqs[i].kind == ELIG_CHECK_NUMBER) {
            ck->keys[nk] = reqs[i].key;
            ck->key_of[i] = (uint32_t)nk++;
        } else {
            ck->card_ids[nc] = reqs[i].card_id;
            ck->key_of[i] = (uint32_t)nc++;
        }
    }
    elig_index_lookup(ck->ix, ck->keys, nk, ck->hits);
    elig_index_lookup_cards(ck->ix, ck->card_ids, nc, ck->card_hits);
}

/* The persons of reqs[i]: into ck->persons; returns the status to answer with. */
static int list_persons(struct elig_checker *ck, const struct elig_check_req *r, uint32_t slot,
                        size_t *np, size_t i)
{
    ck->pfirst[i] = (uint32_t)*np;
    ck->pcount[i] = 0;
    if (slot == UINT32_MAX)
        return r->status;
    if (r->kind == ELIG_CHECK_NUMBER) {
        const struct elig_index_hit *h = &ck->hits[slot];
        if (h->status == -EAGAIN)
            return ELIG_AS_RETRY;
        if (h->status != 0 && h->status != -E2BIG)
            return ELIG_AS_OK; /* -ENOENT: answered "no match" with no records */
        for (uint32_t k = 0; k < h->npersons; k++)
            ck->persons[(*np)++] = h->person[k];
        ck->pcount[i] = h->npersons;
    } else {
        const struct elig_index_card_hit *h = &ck->card_hits[slot];
        if (h->status == -EAGAIN)
            return ELIG_AS_RETRY;
        if (h->status == 0) {
            ck->persons[(*np)++] = h->person;
            ck->pcount[i] = 1;
        }
    }
    return ELIG_AS_OK;
}

/*
 * Status of reqs[i]'s records after the gather, and their place in recs.
 * Returns -ENOBUFS when they did not fit.
 */
static int records_of(const struct elig_checker *ck, size_t i, size_t *first, size_t *count)
{
    *first = 0;
    *count = 0;
    for (uint32_t k = 0; k < ck->pcount[i]; k++) {
        const struct elig_index_span *s = &ck->spans[ck->pfirst[i] + k];
        if (s->status == -ENOBUFS)
            return -ENOBUFS;
        if (s->status == -EAGAIN)
            return -EAGAIN;
        if (s->status != 0)
            continue; /* person vanished between the lookups: no records */
        if (*count == 0)
            *first = s->first;
        *count = s->first + s->count - *first;
    }
    return 0;
}

/*
 * The insurer's name ("" if unknown) into out, through the cache: a set of
 * two, the one used last first; a miss replaces the other.
 */
static void insurer_name(struct elig_checker *ck, const char insurer[ELIG_INSURER_LEN], char *out)
{
    uint64_t v;
    memcpy(&v, insurer, sizeof v);
    struct name_entry *set = ck->names[(v * 0x9E3779B97F4A7C15ull) >> (64 - NAME_BITS)];
    if (memcmp(set[0].insurer, insurer, ELIG_INSURER_LEN) != 0) {
        struct name_entry e = set[1];
        if (memcmp(e.insurer, insurer, ELIG_INSURER_LEN) != 0) {
            e.name = elig_index_insurer_name_ref(ck->ix, insurer, &e.len);
            memcpy(e.insurer, insurer, ELIG_INSURER_LEN);
        }
        set[1] = set[0];
        set[0] = e;
    }
    size_t n = set[0].name ? set[0].len : 0;
    memcpy(out, set[0].name ? set[0].name : "", n);
    out[n] = '\0';
}

static void fill_answer(struct elig_checker *ck, const struct elig_check_req *r,
                        const struct elig_answer *res, const struct elig_record *recs,
                        const struct elig_card *card)
{
    struct elig_proto_answer *a = &ck->ans;
    a->status = ELIG_AS_OK;
    a->validity = res->validity;
    a->refusal = res->refusal;
    a->flags = res->flags;
    a->count = res->count;
    a->cert_expiry = card ? elig_proto_date_out(card->cert_expiry) : 0;
    for (unsigned k = 0; k < res->count; k++) {
        elig_answer_record(res, recs, k, &a->rec[k]);
        a->rec[k].copay_pct = (uint8_t)elig_record_copay_on(&a->rec[k], r->date);
        insurer_name(ck, a->rec[k].key.insurer, a->insurer_name[k]);
    }
}

static void count_answer(struct elig_checker *ck, const struct elig_check_req *r)
{
    const struct elig_proto_answer *a = &ck->ans;
    ck->ctr.checks++;
    if (r->kind == ELIG_CHECK_NUMBER)
        ck->ctr.by_number++;
    else
        ck->ctr.by_card++;
    ck->ctr.status[a->status]++;
    if (a->status == ELIG_AS_OK)
        ck->ctr.validity[a->validity < 6 ? a->validity : 0]++;
    if (a->refusal >= 1 && a->refusal <= 4)
        ck->ctr.refusal[a->refusal - 1]++;
    switch (r->fee) {
    case '1':
        ck->ctr.by_fee[0]++;
        break;
    case '3':
        ck->ctr.by_fee[1]++;
        break;
    case '4':
        ck->ctr.by_fee[2]++;
        break;
    }
}

/*
 * Answer reqs[0..n) of a chunk that starts at request base of the run;
 * returns how many were answered (< n if the records ran out).
 */
static size_t chunk_answer(struct elig_checker *ck, const struct elig_check_req *reqs, size_t n,
                           size_t base, elig_check_emit_fn emit, void *ctx, int *emit_rc)
{
    uint8_t pre[CHUNK];
    size_t np = 0;
    for (size_t i = 0; i < n; i++)
        pre[i] = (uint8_t)list_persons(ck, &reqs[i], ck->key_of[i], &np, i);
    elig_index_gather(ck->ix, ck->persons, np, ELIG_INDEX_NAMES, ck->recs, REC_CAP, ck->spans);
    for (size_t i = 0; i < n; i++) {
        const struct elig_check_req *r = &reqs[i];
        struct elig_proto_answer *a = &ck->ans;
        size_t first = 0, count = 0;
        int st = pre[i] == ELIG_AS_OK ? records_of(ck, i, &first, &count) : 0;
        if (st == -ENOBUFS && i > 0)
            return i; /* next chunk starts here, with the whole scratch */
        memset(a, 0, offsetof(struct elig_proto_answer, rec));
        a->reference = ck->next_ref++;
        if (pre[i] != ELIG_AS_OK) {
            a->status = pre[i];
        } else if (st == -ENOBUFS) {
            a->status = ELIG_AS_TOO_MANY;
        } else if (st == -EAGAIN) {
            a->status = ELIG_AS_RETRY;
        } else {
            struct elig_answer res;
            const struct elig_card *card = NULL;
            if (r->kind == ELIG_CHECK_NUMBER) {
                elig_eval_number(&r->key, r->birth, r->date, r->consent, ck->recs + first, count,
                                 &res);
            } else {
                const struct elig_index_card_hit *h = &ck->card_hits[ck->key_of[i]];
                card = h->status == 0 ? &h->card : NULL;
                elig_eval_card(card, r->date, r->consent, ck->recs + first, count, &res);
            }
            fill_answer(ck, r, &res, ck->recs + first, card);
        }
        count_answer(ck, r);
        if ((*emit_rc = emit(ctx, base + i, a)) != 0)
            return i + 1;
    }
    return n;
}

int elig_checker_run(struct elig_checker *ck, const struct elig_check_req *reqs, size_t n,
                     elig_check_emit_fn emit, void *ctx)
{
    uint64_t lsn = elig_index_applied_lsn(ck->ix);
    if (lsn != ck->names_lsn) {
        memset(ck->names, 0, sizeof ck->names);
        ck->names_lsn = lsn;
    }
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < CHUNK ? n - done : CHUNK;
        chunk_lookup(ck, reqs + done, m);
        int rc = 0;
        size_t answered = chunk_answer(ck, reqs + done, m, done, emit, ctx, &rc);
        if (rc)
            return rc;
        done += answered;
    }
    return 0;
}

uint64_t elig_checker_reference(struct elig_checker *ck)
{
    return ck->next_ref++;
}

const struct elig_proto_answer *elig_checker_person(struct elig_checker *ck, uint64_t person_id,
                                                    elig_date_t date, bool consent)
{
    struct elig_proto_answer *a = &ck->ans;
    memset(a, 0, offsetof(struct elig_proto_answer, rec));
    a->reference = ck->next_ref++;
    uint32_t person;
    size_t n = 0;
    int rc = elig_index_find_person(ck->ix, person_id, &person);
    if (rc == 0)
        rc = elig_index_person_records(ck->ix, person, ELIG_INDEX_NAMES, ck->recs, NULL, REC_CAP,
                                       &n);
    if (rc == -ENOBUFS) {
        a->status = ELIG_AS_TOO_MANY;
    } else if (rc == -EAGAIN) {
        a->status = ELIG_AS_RETRY;
    } else { /* a person gone meanwhile has no records: no match */
        struct elig_answer res;
        struct elig_check_req r = { .date = date };
        elig_eval_person(person_id, date, consent, ck->recs, rc == 0 ? n : 0, &res);
        fill_answer(ck, &r, &res, ck->recs, NULL);
    }
    return a;
}

uint64_t elig_check_ref_base(uint8_t id)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t base = ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) * 16;
    return (uint64_t)id << 56 | (base & ((1ull << 56) - 1));
}
