/* SPDX-License-Identifier: MIT */
/*
 * elig_loadgen: elig-loadgen: synthetic data and traffic for eligd.
 *
 * "population" writes a synthetic nation as an insurer feed
 * (docs/feed-format.md), ready for `eligctl append` or `eligctl feed check`:
 * the INSURER lines, then every person's qualifications and card. Persons
 * are generated in blocks by worker threads (elig_pop is a pure function
 * of the person number) and written in order, so the output is the same
 * bytes whatever the thread count. Progress (rate, ETA) goes to stderr when
 * it is a terminal. With --segment the same lines are parsed and applied
 * straight into an index segment (no feed file, no log), which
 * `eligd --attach` then serves: the way to stand up the 160M-record nation
 * in minutes for a replay.
 *
 * "updates" writes the month of update events that follows; "traffic"
 * prints the month's schedule (hour by hour); "replay" sends it to eligd or
 * to redis-server ("redis-load" loads redis with the same population).
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_apply.h"
#include "elig_config.h"
#include "elig_date.h"
#include "elig_net_error.h"
#include "elig_opt.h"
#include "elig_tls.h"
#include "elig_feed.h"
#include "elig_index.h"
#include "elig_pop.h"
#include "elig_proto.h"
#include "elig_redis.h"
#include "elig_replay.h"
#include "elig_sched.h"
#include "elig_tables.h"
#if ELIG_HAVE_DPDK
#include "elig_client.h"
#include "elig_client_dgram.h"
#include "elig_text.h"
#endif

#define EXIT_USAGE 2
#define BLOCK      16384 /* persons per block */

static void usage(FILE *out)
{
    fputs(
        "usage: elig-loadgen population [--records N] [--seed S] [--date YYYY-MM-DD]\n"
        "                               [--threads T] [--out FILE | --segment PATH]\n"
        "       elig-loadgen updates    [--records N] [--seed S] [--date YYYY-MM-DD]\n"
        "                               [--out FILE | --by-day DIR]\n"
        "       elig-loadgen traffic    [--month YYYY-MM] [--checks M] [--batch-size B]\n"
        "                               [--out FILE]\n"
        "       elig-loadgen replay     (--server ADDR:PORT[,ADDR:PORT...] | --redis ADDR:PORT |\n"
        "                                --dpdk-server A.B.C.D:PORT --dpdk-eal \"ARGS\"\n"
        "                                [--dpdk-local A.B.C.D:PORT] [--dpdk-queues Q]\n"
        "                                [--dpdk-linger])\n"
        "                               [--records N] [--seed S] [--date YYYY-MM-DD]\n"
        "                               [--month YYYY-MM] [--checks M]\n"
        "                               [--speed X | --rate FRAMES_PER_S]\n"
        "                               [--start YYYY-MM-DDTHH[:MM]] [--hours H]\n"
        "                               [--connections C] [--depth D] [--batch-size B]\n"
        "                               [--traffic-seed T] [--interval S] [--series FILE]\n"
        "                               [--plot FILE.png] [--json]\n"
        "                               [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n"
        "       elig-loadgen redis-load --redis ADDR:PORT [--records N] [--seed S]\n"
        "                               [--date YYYY-MM-DD]\n"
        "\n"
        "population: a synthetic nation of N qualification records (default 160000000,\n"
        "  3 current : 1 past) as an insurer feed on stdout or FILE, or built straight\n"
        "  into an index segment (--segment) that `eligd --attach` serves; the same\n"
        "  seed gives the same bytes. Built from the published tables in loadgen/data/\n"
        "  (compiled in) and the assumptions in docs/loadgen.md.\n"
        "updates: the month of update events that follows the same population (same\n"
        "  --records, --seed and --date), in the order they arrive (effective day plus\n"
        "  the insurer's registration lag), as an insurer feed; --by-day: one feed per\n"
        "  day of arrival, DIR/YYYY-MM-DD.feed (eligctl append --entered YYYY-MM-DD).\n"
        "traffic: the month's schedule as CSV, hour by hour: expected checks by\n"
        "  facility type and method, batch checks and frames (the hour-of-day and\n"
        "  weekday profile of docs/loadgen.md), scaled to M checks (default: the\n"
        "  published month).\n"
        "replay: the month's checks against eligd (--server) or redis-server loaded by\n"
        "  redis-load (--redis) holding that population. --speed X: open loop on the\n"
        "  schedule, X month seconds per second; --rate: open loop at a constant rate;\n"
        "  neither: closed loop at --depth frames per connection. --start/--hours\n"
        "  replay a window of the month. M checks (default 1000000; with --speed or a\n"
        "  window, the published month) make the month. Every answer is checked\n"
        "  against the population. --series writes throughput and latency per\n"
        "  --interval (TSV); --plot draws them (gnuplot). --dpdk-server sends the\n"
        "  frames as UDP datagrams over a DPDK port (eligd --dpdk-addr; each\n"
        "  connection is a flow from its own source port; --batch-size defaults to 8\n"
        "  so that a BATCH answer fits one datagram; --dpdk-queues: as many as eligd\n"
        "  has lcores on a memif link; --dpdk-linger: after the report, wait for\n"
        "  eligd to stop before leaving the link, which a memif server needs).\n"
        "  Several --server addresses (comma-separated, eligd nodes serving the same\n"
        "  data): a connection lost moves to the next, its frames in flight sent\n"
        "  again (counted: failovers, resent, the longest wait for an answer); so\n"
        "  does a node's answer BEHIND (a cluster node not up to date).\n"
        "  --tls-*: TLS 1.3 to eligd with a facility's certificate (eligd must run\n"
        "  with --trust-network: the month's checks come from many facilities).\n"
        "redis-load: load redis-server with the population (one hash per record and\n"
        "  per registered card) for replay --redis.\n",
        out);
}

struct block {
    char *buf;
    size_t len, cap;
    struct elig_event *ev; /* --segment: the lines parsed (by the worker that made them) */
    size_t nev, evcap;
    uint64_t bad; /* lines the parser refused */
    int first_bad;
};

/* Lines of each day of the month, kept until the pass over the persons ends. */
struct days {
    struct block day[31];
    uint64_t events;
};

