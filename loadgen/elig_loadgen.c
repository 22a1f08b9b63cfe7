/* SPDX-License-Identifier: MIT */
/*
 * elig_loadgen.c - elig-loadgen: synthetic data and traffic for eligd.
 *
 * "population" writes a synthetic nation as an insurer feed
 * (docs/feed-format.md), ready for `eligctl append` or `eligctl feed check`:
 * the INSURER lines, then every person's qualifications and card. Persons
 * are generated in blocks by worker threads (elig_pop is a pure function
 * of the person number) and written in order, so the output is the same
 * bytes whatever the thread count. Progress (rate, ETA) goes to stderr when
 * it is a terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elig_config.h"
#include "elig_date.h"
#include "elig_error.h"
#include "elig_pop.h"
#include "elig_proto.h"
#include "elig_replay.h"
#include "elig_tables.h"

#define EXIT_USAGE 2
#define BLOCK      16384 /* persons per block */

static void usage(FILE *out)
{
    fputs("usage: elig-loadgen population [--records N] [--seed S] [--date YYYY-MM-DD]\n"
          "                               [--threads T] [--out FILE]\n"
          "       elig-loadgen updates    [--records N] [--seed S] [--date YYYY-MM-DD]\n"
          "                               [--out FILE]\n"
          "       elig-loadgen replay     --server ADDR:PORT [--records N] [--seed S]\n"
          "                               [--date YYYY-MM-DD] [--month YYYY-MM] [--checks M]\n"
          "                               [--rate FRAMES_PER_S] [--connections C] [--depth D]\n"
          "                               [--batch-size B] [--traffic-seed T] [--json]\n"
          "\n"
          "population: a synthetic nation of N qualification records (default 160000000,\n"
          "  3 current : 1 past) as an insurer feed on stdout or FILE; the same seed gives\n"
          "  the same bytes. Built from the published tables in loadgen/data/ (compiled\n"
          "  in) and the assumptions in docs/loadgen.md.\n"
          "updates: the month of update events that follows the same population (same\n"
          "  --records, --seed and --date), in date order, as an insurer feed.\n"
          "replay: M checks (default 1000000) in the month's mix against eligd holding\n"
          "  that population; open loop at --rate frames/s (latency from each frame's\n"
          "  intended send time), or closed loop at --depth frames per connection when\n"
          "  --rate is 0 (the default); every answer checked against the population.\n",
          out);
}

