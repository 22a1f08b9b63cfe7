/* SPDX-License-Identifier: MIT */
/*
 * elig_prom: eligd's counters as the Prometheus text format (the metrics
 * endpoint), and the loops' counter table that STATS follows too.
 *
 * Design: one table of families (name, type, help, how its samples are
 * made). Counter rows of the loops (loop_stats_desc, below) and of the
 * checker (elig_check_stats) name the family they belong to and their
 * labels, so a counter added to either table appears in STATS and here
 * alike; families with samples of another shape (checks by opcode and
 * validity, latency histograms, the index's sizes, the log) have a render
 * function of their own. Samples of a family are written together, after its
 * HELP and TYPE, as the format requires.
 *
 * Every value is read with relaxed atomic loads from the loops' published
 * counters, the index sizes loop 0 publishes each tick (this thread never
 * touches an index: a grow may unmap it) and the log's histogram: a scrape
 * is a snapshot, never a lock on the serving path. Labels are opcodes,
 * validity codes, reasons and facility types: never a facility code, a key
 * or anything of a person.
 */
#include "elig_prom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "elig_bq.h"
#include "elig_cluster.h"
#include "elig_config.h"
#include "elig_db.h"
#include "elig_lag.h"
#include "elig_lat.h"
#include "elig_srv_loop.h"

#define LS(f) offsetof(struct loop_stats, f)
const struct loop_stat_desc loop_stats_desc[] = {
    { "connections_accepted", LS(accepted), false, "eligd_connections_accepted_total", "" },
    { "connections_refused_busy", LS(refused_busy), false, "eligd_connections_refused_total",
      "reason=\"busy\"" },
    { "connections_refused_memory", LS(refused_memory), false, "eligd_connections_refused_total",
      "reason=\"memory\"" },
    { "connections_closed_memory", LS(closed_memory), false, "eligd_connections_closed_total",
      "reason=\"memory\"" },
    { "auth_ok", LS(auth_ok), false, "eligd_auth_total", "result=\"ok\"" },
    { "auth_refused", LS(auth_failed), false, "eligd_auth_total", "result=\"refused\"" },
    { "tls_handshakes", LS(tls_handshakes), false, "eligd_tls_handshakes_total", "result=\"ok\"" },
    { "tls_refused", LS(tls_refused), false, "eligd_tls_handshakes_total", "result=\"refused\"" },
    { "facility_connections_refused", LS(facility_conns), false, "eligd_allowance_refusals_total",
      "kind=\"connections\"" },
    { "frames_rate_limited", LS(rate_limited), false, "eligd_allowance_refusals_total",
      "kind=\"rate\"" },
    { "connections_closed_revoked", LS(revoked_closed), false, "eligd_connections_closed_total",
      "reason=\"revoked\"" },
    { "posthoc_reads", LS(posthoc), false, "eligd_posthoc_reads_total", "result=\"read\"" },
    { "person_lookups", LS(person_lookups), false, "eligd_person_lookups_total",
      "result=\"answered\"" },
    { "person_lookups_refused", LS(person_refused), false, "eligd_person_lookups_total",
      "result=\"refused\"" },
    { "posthoc_not_found", LS(posthoc_missed), false, "eligd_posthoc_reads_total",
      "result=\"not_found\"" },
    { "audit_write_errors", LS(audit_errors), false, "eligd_audit_write_errors_total", "" },
    { "frames", LS(frames), false, "eligd_frames_total", "" },
    { "frames_bad", LS(bad_frames), false, "eligd_frames_refused_total", "reason=\"bad\"" },
    { "frames_timed_out", LS(timeouts), false, "eligd_frames_refused_total",
      "reason=\"timed_out\"" },
    { "frames_refused_behind", LS(behind), false, "eligd_frames_refused_total",
      "reason=\"behind\"" },
    { "events_appended", LS(appended), true, "eligd_events_total", "result=\"applied\"" },
    { "events_rejected", LS(rejected), true, "eligd_events_total", "result=\"rejected\"" },
    { "chunks_duplicate", LS(duplicates), true, "eligd_chunks_duplicate_total", "" },
    { "snapshots_written", LS(snapshots), true, "eligd_snapshots_total", "" },
    { "store_errors_no_space", LS(store_errors[SE_NOSPACE]), true, "eligd_store_errors_total",
      "cause=\"no_space\"" },
    { "store_errors_quota", LS(store_errors[SE_QUOTA]), true, "eligd_store_errors_total",
      "cause=\"quota\"" },
    { "store_errors_io", LS(store_errors[SE_IO]), true, "eligd_store_errors_total",
      "cause=\"io\"" },
    { "store_errors_short_write", LS(store_errors[SE_SHORT_WRITE]), true,
      "eligd_store_errors_total", "cause=\"short_write\"" },
    { "store_errors_other", LS(store_errors[SE_OTHER]), true, "eligd_store_errors_total",
      "cause=\"other\"" },
};
#undef LS
const size_t loop_stats_count = sizeof loop_stats_desc / sizeof loop_stats_desc[0];
_Static_assert(sizeof loop_stats_desc / sizeof loop_stats_desc[0] <= LOOP_STATS_MAX,
               "LOOP_STATS_MAX is too small for loop_stats_desc");

