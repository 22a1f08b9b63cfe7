/* SPDX-License-Identifier: MIT */
/*
 * elig_session: a facility connection's session in eligd.
 *
 * Before a frame reaches the round, session_gate() decides what only the
 * connection can: HELLO (a fresh challenge), AUTH (the proof under the
 * facility's key; its connection cap), POSTHOC (an answer read back from the
 * audit log), and that nothing but PING is answered before AUTH. Checks are
 * charged to the facility's allowance by the round once they decoded
 * (session_round_spend). Each worker keeps its own snapshot of the registry
 * and takes a reload at its next tick, closing the connections of facilities
 * that were revoked or removed; each worker writes its own audit blocks.
 * Runs on the worker's thread; the allowance and registry are shared
 * through elig_access.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "elig_bq.h"
#include "elig_net_error.h"
#include "elig_fac.h"
#include "elig_le.h"
#include "elig_slog.h"
#include "elig_srv_loop.h"

/* ---- facilities: the handshake, allowances ----------------------------- */

bool session_trusted(const struct loop *l)
{
    return !l->srv->p.access || elig_access_trusted(l->srv->p.access);
}

/* Checks a check frame asks for (a BATCH's count as it claims it; 1 if unreadable). */
static unsigned checks_in(const struct elig_proto_header *h, const uint8_t *body)
{
    if (h->opcode != ELIG_OP_BATCH || h->body_len < ELIG_PROTO_FACILITY_LEN + 2)
        return 1;
    unsigned n = elig_rd16(body + ELIG_PROTO_FACILITY_LEN);
    return n ? n : 1;
}

#define ADMIN_CODE "0000000000" /* the name an admin TCP connection gives in HELLO */
#define CREDIT     16 /* checks a connection takes from its facility's allowance at once */

/*
 * Spend n checks of c's facility allowance. A connection takes CREDIT at a
 * time (one atomic on the facility's shared state per CREDIT checks rather
 * than per frame: workers serving one facility do not fight over its cache
 * line), or just what it needs when CREDIT is not to be had. Credit is
 * paid for in advance, so the facility's rate is never exceeded; what a
 * connection leaves unspent goes back to the facility when it closes.
 */
static bool spend(struct loop *l, struct conn *c, unsigned n)
{
    struct elig_access *acc = l->srv->p.access;
    uint64_t now = (uint64_t)l->now_ms * 1000000;
    if (c->credit < n) {
        unsigned want = n - c->credit;
        if (want < CREDIT && elig_access_take(acc, c->fac_slot, CREDIT, now))
            c->credit += CREDIT;
        else if (elig_access_take(acc, c->fac_slot, want, now))
            c->credit += want;
        else
            return false;
    }
    c->credit -= n;
    return true;
}

/* HELLO: name the facility, get a fresh challenge. */
static void hello(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                  const uint8_t *body)
{
    uint8_t status = ELIG_PS_OK;
    if (c->auth == AUTH_OK || h->body_len != ELIG_PROTO_FACILITY_LEN)
        status = ELIG_PS_BODY; /* malformed, or already authenticated */
    else if (c->admin_tcp ? memcmp(body, ADMIN_CODE, ELIG_PROTO_FACILITY_LEN) != 0
                          : !elig_proto_facility_valid((const char *)body))
        status = ELIG_PS_FACILITY;
    if (status == ELIG_PS_OK) { /* unknown facilities get a challenge too: AUTH decides */
        memcpy(c->fac, body, ELIG_PROTO_FACILITY_LEN);
        c->fac[ELIG_PROTO_FACILITY_LEN] = '\0';
        elig_fac_challenge(c->challenge);
        c->auth = AUTH_CHALLENGED;
    }
    bool ok = status == ELIG_PS_OK;
    elig_round_add_answer(l->round, h, status, ok ? c->challenge : NULL,
                          ok ? sizeof c->challenge : 0, &c->out);
}