static void keep_line(void *ctx, unsigned day, const char *line, size_t len)
{
    struct days *d = ctx;
    struct block *b = &d->day[day];
    if (b->cap - b->len < len) {
        b->cap = b->cap ? b->cap * 2 : 1 << 20;
        b->buf = realloc(b->buf, b->cap);
        if (b->buf == NULL)
            abort(); /* out of memory: nothing sensible to do */
    }
    memcpy(b->buf + b->len, line, len);
    b->len += len;
    d->events++;
}

/* The population applied straight into an index segment. */
struct builder {
    const char *path;
    struct elig_index *ix;
    uint64_t lines, applied, refused;
    int first_error;
};

static int builder_open(struct builder *b, const struct elig_pop *pop, uint64_t records)
{
    /* room for the month of updates too: 2% more records, persons and cards */
    struct elig_index_params ip = {
        .path = b->path,
        .capacity = records + records / 50 + 4096,
        .persons = elig_pop_persons(pop) + elig_pop_persons(pop) / 50 + 4096,
        .cards = elig_pop_persons(pop) * 3 / 4 + 4096,
    };
    int rc = elig_index_create(&ip, &b->ix);
    if (rc)
        fprintf(stderr, "elig-loadgen: %s: %s\n", b->path, elig_net_strerror(rc));
    return rc;
}

/* Apply a block's parsed events. */
static void builder_apply_block(struct builder *b, const struct block *blk)
{
    b->lines += blk->nev + blk->bad;
    if (blk->bad) {
        b->refused += blk->bad;
        if (!b->first_error)
            b->first_error = blk->first_bad;
    }
    for (size_t i = 0; i < blk->nev; i++) {
        int rc = elig_apply(b->ix, &blk->ev[i], 0, NULL);
        if (rc < 0) {
            b->refused++;
            if (!b->first_error)
                b->first_error = rc;
        } else {
            b->applied++;
        }
    }
}

static int builder_close(struct builder *b)
{
    struct elig_index_stats st;
    elig_index_stats(b->ix, &st);
    elig_index_close(b->ix, true);
    fprintf(stderr,
            "elig-loadgen: %s: %llu records, %llu persons, %llu cards (%llu events applied, "
            "%llu refused), %.1f bytes a record\n",
            b->path, (unsigned long long)st.records, (unsigned long long)st.persons,
            (unsigned long long)st.cards, (unsigned long long)b->applied,
            (unsigned long long)b->refused, (double)st.segment_bytes / (double)st.records);
    if (b->refused) {
        fprintf(stderr, "elig-loadgen: first refusal: %s\n", elig_net_strerror(b->first_error));
        return -EIO;
    }
    return 0;
}

/*
 * Generation in rounds: in each, worker t makes block t of the round's
 * threads x BLOCK persons. Two sets of blocks alternate, so the workers
 * make round r + 1 while the main thread writes (or applies) round r; the
 * two barriers hand the sets over.
 */
struct gen {
    const struct elig_pop *pop;
    uint64_t persons;
    unsigned threads;
    struct block *blocks; /* 2 x threads: set s's block t is blocks[s * threads + t] */
    uint64_t next;        /* first person of the round being made */
    unsigned set;         /* the set it is made into */
    bool parse;           /* --segment: parse the lines into events too */
    pthread_barrier_t start, done;
    bool stop;
};

static void make_block(const struct elig_pop *pop, uint64_t first, uint64_t last, struct block *b)
{
    b->len = 0;
    for (uint64_t i = first; i < last; i++) {
        if (b->cap - b->len < ELIG_POP_PERSON_MAX) {
            b->cap = b->cap ? b->cap * 2 : (size_t)BLOCK * 512;
            b->buf = realloc(b->buf, b->cap);
            if (b->buf == NULL)
                abort(); /* out of memory for a few MiB: nothing sensible to do */
        }
        b->len += elig_pop_person(pop, i, b->buf + b->len, b->cap - b->len);
    }
}

/* The block's lines as events (for --segment); refused lines counted. */
static void parse_block(struct block *b)
{
    b->nev = 0;
    for (const char *p = b->buf, *end = b->buf + b->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (b->nev == b->evcap) {
            b->evcap = b->evcap ? b->evcap * 2 : (size_t)BLOCK * 4;
            b->ev = realloc(b->ev, b->evcap * sizeof *b->ev);
            if (b->ev == NULL)
                abort(); /* out of memory for a few tens of MiB: nothing sensible to do */
        }
        struct elig_feed_error err;
        int rc = elig_feed_parse_line(p, ll, &b->ev[b->nev], &err);
        p += ll + 1;
        if (rc == 1)
            b->nev++;
        else if (rc < 0 && b->bad++ == 0)
            b->first_bad = rc;
    }
}