uint64_t loop_stat_sum(const struct elig_srv *s, size_t offset)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < s->nloops; i++)
        v +=
            atomic_load_explicit((const _Atomic uint64_t *)((const char *)&s->loops[i].st + offset),
                                 memory_order_relaxed);
    return v;
}

void loop_publish_index(struct loop *l)
{
    struct elig_index_stats st;
    elig_index_stats(l->ix, &st);
    struct elig_srv *s = l->srv;
#define PUB(f, v) atomic_store_explicit(&s->ixs.f, (v), memory_order_relaxed)
    PUB(records, st.records);
    PUB(capacity, st.capacity);
    PUB(persons, st.persons);
    PUB(persons_capacity, st.persons_capacity);
    PUB(cards, st.cards);
    PUB(cards_capacity, st.cards_capacity);
    PUB(names, st.names);
    PUB(names_capacity, st.names_capacity);
    PUB(key_strings, st.key_strings);
    PUB(key_strings_capacity, st.key_strings_capacity);
    PUB(segment_bytes, st.segment_bytes);
    PUB(applied_lsn, st.applied_lsn);
#undef PUB
}

/* ---- the text ---------------------------------------------------------- */

struct prom {
    const struct elig_srv *s;
    struct elig_pbuf *out;
    int rc;
};

static void put(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct prom *p, const char *fmt, ...)
{
    if (p->rc)
        return;
    for (int tries = 0; tries < 2; tries++) {
        size_t room = p->out->cap - p->out->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf((char *)p->out->data + p->out->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->rc = -EINVAL;
            return;
        }
        if ((size_t)n < room) {
            p->out->len += (size_t)n;
            return;
        }
        if ((p->rc = elig_pbuf_reserve(p->out, (size_t)n + 1)))
            return;
    }
}