struct block {
    char *buf;
    size_t len, cap;
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

struct gen {
    const struct elig_pop *pop;
    uint64_t persons;
    unsigned threads;
    struct block *blocks; /* one per thread: block b is made by thread b % threads */
    uint64_t next;        /* first person of the round */
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
        g->blocks[w->id].len = 0;
        if (first < g->persons)
            make_block(g->pop, first, last, &g->blocks[w->id]);
        pthread_barrier_wait(&g->done);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmd_population(int argc, char **argv, bool updates)
{
    static const struct option opts[] = {
        { "records", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "date", required_argument, NULL, 'd' },
        { "threads", required_argument, NULL, 't' },
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct elig_pop_params p = { .records = 160000000, .seed = 1 };
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = n > 0 ? (unsigned)n : 1;
    const char *out_path = NULL;
    char *end;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'n':
            p.records = strtoull(optarg, &end, 10);
            if (*end || p.records == 0 || p.records > (1ull << 31))
                goto bad;
            break;
        case 's':
            p.seed = strtoull(optarg, &end, 10);
            if (*end)
                goto bad;
            break;
        case 'd':
            if (elig_date_parse(optarg, strlen(optarg), &p.today))
                goto bad;
            break;
        case 't':
            threads = (unsigned)strtoul(optarg, &end, 10);
            if (*end || threads == 0 || threads > 64)
                goto bad;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    struct elig_pop *pop;
    int rc = elig_pop_create(&p, &pop);
    if (rc) {
        fprintf(stderr, "elig-loadgen: %s\n", elig_strerror(rc));
        return EXIT_USAGE;
    }
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (out == NULL) {
        fprintf(stderr, "elig-loadgen: %s: %s\n", out_path, elig_strerror(-errno));
        elig_pop_destroy(pop);
        return EXIT_USAGE;
    }
    if (updates) { /* one pass over the persons, the lines sorted into days, then written */
        struct days *d = calloc(1, sizeof(*d));
        double t0 = now();
        for (uint64_t i = 0; d && i < elig_pop_persons(pop); i++)
            elig_pop_updates(pop, i, keep_line, d);
        for (unsigned k = 0; d && k < elig_pop_month_days(pop); k++) {
            fwrite(d->day[k].buf, 1, d->day[k].len, out);
            free(d->day[k].buf);
        }
        fprintf(stderr, "elig-loadgen: %llu update events over %u days in %.1f s\n",
                (unsigned long long)(d ? d->events : 0), elig_pop_month_days(pop), now() - t0);
        free(d);
        rc = ferror(out) ? -EIO : 0;
        if (out != stdout && fclose(out))
            rc = -errno;
        elig_pop_destroy(pop);
        return rc ? 1 : 0;
    }
    char line[ELIG_POP_PERSON_MAX];
    for (size_t i = 0; i < elig_pop_insurers(pop); i++)
        fwrite(line, 1, elig_pop_insurer_line(pop, i, line, sizeof line), out);

    struct gen g = { .pop = pop, .persons = elig_pop_persons(pop), .threads = threads };
    g.blocks = calloc(threads, sizeof *g.blocks);
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
    for (g.next = 0; g.next < g.persons; g.next += (uint64_t)threads * BLOCK) {
        pthread_barrier_wait(&g.start);
        pthread_barrier_wait(&g.done);
        for (unsigned t = 0; t < threads; t++)
            fwrite(g.blocks[t].buf, 1, g.blocks[t].len, out);
        double t = now();
        if (tty && t - shown > 0.5) {
            shown = t;
            double done = (double)(g.next + (uint64_t)threads * BLOCK) / (double)g.persons;
            done = done > 1 ? 1 : done;
            fprintf(stderr, "\relig-loadgen: %5.1f%%, %.2f M records/s, ETA %.0f s   ", 100 * done,
                    done * (double)p.records / (t - t0) / 1e6, (t - t0) / done * (1 - done));
        }
    }
    g.stop = true;
    pthread_barrier_wait(&g.start);
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        free(g.blocks[t].buf);
    }
    double spent = now() - t0;
    if (tty)
        fputc('\n', stderr);
    fprintf(stderr, "elig-loadgen: %llu records of %llu persons in %.1f s (%.2f M records/s)\n",
            (unsigned long long)p.records, (unsigned long long)g.persons, spent,
            (double)p.records / spent / 1e6);
    rc = ferror(out) ? -EIO : 0;
    if (out != stdout && fclose(out))
        rc = -errno;
    if (rc)
        fprintf(stderr, "elig-loadgen: writing the feed: %s\n", elig_strerror(rc));
    pthread_barrier_destroy(&g.start);
    pthread_barrier_destroy(&g.done);
    free(g.blocks);
    free(ws);
    free(tids);
    elig_pop_destroy(pop);
    return rc ? 1 : 0;
bad:
    usage(stderr);
    return EXIT_USAGE;
}

static void print_report(const struct elig_replay_params *p, const struct elig_replay_report *r,
                         bool json)
{
    static const char *const methods[] = { "card", "number", "batch" };
    double ps[] = { 50, 90, 99, 99.9, 100 };
    double lat[5];
    for (int i = 0; i < 5; i++)
        lat[i] = (double)elig_hist_percentile(&r->latency, ps[i]);
    double rate = r->seconds > 0 ? (double)r->checks_answered / r->seconds : 0;
    if (json) {
        printf("{\"replay\":{\"month\":\"%s\",\"rate\":%.0f,\"connections\":%u,\"depth\":%u,"
               "\"frames_sent\":%llu,\"frames_answered\":%llu,\"checks_sent\":%llu,"
               "\"checks_answered\":%llu,\"frame_errors\":%llu,\"check_errors\":%llu,"
               "\"unexpected\":%llu,\"seconds\":%.3f,\"checks_per_s\":%.0f,"
               "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,"
               "\"max\":%.1f},\"validity\":[%llu,%llu,%llu,%llu,%llu,%llu],\"usage\":[",
               p->month, p->rate, p->connections, p->depth, (unsigned long long)r->frames_sent,
               (unsigned long long)r->frames_answered, (unsigned long long)r->checks_sent,
               (unsigned long long)r->checks_answered, (unsigned long long)r->frame_errors,
               (unsigned long long)r->check_errors, (unsigned long long)r->unexpected, r->seconds,
               rate, lat[0] / 1e3, lat[1] / 1e3, lat[2] / 1e3, lat[3] / 1e3, lat[4] / 1e3,
               (unsigned long long)r->validity[0], (unsigned long long)r->validity[1],
               (unsigned long long)r->validity[2], (unsigned long long)r->validity[3],
               (unsigned long long)r->validity[4], (unsigned long long)r->validity[5]);
        for (int t = 0; t < 4; t++)
            for (int m = 0; m < 3; m++)
                printf("%s{\"facility\":\"%s\",\"method\":\"%s\",\"sent\":%llu,\"answered\":%llu}",
                       t || m ? "," : "", elig_facility_types[t], methods[m],
                       (unsigned long long)r->sent[t][m], (unsigned long long)r->answered[t][m]);
        printf("]}}\n");
        return;
    }
    printf("replay: %llu checks in %llu frames, %s mix, %s, %u connections\n",
           (unsigned long long)r->checks_sent, (unsigned long long)r->frames_sent, p->month,
           p->rate > 0 ? "open loop" : "closed loop", p->connections);
    printf("  answered       %llu checks in %llu frames in %.2f s: %.0f checks/s\n",
           (unsigned long long)r->checks_answered, (unsigned long long)r->frames_answered,
           r->seconds, rate);
    printf("  latency        p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms%s\n",
           lat[0] / 1e6, lat[1] / 1e6, lat[2] / 1e6, lat[3] / 1e6, lat[4] / 1e6,
           p->rate > 0 ? " (from intended send times)" : "");
    printf("  errors         %llu frames, %llu checks; %llu answers contradicting the population\n",
           (unsigned long long)r->frame_errors, (unsigned long long)r->check_errors,
           (unsigned long long)r->unexpected);
    printf("  validity       valid %llu, lost %llu, lost-newer %llu, no-match %llu, multiple %llu, "
           "card refused %llu\n",
           (unsigned long long)r->validity[1], (unsigned long long)r->validity[2],
           (unsigned long long)r->validity[3], (unsigned long long)r->validity[4],
           (unsigned long long)r->validity[5], (unsigned long long)r->validity[0]);
    /* the usage table, from the answers, next to the published month */
    const struct elig_month_checks *m = &elig_month_checks[0];
    for (int i = 0; i < ELIG_MONTHS; i++)
        if (strcmp(elig_month_checks[i].month, p->month) == 0)
            m = &elig_month_checks[i];
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

static int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        { "server", required_argument, NULL, 'S' },
        { "records", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "date", required_argument, NULL, 'd' },
        { "month", required_argument, NULL, 'm' },
        { "checks", required_argument, NULL, 'c' },
        { "rate", required_argument, NULL, 'r' },
        { "connections", required_argument, NULL, 'C' },
        { "depth", required_argument, NULL, 'D' },
        { "batch-size", required_argument, NULL, 'b' },
        { "traffic-seed", required_argument, NULL, 'T' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct elig_pop_params pp = { .records = 160000000, .seed = 1 };
    struct elig_replay_params rp = { .month = "2025-02",
                                     .checks = 1000000,
                                     .seed = 1,
                                     .miss_share = 0.02,
                                     .lost_share = 0.03,
                                     .connections = 16,
                                     .depth = 16,
                                     .progress = true };
    bool json = false;
    char *end;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        unsigned long long v = 0;
        bool numeric = strchr("ncsCDbT", c) != NULL;
        if (numeric) {
            v = strtoull(optarg, &end, 10);
            if (*end || end == optarg)
                goto bad;
        }
        if (c == 'S')
            rp.server = optarg;
        else if (c == 'n' && v > 0 && v <= (1ull << 31))
            pp.records = v;
        else if (c == 's')
            pp.seed = v;
        else if (c == 'd' && elig_date_parse(optarg, strlen(optarg), &pp.today) == 0)
            continue;
        else if (c == 'm')
            rp.month = optarg;
        else if (c == 'c' && v > 0)
            rp.checks = v;
        else if (c == 'r' && (rp.rate = strtod(optarg, &end)) >= 0 && !*end)
            continue;
        else if (c == 'C' && v > 0 && v <= 4096)
            rp.connections = (unsigned)v;
        else if (c == 'D' && v > 0 && v <= 4096)
            rp.depth = (unsigned)v;
        else if (c == 'b' && v > 0 && v <= ELIG_PROTO_BATCH_MAX)
            rp.batch_size = (unsigned)v;
        else if (c == 'T')
            rp.seed = v;
        else if (c == 'j')
            json = true;
        else
            goto bad;
    }
    if (!rp.server || optind != argc)
        goto bad;
    struct elig_pop *pop;
    int rc = elig_pop_create(&pp, &pop);
    if (rc == 0) {
        rp.pop = pop;
        struct elig_replay_report *r = calloc(1, sizeof(*r));
        rc = r ? elig_replay_run(&rp, r) : -ENOMEM;
        if (rc == 0)
            print_report(&rp, r, json);
        free(r);
        elig_pop_destroy(pop);
    }
    if (rc) {
        fprintf(stderr, "elig-loadgen: replay: %s%s\n", elig_strerror(rc),
                rc == -ENOENT ? " (month not in the table: 2024-10 or 2025-02)" : "");
        return 1;
    }
    return 0;
bad:
    usage(stderr);
    return EXIT_USAGE;
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
    if (strcmp(argv[1], "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(argv[1], "population") == 0 || strcmp(argv[1], "updates") == 0)
        return cmd_population(argc - 1, argv + 1, strcmp(argv[1], "updates") == 0);
    fprintf(stderr, "elig-loadgen: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