/* After a reload: take the new registry, close connections of facilities no longer in it. */
void session_registry_refresh(struct loop *l)
{
    struct elig_access *acc = l->srv->p.access;
    if (!acc || l->kind != LOOP_FACILITY || elig_access_generation(acc) == l->reg_gen)
        return;
    elig_access_release(acc, l->reg);
    l->reg = elig_access_acquire(acc, &l->reg_gen);
    if (!l->reg)
        return;
    for (uint32_t s = 0; s < l->slot_hi; s++) {
        struct conn *c = &l->conns[s];
        if (c->fd < 0 || c->closing || c->auth != AUTH_OK)
            continue;
        const struct elig_fac *f = elig_fac_find(l->reg, c->fac);
        if (!f || f->revoked) {
            elig_slog(ELIG_SLOG_INFO, "facility %s revoked: its connection is closed", c->fac);
            stat_add(&l->st.revoked_closed, 1);
            loop_conn_close(l, s);
        }
    }
}

/*
 * A refused AUTH is logged at most once a second per worker, with the count
 * of those not logged since: one client failing in a loop cannot flood the
 * log (STATS auth_refused counts them all).
 */
static void auth_warn(struct loop *l, const char *facility)
{
    if (l->auth_warned_ms && l->now_ms - l->auth_warned_ms < 1000) {
        l->auth_unlogged++;
        return;
    }
    if (l->auth_unlogged)
        elig_slog(ELIG_SLOG_WARN, "AUTH refused for facility %s (and %llu more not logged)",
                  facility, (unsigned long long)l->auth_unlogged);
    else
        elig_slog(ELIG_SLOG_WARN, "AUTH refused for facility %s", facility);
    l->auth_warned_ms = l->now_ms;
    l->auth_unlogged = 0;
}

/*
 * Admit c as the facility c->fac, once proven (AUTH, or a TLS certificate):
 * it takes a place among the facility's connections (unless the network is
 * trusted or it is the admin). Returns ELIG_PS_OK, or ELIG_PS_FACILITY_CONNS
 * when the facility's connections are at their cap.
 */
static uint8_t admit(struct loop *l, struct conn *c)
{
    struct elig_access *acc = l->srv->p.access;
    if (!session_trusted(l) && !c->admin_tcp) {
        int slot = elig_access_slot(acc, c->fac);
        if (slot < 0 || elig_access_enter(acc, slot)) {
            stat_add(&l->st.facility_conns, 1);
            return ELIG_PS_FACILITY_CONNS;
        }
        c->fac_slot = slot;
    }
    c->auth = AUTH_OK;
    stat_add(&l->st.auth_ok, 1);
    return ELIG_PS_OK;
}

/* AUTH: the proof over the challenge; success admits the connection, failure closes it. */
static void auth(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                 const uint8_t *body)
{
    uint8_t status = ELIG_PS_OK;
    session_registry_refresh(l); /* a reload is in force for every AUTH after its answer */
    struct elig_fac admin = { .code = ADMIN_CODE, .key_version = 1 };
    if (c->admin_tcp && l->srv->p.admin_key)
        memcpy(admin.key, l->srv->p.admin_key, sizeof admin.key);
    bool proven = c->admin_tcp
                      ? l->srv->p.admin_key && elig_fac_verify(&admin, c->challenge, body)
                      : session_trusted(l) ||
                            elig_fac_verify(elig_fac_find(l->reg, c->fac), c->challenge, body);
    memset(admin.key, 0, sizeof admin.key);
    if (c->auth != AUTH_CHALLENGED || h->body_len != ELIG_FKEY_MAC_LEN || !proven) {
        status = ELIG_PS_UNAUTHENTICATED;
        stat_add(&l->st.auth_failed, 1);
        auth_warn(l, c->auth ? c->fac : "(none)");
    } else {
        status = admit(l, c);
    }
    memset(c->challenge, 0, sizeof c->challenge); /* one AUTH per challenge */
    if (status == ELIG_PS_OK) {
        elig_round_facility(l->round, session_trusted(l) || c->admin_tcp ? NULL : c->fac);
    } else {
        c->auth = AUTH_NONE;
        c->no_parse = true;
    }
    elig_round_add_status(l->round, h, status, &c->out);
}