static uint64_t ld(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

struct family;
typedef void (*render_fn)(struct prom *p, const struct family *f);

struct family {
    const char *name;
    const char *type; /* counter, gauge, histogram */
    const char *help;
    render_fn render; /* its samples; NULL: the one sample value gives */
    bool (*value)(const struct elig_srv *s, uint64_t *v);
};

/* The samples of f from the loops' table and the checker's table. */
static void render_rows(struct prom *p, const struct family *f)
{
    for (size_t i = 0; i < loop_stats_count; i++) {
        const struct loop_stat_desc *d = &loop_stats_desc[i];
        if (d->metric && strcmp(d->metric, f->name) == 0)
            put(p, "%s%s%s%s %llu\n", f->name, d->labels[0] ? "{" : "", d->labels,
                d->labels[0] ? "}" : "", (unsigned long long)loop_stat_sum(p->s, d->offset));
    }
    for (unsigned i = 0; i < elig_check_stats_count; i++) {
        const struct elig_check_stat *c = &elig_check_stats[i];
        if (c->metric && strcmp(c->metric, f->name) == 0)
            put(p, "%s{%s} %llu\n", f->name, c->labels,
                (unsigned long long)loop_stat_sum(p->s, offsetof(struct loop_stats, check) +
                                                            c->word * sizeof(uint64_t)));
    }
}

static const char *const validity_label[ELIG_ROUND_VALIDITIES] = {
    "refused", "valid", "lost", "lost_newer", "no_match", "multiple", "not_answered",
};

static void render_checks(struct prom *p, const struct family *f)
{
    for (const struct elig_op_info *o = elig_op_next(NULL); o; o = elig_op_next(o))
        if (o->flags & ELIG_OPF_CHECK)
            for (unsigned v = 0; v < ELIG_ROUND_VALIDITIES; v++)
                put(p, "%s{opcode=\"%s\",validity=\"%s\"} %llu\n", f->name, o->name,
                    validity_label[v],
                    (unsigned long long)loop_stat_sum(
                        p->s, offsetof(struct loop_stats, checks[o->slot][v])));
}

/* A histogram's samples from bucket counts (not cumulative) and a sum. */
static void put_histogram(struct prom *p, const char *name, const char *labels,
                          const uint64_t *bucket, uint64_t sum_ns)
{
    uint64_t total = 0;
    for (unsigned b = 0; b <= ELIG_LAT_BOUNDS; b++) {
        total += bucket[b];
        if (b < ELIG_LAT_BOUNDS)
            put(p, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "",
                (double)elig_lat_bound_ns[b] * 1e-9, (unsigned long long)total);
        else
            put(p, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "",
                (unsigned long long)total);
    }
    put(p, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (double)sum_ns * 1e-9);
    put(p, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long)total);
}

static void render_latency(struct prom *p, const struct family *f)
{
    for (const struct elig_op_info *o = elig_op_next(NULL); o; o = elig_op_next(o)) {
        uint64_t bucket[ELIG_LAT_BOUNDS + 1] = { 0 }, sum = 0;
        for (unsigned i = 0; i < p->s->nloops; i++) {
            const struct elig_lat *h = &p->s->loops[i].st.latency[o->slot];
            for (unsigned b = 0; b <= ELIG_LAT_BOUNDS; b++)
                bucket[b] += ld(&h->bucket[b]);
            sum += ld(&h->sum_ns);
        }
        char labels[64];
        snprintf(labels, sizeof labels, "opcode=\"%s\"", o->name);
        put_histogram(p, f->name, labels, bucket, sum);
    }
}

static void render_commit(struct prom *p, const struct family *f)
{
    if (!p->s->p.db)
        return;
    const struct elig_lat *h = elig_db_commit_latency(p->s->p.db);
    uint64_t bucket[ELIG_LAT_BOUNDS + 1];
    for (unsigned b = 0; b <= ELIG_LAT_BOUNDS; b++)
        bucket[b] = ld(&h->bucket[b]);
    put_histogram(p, f->name, "", bucket, ld(&h->sum_ns));
}

static const char *const lag_class_label[ELIG_LAG_CLASSES] = { "acquire", "loss", "change" };

/* Registration lag of the events applied since the start, by class (elig_lag.h's buckets). */
static void render_lag(struct prom *p, const struct family *f)
{
    if (!p->s->p.db)
        return;
    uint64_t counts[ELIG_LAG_CLASSES][ELIG_LAG_BUCKETS], days[ELIG_LAG_CLASSES];
    elig_db_lag_counts(p->s->p.db, counts, days);
    for (unsigned c = 0; c < ELIG_LAG_CLASSES; c++) {
        uint64_t total = 0;
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++) {
            total += counts[c][b];
            if (b + 1 < ELIG_LAG_BUCKETS)
                put(p, "%s_bucket{class=\"%s\",le=\"%lld\"} %llu\n", f->name, lag_class_label[c],
                    (long long)elig_lag_bucket_bound(b) * 86400, (unsigned long long)total);
            else
                put(p, "%s_bucket{class=\"%s\",le=\"+Inf\"} %llu\n", f->name, lag_class_label[c],
                    (unsigned long long)total);
        }
        put(p, "%s_sum{class=\"%s\"} %llu\n", f->name, lag_class_label[c],
            (unsigned long long)days[c] * 86400);
        put(p, "%s_count{class=\"%s\"} %llu\n", f->name, lag_class_label[c],
            (unsigned long long)total);
    }
}

