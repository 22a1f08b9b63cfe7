/* SPDX-License-Identifier: MIT */
/*
 * elig_apply: one update event carried out on the index.
 *
 * Design: read what the update model needs (the key's records, the card's
 * link) from the index, let elig_update decide, then write the result. The
 * writer is the only one changing the index, so what it read is still true
 * when it writes. Writes are ordered so that a failure (the index full)
 * leaves nothing half done: a CHANGE that splits a record inserts the new
 * version before cutting the old one short.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elig_apply.h"
#include "elig_error.h"

/* The key's records, read whole, with their references. Caller frees *recs. */
static int key_records(struct elig_index *ix, const struct elig_key *key, struct elig_record **recs,
                       uint32_t *refs, size_t *n)
{
    int rc = elig_index_key_records(ix, key, refs, ELIG_APPLY_KEY_RECORDS, n);
    if (rc < 0)
        return rc;
    *recs = malloc((*n ? *n : 1) * sizeof **recs);
    if (!*recs)
        return -ENOMEM;
    for (size_t i = 0; i < *n; i++)
        if ((rc = elig_index_read(ix, refs[i], &(*recs)[i])) < 0)
            break;
    if (rc < 0)
        free(*recs);
    return rc;
}

static int apply_record_event(struct elig_index *ix, const struct elig_event *ev,
                              const char **field)
{
    uint32_t refs[ELIG_APPLY_KEY_RECORDS];
    struct elig_record *recs, split, *cur;
    const struct elig_key *key = ev->kind == ELIG_EV_ACQUIRE ? &ev->u.acquire.key
                                 : ev->kind == ELIG_EV_LOSS  ? &ev->u.loss.key
                                                             : &ev->u.change.key;
    size_t n;
    bool did_split = false;
    int rc = key_records(ix, key, &recs, refs, &n);
    if (rc < 0)
        return rc;
    if (ev->kind == ELIG_EV_ACQUIRE) {
        rc = elig_update_check_acquire(recs, n, &ev->u.acquire);
        if (rc == 0 && (rc = elig_record_check(&ev->u.acquire, field)) == 0)
            rc = elig_index_insert(ix, &ev->u.acquire, NULL);
        free(recs);
        return rc;
    }
    int t = elig_update_target(recs, n, key);
    if (t < 0) {
        free(recs);
        return t;
    }
    cur = &recs[t];
    if (ev->kind == ELIG_EV_LOSS)
        rc = elig_update_loss(cur, ev);
    else
        rc = elig_update_change(cur, ev, &split, &did_split, field);
    if (rc == 0 && did_split)
        rc = elig_index_insert(ix, &split, NULL);
    if (rc == 0)
        rc = elig_index_replace(ix, refs[t], cur);
    free(recs);
    return rc;
}

static int apply_card_event(struct elig_index *ix, const struct elig_event *ev)
{
    struct elig_index_card_hit hit;
    struct elig_card next;
    int rc = elig_index_lookup_cards(ix, &ev->u.card.card_id, 1, &hit);
    if (rc == 0 && hit.status != 0 && hit.status != -ENOENT)
        rc = hit.status;
    if (rc == 0)
        rc = elig_update_card(hit.status == 0 ? &hit.card : NULL, ev, &next);
    return rc < 0 ? rc : elig_index_card_put(ix, &next);
}

void elig_apply_prefetch(const struct elig_index *ix, const struct elig_event *ev)
{
    switch (ev->kind) {
    case ELIG_EV_ACQUIRE:
        elig_index_prefetch_record(ix, &ev->u.acquire);
        break;
    case ELIG_EV_LOSS:
        elig_index_prefetch_key(ix, &ev->u.loss.key);
        break;
    case ELIG_EV_CHANGE:
        elig_index_prefetch_key(ix, &ev->u.change.key);
        break;
    case ELIG_EV_CARD_REGISTER:
    case ELIG_EV_CARD_DEREGISTER:
    case ELIG_EV_CERT_RENEW:
    case ELIG_EV_CARD_RETURN:
        elig_index_prefetch_card(ix, ev->u.card.card_id);
        break;
    default:
        break;
    }
}

int elig_apply(struct elig_index *ix, const struct elig_event *ev, uint64_t lsn, const char **field)
{
    if (field)
        *field = NULL;
    if (lsn != 0 && lsn <= elig_index_applied_lsn(ix))
        return ELIG_APPLY_SKIPPED;
    int rc;
    elig_index_begin(ix);
    switch (ev->kind) {
    case ELIG_EV_ACQUIRE:
    case ELIG_EV_LOSS:
    case ELIG_EV_CHANGE:
        rc = apply_record_event(ix, ev, field);
        break;
    case ELIG_EV_CARD_REGISTER:
    case ELIG_EV_CARD_DEREGISTER:
    case ELIG_EV_CERT_RENEW:
    case ELIG_EV_CARD_RETURN:
        rc = apply_card_event(ix, ev);
        break;
    case ELIG_EV_INSURER:
        rc = elig_index_insurer_name_set(ix, ev->source, ev->u.insurer.name,
                                         strnlen(ev->u.insurer.name, ELIG_INSURER_NAME_MAX + 1));
        break;
    default:
        rc = -ELIG_EKIND;
        break;
    }
    /* a rejected event is still done with: a replay must not judge it again */
    bool recorded = rc == 0 || (rc <= -ELIG_ERRNO_BASE && rc != -ELIG_EFULL);
    elig_index_commit(ix, recorded && lsn ? lsn : elig_index_applied_lsn(ix));
    return rc;
}