/* POSTHOC: the answer of an earlier check of this facility, as it was given. */
static int posthoc(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                   const uint8_t *body)
{
    struct elig_audit *audit = l->srv->p.audit;
    if (h->body_len != 8) {
        elig_round_add_status(l->round, h, ELIG_PS_BODY, &c->out);
        return 1;
    }
    if (!audit || c->auth != AUTH_OK) { /* no facility named yet: as for any check, closed */
        elig_round_add_status(l->round, h, audit ? ELIG_PS_UNAUTHENTICATED : ELIG_PS_NOT_FOUND,
                              &c->out);
        c->no_parse = audit != NULL;
        return 1;
    }
    if (SCRATCH - l->scratch_len < 9 + ELIG_AUDIT_ANSWER_MAX)
        return -ENOSPC; /* this round's room for answers is spent: the next round */
    if (l->aw)
        elig_audit_flush(l->aw); /* this worker's latest checks are readable too */
    int rc = elig_audit_read(audit, elig_rd64(body), c->fac, l->entry);
    stat_add(&l->st.posthoc, 1);
    if (rc) {
        stat_add(&l->st.posthoc_missed, 1);
        elig_round_add_status(l->round, h, rc == -ENOENT ? ELIG_PS_NOT_FOUND : ELIG_PS_INTERNAL,
                              &c->out);
        return 1;
    }
    uint8_t *p = l->scratch + l->scratch_len;
    elig_le64(p, (uint64_t)l->entry->time);
    p[8] = l->entry->opcode;
    memcpy(p + 9, l->entry->answer, l->entry->len);
    l->scratch_len += 9 + (size_t)l->entry->len;
    elig_round_add_answer(l->round, h, ELIG_PS_OK, p, 9 + (size_t)l->entry->len, &c->out);
    return 1;
}

/* An answer body of a status with an i32 error code (as the admin socket's refusals). */
static void add_coded(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                      uint8_t status, int code)
{
    uint8_t *p = l->scratch + l->scratch_len;
    elig_le32(p, (uint32_t)code);
    l->scratch_len += 4;
    elig_round_add_answer(l->round, h, status, p, 4, &c->out);
}

/*
 * What the session's facility opcodes decide first: the facility the frame
 * names must be the connection's (or, on a trusted network, any valid code);
 * a body that did not decode (ok false) is malformed; for the lists' opcodes
 * (lists true), an eligd without lists says so.
 * 0 and *code; 1 when answered here.
 */
static int facility_gate(struct loop *l, struct conn *c, const struct elig_proto_header *h, bool ok,
                         const char *named, bool lists, const char **code)
{
    if (!session_trusted(l) && c->auth != AUTH_OK) {
        elig_round_add_status(l->round, h, ELIG_PS_UNAUTHENTICATED, &c->out);
        stat_add(&l->st.auth_failed, 1);
        c->no_parse = true;
        return 1;
    }
    const char *fac = session_trusted(l) && c->auth != AUTH_OK ? named : c->fac;
    if (ok && (!fac || !elig_proto_facility_valid(fac) ||
               memcmp(named, fac, ELIG_PROTO_FACILITY_LEN) != 0)) {
        elig_round_add_status(l->round, h, ELIG_PS_FACILITY, &c->out);
        return 1;
    }
    if (!ok) {
        elig_round_add_status(l->round, h, ELIG_PS_BODY, &c->out);
        return 1;
    }
    if (lists && !l->srv->p.bq) {
        add_coded(l, c, h, ELIG_PS_UNAVAILABLE, -ENOTSUP);
        return 1;
    }
    *code = fac;
    return 0;
}