/* Single-valued families: their value, false when the server has none (a standalone
 * eligd's stream position). */
static uint64_t applied_lsn(const struct elig_srv *s)
{
    return ld(&s->ixs.applied_lsn);
}

static uint64_t durable_lsn(const struct elig_srv *s)
{
    return s->p.db ? elig_db_durable_lsn(s->p.db) : applied_lsn(s);
}

static bool v_connections(const struct elig_srv *s, uint64_t *v)
{
    *v = atomic_load(&s->conns);
    return true;
}

static bool v_buffer_bytes(const struct elig_srv *s, uint64_t *v)
{
    *v = ld(&s->mem);
    return true;
}

static bool v_uptime(const struct elig_srv *s, uint64_t *v)
{
    *v = (mono_ms() - s->started_ms) / 1000;
    return true;
}

static bool v_applied(const struct elig_srv *s, uint64_t *v)
{
    *v = applied_lsn(s);
    return true;
}

static bool v_durable(const struct elig_srv *s, uint64_t *v)
{
    *v = durable_lsn(s);
    return true;
}

static bool v_lag(const struct elig_srv *s, uint64_t *v)
{
    uint64_t applied = applied_lsn(s), durable = durable_lsn(s);
    *v = durable > applied ? durable - applied : 0;
    return true;
}

static bool v_segment(const struct elig_srv *s, uint64_t *v)
{
    *v = ld(&s->ixs.segment_bytes);
    return true;
}

static bool v_workers(const struct elig_srv *s, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < s->nloops; i++)
        *v += s->loops[i].kind == LOOP_FACILITY;
    return true;
}

static bool v_audit_backlog(const struct elig_srv *s, uint64_t *v)
{
    *v = loop_stat_sum(s, offsetof(struct loop_stats, audit_records)) -
         loop_stat_sum(s, offsetof(struct loop_stats, audit_synced));
    return true;
}

/* Appointment lists (nothing when eligd keeps none). */
static bool v_lists_waiting(const struct elig_srv *s, uint64_t *v)
{
    if (!s->p.bq)
        return false;
    struct elig_bq_stats st;
    elig_bq_stats(s->p.bq, &st);
    *v = st.entries_queued;
    return true;
}

static bool v_lists_answered(const struct elig_srv *s, uint64_t *v)
{
    if (!s->p.bq)
        return false;
    struct elig_bq_stats st;
    elig_bq_stats(s->p.bq, &st);
    *v = st.answered;
    return true;
}

/* A cluster node's place in the replicated stream (nothing on a standalone eligd). */
static bool stream_state(const struct elig_srv *s, struct elig_cluster_state *st)
{
    if (s->p.cluster)
        elig_cluster_state(s->p.cluster, st);
    return s->p.cluster != NULL;
}

static bool v_stream_applied(const struct elig_srv *s, uint64_t *v)
{
    struct elig_cluster_state st;
    return stream_state(s, &st) && (*v = st.applied, true);
}

static bool v_stream_pending(const struct elig_srv *s, uint64_t *v)
{
    struct elig_cluster_state st;
    return stream_state(s, &st) && (*v = st.pending, true);
}

static bool v_stream_malformed(const struct elig_srv *s, uint64_t *v)
{
    struct elig_cluster_state st;
    return stream_state(s, &st) && (*v = st.malformed, true);
}