struct worker {
    struct gen *g;
    unsigned id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct gen *g = w->g;
    for (;;) {
        pthread_barrier_wait(&g->start);
        if (g->stop)
            return NULL;
        uint64_t first = g->next + (uint64_t)w->id * BLOCK;
        uint64_t last = first + BLOCK < g->persons ? first + BLOCK : g->persons;
        struct block *b = &g->blocks[g->set * g->threads + w->id];
        b->len = b->nev = 0;
        if (first < g->persons)
            make_block(g->pop, first, last, b);
        if (g->parse)
            parse_block(b);
        pthread_barrier_wait(&g->done);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A date option (the population's reference day): YYYY-MM-DD. */
static int parse_date(const char *value, void *field)
{
    return elig_date_parse(value, strlen(value), field);
}

/*
 * Read a command's options into dst (argv[0] names the command); it takes no
 * operands. One line on stderr for whatever is refused.
 */
static int command_opts(const struct elig_opt *opts, int argc, char **argv, void *dst)
{
    char prog[64];
    snprintf(prog, sizeof prog, "elig-loadgen %s", argv[0]);
    int first, rc = elig_opt_parse(prog, opts, argc, argv, dst, &first);
    if (rc) /* --help was taken by main */
        return EXIT_USAGE;
    if (first != argc) {
        fprintf(stderr, "%s: %s: not an option (%s takes options only; --help)\n", prog,
                argv[first], prog);
        return EXIT_USAGE;
    }
    return 0;
}

/* A wrong combination of options: one line saying which, then the usage's pointer. */
static int refuse_combination(const char *cmd, const char *what)
{
    fprintf(stderr, "elig-loadgen %s: %s (elig-loadgen --help)\n", cmd, what);
    return EXIT_USAGE;
}

struct population_args {
    uint64_t records, seed;
    elig_date_t today;
    unsigned threads;
    const char *out, *segment;
    const char *by_day; /* updates: one feed per day of arrival, in this directory */
};

#define PA(kind, name, ...) ELIG_OPT_##kind(name, struct population_args, __VA_ARGS__)
static const struct elig_opt population_opts[] = {
    PA(U, "records", records, 1, 1ull << 31),
    PA(U, "seed", seed, 0, UINT64_MAX),
    PA(P, "date", today, parse_date, "a date (YYYY-MM-DD)"),
    PA(U, "threads", threads, 1, 64),
    PA(S, "out", out),
    PA(S, "segment", segment),
    PA(S, "by-day", by_day),
    ELIG_OPT_END,
};
#undef PA

/* The month's updates as DIR/YYYY-MM-DD.feed, one file per day they arrive. */
static int write_by_day(const char *dir, const struct elig_pop *pop, struct days *d)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int err = errno;
        fprintf(stderr, "elig-loadgen: --by-day %s: %s\n", dir, strerror(err));
        return -err;
    }
    for (unsigned k = 0; k < elig_pop_month_days(pop); k++) {
        char path[4200], iso[ELIG_DATE_ISO_LEN + 1];
        snprintf(path, sizeof path, "%s/%s.feed", dir,
                 elig_date_format((elig_date_t)(elig_pop_today(pop) + k), iso));
        FILE *f = fopen(path, "w");
        bool written = f && fwrite(d->day[k].buf, 1, d->day[k].len, f) == d->day[k].len;
        if (f && fclose(f) != 0)
            written = false;
        if (!written) {
            fprintf(stderr, "elig-loadgen: %s: %s\n", path, strerror(errno ? errno : EIO));
            return -EIO;
        }
    }
    return 0;
}

static int cmd_population(int argc, char **argv, bool updates)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    struct population_args a = { .records = 160000000,
                                 .seed = 1,
                                 .threads = n > 0 ? (unsigned)n : 1 };
    if (command_opts(population_opts, argc, argv, &a))
        return EXIT_USAGE;
    if (a.segment && (a.out || updates))
        return refuse_combination(argv[0], updates ? "updates are written, not built: no --segment"
                                                   : "--segment or --out, not both");
    if (a.by_day && (!updates || a.out))
        return refuse_combination(argv[0], updates ? "--by-day or --out, not both"
                                                   : "--by-day is for updates");
    struct elig_pop_params p = { .records = a.records, .seed = a.seed, .today = a.today };
    const char *segment = a.segment, *out_path = a.out;
    unsigned threads = a.threads;
    struct elig_pop *pop;
    int rc = elig_pop_create(&p, &pop);
    if (rc) {
        fprintf(stderr, "elig-loadgen: %s\n", elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    struct builder b = { .path = segment };
    if (segment && (rc = builder_open(&b, pop, p.records)) != 0) {
        elig_pop_destroy(pop);
        return 1;
    }
    FILE *out = segment ? NULL : out_path ? fopen(out_path, "w") : stdout;
    if (out == NULL && !segment) {
        fprintf(stderr, "elig-loadgen: %s: %s\n", out_path, elig_net_strerror(-errno));
        elig_pop_destroy(pop);
        return EXIT_USAGE;
    }
    if (updates) { /* one pass over the persons, the lines sorted into days, then written */
        struct days *d = calloc(1, sizeof(*d));
        double t0 = now();
        for (uint64_t i = 0; d && i < elig_pop_persons(pop); i++)
            elig_pop_updates(pop, i, keep_line, d);
        int wrc = d && a.by_day ? write_by_day(a.by_day, pop, d) : 0;
        for (unsigned k = 0; d && k < elig_pop_month_days(pop); k++) {
            if (!a.by_day)
                fwrite(d->day[k].buf, 1, d->day[k].len, out);
            free(d->day[k].buf);
        }
        fprintf(stderr, "elig-loadgen: %llu update events over %u days in %.1f s\n",
                (unsigned long long)(d ? d->events : 0), elig_pop_month_days(pop), now() - t0);
        free(d);
        rc = ferror(out) ? -EIO : wrc;
        if (out != stdout && fclose(out))
            rc = -errno;
        elig_pop_destroy(pop);
        return rc ? 1 : 0;
    }
    /* the INSURER lines first, one block, written or applied as the persons' are */
    struct block ins = { 0 };
    for (size_t i = 0; i < elig_pop_insurers(pop); i++) {
        if (ins.cap - ins.len < ELIG_POP_PERSON_MAX) {
            ins.cap = ins.cap * 2 + (1 << 20);
            if ((ins.buf = realloc(ins.buf, ins.cap)) == NULL)
                abort(); /* out of memory for a few MiB: nothing sensible to do */
        }
        ins.len += elig_pop_insurer_line(pop, i, ins.buf + ins.len, ins.cap - ins.len);
    }
    if (segment) {
        parse_block(&ins);
        builder_apply_block(&b, &ins);
    } else {
        fwrite(ins.buf, 1, ins.len, out);
    }
    free(ins.buf);
    free(ins.ev);

    struct gen g = {
        .pop = pop, .persons = elig_pop_persons(pop), .threads = threads, .parse = segment != NULL
    };
    g.blocks = calloc(2 * (size_t)threads, sizeof *g.blocks);
    struct worker *ws = calloc(threads, sizeof *ws);
    pthread_t *tids = calloc(threads, sizeof *tids);
    pthread_barrier_init(&g.start, NULL, threads + 1);
    pthread_barrier_init(&g.done, NULL, threads + 1);
    for (unsigned t = 0; t < threads; t++) {
        ws[t] = (struct worker){ .g = &g, .id = t };
        pthread_create(&tids[t], NULL, worker_main, &ws[t]);
    }
    bool tty = isatty(STDERR_FILENO);
    double t0 = now(), shown = t0;
    uint64_t step = (uint64_t)threads * BLOCK;
    g.next = 0;
    g.set = 0;
    pthread_barrier_wait(&g.start); /* round 0 */
    pthread_barrier_wait(&g.done);
    for (uint64_t first = 0; first < g.persons; first += step) {
        unsigned set = g.set;
        bool more = first + step < g.persons;
        if (more) { /* the workers make the next round meanwhile */
            g.next = first + step;
            g.set = 1 - set;
            pthread_barrier_wait(&g.start);
        }
        for (unsigned t = 0; t < threads; t++) {
            const struct block *blk = &g.blocks[set * threads + t];
            if (segment)
                builder_apply_block(&b, blk);
            else if (blk->len) /* a thread's block is empty when persons run out */
                fwrite(blk->buf, 1, blk->len, out);
        }
        if (more)
            pthread_barrier_wait(&g.done);
        double t = now();
        if (tty && t - shown > 0.5) {
            shown = t;
            double done = (double)(first + step) / (double)g.persons;
            done = done > 1 ? 1 : done;
            fprintf(stderr, "\relig-loadgen: %5.1f%%, %.2f M records/s, ETA %.0f s   ", 100 * done,
                    done * (double)p.records / (t - t0) / 1e6, (t - t0) / done * (1 - done));
        }
    }
    g.stop = true;
    pthread_barrier_wait(&g.start);
    for (unsigned t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    for (unsigned t = 0; t < 2 * threads; t++) {
        free(g.blocks[t].buf);
        free(g.blocks[t].ev);
    }
    double spent = now() - t0;
    if (tty)
        fputc('\n', stderr);
    fprintf(stderr, "elig-loadgen: %llu records of %llu persons in %.1f s (%.2f M records/s)\n",
            (unsigned long long)p.records, (unsigned long long)g.persons, spent,
            (double)p.records / spent / 1e6);
    if (segment) {
        rc = builder_close(&b);
    } else {
        rc = ferror(out) ? -EIO : 0;
        if (out != stdout && fclose(out))
            rc = -errno;
        if (rc)
            fprintf(stderr, "elig-loadgen: writing the feed: %s\n", elig_net_strerror(rc));
    }
    pthread_barrier_destroy(&g.start);
    pthread_barrier_destroy(&g.done);
    free(g.blocks);
    free(ws);
    free(tids);
    elig_pop_destroy(pop);
    return rc ? 1 : 0;
}

static const char *const methods[] = { "card", "number", "batch" };

/* Month hours h as "YYYY-MM-DD HH:MM". */
static void month_time(const struct elig_sched *s, double h, char out[32])
{
    unsigned hi = h < 0 ? 0 : (unsigned)h;
    if (hi >= elig_sched_hours(s))
        hi = elig_sched_hours(s) - 1;
    const struct elig_sched_hour *x = elig_sched_hour(s, hi);
    unsigned min = (unsigned)((h - hi) * 60);
    snprintf(out, 32, "%04u-%02u-%02u %02u:%02u", x->date / 10000, x->date / 100 % 100,
             x->date % 100, x->hour, min > 59 ? 59 : min);
}

static void print_json(const struct elig_replay_params *p, const struct elig_replay_report *r,
                       const double lat[5], double rate)
{
    printf("{\"replay\":{\"target\":\"%s\",\"transport\":\"%s\",\"month\":\"%s\",\"speed\":%g,"
           "\"rate\":%.0f,"
           "\"connections\":%u,\"depth\":%u,\"month_from_h\":%.3f,\"month_to_h\":%.3f,"
           "\"frames_sent\":%llu,\"frames_answered\":%llu,\"checks_sent\":%llu,"
           "\"checks_answered\":%llu,\"frame_errors\":%llu,\"check_errors\":%llu,"
           "\"unexpected\":%llu,\"frames_lost\":%llu,\"checks_lost\":%llu,\"failovers\":%llu,"
           "\"behind\":%llu,"
           "\"frames_resent\":%llu,\"checks_resent\":%llu,\"longest_gap_s\":%.3f,\"seconds\":%.3f,"
           "\"checks_per_s\":%.0f,"
           "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,"
           "\"max\":%.1f},\"validity\":[%llu,%llu,%llu,%llu,%llu,%llu],\"usage\":[",
           p->target == ELIG_REPLAY_REDIS ? "redis" : "eligd", p->dgram ? "udp-dpdk" : "tcp",
           p->month, p->speed, p->rate, p->connections, p->depth, r->month_from_h, r->month_to_h,
           (unsigned long long)r->frames_sent, (unsigned long long)r->frames_answered,
           (unsigned long long)r->checks_sent, (unsigned long long)r->checks_answered,
           (unsigned long long)r->frame_errors, (unsigned long long)r->check_errors,
           (unsigned long long)r->unexpected, (unsigned long long)r->frames_lost,
           (unsigned long long)r->checks_lost, (unsigned long long)r->failovers,
           (unsigned long long)r->behind, (unsigned long long)r->frames_resent,
           (unsigned long long)r->checks_resent, r->longest_gap_s, r->seconds, rate, lat[0] / 1e3,
           lat[1] / 1e3, lat[2] / 1e3, lat[3] / 1e3, lat[4] / 1e3,
           (unsigned long long)r->validity[0], (unsigned long long)r->validity[1],
           (unsigned long long)r->validity[2], (unsigned long long)r->validity[3],
           (unsigned long long)r->validity[4], (unsigned long long)r->validity[5]);
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 3; m++)
            printf("%s{\"facility\":\"%s\",\"method\":\"%s\",\"sent\":%llu,\"answered\":%llu}",
                   t || m ? "," : "", elig_facility_types[t], methods[m],
                   (unsigned long long)r->sent[t][m], (unsigned long long)r->answered[t][m]);
    printf("],\"series\":[");
    for (size_t i = 0; i < r->points; i++) {
        const struct elig_replay_point *x = &r->series[i];
        printf("%s[%.3f,%.4f,%llu,%llu,%.1f,%.1f,%.1f]", i ? "," : "", x->t, x->month_h,
               (unsigned long long)x->checks, (unsigned long long)x->frames, x->p50_ns / 1e3,
               x->p99_ns / 1e3, x->max_ns / 1e3);
    }
    printf("],\"series_columns\":[\"t_s\",\"month_h\",\"checks\",\"frames\",\"p50_us\","
           "\"p99_us\",\"max_us\"]}}\n");
}

static void print_report(const struct elig_replay_params *p, const struct elig_sched *s,
                         const struct elig_replay_report *r, bool json)
{
    double ps[] = { 50, 90, 99, 99.9, 100 };
    double lat[5];
    for (int i = 0; i < 5; i++)
        lat[i] = (double)elig_hist_percentile(&r->latency, ps[i]);
    double rate = r->seconds > 0 ? (double)r->checks_answered / r->seconds : 0;
    if (json) {
        print_json(p, r, lat, rate);
        return;
    }
    char from[32], to[32], pace[64];
    month_time(s, r->month_from_h, from);
    month_time(s, r->month_to_h, to);
    if (p->speed > 0)
        snprintf(pace, sizeof pace, "open loop at %gx the month's pace", p->speed);
    else if (p->rate > 0)
        snprintf(pace, sizeof pace, "open loop at %.0f frames/s", p->rate);
    else
        snprintf(pace, sizeof pace, "closed loop, depth %u", p->depth);
    printf("replay: %llu checks in %llu frames to %s%s, %s mix, %s, %u %s\n",
           (unsigned long long)r->checks_sent, (unsigned long long)r->frames_sent,
           p->target == ELIG_REPLAY_REDIS ? "redis" : "eligd",
           p->dgram ? " over UDP on a DPDK port" : "", p->month, pace, p->connections,
           p->dgram ? "flows" : "connections");
    printf("  month          %s to %s\n", from, to);
    printf("  answered       %llu checks in %llu frames in %.2f s: %.0f checks/s\n",
           (unsigned long long)r->checks_answered, (unsigned long long)r->frames_answered,
           r->seconds, rate);
    printf("  latency        p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms%s\n",
           lat[0] / 1e6, lat[1] / 1e6, lat[2] / 1e6, lat[3] / 1e6, lat[4] / 1e6,
           p->speed > 0 || p->rate > 0 ? " (from intended send times)" : "");
    printf("  errors         %llu frames, %llu checks; %llu answers contradicting the population\n",
           (unsigned long long)r->frame_errors, (unsigned long long)r->check_errors,
           (unsigned long long)r->unexpected);
    if (p->dgram)
        printf("  lost           %llu frames (%llu checks) never answered\n",
               (unsigned long long)r->frames_lost, (unsigned long long)r->checks_lost);
    if (r->failovers)
        printf("  failover       %llu connections moved to another server (%llu on a BEHIND "
               "answer); %llu frames (%llu checks) sent again; longest wait for an answer %.3f s\n",
               (unsigned long long)r->failovers, (unsigned long long)r->behind,
               (unsigned long long)r->frames_resent, (unsigned long long)r->checks_resent,
               r->longest_gap_s);
    printf("  validity       valid %llu, lost %llu, lost-newer %llu, no-match %llu, multiple %llu, "
           "card refused %llu\n",
           (unsigned long long)r->validity[1], (unsigned long long)r->validity[2],
           (unsigned long long)r->validity[3], (unsigned long long)r->validity[4],
           (unsigned long long)r->validity[5], (unsigned long long)r->validity[0]);
    /* the usage table, from the answers, next to the published month */
    const struct elig_month_checks *m = elig_sched_month(s);
    double pub_all = 0;
    for (int t = 0; t < 4; t++)
        pub_all += (double)(m->total[t] + m->batch[t]);
    printf("  %-15s %-7s %12s %8s %10s\n", "facility", "method", "answered", "share", "published");
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 3; k++) {
            double pub = k == 0   ? (double)m->card[t]
                         : k == 1 ? (double)(m->total[t] - m->card[t])
                                  : (double)m->batch[t];
            double share = r->checks_answered
                               ? 100.0 * (double)r->answered[t][k] / (double)r->checks_answered
                               : 0.0;
            printf("  %-15s %-7s %12llu %7.2f%% %9.2f%%\n", elig_facility_types[t], methods[k],
                   (unsigned long long)r->answered[t][k], share, 100.0 * pub / pub_all);
        }
}

/* The time series as TSV: one line per interval. */
static int write_series(const char *path, const struct elig_replay_report *r, double interval)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -errno;
    fprintf(f, "# t_s\tmonth_day\tchecks_per_s\tframes_per_s\tp50_ms\tp99_ms\tmax_ms\tchecks\n");
    double prev = 0;
    for (size_t i = 0; i < r->points; i++) {
        const struct elig_replay_point *x = &r->series[i];
        double span = x->t - prev > 0 ? x->t - prev : interval;
        prev = x->t;
        fprintf(f, "%.3f\t%.5f\t%.1f\t%.1f\t%.3f\t%.3f\t%.3f\t%llu\n", x->t, 1 + x->month_h / 24,
                (double)x->checks / span, (double)x->frames / span, x->p50_ns / 1e6,
                x->p99_ns / 1e6, x->max_ns / 1e6, (unsigned long long)x->checks);
    }
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) && rc == 0)
        rc = -errno;
    return rc;
}