/* LIST_SUBMIT: a part of an appointment list; the list's reception number and state. */
static int list_submit(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                       const uint8_t *body)
{
    struct elig_proto_list_part part = { 0 };
    const char *fac;
    if (SCRATCH - l->scratch_len < ELIG_PROTO_LIST_STATE_BODY)
        return -ENOSPC;
    bool ok = elig_proto_list_part_decode(body, h->body_len, &part) == 0;
    if (facility_gate(l, c, h, ok, part.facility, true, &fac))
        return 1;
    struct elig_proto_list_state st;
    int rc = elig_bq_submit(l->srv->p.bq, fac, &part, l->now_s, &st);
    if (rc == -ENOENT) {
        elig_round_add_status(l->round, h, ELIG_PS_NOT_FOUND, &c->out);
    } else if (rc == -E2BIG) {
        add_coded(l, c, h, ELIG_PS_BODY, rc);
    } else if (rc == -EUSERS) {
        stat_add(&l->st.rate_limited, 1);
        elig_round_add_status(l->round, h, ELIG_PS_RATE_LIMITED, &c->out);
    } else if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "appointment list: cannot keep a part: %s",
                  elig_net_strerror(rc));
        add_coded(l, c, h, ELIG_PS_UNAVAILABLE, rc);
    } else {
        uint8_t *p = l->scratch + l->scratch_len;
        elig_proto_list_state_encode(p, &st);
        l->scratch_len += ELIG_PROTO_LIST_STATE_BODY;
        elig_round_add_answer(l->round, h, ELIG_PS_OK, p, ELIG_PROTO_LIST_STATE_BODY, &c->out);
    }
    return 1;
}

/* Bytes of answers one LIST_FETCH answer carries at most. */
#define LIST_FETCH_BYTES (64u * 1024)

/* LIST_FETCH: the state of a list and, once it is done, a page of its answers. */
static int list_fetch(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                      const uint8_t *body)
{
    struct elig_proto_list_fetch f = { 0 };
    const char *fac;
    if (SCRATCH - l->scratch_len < ELIG_PROTO_LIST_ANSWER_HEAD + LIST_FETCH_BYTES)
        return -ENOSPC;
    bool ok =
        h->body_len == ELIG_PROTO_LIST_FETCH_BODY && elig_proto_list_fetch_decode(body, &f) == 0;
    if (facility_gate(l, c, h, ok, f.facility, true, &fac))
        return 1;
    uint8_t *p = l->scratch + l->scratch_len;
    struct elig_proto_list_state st;
    size_t len;
    uint16_t n;
    int rc = elig_bq_fetch(l->srv->p.bq, fac, &f, p + ELIG_PROTO_LIST_ANSWER_HEAD, LIST_FETCH_BYTES,
                           &len, &n, &st);
    if (rc == -ENOENT) {
        elig_round_add_status(l->round, h, ELIG_PS_NOT_FOUND, &c->out);
        return 1;
    }
    if (rc && rc != -ELIG_ELISTFILE) {
        add_coded(l, c, h, ELIG_PS_INTERNAL, rc);
        return 1;
    }
    /* state u8, 3 zero, entries u32, done u32, first u32, count u16, 2 zero */
    p[0] = st.state;
    p[1] = p[2] = p[3] = 0;
    elig_le32(p + 4, st.entries);
    elig_le32(p + 8, st.done);
    elig_le32(p + 12, f.first);
    elig_le16(p + 16, n);
    p[18] = p[19] = 0;
    l->scratch_len += ELIG_PROTO_LIST_ANSWER_HEAD + len;
    elig_round_add_answer(l->round, h, ELIG_PS_OK, p, ELIG_PROTO_LIST_ANSWER_HEAD + len, &c->out);
    return 1;
}

/* ---- disaster mode: LOOKUP_PERSON --------------------------------------------- */

void session_disaster_refresh(struct loop *l)
{
    const char *path = l->srv->p.disaster;
    if (!path || l->now_ms - l->disaster_checked_ms < 1000)
        return;
    l->disaster_checked_ms = l->now_ms;
    struct stat sb;
    struct timespec mt = { 0 };
    if (stat(path, &sb) == 0)
        mt = sb.st_mtim;
    if (mt.tv_sec == l->disaster_mtime.tv_sec && mt.tv_nsec == l->disaster_mtime.tv_nsec)
        return;
    struct elig_disaster d;
    int rc = elig_disaster_read(path, &d);
    if (rc) { /* a damaged declaration declares nothing: said once, until the file changes */
        if (l->id == 0)
            elig_slog(ELIG_SLOG_ERROR, "disaster mode %s: %s: lookups by person refused", path,
                      elig_net_strerror(rc));
        d = (struct elig_disaster){ 0 };
    } else if (l->id == 0) {
        elig_slog(ELIG_SLOG_INFO, "disaster mode %s", d.prefectures ? "declared" : "off");
    }
    l->disaster = d;
    l->disaster_mtime = mt;
}

