/* SPDX-License-Identifier: MIT */
/*
 * bench_lists: "elig-bench lists": do single checks keep their latency while
 * appointment lists are checked in the background?
 *
 * Set-up: N synthetic records built into a segment that eligd serves
 * (--attach, --trust-network, no audit) with an appointment lists directory
 * (--lists). One client connection sends single LOOKUP_NUMBER checks of
 * random records one at a time (depth 1: each check's latency is its round
 * trip) and records every latency (elig_hist: within 0.4% of the value).
 *
 * Run: R times, alternating, (a) singles alone for S seconds; (b) a backlog
 * of B entries handed in as lists of 10,000 (LIST_SUBMIT, from a second
 * connection, one facility code a list), then singles for as long as the
 * backlog is being checked (its lists polled every 2,000 checks, in the
 * order eligd checks them, until the last is done; the time that takes is
 * reported: it may be shorter than S). p50, p99 and p99.9 of each, medians over the runs, and
 * their ratio; the backlog's own rate (entries answered a second, from the
 * first submit to the last list done) beside them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_client.h"
#include "elig_hist.h"
#include "elig_index.h"
#include "elig_net_error.h"
#include "elig_proto.h"
#include "elig_rand.h"

#define QUERIES   65536
#define POLL_EACH 2000

struct sample {
    double p50, p99, p999, rate; /* seconds; checks a second */
    double backlog_rate;         /* (b) entries answered a second */
    double drained;              /* (b) seconds from the first submit to the last list done */
    uint64_t checks;
};

struct queries {
    struct elig_record rec[QUERIES];
    struct elig_proto_number q[QUERIES];
};