/* Throughput and p99 over time, drawn by gnuplot from the series file. */
static int plot_series(const char *tsv, const char *png, const struct elig_replay_params *p)
{
    if (strpbrk(tsv, "'\n") || strpbrk(png, "'\n"))
        return -EINVAL; /* the names go into gnuplot's script between quotes */
    FILE *g = popen("gnuplot", "w");
    if (g == NULL)
        return -errno;
    bool by_day = p->speed > 0; /* the month's own clock: the day-night shape shows */
    fprintf(g,
            "set terminal pngcairo size 1200,600 font ',10'\n"
            "set output '%s'\n"
            "set title 'elig-loadgen replay: %s, %s mix, %s'\n"
            "set xlabel '%s'\n"
            "set ylabel 'checks answered per second'\n"
            "set y2label 'p99 latency (ms)'\n"
            "set logscale y2\n"
            "set ytics nomirror\nset y2tics\nset grid\nset key top left\n"
            "set yrange [0:*]\n"
            "plot '%s' using %d:3 with lines lw 1.5 title 'checks/s' axes x1y1, "
            "'' using %d:($6 > 0 ? $6 : NaN) with lines lw 1 title 'p99 (ms)' axes x1y2\n",
            png, p->target == ELIG_REPLAY_REDIS ? "redis" : "eligd", p->month,
            p->speed > 0  ? "open loop on the schedule"
            : p->rate > 0 ? "open loop"
                          : "closed loop",
            by_day ? "day of the month" : "seconds", tsv, by_day ? 2 : 1, by_day ? 2 : 1);
    int st = pclose(g);
    return st == 0 ? 0 : -ECHILD;
}

