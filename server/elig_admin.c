/* SPDX-License-Identifier: MIT */
/*
 * elig_admin: STATS and the admin opcodes of eligd.
 *
 * The round hands every STATS, ADMIN_STATS and admin frame to admin_plain().
 * STATS sums the loops' published counters (relaxed atomics: a snapshot, not
 * a transaction) into named items; the admin opcodes call the store's writer
 * side (append, snapshot, grow) or the registry (reload) and block the admin
 * loop while they run: the facility workers go on answering meanwhile. The
 * store's refusals are answered UNAVAILABLE with their code and counted by
 * cause.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "elig_codec.h"
#include "elig_net_error.h"
#include "elig_le.h"
#include "elig_slog.h"
#include "elig_srv_loop.h"

/* ---- answers ---------------------------------------------------------- */

#define CLUSTER_APPEND_MS 30000 /* a chunk published, until applied here */

static void count_store_error(struct loop *l, int rc)
{
    enum store_error e = rc == -ENOSPC             ? SE_NOSPACE
                         : rc == -EDQUOT           ? SE_QUOTA
                         : rc == -EIO              ? SE_IO
                         : rc == -ELIG_ESHORTWRITE ? SE_SHORT_WRITE
                                                   : SE_OTHER;
    stat_add(&l->st.store_errors[e], 1);
}

#define COMPUTED 11 /* the items put_stats computes itself, below */

static int put_stats(struct loop *l, struct elig_pbuf *b)
{
    const struct elig_srv *s = l->srv;
    bool admin = l->kind == LOOP_ADMIN;
    struct elig_index_stats ix;
    elig_index_stats(l->ix, &ix);
    struct elig_proto_stat items[COMPUTED + LOOP_STATS_MAX + ELIG_CHECK_WORDS];
    size_t n = 0;
#define ITEM(nm, v) items[n++] = (struct elig_proto_stat){ nm, (v) }
    ITEM("uptime_seconds", (mono_ms() - s->started_ms) / 1000);
    ITEM("connections", atomic_load(&s->conns));
    ITEM("connection_buffer_bytes", atomic_load_explicit(&s->mem, memory_order_relaxed));
    for (size_t i = 0; i < loop_stats_count; i++)
        if (!loop_stats_desc[i].admin)
            ITEM(loop_stats_desc[i].name, loop_stat_sum(s, loop_stats_desc[i].offset));
    for (unsigned i = 0; i < elig_check_stats_count; i++)
        ITEM(elig_check_stats[i].name,
             loop_stat_sum(s, offsetof(struct loop_stats, check) +
                                  elig_check_stats[i].word * sizeof(uint64_t)));
    ITEM("index_records", ix.records);
    ITEM("index_applied_lsn", ix.applied_lsn);
    if (admin) {
        ITEM("index_capacity", ix.capacity);
        ITEM("index_persons", ix.persons);
        ITEM("index_cards", ix.cards);
        ITEM("index_cards_capacity", ix.cards_capacity);
        ITEM("index_segment_bytes", ix.segment_bytes);
        for (size_t i = 0; i < loop_stats_count; i++)
            if (loop_stats_desc[i].admin)
                ITEM(loop_stats_desc[i].name, loop_stat_sum(s, loop_stats_desc[i].offset));
        ITEM("workers", s->nloops - 1);
    }
#undef ITEM
    return elig_proto_stats_encode(b, items, n);
}

/*
 * A cluster node's ADMIN_APPEND: the chunk published to the cluster's stream
 * (with its id, or one made here), and answered with what this node's store
 * made of it once its applier has applied it.
 */
static int cluster_append(struct loop *l, const uint8_t *body, const struct elig_proto_append *a,
                          uint64_t *first)
{
    uint8_t made[ELIG_PROTO_CHUNK_ID_LEN];
    const uint8_t *id = a->id;
    if (id == NULL) {
        randombytes_buf(made, sizeof made);
        id = made;
    }
    uint64_t seq;
    int rc = elig_cluster_append(l->srv->p.cluster, body, a->events_len, id, a->entered,
                                 CLUSTER_APPEND_MS, &seq);
    if (rc == 0)
        rc = elig_db_chunk_result(l->srv->p.db, id, l->events, a->n, l->ev_status, first);
    return rc;
}

