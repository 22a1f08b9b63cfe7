/* SPDX-License-Identifier: MIT */
/*
 * elig_bench: elig-bench: micro-benchmarks of eligd's parts.
 *
 * "elig-bench index" builds an index of N synthetic records in a fresh
 * segment and measures, on this machine:
 *   build       records inserted per second (record generation not timed)
 *   bytes       segment bytes per record, all-in (tables, records, dictionaries)
 *   single      key lookups per second, one key per call
 *   batch       key lookups per second, B keys per call (the prefetching path)
 *   misses      the same with one key in ten never inserted
 *   checks      whole number checks per second, B per call: lookup, the
 *               person's records, and the rules' answer
 *   cards       card lookups per second, B per call
 *   lines       the machine's random read rate in the same run: 64-byte lines
 *               read at random across the segment itself (same pages, same
 *               size), 32 requested ahead, each one used: what a lookup's two
 *               lines (bucket, record) are bounded by
 *   chain       the same reads made dependent (each address from the line read
 *               before): 1 / the latency of one miss
 *   rss         the process's peak resident set (it includes the segment's
 *               pages it touched, except hugetlbfs pages, which Linux does
 *               not count there)
 * Lookup phases run R times for S seconds each; the report gives medians and
 * every run. Every answer is checked: a key inserted must be found and a key
 * never inserted must not, or the benchmark stops (exit 1).
 *
 * The population is synthetic and deterministic (a function of the record
 * number): 25 persons per 32 records and a card for 62% of persons (the
 * ratios of 125M persons, 160M records and 77.5M registered cards), one record
 * in four a past (lost) qualification, 1% of symbols in kanji (stored in the
 * string form), names from 1,600 family and 1,600 given names. It exercises
 * the index, not the realism of a nation: elig-loadgen does that.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_config.h"
#include "elig_net_error.h"
#include "elig_index.h"
#include "elig_opt.h"
#include "elig_proto.h"
#include "elig_rules.h"
#include "elig_text.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

#define QUERIES (1u << 20)
#define STAGE   4096 /* keys staged in a hot buffer per timed block */
#define CHUNK   65536
#define REC_MAX 64

/* ---- deterministic population ----------------------------------------------------------- */

/* splitmix64's finaliser: a bijection, so distinct inputs give distinct ids. */
static uint64_t bench_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Valid insurer numbers of several kinds: the check digit is computed, then verified. */
void bench_insurers(struct bench_pop *pop)
{
    static const char *const laws[] = { "01", "06", "31", "39", "00", "63" };
    pop->ninsurers = 0;
    for (uint64_t k = 0; pop->ninsurers < INSURERS && k < 100000; k++) {
        char d[ELIG_INSURER_LEN + 1], out[ELIG_INSURER_LEN];
        snprintf(d, sizeof d, "%s%02u%03u0", laws[k % 6], (unsigned)(k % 47 + 1),
                 (unsigned)(k / 47 % 1000));
        d[7] = (char)('0' + elig_luhn_check_digit(d));
        if (elig_insurer_normalize(d, ELIG_INSURER_LEN, out) == 0)
            memcpy(pop->insurers[pop->ninsurers++], out, ELIG_INSURER_LEN);
    }
}

elig_date_t bench_ymd(int y, int m, int d)
{
    elig_date_t out = ELIG_DATE_NONE;
    elig_date_from_ymd(y, m, d, &out);
    return out;
}

uint64_t bench_person(uint64_t i)
{
    return i * 25 / 32 + 1;
}

static bool bench_has_card(uint64_t person)
{
    return bench_mix(person) % 100 < 62;
}

static uint64_t bench_card_id(uint64_t person)
{
    return bench_mix(person ^ 0x5ca1ab1eULL) | 1;
}

static const char *const kanji[] = { "山", "田", "中", "川", "佐", "藤", "鈴", "木", "高", "橋",
                                     "伊", "渡", "辺", "小", "林", "加", "吉", "松", "井", "村",
                                     "太", "郎", "花", "子", "美", "和", "健", "一", "恵", "翔",
                                     "大", "輝", "陽", "菜", "結", "愛", "蓮", "悠", "真", "𠮷" };