/* Singles until until(ctx) says stop (checked every POLL_EACH) or seconds pass. */
static int singles(struct elig_client *c, const struct queries *qs, uint64_t *seed, double seconds,
                   int (*until)(void *ctx), void *ctx, struct elig_hist *l)
{
    struct elig_proto_answer *a = malloc(sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    double t0 = bench_now();
    int rc = 0;
    for (uint64_t k = 0; rc == 0; k++) {
        if (k % POLL_EACH == 0) {
            if (until && (rc = until(ctx)) != 0)
                break;
            if (!until && bench_now() - t0 >= seconds)
                break;
        }
        size_t i = (size_t)(elig_mix64((*seed)++) % QUERIES);
        uint8_t st;
        double s = bench_now();
        rc = elig_client_lookup_number(c, &qs->q[i], a, &st);
        if (rc == 0 && a->status != ELIG_AS_OK)
            rc = -ELIG_EPROTO; /* every query is of a record of the population */
        if (rc == 0)
            elig_hist_record(l, (uint64_t)((bench_now() - s) * 1e9)); /* ns */
    }
    free(a);
    return rc > 0 ? 0 : rc;
}

#define LISTS_MAX 10000

struct backlog {
    struct elig_client *c;
    uint64_t reception[LISTS_MAX];                    /* each list's */
    char fac[LISTS_MAX][ELIG_PROTO_FACILITY_LEN + 1]; /* and its facility */
    uint32_t lists, done;                             /* handed in; known done */
    double t0, done_at;
};

/* 1 once every list of the backlog is done (the time noted); 0 while some is not. */
static int backlog_done(void *ctx)
{
    struct backlog *b = ctx;
    while (b->done < b->lists) {
        struct elig_proto_list_state st;
        uint16_t n;
        uint8_t ps;
        int rc = elig_client_list_fetch(b->c, b->fac[b->done], b->reception[b->done], 0, 1, &st,
                                        NULL, NULL, &n, &ps);
        if (rc)
            return rc;
        if (st.state == ELIG_LIST_FAILED)
            return -EIO;
        if (st.state != ELIG_LIST_DONE)
            return 0;
        b->done++;
    }
    b->done_at = bench_now();
    return 1;
}

/* Hand in entries as lists of ELIG_PROTO_LIST_MAX, each from a facility of its own. */
static int submit_backlog(struct backlog *b, const struct queries *qs, uint64_t entries,
                          uint64_t *seed)
{
    struct elig_proto_number *list = malloc(ELIG_PROTO_LIST_MAX * sizeof *list);
    if (list == NULL)
        return -ENOMEM;
    int rc = 0;
    b->t0 = bench_now();
    b->lists = b->done = 0;
    for (uint64_t at = 0; rc == 0 && at < entries && b->lists < LISTS_MAX;
         at += ELIG_PROTO_LIST_MAX) {
        size_t k =
            entries - at < ELIG_PROTO_LIST_MAX ? (size_t)(entries - at) : ELIG_PROTO_LIST_MAX;
        char *code = b->fac[b->lists];
        snprintf(code, ELIG_PROTO_FACILITY_LEN + 1, "131%07u", 1 + b->lists);
        for (size_t i = 0; i < k; i++) {
            list[i] = qs->q[elig_mix64((*seed)++) % QUERIES];
            list[i].facility = code;
        }
        struct elig_proto_list_state st;
        uint8_t ps;
        int code_rc;
        rc = elig_client_list_submit(b->c, code, list, k, &st, &ps, &code_rc);
        if (rc)
            fprintf(stderr, "elig-bench lists: LIST_SUBMIT: %s %s\n", elig_net_strerror(rc),
                    rc == -ELIG_EREFUSED ? elig_pstatus_name(ps) : "");
        b->reception[b->lists++] = st.reception;
    }
    free(list);
    return rc;
}

static void summarize(struct elig_hist *l, double seconds, struct sample *s)
{
    s->p50 = (double)elig_hist_percentile(l, 50) * 1e-9;
    s->p99 = (double)elig_hist_percentile(l, 99) * 1e-9;
    s->p999 = (double)elig_hist_percentile(l, 99.9) * 1e-9;
    s->checks = l->total;
    s->rate = seconds > 0 ? (double)l->total / seconds : 0;
    elig_hist_reset(l);
}

static double median_field(const struct sample *s, unsigned n, size_t off)
{
    double v[64];
    for (unsigned i = 0; i < n && i < 64; i++)
        v[i] = *(const double *)((const char *)&s[i] + off);
    return bench_median(v, n);
}

int bench_lists(const struct bench_opts *o)
{
    char dir[4096], seg[4200], lists[4200], workers[16], line[512];
    snprintf(dir, sizeof dir, "%s/elig-bench-lists-%d", o->dir, (int)getpid());
    snprintf(seg, sizeof seg, "%s/index.seg", dir);
    snprintf(lists, sizeof lists, "%s/lists", dir);
    snprintf(workers, sizeof workers, "%u", o->workers);
    if (mkdir(dir, 0700) < 0) {
        fprintf(stderr, "elig-bench lists: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    struct bench_pop *pop = calloc(1, sizeof *pop);
    struct queries *qs = calloc(1, sizeof *qs);
    struct elig_index *ix = NULL;
    double build;
    int rc = pop && qs ? bench_index_make(o, pop, seg, &ix, &build) : -ENOMEM;
    elig_index_close(ix, true);
    uint64_t seed = 1;
    for (size_t i = 0; rc == 0 && i < QUERIES; i++)
        bench_number_query(pop, elig_mix64(seed++) % o->records, &qs->rec[i], &qs->q[i]);
    char *argv[] = { (char *)o->eligd, "--attach",  seg,     "--trust-network",
                     "--no-audit",     "--lists",   lists,   "--listen",
                     "127.0.0.1:0",    "--workers", workers, "--log-file",
                     "/dev/null",      NULL };
    pid_t pid = rc == 0 ? bench_spawn_until(argv, "eligd: ready", line, sizeof line) : -1;
    unsigned port = 0;
    if (rc == 0 && (pid < 0 || sscanf(line, "eligd: ready port=%u", &port) != 1))
        rc = -EIO;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    struct elig_client *c = NULL, *sub = NULL;
    if (rc == 0)
        rc = elig_client_connect(addr, 20000, &c);
    if (rc == 0)
        rc = elig_client_connect(addr, 20000, &sub);
    struct sample alone[64], busy[64];
    struct elig_hist *l = calloc(1, sizeof *l);
    if (l == NULL)
        rc = -ENOMEM;
    else
        elig_hist_reset(l);
    unsigned runs = o->runs > 64 ? 64 : o->runs;
    for (unsigned r = 0; rc == 0 && r < runs; r++) {
        double t0 = bench_now();
        rc = singles(c, qs, &seed, o->seconds, NULL, NULL, l);
        summarize(l, bench_now() - t0, &alone[r]);
        struct backlog *b = calloc(1, sizeof *b);
        if (b == NULL)
            rc = -ENOMEM;
        else
            b->c = sub;
        if (rc == 0)
            rc = submit_backlog(b, qs, o->backlog, &seed);
        t0 = bench_now();
        if (rc == 0)
            rc = singles(c, qs, &seed, 0, backlog_done, b, l);
        summarize(l, bench_now() - t0, &busy[r]);
        busy[r].drained = b ? b->done_at - b->t0 : 0;
        free(b);
        busy[r].backlog_rate = busy[r].drained > 0 ? (double)o->backlog / busy[r].drained : 0;
        /* the lists' files go (eligd prunes nothing that young); the next run hands in its own */
        if (rc == 0) {
            bench_rm_tree(lists);
            mkdir(lists, 0700);
        }
    }
    elig_client_close(c);
    elig_client_close(sub);
    bench_stop(pid);
    free(l);
    if (rc) {
        fprintf(stderr, "elig-bench lists: %s\n", elig_net_strerror(rc));
        bench_rm_tree(dir);
        free(pop);
        free(qs);
        return 1;
    }
    double a50 = median_field(alone, runs, offsetof(struct sample, p50));
    double a99 = median_field(alone, runs, offsetof(struct sample, p99));
    double a999 = median_field(alone, runs, offsetof(struct sample, p999));
    double ar = median_field(alone, runs, offsetof(struct sample, rate));
    double b50 = median_field(busy, runs, offsetof(struct sample, p50));
    double b99 = median_field(busy, runs, offsetof(struct sample, p99));
    double b999 = median_field(busy, runs, offsetof(struct sample, p999));
    double br = median_field(busy, runs, offsetof(struct sample, rate));
    double drained = median_field(busy, runs, offsetof(struct sample, drained));
    double brate = median_field(busy, runs, offsetof(struct sample, backlog_rate));
    if (o->json) {
        printf("{\"records\":%llu,\"backlog\":%llu,\"runs\":%u,\"workers\":%u,"
               "\"alone\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"checks_per_s\":%.0f},"
               "\"with_backlog\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
               "\"checks_per_s\":%.0f},\"p99_ratio\":%.3f,\"backlog_seconds\":%.2f,"
               "\"backlog_entries_per_s\":%.0f}\n",
               (unsigned long long)o->records, (unsigned long long)o->backlog, runs, o->workers,
               a50 * 1e6, a99 * 1e6, a999 * 1e6, ar, b50 * 1e6, b99 * 1e6, b999 * 1e6, br,
               a99 > 0 ? b99 / a99 : 0, drained, brate);
    } else {
        printf("lists: %llu records, single checks at depth 1 on one connection, eligd with %u "
               "workers, medians of %u runs\n",
               (unsigned long long)o->records, o->workers, runs);
        printf("  %-34s p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us  %8.0f checks/s\n", "alone",
               a50 * 1e6, a99 * 1e6, a999 * 1e6, ar);
        printf("  %-34s p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us  %8.0f checks/s\n",
               "while a backlog is checked", b50 * 1e6, b99 * 1e6, b999 * 1e6, br);
        printf("  p99 with the backlog / alone        %.3f\n", a99 > 0 ? b99 / a99 : 0);
        printf("  backlog                            %llu entries in lists of %d, answered in "
               "%.2f s (%.0f entries/s)\n",
               (unsigned long long)o->backlog, ELIG_PROTO_LIST_MAX, drained, brate);
    }
    bench_rm_tree(dir);
    free(pop);
    free(qs);
    return 0;
}