/* ADMIN_APPEND: decode the events, make them durable, answer each one's status. */
static int admin_append(struct loop *l, const uint8_t *body, size_t len, struct elig_pbuf *b,
                        uint8_t *status)
{
    struct elig_proto_append a;
    if (elig_proto_append_decode(body, len, l->events, ADMIN_EVENTS, &a)) {
        *status = ELIG_PS_BODY;
        return 0;
    }
    uint32_t n = a.n;
    uint64_t first = 0;
    bool dup = false;
    int rc = l->srv->p.cluster ? cluster_append(l, body, &a, &first)
                               : elig_db_submit_chunk(l->srv->p.db, a.id, a.entered, l->events, n,
                                                      l->ev_status, &first, &dup);
    if (rc) {
        *status = ELIG_PS_UNAVAILABLE;
        if (rc == -ELIG_ECHUNKID) {
            *status = ELIG_PS_BODY; /* the sender's mistake: nothing was logged */
            elig_slog(ELIG_SLOG_WARN, "admin append of %u events refused: %s", n,
                      elig_net_strerror(rc));
        } else {
            count_store_error(l, rc);
            elig_slog(ELIG_SLOG_ERROR, "admin append of %u events failed: %s", n,
                      elig_net_strerror(rc));
        }
        if (elig_pbuf_reserve(b, 4))
            return -ENOMEM;
        elig_le32(b->data + b->len, (uint32_t)rc);
        b->len += 4;
        return 0;
    }
    if ((rc = elig_pbuf_reserve(b, 12 + 4 * (size_t)n)))
        return rc;
    uint8_t *p = b->data + b->len;
    elig_le64(p, first);
    elig_le32(p + 8, n);
    uint32_t rejected = 0;
    for (uint32_t i = 0; i < n; i++) {
        elig_le32(p + 12 + 4 * i, (uint32_t)l->ev_status[i]);
        rejected += l->ev_status[i] != 0;
    }
    b->len += 12 + 4 * (size_t)n;
    if (dup) {
        stat_add(&l->st.duplicates, 1);
        return 0;
    }
    stat_add(&l->st.appended, n - rejected);
    stat_add(&l->st.rejected, rejected);
    return 0;
}

/* The store refused a request: counted by cause, logged, answered UNAVAILABLE with its code. */
static int refuse_store(struct loop *l, struct elig_pbuf *b, uint8_t *status, int rc,
                        const char *what)
{
    if (rc != -ELIG_EGROWSIZE) /* the request's fault, not the store's */
        count_store_error(l, rc);
    elig_slog(ELIG_SLOG_ERROR, "%s: %s", what, elig_net_strerror(rc));
    *status = ELIG_PS_UNAVAILABLE;
    if (elig_pbuf_reserve(b, 4))
        return -ENOMEM;
    elig_le32(b->data + b->len, (uint32_t)rc);
    b->len += 4;
    return 0;
}

static int admin_snapshot(struct loop *l, struct elig_pbuf *b, uint8_t *status)
{
    struct elig_snap_info info;
    uint64_t seq = 0; /* a cluster node: the stream position the snapshot holds */
    atomic_store(&l->long_op, true);
    int rc = l->srv->p.cluster ? elig_cluster_snapshot(l->srv->p.cluster, &info, &seq)
                               : elig_db_snapshot(l->srv->p.db, &info);
    atomic_store(&l->long_op, false);
    if (rc)
        return refuse_store(l, b, status, rc, "snapshot failed");
    char at[48] = "";
    if (l->srv->p.cluster)
        snprintf(at, sizeof at, ", stream sequence %llu", (unsigned long long)seq);
    elig_slog(ELIG_SLOG_INFO, "snapshot at LSN %llu: %llu records, %llu bytes%s",
              (unsigned long long)info.lsn, (unsigned long long)info.records,
              (unsigned long long)info.bytes, at);
    stat_add(&l->st.snapshots, 1);
    if ((rc = elig_pbuf_reserve(b, 48)))
        return rc;
    const uint64_t v[6] = { info.lsn, info.records, info.cards, info.insurers, info.bytes, seq };
    for (int i = 0; i < 6; i++)
        elig_le64(b->data + b->len + 8 * i, v[i]);
    b->len += 48;
    return 0;
}

/*
 * ADMIN_GROW: a larger index built beside the live one while the facility
 * loops answer from it; then every loop moves to the new one at its next
 * safe point, and the old one is unmapped once none reads it.
 */