/* The prefecture of an insurer number (8 digits, NHI padded: its third and fourth). */
static int insurer_prefecture(const char insurer[ELIG_INSURER_LEN])
{
    return (insurer[2] - '0') * 10 + (insurer[3] - '0');
}

/*
 * The persons a lookup found: distinct person ids of the records, those with
 * a qualification of an insurer of prefecture (0: any); at most max + 1
 * (one more says "too many").
 */
static size_t person_ids(struct loop *l, const uint32_t *refs, size_t n, uint8_t prefecture,
                         uint64_t *ids, size_t max)
{
    size_t k = 0;
    struct elig_record r;
    for (size_t i = 0; i < n && k <= max; i++) {
        if (elig_index_read(l->ix, refs[i], &r) != 0)
            continue;
        if (prefecture && insurer_prefecture(r.key.insurer) != prefecture)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen |= ids[j] == r.person_id;
        if (!seen)
            ids[k++] = r.person_id;
    }
    return k;
}

#define PERSON_ANSWER_HEAD 16
#define PERSON_ANSWER_MAX  (PERSON_ANSWER_HEAD + ELIG_PERSON_MAX * 8192) /* 8 records an answer */

/*
 * LOOKUP_PERSON: in a declared disaster, a patient without card or number,
 * by kana name, birth date and sex; at most ELIG_PERSON_MAX persons, each
 * answered as a card check would be; more: "narrow it", nothing told. Its
 * own allowance; every lookup audited with its reason.
 */