/* The index's occupancy and capacity, by what it holds. */
static void render_index(struct prom *p, const struct family *f)
{
    const struct elig_srv *s = p->s;
    bool cap = strcmp(f->name, "eligd_index_capacity") == 0;
    const struct {
        const char *kind;
        const _Atomic uint64_t *used, *capacity;
    } kinds[] = {
        { "records", &s->ixs.records, &s->ixs.capacity },
        { "persons", &s->ixs.persons, &s->ixs.persons_capacity },
        { "cards", &s->ixs.cards, &s->ixs.cards_capacity },
        { "names", &s->ixs.names, &s->ixs.names_capacity },
        { "key_strings", &s->ixs.key_strings, &s->ixs.key_strings_capacity },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        put(p, "%s{kind=\"%s\"} %llu\n", f->name, kinds[i].kind,
            (unsigned long long)ld(cap ? kinds[i].capacity : kinds[i].used));
}

static void render_info(struct prom *p, const struct family *f)
{
    put(p, "%s{version=\"%s\",ring_mode=\"%s\"} 1\n", f->name, ELIG_VERSION, p->s->ring_mode);
}

static const struct family families[] = {
    { "eligd_build_info", "gauge", "eligd's version and io_uring ring mode (always 1)", render_info,
      NULL },
    { "eligd_uptime_seconds", "gauge", "Seconds since eligd started serving", NULL, v_uptime },
    { "eligd_workers", "gauge", "Facility worker loops", NULL, v_workers },
    { "eligd_checks_total", "counter",
      "Checks answered, by the opcode of their frame and the validity answered "
      "(not_answered: an answer status other than OK)",
      render_checks, NULL },
    { "eligd_answers_total", "counter", "Checks answered, by answer status and validity",
      render_rows, NULL },
    { "eligd_checks_by_method_total", "counter", "Checks by insurance-card number or by card",
      render_rows, NULL },
    { "eligd_checks_by_facility_type_total", "counter", "Checks by the asking facility's type",
      render_rows, NULL },
    { "eligd_card_refusals_total", "counter", "Card checks refused, by reason", render_rows, NULL },
    { "eligd_request_duration_seconds", "histogram",
      "Time from a frame's last bytes arriving to its answer being made, by opcode", render_latency,
      NULL },
    { "eligd_frames_total", "counter", "Frames received", render_rows, NULL },
    { "eligd_frames_refused_total", "counter", "Frames refused, by reason", render_rows, NULL },
    { "eligd_connections", "gauge", "Open connections", NULL, v_connections },
    { "eligd_connection_buffer_bytes", "gauge", "Bytes the connections' buffers hold", NULL,
      v_buffer_bytes },
    { "eligd_connections_accepted_total", "counter", "Connections accepted", render_rows, NULL },
    { "eligd_connections_refused_total", "counter", "Connections refused, by reason", render_rows,
      NULL },
    { "eligd_connections_closed_total", "counter", "Connections closed by eligd, by reason",
      render_rows, NULL },
    { "eligd_auth_total", "counter", "Facility authentications, by result", render_rows, NULL },
    { "eligd_tls_handshakes_total", "counter", "TLS handshakes, by result", render_rows, NULL },
    { "eligd_allowance_refusals_total", "counter",
      "Frames and connections refused by a facility's allowance, by kind", render_rows, NULL },
    { "eligd_person_lookups_total", "counter",
      "Disaster-mode lookups by person (LOOKUP_PERSON), answered or refused (no declared "
      "disaster for the facility, or its allowance spent)",
      render_rows, NULL },
    { "eligd_posthoc_reads_total", "counter", "POSTHOC reads of the audit log, by result",
      render_rows, NULL },
    { "eligd_audit_write_errors_total", "counter", "Audit log writes that failed", render_rows,
      NULL },
    { "eligd_audit_backlog_records", "gauge",
      "Audit records not yet handed to an fdatasync (written once a second)", NULL,
      v_audit_backlog },
    { "eligd_list_entries_waiting", "gauge",
      "Entries of appointment lists handed in and not yet checked", NULL, v_lists_waiting },
    { "eligd_list_entries_answered_total", "counter",
      "Entries of appointment lists checked in the background since the start", NULL,
      v_lists_answered },
    { "eligd_events_total", "counter", "Update events submitted, by result", render_rows, NULL },
    { "eligd_chunks_duplicate_total", "counter", "Update chunks received again (not applied)",
      render_rows, NULL },
    { "eligd_snapshots_total", "counter", "Snapshots written", render_rows, NULL },
    { "eligd_store_errors_total", "counter", "Appends and snapshots the store refused, by cause",
      render_rows, NULL },
    { "eligd_log_commit_duration_seconds", "histogram",
      "Group commits of the update log: the write and its fdatasync", render_commit, NULL },
    { "eligd_registration_lag_seconds", "histogram",
      "Time from an update's effective day to the day it entered, in whole days, of the "
      "acquisitions, losses and changes applied since the start, by class (allowed: 5 days, "
      "changes 10; le=-86400: entered before it took effect; the sum adds the days after it)",
      render_lag, NULL },
    { "eligd_applied_lsn", "gauge", "The last log record the index has applied", NULL, v_applied },
    { "eligd_durable_lsn", "gauge", "The last log record that is durable", NULL, v_durable },
    { "eligd_apply_lag_records", "gauge", "Durable log records the index has not applied yet", NULL,
      v_lag },
    { "eligd_stream_applied_sequence", "gauge",
      "A cluster node: the last message of the replicated stream it has applied", NULL,
      v_stream_applied },
    { "eligd_stream_pending_messages", "gauge",
      "A cluster node: messages of the stream after the one it applied last (its lag)", NULL,
      v_stream_pending },
    { "eligd_stream_malformed_total", "counter",
      "A cluster node: stream messages that were not update chunks (skipped)", NULL,
      v_stream_malformed },
    { "eligd_index_entries", "gauge", "What the index holds, by kind", render_index, NULL },
    { "eligd_index_capacity", "gauge", "What the index can hold, by kind", render_index, NULL },
    { "eligd_segment_bytes", "gauge", "Size of the index's shared-memory segment", NULL,
      v_segment },
};

int elig_prom_family(struct elig_pbuf *out, const char *name, const char *type, const char *help)
{
    struct prom p = { .out = out };
    put(&p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    return p.rc;
}

int elig_prom_sample(struct elig_pbuf *out, const char *name, const char *labels, uint64_t v)
{
    struct prom p = { .out = out };
    put(&p, "%s%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long)v);
    return p.rc;
}

int elig_prom_checks(struct elig_pbuf *out, const char *prefix, const struct elig_check_counters *c)
{
    uint64_t words[ELIG_CHECK_WORDS];
    memcpy(words, c, sizeof words);
    int rc = 0;
    for (unsigned i = 0; i < elig_check_stats_count && rc == 0; i++) {
        const char *fam = elig_check_stats[i].metric;
        bool first = fam != NULL;
        for (unsigned j = 0; first && j < i; j++) /* a family's rows are written at its first */
            first = !elig_check_stats[j].metric || strcmp(elig_check_stats[j].metric, fam) != 0;
        if (!first)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, fam + strlen("eligd_"));
        const struct family *f = NULL;
        for (size_t k = 0; k < sizeof families / sizeof families[0]; k++)
            if (strcmp(families[k].name, fam) == 0)
                f = &families[k];
        rc = elig_prom_family(out, name, "counter", f ? f->help : fam);
        for (unsigned j = i; j < elig_check_stats_count && rc == 0; j++)
            if (elig_check_stats[j].metric && strcmp(elig_check_stats[j].metric, fam) == 0)
                rc = elig_prom_sample(out, name, elig_check_stats[j].labels,
                                      words[elig_check_stats[j].word]);
    }
    return rc;
}

int elig_srv_metrics(const struct elig_srv *s, struct elig_pbuf *out)
{
    struct prom p = { .s = s, .out = out };
    if ((p.rc = elig_pbuf_reserve(out, 16384)))
        return p.rc;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const struct family *f = &families[i];
        put(&p, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
        uint64_t v;
        if (f->render)
            f->render(&p, f);
        else if (f->value(s, &v))
            put(&p, "%s %llu\n", f->name, (unsigned long long)v);
    }
    return p.rc;
}

int elig_srv_health(const struct elig_srv *s, struct elig_pbuf *out)
{
    struct prom p = { .s = s, .out = out };
    uint64_t applied = applied_lsn(s), durable = durable_lsn(s);
    bool stopping = atomic_load(&s->stop);
    put(&p,
        "{\"status\":\"%s\",\"applied_lsn\":%llu,\"durable_lsn\":%llu,\"records\":%llu,"
        "\"uptime_seconds\":%llu}\n",
        stopping ? "stopping" : "ready", (unsigned long long)applied, (unsigned long long)durable,
        (unsigned long long)ld(&s->ixs.records),
        (unsigned long long)((mono_ms() - s->started_ms) / 1000));
    return p.rc ? p.rc : stopping ? 1 : 0;
}