static int admin_grow(struct loop *l, const uint8_t *body, size_t len, struct elig_pbuf *b,
                      uint8_t *status)
{
    if (len != ELIG_PROTO_GROW_BODY) {
        *status = ELIG_PS_BODY;
        return 0;
    }
    struct elig_srv *s = l->srv;
    struct elig_proto_grow w;
    elig_proto_grow_decode(body, &w);
    const struct elig_index_params want = {
        .capacity = w.capacity,
        .persons = w.persons,
        .cards = w.cards,
        .names = w.names,
        .key_strings = w.key_strings,
    };
    struct elig_index *old;
    struct elig_db_grow g;
    atomic_store(&l->long_op, true);
    int rc = elig_db_grow(s->p.db, &want, &old, &g);
    atomic_store(&l->long_op, false);
    if (rc)
        return refuse_store(l, b, status, rc, "index not grown");
    if (elig_live_swap(s->live, elig_db_index(s->p.db), l->live_slot, 10000) == 0)
        elig_index_close(old, false);
    else if (s->nretired < RETIRED_MAX) /* a loop is stuck: keep the old mapping for it */
        s->retired[s->nretired++] = old;
    elig_checker_set_index(l->ck, l->ix = elig_live_current(s->live));
    elig_slog(ELIG_SLOG_INFO,
              "index grown from %llu to %llu records in %.2f s (%llu records %s at LSN %llu, "
              "segment %llu bytes); updates waited meanwhile",
              (unsigned long long)g.before.capacity, (unsigned long long)g.after.capacity,
              g.seconds, (unsigned long long)g.records,
              g.was_full ? "rebuilt from snapshot and log: it was full" : "copied",
              (unsigned long long)g.lsn, (unsigned long long)g.segment_bytes);
    if ((rc = elig_pbuf_reserve(b, ELIG_PROTO_GROWN_BODY)))
        return rc;
    const struct elig_proto_grown out = {
        .capacity_before = g.before.capacity,
        .capacity_after = g.after.capacity,
        .records = g.records,
        .lsn = g.lsn,
        .segment_bytes = g.segment_bytes,
        .ms = (uint64_t)(g.seconds * 1000),
        .was_full = g.was_full,
    };
    elig_proto_grown_encode(b->data + b->len, &out);
    b->len += ELIG_PROTO_GROWN_BODY;
    return 0;
}

/* ADMIN_RELOAD: read the facility registry again; answer how many it holds. */
static int admin_reload(struct loop *l, struct elig_pbuf *b, uint8_t *status)
{
    size_t count = 0;
    int rc = l->srv->p.access ? elig_access_reload(l->srv->p.access, &count) : -EINVAL;
    if (elig_pbuf_reserve(b, 4))
        return -ENOMEM;
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "facility registry not reloaded: %s", elig_net_strerror(rc));
        *status = ELIG_PS_UNAVAILABLE;
        elig_le32(b->data + b->len, (uint32_t)rc);
    } else {
        elig_slog(ELIG_SLOG_INFO, "facility registry reloaded: %zu facilities", count);
        elig_le32(b->data + b->len, (uint32_t)count);
    }
    b->len += 4;
    return 0;
}

/* The round's callback for STATS and the admin opcodes. */
int admin_plain(void *ctx, uint8_t opcode, const uint8_t *body, size_t len, struct elig_pbuf *out,
                uint8_t *status, size_t *keep_on_error)
{
    struct loop *l = ctx;
    int rc = 0;
    switch (opcode) {
    case ELIG_OP_STATS:
    case ELIG_OP_ADMIN_STATS:
        rc = put_stats(l, out);
        break;
    case ELIG_OP_ADMIN_APPEND:
        rc = admin_append(l, body, len, out, status);
        break;
    case ELIG_OP_ADMIN_SNAPSHOT: /* empty bodies: the round checked (ELIG_OPF_EMPTY) */
        rc = admin_snapshot(l, out, status);
        break;
    case ELIG_OP_ADMIN_RELOAD:
        rc = admin_reload(l, out, status);
        break;
    case ELIG_OP_ADMIN_GROW:
        rc = admin_grow(l, body, len, out, status);
        break;
    default:
        *status = ELIG_PS_INTERNAL;
        break;
    }
    if (*status == ELIG_PS_UNAVAILABLE ||
        (opcode == ELIG_OP_ADMIN_APPEND && *status == ELIG_PS_BODY))
        *keep_on_error = 4; /* the store's error code (ADMIN_APPEND's 3: when it names one) */
    return rc;
}