static int lookup_person(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                         const uint8_t *body)
{
    struct elig_proto_person q = { 0 };
    const char *fac;
    if (SCRATCH - l->scratch_len < PERSON_ANSWER_MAX)
        return -ENOSPC;
    bool ok = elig_proto_person_decode(body, h->body_len, &q) == 0;
    if (facility_gate(l, c, h, ok, q.facility, false, &fac))
        return 1;
    if (!elig_disaster_covers(&l->disaster, fac, l->now_s)) {
        stat_add(&l->st.person_refused, 1);
        elig_round_add_status(l->round, h, ELIG_PS_NO_DISASTER, &c->out);
        return 1;
    }
    struct elig_access *acc = l->srv->p.access;
    if (acc && !session_trusted(l) &&
        !elig_access_take_person(acc, c->fac_slot, (uint64_t)l->now_ms * 1000000)) {
        stat_add(&l->st.person_refused, 1);
        stat_add(&l->st.rate_limited, 1);
        elig_round_add_status(l->round, h, ELIG_PS_RATE_LIMITED, &c->out);
        return 1;
    }
    elig_date_t date = l->today, birth;
    if ((q.date && elig_proto_date_in(q.date, &date)) || elig_proto_date_in(q.birth, &birth) ||
        q.birth == 0) {
        elig_round_add_status(l->round, h, ELIG_PS_BODY, &c->out);
        return 1;
    }
    char family[ELIG_NAME_MAX + 1], given[ELIG_NAME_MAX + 1];
    memcpy(family, q.family_kana, q.family_len);
    family[q.family_len] = '\0';
    memcpy(given, q.given_kana, q.given_len);
    given[q.given_len] = '\0';
    uint32_t refs[64];
    size_t n = 0;
    int rc = elig_index_find_by_name(l->ix, family, given, birth, q.sex, refs, 64, &n);
    uint64_t ids[ELIG_PERSON_MAX + 1];
    size_t k = rc == 0 ? person_ids(l, refs, n, q.prefecture, ids, ELIG_PERSON_MAX) : 0;
    if (rc == -EINVAL) { /* kana that are not UTF-8 */
        elig_round_add_status(l->round, h, ELIG_PS_BODY, &c->out);
        return 1;
    }
    if (rc && rc != -ENOBUFS) {
        add_coded(l, c, h, rc == -ENOTSUP ? ELIG_PS_UNAVAILABLE : ELIG_PS_INTERNAL, rc);
        return 1;
    }
    /* result u8, count u8, 6 zero, the lookup's reference u64, then count answers */
    uint8_t *p = l->scratch + l->scratch_len;
    size_t len = PERSON_ANSWER_HEAD;
    memset(p, 0, PERSON_ANSWER_HEAD);
    p[0] = rc == -ENOBUFS || k > ELIG_PERSON_MAX ? ELIG_PERSON_TOO_MANY
           : k == 0                              ? ELIG_PERSON_NONE
                                                 : ELIG_PERSON_FOUND;
    p[1] = p[0] == ELIG_PERSON_FOUND ? (uint8_t)k : 0;
    uint64_t reference = elig_checker_reference(l->ck);
    elig_le64(p + 8, reference);
    for (size_t i = 0; i < p[1]; i++) {
        const struct elig_proto_answer *a =
            elig_checker_person(l->ck, ids[i], date, q.flags & ELIG_PROTO_CONSENT);
        l->person_buf.len = 0;
        if (elig_pbuf_reserve(&l->person_buf, 1)) {
            elig_round_add_status(l->round, h, ELIG_PS_INTERNAL, &c->out);
            return 1;
        }
        l->person_buf.data[l->person_buf.len++] = q.reason; /* the audit keeps why, first */
        if (elig_proto_answer_encode(&l->person_buf, a) ||
            len + l->person_buf.len - 1 > PERSON_ANSWER_MAX) {
            elig_round_add_status(l->round, h, ELIG_PS_INTERNAL, &c->out);
            return 1;
        }
        memcpy(p + len, l->person_buf.data + 1, l->person_buf.len - 1);
        len += l->person_buf.len - 1;
        if (l->aw) /* each person's answer, by its own reference, as a check's */
            session_loop_audit(l, fac, ELIG_OP_LOOKUP_PERSON, a, l->person_buf.data,
                               l->person_buf.len);
    }
    if (l->aw) { /* and the lookup itself: its reason and outcome, by the lookup's reference */
        struct elig_proto_answer whole = { .reference = reference };
        uint8_t rec[3] = { q.reason, p[0], p[1] };
        session_loop_audit(l, fac, ELIG_OP_LOOKUP_PERSON, &whole, rec, sizeof rec);
    }
    stat_add(&l->st.person_lookups, 1);
    l->scratch_len += len;
    elig_round_add_answer(l->round, h, ELIG_PS_OK, p, len, &c->out);
    return 1;
}

/* The round's audit hook: every answered check into this worker's audit writer. */
void session_loop_audit(void *ctx, const char *facility, uint8_t opcode,
                        const struct elig_proto_answer *a, const uint8_t *encoded, size_t len)
{
    struct loop *l = ctx;
    int rc = elig_audit_record(l->aw, a->reference, l->now_s, facility, opcode, a->validity,
                               encoded, len);
    if (rc == 0)
        stat_add(&l->st.audit_records, 1);
    if (rc) {
        stat_add(&l->st.audit_errors, 1);
        if (!l->audit_failed)
            elig_slog(ELIG_SLOG_ERROR, "audit log write failed: %s", elig_net_strerror(rc));
        l->audit_failed = true;
    }
}

/*
 * Once a second: start writing the audit's records (a block not yet full is
 * a write of its own, so not more often) and an fdatasync after them;
 * pruning daily. Neither waits for the disk.
 */
void session_audit_tick(struct loop *l)
{
    if (!l->aw || l->now_ms - l->synced_ms < AUDIT_SYNC_MS)
        return;
    l->synced_ms = l->now_ms;
    uint64_t recorded = atomic_load_explicit(&l->st.audit_records, memory_order_relaxed);
    int rc = elig_audit_write(l->aw);
    if (rc == 0)
        rc = elig_audit_sync(l->aw);
    if (rc == 0) /* the records so far are on their way to the disk */
        atomic_store_explicit(&l->st.audit_synced, recorded, memory_order_relaxed);
    if (rc && !l->audit_failed) {
        elig_slog(ELIG_SLOG_ERROR, "audit log write failed: %s", elig_net_strerror(rc));
        l->audit_failed = true;
    }
    if (l->id == 0 && l->pruned != l->today) {
        l->pruned = l->today;
        int n = elig_audit_prune(l->srv->p.audit, l->now_s);
        if (n > 0)
            elig_slog(ELIG_SLOG_INFO, "audit: %d files past their month of retention deleted", n);
    }
}