/* "YYYY-MM-DDTHH[:MM]" inside the month m: seconds from its start. */
static int parse_start(const char *s, const char *month, double *out)
{
    int y, mo, d, hh, mm = 0, my, mmo;
    char tail;
    int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &hh, &mm, &tail);
    if ((n != 4 && n != 5) || sscanf(month, "%d-%d", &my, &mmo) != 2 || y != my || mo != mmo ||
        hh > 23 || mm > 59 || hh < 0 || mm < 0)
        return -EINVAL;
    elig_date_t day, first;
    if (elig_date_from_ymd(y, mo, d, &day) || elig_date_from_ymd(y, mo, 1, &first))
        return -EINVAL;
    *out = (double)(day - first) * 86400 + hh * 3600 + mm * 60;
    return 0;
}

#if ELIG_HAVE_DPDK
/* The replay's datagram transport: the client library's (elig_client_dgram). */
static int dpdk_send(void *ctx, unsigned flow, const uint8_t *p, size_t len)
{
    return elig_client_dgram_send(ctx, flow, p, len);
}

static void dpdk_flush(void *ctx)
{
    elig_client_dgram_flush(ctx);
}

static unsigned dpdk_poll(void *ctx, void (*deliver)(void *, unsigned, const uint8_t *, size_t),
                          void *arg)
{
    return elig_client_dgram_poll(ctx, deliver, arg);
}
#endif