static const char *const kana[] = {
    "ヤ",   "タ",   "ナ",   "カ", "サ",   "ト",   "ス",   "キ",   "コ", "ハ",
    "イ",   "ワ",   "ベ",   "オ", "ハヤ", "ガ",   "ヨ",   "マ",   "イ", "ム",
    "タ",   "ロウ", "ハナ", "コ", "ミ",   "カズ", "ケン", "イチ", "エ", "ショウ",
    "ダイ", "キ",   "ヒ",   "ナ", "ユイ", "アイ", "レン", "ユウ", "マ", "ヨシ"
};

static void bench_name(uint64_t h, char *kj, char *kn)
{
    unsigned a = (unsigned)(h % 40), b = (unsigned)(h / 40 % 40);
    snprintf(kj, ELIG_NAME_MAX + 1, "%s%s", kanji[a], kanji[b]);
    snprintf(kn, ELIG_NAME_MAX + 1, "%s%s", kana[a], kana[b]);
}

static void bench_key(const struct bench_pop *pop, uint64_t i, struct elig_key *k)
{
    uint64_t h = bench_mix(i);
    const char *ins = pop->insurers[h % pop->ninsurers];
    char sym[32], num[24], br[3];
    if (h % 100 == 7)
        snprintf(sym, sizeof sym, "%s%s%u", kanji[h / 100 % 40], kanji[h / 4000 % 40],
                 (unsigned)(h >> 40) % 100);
    else
        snprintf(sym, sizeof sym, "%08u", (unsigned)((h >> 20) % 100000000));
    snprintf(num, sizeof num, "%llu", (unsigned long long)i + 1);
    snprintf(br, sizeof br, "%02u", (unsigned)(h >> 50) % 3);
    if (elig_key_normalize(ins, ELIG_INSURER_LEN, sym, strlen(sym), num, strlen(num), br, 2, k,
                           NULL) != 0)
        abort(); /* the generator only makes valid keys */
}

void bench_record(const struct bench_pop *pop, uint64_t i, elig_date_t today, struct elig_record *r)
{
    uint64_t h = bench_mix(i ^ 0xabcdefULL);
    uint64_t p = bench_person(i);
    memset(r, 0, offsetof(struct elig_record, family_kanji));
    bench_key(pop, i, &r->key);
    r->person_id = p;
    r->birth_date = (elig_date_t)(bench_ymd(1930, 1, 1) + bench_mix(p) % (90 * 365));
    r->acquired = r->valid_from = (elig_date_t)(r->birth_date + h % (20 * 365));
    if (r->valid_from > today)
        r->acquired = r->valid_from = today;
    if (i % 4 == 3) {
        r->loss_date = (elig_date_t)(r->valid_from + 1 + h % 400);
        r->valid_until = (elig_date_t)(r->loss_date - 1);
        r->loss_reason = ELIG_LOSS_OTHER_INSURANCE;
    }
    r->relation = h % 3 ? ELIG_REL_INSURED : ELIG_REL_DEPENDENT;
    r->sex = bench_mix(p) & 1 ? ELIG_SEX_FEMALE : ELIG_SEX_MALE;
    r->copay_pct = (uint8_t)elig_copay_default(r->birth_date, today);
    r->limit_category = (uint8_t)(h % (ELIG_LIMIT_MAX + 1));
    bench_name(bench_mix(p) >> 8, r->family_kanji, r->family_kana);
    bench_name(bench_mix(p) >> 24, r->given_kanji, r->given_kana);
}

/* ---- timing ---------------------------------------------------------------------------------- */

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

void bench_rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[8192];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            bench_rm_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    if (rmdir(dir) < 0)
        fprintf(stderr, "elig-bench: could not remove %s: %s\n", dir, elig_net_strerror(-errno));
}