int session_tls_admit(struct loop *l, struct conn *c, const char *code)
{
    session_registry_refresh(l);
    bool known = strlen(code) == ELIG_PROTO_FACILITY_LEN && elig_proto_facility_valid(code);
    const struct elig_fac *f = known && !session_trusted(l) ? elig_fac_find(l->reg, code) : NULL;
    if (!known || (!session_trusted(l) && (!f || f->revoked))) {
        stat_add(&l->st.auth_failed, 1);
        auth_warn(l, known ? code : "(not a facility code)");
        return -EACCES;
    }
    memcpy(c->fac, code, ELIG_PROTO_FACILITY_LEN + 1);
    return admit(l, c) == ELIG_PS_OK ? 0 : -EUSERS;
}

/*
 * Decide a facility frame before the round sees it: the handshake, the
 * refusal of anything but PING before it, and the facility's rate.
 * Returns 0 (the round decides), 1 (answered here), -ENOSPC (the round is
 * full: the frame waits for the next one, nothing was decided).
 */
int session_gate(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                 const uint8_t *body)
{
    if (h->version != ELIG_PROTO_VERSION || h->opcode == ELIG_OP_PING)
        return 0;
    if (l->kind == LOOP_ADMIN) { /* the Unix socket is guarded by its mode; TCP by the admin key */
        if (!c->admin_tcp)
            return 0;
        if (!elig_round_room(l->round, 0))
            return -ENOSPC;
        if (h->opcode == ELIG_OP_HELLO)
            hello(l, c, h, body);
        else if (h->opcode == ELIG_OP_AUTH)
            auth(l, c, h, body);
        else if (c->auth == AUTH_OK)
            return 0;
        else {
            elig_round_add_status(l->round, h, ELIG_PS_UNAUTHENTICATED, &c->out);
            c->no_parse = true;
        }
        return 1;
    }
    unsigned n = elig_op_has(h->opcode, ELIG_OPF_CHECK) ? checks_in(h, body) : 0;
    if (!elig_round_room(l->round, n > ELIG_PROTO_BATCH_MAX ? 1 : n))
        return -ENOSPC;
    if (h->opcode == ELIG_OP_HELLO) {
        hello(l, c, h, body);
        return 1;
    }
    if (h->opcode == ELIG_OP_AUTH) {
        auth(l, c, h, body);
        return 1;
    }
    if (h->opcode == ELIG_OP_POSTHOC)
        return posthoc(l, c, h, body);
    if (h->opcode == ELIG_OP_LIST_SUBMIT)
        return list_submit(l, c, h, body);
    if (h->opcode == ELIG_OP_LIST_FETCH)
        return list_fetch(l, c, h, body);
    if (h->opcode == ELIG_OP_LOOKUP_PERSON)
        return lookup_person(l, c, h, body);
    if (!session_trusted(l) && c->auth != AUTH_OK) {
        elig_round_add_status(l->round, h, ELIG_PS_UNAUTHENTICATED, &c->out);
        stat_add(&l->st.auth_failed, 1);
        c->no_parse = true;
        return 1;
    }
    const struct elig_srv_params *p = &l->srv->p;
    if (n && p->cluster && elig_cluster_behind(p->cluster, p->max_lag)) { /* stale: said so */
        elig_round_add_status(l->round, h, ELIG_PS_BEHIND, &c->out);
        stat_add(&l->st.behind, 1);
        return 1;
    }
    return 0; /* a check is charged by the round once it decoded (session_round_spend) */
}

/* The round's charge for the frames of l->spending, the connection being parsed. */
bool session_round_spend(void *ctx, unsigned n)
{
    struct loop *l = ctx;
    if (spend(l, l->spending, n))
        return true;
    stat_add(&l->st.rate_limited, 1);
    return false;
}