/* Open the DPDK port for replay --dpdk-server: *handle for close_dpdk(), d filled. */
static int open_dpdk(const char *eal, const char *local, const char *server, unsigned queues,
                     void **handle, struct elig_replay_dgram *d)
{
#if ELIG_HAVE_DPDK
    struct elig_client_dgram_params pp = {
        .eal_args = eal, .local = local, .server = server, .queues = queues
    };
    struct elig_client_dgram *dg;
    int rc = elig_client_dgram_open(&pp, &dg);
    if (rc)
        return rc;
    *d = (struct elig_replay_dgram){ .ctx = dg,
                                     .max_payload = elig_client_dgram_max_payload(dg),
                                     .send = dpdk_send,
                                     .flush = dpdk_flush,
                                     .poll = dpdk_poll };
    *handle = dg;
    return 0;
#else
    (void)eal, (void)local, (void)server, (void)queues, (void)handle, (void)d;
    fputs("elig-loadgen: built without DPDK (meson -Ddpdk=enabled with libdpdk-dev)\n", stderr);
    return -ENOTSUP;
#endif
}

/* Close the port; with linger, first wait (up to a minute) for eligd to stop. */
static void close_dpdk(void *handle, bool linger)
{
#if ELIG_HAVE_DPDK
    struct elig_client_dgram *dg = handle;
    if (linger && elig_client_dgram_wait_down(dg, 60000))
        fputs("elig-loadgen: eligd did not stop within a minute; leaving anyway\n", stderr);
    elig_client_dgram_close(dg);
#else
    (void)handle, (void)linger;
#endif
}

struct replay_args {
    const char *server, *redis, *month, *start, *series, *plot;
    uint64_t records, seed, checks, traffic_seed;
    elig_date_t today;
    double rate, speed, hours, interval;
    unsigned connections, depth, batch_size;
    bool json, dpdk_linger;
    const char *dpdk_server, *dpdk_eal, *dpdk_local;
    unsigned dpdk_queues;
    const char *tls_cert, *tls_key, *tls_ca;
};

#define RA(kind, name, ...) ELIG_OPT_##kind(name, struct replay_args, __VA_ARGS__)
static const struct elig_opt replay_opts[] = {
    RA(S, "server", server),
    RA(S, "redis", redis),
    RA(U, "records", records, 1, 1ull << 31),
    RA(U, "seed", seed, 0, UINT64_MAX),
    RA(P, "date", today, parse_date, "a date (YYYY-MM-DD)"),
    RA(S, "month", month),
    RA(U, "checks", checks, 1, UINT64_MAX),
    RA(D, "rate", rate, 0, 1e9),
    RA(D, "speed", speed, 1e-6, 1e9),
    RA(S, "start", start),
    RA(D, "hours", hours, 1e-6, 24 * 31),
    RA(U, "connections", connections, 1, 4096),
    RA(U, "depth", depth, 1, 4096),
    RA(U, "batch-size", batch_size, 1, ELIG_PROTO_BATCH_MAX),
    RA(U, "traffic-seed", traffic_seed, 0, UINT64_MAX),
    RA(D, "interval", interval, 0.01, 86400),
    RA(S, "series", series),
    RA(S, "plot", plot),
    RA(F, "json", json),
    RA(S, "dpdk-server", dpdk_server),
    RA(S, "dpdk-eal", dpdk_eal),
    RA(S, "dpdk-local", dpdk_local),
    RA(U, "dpdk-queues", dpdk_queues, 1, 16),
    RA(F, "dpdk-linger", dpdk_linger),
    RA(S, "tls-cert", tls_cert),
    RA(S, "tls-key", tls_key),
    RA(S, "tls-ca", tls_ca),
    ELIG_OPT_END,
};
#undef RA