double bench_median(const double *v, unsigned n)
{
    double s[64];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- the index benchmark ------------------------------------------------------------------------
 */

/* The card of person p, registered with record r, if p holds one. */
bool bench_card(uint64_t i, const struct elig_record *r, elig_date_t today, struct elig_card *c)
{
    uint64_t p = bench_person(i);
    if ((i > 0 && bench_person(i - 1) == p) || !bench_has_card(p))
        return false; /* a card comes with the person's first record */
    *c = (struct elig_card){
        .card_id = bench_card_id(p),
        .person_id = p,
        .registered_on = r->valid_from,
        .cert_expiry = (elig_date_t)(today + bench_mix(p) % (5 * 365)),
        .state = ELIG_CARD_REGISTERED,
    };
    return true;
}

/* Build the population in chunks: records, then their cards, through the batch calls. */
static int bench_build(struct elig_index *ix, const struct bench_pop *pop, double *rate)
{
    struct elig_record *chunk = malloc(CHUNK * sizeof *chunk);
    struct elig_card *cards = malloc(CHUNK * sizeof *cards);
    int *status = malloc(CHUNK * sizeof *status);
    if (!chunk || !cards || !status) {
        free(chunk);
        free(cards);
        free(status);
        return -ENOMEM;
    }
    elig_date_t today = bench_ymd(2025, 2, 1);
    double spent = 0;
    int rc = 0;
    for (uint64_t base = 0; rc == 0 && base < pop->n; base += CHUNK) {
        uint64_t m = pop->n - base < CHUNK ? pop->n - base : CHUNK;
        size_t ncards = 0;
        for (uint64_t j = 0; j < m; j++) {
            bench_record(pop, base + j, today, &chunk[j]);
            ncards += bench_card(base + j, &chunk[j], today, &cards[ncards]);
        }
        double t0 = bench_now();
        rc = elig_index_insert_batch(ix, chunk, m, NULL, status);
        for (uint64_t j = 0; rc >= 0 && j < m; j++)
            rc = status[j] < 0 ? status[j] : rc;
        if (rc >= 0)
            rc = elig_index_card_put_batch(ix, cards, ncards, status);
        for (size_t j = 0; rc >= 0 && j < ncards; j++)
            rc = status[j] < 0 ? status[j] : rc;
        rc = rc < 0 ? rc : 0;
        spent += bench_now() - t0;
    }
    free(chunk);
    free(cards);
    free(status);
    *rate = (double)pop->n / spent;
    return rc;
}

/*
 * The queries: QUERIES of each kind drawn up front. A timed block first
 * copies STAGE of them into small buffers that stay in cache (untimed), as a
 * server's freshly received frames would be, so the figures are the index's
 * and not those of streaming a 70 MB query array from memory.
 */
struct bench_queries {
    struct elig_key *keys;  /* inserted keys */
    struct elig_key *mixed; /* every 10th replaced by a key never inserted */
    elig_date_t *births;
    uint64_t *cards;
    struct elig_key stage_keys[STAGE];
    elig_date_t stage_births[STAGE];
    uint64_t stage_cards[STAGE];
    struct elig_index_hit hits[STAGE];
    struct elig_index_card_hit card_hits[STAGE];
    const char *seg;     /* the segment, read at random by the lines and chain phases */
    uint64_t seg_lines;  /* its 64-byte lines */
    uint64_t line_state; /* where those phases' random sequence is */
    uint64_t line_sink;  /* what they read, kept so that no read is optimised away */
};

static int bench_queries_make(const struct bench_pop *pop, struct bench_queries *q)
{
    q->keys = malloc(QUERIES * sizeof *q->keys);
    q->mixed = malloc(QUERIES * sizeof *q->mixed);
    q->births = malloc(QUERIES * sizeof *q->births);
    q->cards = malloc(QUERIES * sizeof *q->cards);
    if (!q->keys || !q->mixed || !q->births || !q->cards)
        return -ENOMEM;
    uint64_t s = 42, c = 0;
    for (unsigned j = 0; j < QUERIES; j++) {
        uint64_t i = bench_mix(s++) % pop->n;
        bench_key(pop, i, &q->keys[j]);
        if (j % 10 == 9) /* numbers are unique per record: beyond n, never inserted */
            bench_key(pop, pop->n + j, &q->mixed[j]);
        else
            q->mixed[j] = q->keys[j];
        q->births[j] =
            (elig_date_t)(bench_ymd(1930, 1, 1) + bench_mix(bench_person(i)) % (90 * 365));
        for (;;) {
            uint64_t p = bench_person(bench_mix(c++ ^ 0x77) % pop->n);
            if (bench_has_card(p)) {
                q->cards[j] = bench_card_id(p);
                break;
            }
        }
    }
    return 0;
}

static void bench_queries_free(struct bench_queries *q)
{
    free(q->keys);
    free(q->mixed);
    free(q->births);
    free(q->cards);
}

enum bench_phase {
    PH_SINGLE,
    PH_BATCH,
    PH_MISSES,
    PH_CHECKS,
    PH_CARDS,
    PH_LINES,
    PH_CHAIN,
    PH_COUNT
};
static const char *const phase_short[PH_COUNT] = { "single", "batch", "misses", "checks",
                                                   "cards",  "lines", "chain" };
static const char *const phase_names[PH_COUNT] = {
    "single_lookups_per_s",  "batch_lookups_per_s",      "batch_lookups_10pct_miss_per_s",
    "batch_checks_per_s",    "batch_card_lookups_per_s", "random_lines_per_s",
    "dependent_lines_per_s",
};

/* Number checks of staged keys j..j+n: lookup, gather, judge. Returns answers that found the
 * person. */
static uint64_t bench_checks(const struct elig_index *ix, struct bench_queries *q, unsigned j,
                             unsigned n, elig_date_t day)
{
    static struct elig_record recs[REC_MAX * 1024];
    struct elig_index_span spans[1024];
    uint32_t persons[1024];
    uint64_t found = 0;
    elig_index_lookup(ix, &q->stage_keys[j], n, &q->hits[j]);
    for (unsigned k = 0; k < n; k++)
        persons[k] = q->hits[j + k].status == 0 ? q->hits[j + k].person[0] : ELIG_INDEX_NIL;
    elig_index_gather(ix, persons, n, 0, recs, REC_MAX * 1024, spans);
    for (unsigned k = 0; k < n; k++) {
        struct elig_answer ans;
        if (spans[k].status < 0)
            continue;
        elig_eval_number(&q->stage_keys[j + k], q->stage_births[j + k], day, false,
                         recs + spans[k].first, spans[k].count, &ans);
        found += ans.validity != ELIG_NO_MATCH;
    }
    return found;
}

/*
 * n random 64-byte lines of the segment read, each one's first word used; the
 * next line's address comes from a counter (independent: AHEAD requested
 * before their use) or from the word just read (dependent). Returns a value
 * the caller keeps, so that no read is optimised away.
 */
static uint64_t bench_lines(const char *base, uint64_t lines, bool dependent, unsigned n,
                            uint64_t *state)
{
    enum { AHEAD = 32 };
    uint64_t x = *state, sum = 0;
    const char *ring[AHEAD];
    if (dependent) {
        for (unsigned i = 0; i < n; i++) {
            uint64_t w;
            memcpy(&w, base + ((bench_mix(x) & 0xffffffffu) * lines >> 32) * 64, sizeof w);
            x += w | 1; /* the next address needs this line */
        }
        *state = x;
        return x;
    }
    for (unsigned i = 0; i < n + AHEAD; i++) {
        if (i >= AHEAD) {
            uint64_t w;
            memcpy(&w, ring[i % AHEAD], sizeof w);
            sum += w;
        }
        if (i < n) {
            ring[i % AHEAD] = base + ((bench_mix(x++) & 0xffffffffu) * lines >> 32) * 64;
            __builtin_prefetch(ring[i % AHEAD]);
        }
    }
    *state = x;
    return sum;
}

/* Run phase ph over the staged queries; returns the answers that were as expected. */
static uint64_t bench_block(const struct elig_index *ix, struct bench_queries *q,
                            enum bench_phase ph, unsigned step, unsigned base)
{
    elig_date_t day = bench_ymd(2025, 2, 14);
    uint64_t ok = 0;
    if (ph == PH_LINES || ph == PH_CHAIN) {
        q->line_sink += bench_lines(q->seg, q->seg_lines, ph == PH_CHAIN, STAGE, &q->line_state);
        return STAGE;
    }
    for (unsigned j = 0; j + step <= STAGE; j += step) {
        switch (ph) {
        case PH_CHECKS:
            ok += bench_checks(ix, q, j, step, day);
            break;
        case PH_CARDS:
            elig_index_lookup_cards(ix, &q->stage_cards[j], step, &q->card_hits[j]);
            for (unsigned k = j; k < j + step; k++)
                ok += q->card_hits[k].status == 0;
            break;
        default:
            elig_index_lookup(ix, &q->stage_keys[j], step, &q->hits[j]);
            for (unsigned k = j; k < j + step; k++) /* a mixed key is absent at j % 10 == 9 */
                ok += q->hits[k].status == (ph == PH_MISSES && (base + k) % 10 == 9 ? -ENOENT : 0);
            break;
        }
    }
    return ok;
}

/* One timed run of a phase; returns operations per second, or -1 on a miss. */
static double bench_phase(const struct elig_index *ix, struct bench_queries *q, enum bench_phase ph,
                          unsigned batch, double seconds)
{
    unsigned step = ph == PH_SINGLE ? 1 : batch;
    uint64_t ops = 0, ok = 0;
    double spent = 0;
    for (unsigned base = 0; spent < seconds; base = (base + STAGE) % QUERIES) {
        memcpy(q->stage_keys, (ph == PH_MISSES ? q->mixed : q->keys) + base, sizeof q->stage_keys);
        memcpy(q->stage_births, q->births + base, sizeof q->stage_births);
        memcpy(q->stage_cards, q->cards + base, sizeof q->stage_cards);
        double t0 = bench_now();
        ok += bench_block(ix, q, ph, step, base);
        spent += bench_now() - t0;
        ops += STAGE - STAGE % step;
    }
    if (ok != ops) {
        fprintf(stderr, "elig-bench: %s: %llu of %llu answers were not as inserted\n",
                phase_names[ph], (unsigned long long)(ops - ok), (unsigned long long)ops);
        return -1;
    }
    return (double)ops / spent;
}

/* Peak resident set of this process, bytes. */
uint64_t bench_rss(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
}

static void bench_print(const struct bench_opts *o, const struct elig_index_stats *st, double build,
                        double bpr, double med[PH_COUNT], double runs[PH_COUNT][64])
{
    if (o->json) {
        printf("{\"benchmark\": \"index\", \"version\": \"%s\", \"records\": %llu, "
               "\"persons\": %llu, \"cards\": %llu, \"pages\": \"%s\", \"segment_bytes\": %llu, "
               "\"bytes_per_record\": %.1f, \"rss_bytes\": %llu, \"build_per_s\": %.0f, "
               "\"batch\": %u, \"seconds\": %.2f, \"runs\": %u",
               ELIG_VERSION, (unsigned long long)st->records, (unsigned long long)st->persons,
               (unsigned long long)st->cards, elig_seg_backing_name(st->backing),
               (unsigned long long)st->segment_bytes, bpr, (unsigned long long)bench_rss(), build,
               o->batch, o->seconds, o->runs);
        for (int p = 0; p < PH_COUNT; p++) {
            printf(", \"%s\": %.0f, \"%s_runs\": [", phase_names[p], med[p], phase_names[p]);
            for (unsigned r = 0; r < o->runs; r++)
                printf("%s%.0f", r ? ", " : "", runs[p][r]);
            printf("]");
        }
        printf("}\n");
        return;
    }
    printf("index: %llu records, %llu persons, %llu cards, pages %s\n",
           (unsigned long long)st->records, (unsigned long long)st->persons,
           (unsigned long long)st->cards, elig_seg_backing_name(st->backing));
    printf("  segment                        %.2f GiB, %.1f bytes/record\n",
           (double)st->segment_bytes / (1u << 30), bpr);
    printf("  process peak RSS               %.2f GiB\n", (double)bench_rss() / (1u << 30));
    printf("  build                          %.2f M records/s\n", build / 1e6);
    for (int p = 0; p < PH_COUNT; p++) {
        printf("  %-30s %.2f M/s (median of %u runs of %.1f s:", phase_names[p], med[p] / 1e6,
               o->runs, o->seconds);
        for (unsigned r = 0; r < o->runs; r++)
            printf(" %.2f", runs[p][r] / 1e6);
        printf(")\n");
    }
    printf("  batch size                     %u\n", o->batch);
}

int bench_index_make(const struct bench_opts *o, struct bench_pop *pop, const char *path,
                     struct elig_index **ix, double *build)
{
    pop->n = o->records;
    bench_insurers(pop);
    struct elig_index_params p = {
        .path = path,
        .capacity = o->records,
        .persons = bench_person(o->records - 1) + 1,
        .cards = bench_person(o->records - 1) * 62 / 100 + 4096,
        .pages = o->pages,
    };
    int rc = elig_index_create(&p, ix);
    if (rc < 0) {
        fprintf(stderr, "elig-bench: cannot create %s: %s\n", path, elig_net_strerror(rc));
        return rc;
    }
    if ((rc = bench_build(*ix, pop, build)) < 0) {
        fprintf(stderr, "elig-bench: build: %s\n", elig_net_strerror(rc));
        elig_index_close(*ix, false);
        unlink(path);
    }
    return rc;
}

int bench_index(const struct bench_opts *o)
{
    static struct bench_pop pop;
    static struct bench_queries q;
    char path[4096];
    snprintf(path, sizeof path, "%s/elig-bench-%ld.seg", o->dir, (long)getpid());
    struct elig_index *ix = NULL;
    double build = 0, med[PH_COUNT], runs[PH_COUNT][64];
    int rc = bench_index_make(o, &pop, path, &ix, &build);
    if (rc < 0)
        return EXIT_FAIL;
    int status = EXIT_FAIL;
    if ((rc = bench_queries_make(&pop, &q)) < 0) {
        fprintf(stderr, "elig-bench: %s\n", elig_net_strerror(rc));
        goto out;
    }
    q.seg = elig_seg_base(elig_index_seg(ix));
    q.seg_lines = elig_seg_size(elig_index_seg(ix)) / 64;
    q.line_state = 1;
    for (unsigned r = 0; r < o->runs; r++)
        for (int ph = 0; ph < PH_COUNT; ph++)
            if (o->only >= 0 && ph != o->only)
                runs[ph][r] = 0;
            else if ((runs[ph][r] = bench_phase(ix, &q, ph, o->batch, o->seconds)) < 0)
                goto out;
    for (int ph = 0; ph < PH_COUNT; ph++)
        med[ph] = bench_median(runs[ph], o->runs);
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    bench_print(o, &st, build, (double)st.segment_bytes / (double)st.records, med, runs);
    status = 0;
out:
    bench_queries_free(&q);
    elig_index_close(ix, true);
    if (!o->keep)
        unlink(path);
    else
        fprintf(stderr, "elig-bench: segment kept at %s\n", path);
    return status;
}

pid_t bench_spawn_until(char *const argv[], const char *ready, char *line, size_t size)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    bool ok = false;
    while (f && fgets(line, (int)size, f))
        if (strstr(line, ready)) {
            ok = true;
            break;
        }
    if (f)
        fclose(f); /* eligd writes nothing more; redis's later lines get EPIPE, ignored */
    if (!ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

int bench_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void bench_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* The number check of record i as of 2025-02-01 (r holds the strings q points into). */
void bench_number_query(const struct bench_pop *pop, uint64_t i, struct elig_record *r,
                        struct elig_proto_number *q)
{
    bench_record(pop, i, bench_ymd(2025, 2, 1), r);
    *q = (struct elig_proto_number){
        .facility = BENCH_FACILITY,
        .date = 20250201,
        .birth = elig_proto_date_out(r->birth_date),
        .insurer = r->key.insurer,
        .insurer_len = ELIG_INSURER_LEN,
        .symbol = r->key.symbol,
        .symbol_len = r->key.symbol_len,
        .number = r->key.number,
        .number_len = r->key.number_len,
        .branch = r->key.branch,
        .branch_len = ELIG_BRANCH_LEN,
    };
}

static void usage(FILE *out)
{
    fputs(
        "usage: elig-bench index|log|store|server|dpdk|tls|cluster|lists [OPTIONS]\n"
        "\n"
        "index: build an index of N synthetic records and measure build rate, bytes\n"
        "per record, single, batched, whole-check and card lookup rates, and the\n"
        "machine's random read rate over the same segment (lines, chain).\n"
        "log: append N update records durably from T threads (group commit) and\n"
        "measure appends per second and commit latency, then the replay rate.\n"
        "store: submit rate, warm restart, snapshot and cold starts of the store.\n"
        "server: eligd over loopback side by side with redis-server and memcached\n"
        "holding the same records: requests/s and p50/p99 at each pipeline depth,\n"
        "BATCH of 64 lookups/s, memory per record.\n"
        "tls: TLS 1.3 handshakes, full and resumed, on one core, as eligd makes them:\n"
        "handshakes a second of both ends, and of the server's time alone.\n"
        "cluster: new records appended through one node of a running cluster at a paced\n"
        "rate; the time from each chunk's acknowledgement to visible on every node.\n"
        "lists: single checks' latency (depth 1) alone and while a backlog of appointment\n"
        "lists is checked in the background (LIST_SUBMIT), and the backlog's rate.\n"
        "dpdk: eligd's UDP datapath over a DPDK memif port (one lcore each side, EAL\n"
        "--no-huge): lookups/s and datagram latency at F frames per datagram.\n"
        "\n"
        "  --records N      index: records to build (default 1000000; 160000000 for the\n"
        "                   nation); log: records to append (default 200000)\n"
        "  --dir DIR        where the files go (index: tmpfs or hugetlbfs, default /dev/shm;\n"
        "                   log: a disk file system, default /var/tmp)\n"
        "  --pages P        index: auto, small (4 KiB) or huge (2 MiB, else fail) (default auto)\n"
        "  --batch B        index: keys per batched call, 1..1024, dividing 4096; log: records\n"
        "                   per append call (default 64)\n"
        "  --seconds S      index: length of each timed run (default 2)\n"
        "  --runs R         timed runs per measurement, 1..64; medians are reported (default 3)\n"
        "  --only PHASE     index: one phase only: single, batch, misses, checks, cards,\n"
        "                   lines or chain;\n"
        "                   server: one workload only: depthN or batch\n"
        "  --threads T      log: concurrent appenders, 1..256 (default 16)\n"
        "  --window US      log: commit window in microseconds (default 0)\n"
        "  --connections C  server: client connections (default 50)\n"
        "  --eligd PATH     server: the eligd binary (default: beside elig-bench)\n"
        "  --workers W      server: eligd worker threads (default: one per core)\n"
        "  --depths LIST    server: pipeline depths, comma-separated (default 1,16)\n"
        "  --peers LIST     server: redis, memcached, redis,memcached or none (default redis)\n"
        "  --tls            server: also eligd with TLS 1.3 and client certificates (CA and\n"
        "                   certificates made for the run with eligctl): the cost of TLS\n"
        "  --secure         server: also eligd as facilities meet it: HELLO/AUTH on every\n"
        "                   connection and every check in the audit log (the cost of both)\n"
        "  --audit-dir DIR  server: where --secure's audit log goes: a disk, as in a\n"
        "                   deployment (default /var/tmp)\n"
        "  --peer-records M server: records the peers hold, when N would not fit beside\n"
        "                   eligd (default N; their queries then come from those M)\n"
        "  --frames LIST    dpdk: frames per datagram, comma-separated, 1..16 (default 1,8)\n"
        "  --in-flight W    dpdk: datagrams in flight (default 64)\n"
        "  --admin SOCKET   cluster: the admin socket of the node appended through\n"
        "  --servers LIST   cluster: every node's facility port, HOST:PORT,... (trusted network)\n"
        "  --rate N         cluster: events a second (default 10000); --batch: events a chunk,\n"
        "                   --seconds: how long\n"
        "  --first N        cluster: the first synthetic record appended (default 10000000):\n"
        "                   another run on the same cluster needs records it has not had\n"
        "  --backlog B      lists: entries handed in, in lists of 10,000 (default 1000000)\n"
        "  --json           one JSON object instead of the table\n"
        "  --keep           index: keep the segment file (its path is printed)\n"
        "\n"
        "Exit status: 0 done; 1 a build, append or lookup failed; 2 usage.\n",
        out);
}

#define BO(kind, name, ...) ELIG_OPT_##kind(name, struct bench_opts, __VA_ARGS__)
static const struct elig_opt bench_opt_table[] = {
    BO(U, "records", records, 1, UINT64_C(1) << 31),
    BO(S, "dir", dir),
    BO(S, "segment-dir", segment_dir),
    BO(S, "audit-dir", audit_dir),
    BO(C, "pages", pages, elig_seg_pages_names),
    BO(U, "batch", batch, 1, 1024),
    BO(D, "seconds", seconds, 0.001, 3600),
    BO(U, "runs", runs, 1, 64),
    BO(F, "json", json),
    BO(U, "threads", threads, 1, 256),
    BO(U, "window", window_us, 0, 1000000),
    BO(S, "only", only_name),
    BO(F, "keep", keep),
    BO(U, "connections", connections, 1, 10000),
    BO(S, "eligd", eligd),
    BO(U, "workers", workers, 1, 256),
    BO(S, "depths", depths),
    BO(S, "peers", peers),
    BO(U, "peer-records", peer_records, 1, 1ull << 31),
    BO(S, "frames", frames),
    BO(F, "secure", secure),
    BO(F, "tls", tls),
    BO(U, "in-flight", in_flight, 1, 1024),
    BO(S, "servers", servers),
    BO(S, "admin", admin),
    BO(U, "rate", rate, 1, 100000000),
    BO(U, "first", first, 0, 1ull << 40),
    BO(U, "backlog", backlog, 1, 100000000),
    ELIG_OPT_END,
};
#undef BO

int main(int argc, char **argv)
{
    struct bench_opts o = {
        .records = 0,
        .dir = NULL,
        .batch = 64,
        .seconds = 2,
        .runs = 3,
        .threads = 16,
        .only = -1,
        .first = 10000000,
        .backlog = 1000000,
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("elig-bench %s\n", ELIG_VERSION);
        return 0;
    }
    bool is_log = strcmp(argv[1], "log") == 0, is_store = strcmp(argv[1], "store") == 0;
    bool is_server = strcmp(argv[1], "server") == 0, is_dpdk = strcmp(argv[1], "dpdk") == 0;
    bool is_tls = strcmp(argv[1], "tls") == 0, is_cluster = strcmp(argv[1], "cluster") == 0;
    bool is_lists = strcmp(argv[1], "lists") == 0;
    if (!is_log && !is_store && !is_server && !is_dpdk && !is_tls && !is_cluster && !is_lists &&
        strcmp(argv[1], "index") != 0) {
        fprintf(stderr, "elig-bench: unknown benchmark '%s' (try --help)\n", argv[1]);
        return EXIT_USAGE;
    }
    char prog[32];
    snprintf(prog, sizeof prog, "elig-bench %s", argv[1]);
    int first, rc = elig_opt_parse(prog, bench_opt_table, argc - 1, argv + 1, &o, &first);
    if (rc == ELIG_OPT_HELP) {
        usage(stdout);
        return 0;
    }
    if (rc)
        return EXIT_USAGE;
    if (first != argc - 1) {
        fprintf(stderr, "%s: %s: not an option (%s takes options only; --help)\n", prog,
                argv[1 + first], prog);
        return EXIT_USAGE;
    }
    if (STAGE % o.batch != 0) {
        fprintf(stderr, "%s: --batch %u: must divide %d\n", prog, o.batch, STAGE);
        return EXIT_USAGE;
    }
    if (o.only_name && !is_server) { /* bench_server checks its own workloads' names */
        for (o.only = 0; o.only < PH_COUNT && strcmp(o.only_name, phase_short[o.only]); o.only++)
            ;
        if (o.only == PH_COUNT) {
            fprintf(stderr, "%s: --only %s: not a phase (single, batch, misses, checks, cards)\n",
                    prog, o.only_name);
            return EXIT_USAGE;
        }
    }
    if (!o.dir)
        o.dir = is_log || is_store ? "/var/tmp" : "/dev/shm";
    if (!o.segment_dir)
        o.segment_dir = "/dev/shm";
    if (!o.audit_dir)
        o.audit_dir = "/var/tmp";
    if (!o.records)
        o.records = is_log ? 200000 : 1000000;
    if (is_cluster)
        return bench_cluster(&o);
    if (is_server || is_dpdk || is_tls || is_lists) {
        static char eligd[4096];
        if (!o.eligd) { /* beside this program, as the build and the install put it */
            ssize_t n = readlink("/proc/self/exe", eligd, sizeof eligd - 7);
            char *slash = n > 0 ? memrchr(eligd, '/', (size_t)n) : NULL;
            if (slash == NULL)
                return EXIT_USAGE;
            strcpy(slash + 1, "eligd");
            o.eligd = eligd;
        }
        if (is_dpdk) {
#if ELIG_HAVE_DPDK
            if (!o.in_flight)
                o.in_flight = 64;
            return bench_dpdk(&o);
#else
            fputs("elig-bench: built without DPDK (meson -Ddpdk=enabled with libdpdk-dev)\n",
                  stderr);
            return EXIT_USAGE;
#endif
        }
        if (is_tls)
            return bench_tls(&o);
        if (is_lists) {
            if (!o.workers)
                o.workers = 2;
            return bench_lists(&o);
        }
        if (!o.connections)
            o.connections = 50;
        if (!o.workers) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            o.workers = n > 0 ? (unsigned)n : 1;
        }
        return bench_server(&o);
    }
    return is_log ? bench_log(&o) : is_store ? bench_store(&o) : bench_index(&o);
}