static int cmd_replay(int argc, char **argv)
{
    struct replay_args a = { .records = 160000000,
                             .seed = 1,
                             .traffic_seed = 1,
                             .month = "2025-02",
                             .connections = 16,
                             .depth = 16,
                             .interval = 1,
                             .dpdk_local = "10.11.0.2:40000",
                             .dpdk_queues = 1 };
    if (command_opts(replay_opts, argc, argv, &a))
        return EXIT_USAGE;
    if ((a.server != NULL) + (a.redis != NULL) + (a.dpdk_server != NULL) != 1)
        return refuse_combination("replay", "give one of --server, --redis and --dpdk-server");
    if (a.speed > 0 && a.rate > 0)
        return refuse_combination("replay", "--speed or --rate, not both");
    if (a.dpdk_eal && !a.dpdk_server)
        return refuse_combination("replay", "--dpdk-eal goes with --dpdk-server");
    bool tls = a.tls_cert || a.tls_key || a.tls_ca;
    if (tls && (!a.tls_cert || !a.tls_key || !a.tls_ca || !a.server))
        return refuse_combination("replay", "TLS needs --tls-cert, --tls-key and --tls-ca, "
                                            "with --server");
    struct elig_pop_params pp = { .records = a.records, .seed = a.seed, .today = a.today };
    struct elig_replay_params rp = { .server = a.server ? a.server : a.redis,
                                     .target = a.redis ? ELIG_REPLAY_REDIS : ELIG_REPLAY_ELIGD,
                                     .month = a.month,
                                     .seed = a.traffic_seed,
                                     .checks = a.checks,
                                     .rate = a.rate,
                                     .speed = a.speed,
                                     .hours = a.hours,
                                     .miss_share = 0.02,
                                     .lost_share = 0.03,
                                     .connections = a.connections,
                                     .depth = a.depth,
                                     .batch_size = a.batch_size ? a.batch_size : 32,
                                     .interval_s = a.interval,
                                     .progress = true };
    bool json = a.json, checks_given = a.checks > 0, batch_given = a.batch_size > 0;
    const char *start = a.start, *series = a.series, *plot = a.plot;
    const char *dpdk_server = a.dpdk_server, *dpdk_eal = a.dpdk_eal, *dpdk_local = a.dpdk_local;
    unsigned dpdk_queues = a.dpdk_queues;
    bool dpdk_linger = a.dpdk_linger;
    if (dpdk_server && !batch_given)
        rp.batch_size = 8; /* a BATCH answer must fit one datagram */
    if (start && parse_start(start, rp.month, &rp.from_s)) {
        fprintf(stderr, "elig-loadgen: --start %s: not YYYY-MM-DDTHH[:MM] in %s\n", start,
                rp.month);
        return EXIT_USAGE;
    }
    if (start && rp.hours == 0)
        rp.hours = 1;
    if (!checks_given && rp.speed == 0 && rp.hours == 0)
        rp.checks = 1000000; /* a quick run; the month itself with --speed or a window */
    struct elig_sched_params sp = { .month = rp.month, .batch_size = rp.batch_size };
    struct elig_sched *sched = NULL;
    struct elig_pop *pop = NULL;
    struct elig_replay_dgram dgram;
    void *peer = NULL;
    int rc = elig_sched_create(&sp, &sched);
    if (rc == 0)
        rc = elig_pop_create(&pp, &pop);
    struct elig_tls_ctx *tls_ctx = NULL;
    if (rc == 0 && tls) { /* eligd's certificate must name the host of (the first) --server */
        char err[512];
        rc = elig_client_tls_context(a.server, a.tls_cert, a.tls_key, a.tls_ca, &tls_ctx, err,
                                     sizeof err);
        if (rc != 0) {
            fprintf(stderr, "elig-loadgen: TLS: %s\n", rc == -ENOMEM ? "out of memory" : err);
            elig_pop_destroy(pop);
            elig_sched_destroy(sched);
            return EXIT_USAGE;
        }
        rp.tls = tls_ctx;
    }
    if (rc == 0 && dpdk_server) {
        rc = open_dpdk(dpdk_eal, dpdk_local, dpdk_server, dpdk_queues, &peer, &dgram);
        rp.dgram = rc == 0 ? &dgram : NULL;
        if (rc)
            elig_pop_destroy(pop);
    }
    if (rc == 0) {
        rp.pop = pop;
        struct elig_replay_report *r = calloc(1, sizeof(*r));
        rc = r ? elig_replay_run(&rp, r) : -ENOMEM;
        if (rc == 0)
            print_report(&rp, sched, r, json);
        else /* a server that closes on the first frame most likely asked for a facility key */
            fprintf(stderr, "elig-loadgen: replay against %s: %s%s\n",
                    rp.server ? rp.server : dpdk_server, elig_net_strerror(rc),
                    rp.target == ELIG_REPLAY_ELIGD && (rc == -ECONNRESET || rc == -EPIPE ||
                                                       rc == -ELIG_EPROTO || rc == -ENODATA)
                        ? " (the server closed the connection: replay sends no facility key, so "
                          "eligd must run with --trust-network)"
                        : "");
        char tmp[64] = "";
        if (rc == 0 && plot && !series) {
            snprintf(tmp, sizeof tmp, "/tmp/elig-loadgen-series-%ld.tsv", (long)getpid());
            series = tmp;
        }
        if (rc == 0 && series && (rc = write_series(series, r, rp.interval_s)) != 0)
            fprintf(stderr, "elig-loadgen: %s: %s\n", series, elig_net_strerror(rc));
        if (rc == 0 && plot && (rc = plot_series(series, plot, &rp)) != 0)
            fprintf(stderr,
                    "elig-loadgen: %s: gnuplot failed (is it installed? scripts/setup "
                    "installs it)\n",
                    plot);
        if (tmp[0])
            unlink(tmp);
        if (r)
            elig_replay_report_free(r);
        free(r);
        if (peer) {
            fflush(stdout); /* the report is out before the wait */
            close_dpdk(peer, dpdk_linger);
        }
        elig_pop_destroy(pop);
        elig_sched_destroy(sched);
        elig_tls_ctx_free(tls_ctx);
        return rc ? 1 : 0;
    }
    elig_sched_destroy(sched);
    fprintf(stderr, "elig-loadgen: replay: %s%s\n", elig_net_strerror(rc),
            rc == -ENOENT ? " (month not in the table: 2024-10 or 2025-02)" : "");
    return 1;
}

static const char *const day_kinds[] = { "working", "saturday", "closed" };

struct traffic_args {
    const char *month, *out;
    uint64_t checks;
    unsigned batch_size;
};

static const struct elig_opt traffic_opts[] = {
    ELIG_OPT_S("month", struct traffic_args, month),
    ELIG_OPT_U("checks", struct traffic_args, checks, 1, UINT64_MAX),
    ELIG_OPT_U("batch-size", struct traffic_args, batch_size, 1, ELIG_PROTO_BATCH_MAX),
    ELIG_OPT_S("out", struct traffic_args, out),
    ELIG_OPT_END,
};

static int cmd_traffic(int argc, char **argv)
{
    struct traffic_args a = { .month = "2025-02", .batch_size = 32 };
    if (command_opts(traffic_opts, argc, argv, &a))
        return EXIT_USAGE;
    struct elig_sched_params sp = { .month = a.month,
                                    .checks = a.checks,
                                    .batch_size = a.batch_size };
    const char *out_path = a.out;
    struct elig_sched *s;
    int rc = elig_sched_create(&sp, &s);
    if (rc) {
        fprintf(stderr, "elig-loadgen: traffic: %s%s\n", elig_net_strerror(rc),
                rc == -ENOENT ? " (month not in the table: 2024-10 or 2025-02)" : "");
        return 1;
    }
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (out == NULL) {
        fprintf(stderr, "elig-loadgen: %s: %s\n", out_path, elig_net_strerror(-errno));
        elig_sched_destroy(s);
        return 1;
    }
    const struct elig_month_checks *m = elig_sched_month(s);
    double singles = 0, batch = 0;
    for (int t = 0; t < ELIG_FACILITY_TYPES; t++)
        singles += (double)m->total[t], batch += (double)m->batch[t];
    fprintf(out, "date,hour,weekday,day,frames,checks");
    for (int t = 0; t < ELIG_FACILITY_TYPES; t++)
        for (int k = 0; k < 3; k++)
            fprintf(out, ",%s_%s", elig_facility_types[t], methods[k]);
    fputc('\n', out);
    static const char *const wd[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    double total = 0, peak = 0;
    unsigned peak_h = 0;
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        const struct elig_sched_hour *x = elig_sched_hour(s, h);
        double checks = x->single_checks + x->batch_checks;
        total += checks;
        if (checks > peak)
            peak = checks, peak_h = h;
        fprintf(out, "%04u-%02u-%02u,%02u,%s,%s,%.0f,%.0f", x->date / 10000, x->date / 100 % 100,
                x->date % 100, x->hour, wd[x->weekday], day_kinds[x->day_kind], x->frames, checks);
        for (int t = 0; t < ELIG_FACILITY_TYPES; t++) {
            double card = x->single_checks * (double)m->card[t] / singles;
            double number = x->single_checks * (double)(m->total[t] - m->card[t]) / singles;
            double b = batch > 0 ? x->batch_checks * (double)m->batch[t] / batch : 0;
            fprintf(out, ",%.0f,%.0f,%.0f", card, number, b);
        }
        fputc('\n', out);
    }
    rc = ferror(out) ? -EIO : 0;
    if (out != stdout && fclose(out))
        rc = -errno;
    char when[32];
    month_time(s, peak_h, when);
    double avg = total / (3600.0 * elig_sched_hours(s));
    fprintf(stderr,
            "elig-loadgen: %s: %.0f checks in %.0f frames over %u days; average %.1f checks/s, "
            "busiest hour %s at %.1f checks/s (%.1fx the average)\n",
            m->month, total, elig_sched_frames(s), elig_sched_hours(s) / 24, avg, when, peak / 3600,
            peak / 3600 / avg);
    elig_sched_destroy(s);
    if (rc)
        fprintf(stderr, "elig-loadgen: traffic: %s\n", elig_net_strerror(rc));
    return rc ? 1 : 0;
}

struct redis_load_args {
    const char *redis;
    uint64_t records, seed;
    elig_date_t today;
};

static const struct elig_opt redis_load_opts[] = {
    ELIG_OPT_S("redis", struct redis_load_args, redis),
    ELIG_OPT_U("records", struct redis_load_args, records, 1, 1ull << 31),
    ELIG_OPT_U("seed", struct redis_load_args, seed, 0, UINT64_MAX),
    ELIG_OPT_P("date", struct redis_load_args, today, parse_date, "a date (YYYY-MM-DD)"),
    ELIG_OPT_END,
};

static int cmd_redis_load(int argc, char **argv)
{
    struct redis_load_args a = { .records = 160000000, .seed = 1 };
    if (command_opts(redis_load_opts, argc, argv, &a))
        return EXIT_USAGE;
    if (!a.redis)
        return refuse_combination("redis-load", "--redis ADDR:PORT is required");
    struct elig_pop_params pp = { .records = a.records, .seed = a.seed, .today = a.today };
    const char *addr = a.redis;
    struct elig_pop *pop;
    int rc = elig_pop_create(&pp, &pop);
    uint64_t commands = 0;
    double t0 = now();
    if (rc == 0) {
        rc = elig_redis_load(addr, pop, &commands);
        elig_pop_destroy(pop);
    }
    if (rc) {
        fprintf(stderr, "elig-loadgen: redis-load %s: %s\n", addr, elig_net_strerror(rc));
        return 1;
    }
    fprintf(stderr, "elig-loadgen: %llu hashes written to redis at %s in %.1f s\n",
            (unsigned long long)commands, addr, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("elig-loadgen %s\n", ELIG_VERSION);
        return 0;
    }
    for (int i = 2; i < argc; i++) /* SUBCOMMAND --help: the usage names every option */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    if (strcmp(argv[1], "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(argv[1], "traffic") == 0)
        return cmd_traffic(argc - 1, argv + 1);
    if (strcmp(argv[1], "redis-load") == 0)
        return cmd_redis_load(argc - 1, argv + 1);
    if (strcmp(argv[1], "population") == 0 || strcmp(argv[1], "updates") == 0)
        return cmd_population(argc - 1, argv + 1, strcmp(argv[1], "updates") == 0);
    fprintf(stderr, "elig-loadgen: unknown command '%s' (elig-loadgen --help lists them)\n",
            argv[1]);
    return EXIT_USAGE;
}
