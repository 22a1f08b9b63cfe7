/*
 * eligctl.c - the admin and query command line.
 *
 * Design: one program, one subcommand a job, each a function that parses its
 * own options with getopt_long and returns an exit status (0 ok, 1 the data
 * was judged and found wanting, 2 usage or system error). Nothing here
 * decides eligibility or parses feeds itself: it calls the index library
 * (elig_feed_*, elig_update_*, elig_eval_*), so the command line answers
 * exactly as the server will.
 *
 * "feed query" applies the given files through the applier to a private,
 * temporary index and answers from it the way the server does, so what it
 * prints is what the service would answer after those updates.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_config.h"
#include "elig_error.h"
#include "elig_apply.h"
#include "elig_db.h"
#include "elig_feed.h"
#include "elig_index.h"
#include "elig_key.h"
#include "elig_rules.h"
#include "elig_update.h"

#define EXIT_JUDGED 1
#define EXIT_USAGE  2

static void usage(FILE *out)
{
    fputs("usage: eligctl [--help] [--version] COMMAND [ARGS]\n"
          "\n"
          "Commands:\n"
          "  feed check FILE...        validate insurer feed files; report every bad line\n"
          "                            as FILE:LINE: FIELD: REASON and count the good ones\n"
          "  feed query FILE... QUERY  apply the feed files in order (in memory) and\n"
          "                            answer one check as the rules would\n"
          "  append --data DIR --segment PATH [--capacity N] [--truncate-tail] FILE...\n"
          "                            make the feed files' events durable in the log under\n"
          "                            DIR and apply them to the index at PATH (warm or cold\n"
          "                            start first); refused events as FILE:LINE: REASON\n"
          "  snapshot --data DIR --segment PATH\n"
          "                            write a snapshot of the index, delete the log it covers\n"
          "  verify --data DIR --segment PATH\n"
          "                            rebuild the index from snapshot and log aside and\n"
          "                            compare it with the segment, item by item\n"
          "  lookup --segment PATH QUERY\n"
          "                            answer one check from an index, attached read-only\n"
          "  dump SEGMENT              every record, card link and insurer name of an index,\n"
          "                            as TSV (personal data: handle the output as such)\n"
          "  stats SEGMENT             attach an index segment read-only and print its\n"
          "                            occupancy (never blocks or disturbs its writer)\n"
          "  key INSURER SYMBOL NUMBER [BRANCH]\n"
          "                            print the canonical form of an insurance-number key\n"
          "\n"
          "QUERY, by insurance number:\n"
          "  --insurer N --symbol S --number N [--branch B] --birth YYYY-MM-DD\n"
          "QUERY, by card:\n"
          "  --card HEX16\n"
          "and for both:\n"
          "  [--date YYYY-MM-DD]  date of service (default: today)\n"
          "  [--consent]          the patient consents to disclose the limit category\n"
          "\n"
          "Exit status: 0 success; 1 feed check rejected lines, or key found the key\n"
          "invalid; 2 usage or system error.\n",
          out);
}

/* ---- feed check --------------------------------------------------------- */

static void print_reject(void *ctx, const char *path, uint64_t line,
                         const struct elig_feed_error *err)
{
    (void)ctx;
    printf("%s:%llu: %s: %s\n", path, (unsigned long long)line, err->field,
           elig_strerror(err->code));
}

static int count_event(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    (void)ev;
    (void)path;
    (void)line;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int read_feeds(char **files, int n, elig_feed_event_fn on_event,
                      elig_feed_reject_fn on_reject, void *ctx, uint64_t *accepted,
                      uint64_t *rejected)
{
    *accepted = *rejected = 0;
    for (int i = 0; i < n; i++) {
        struct elig_feed_stats st;
        int rc = elig_feed_read_file(files[i], on_event, on_reject, ctx, &st);
        *accepted += st.accepted;
        *rejected += st.rejected;
        if (rc) {
            fprintf(stderr, "eligctl: %s: %s\n", files[i], elig_strerror(rc));
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int cmd_feed_check(int argc, char **argv)
{
    if (argc < 1) {
        fputs("eligctl feed check: name at least one FILE (- for standard input)\n", stderr);
        return EXIT_USAGE;
    }
    uint64_t events = 0, accepted, rejected;
    int rc = read_feeds(argv, argc, count_event, print_reject, &events, &accepted, &rejected);
    if (rc)
        return rc;
    printf("%llu accepted, %llu rejected\n", (unsigned long long)accepted,
           (unsigned long long)rejected);
    return rejected ? EXIT_JUDGED : 0;
}

/* ---- feed query: the feed applied to a private index --------------------- */

/*
 * The feed files are applied, through the applier (elig_apply), to an index
 * in a private temporary segment, and the check is answered from it exactly
 * as the server answers: lookup, the persons' records, the rules.
 */
struct query_index {
    struct elig_index *ix;
    char dir[256], path[300];
    uint64_t applied, refused;
};

static void quiet_reject(void *ctx, const char *path, uint64_t line,
                         const struct elig_feed_error *err)
{
    (void)ctx;
    (void)path;
    (void)line;
    (void)err;
}

/* A fresh private directory for a scratch segment: under TMPDIR, else /dev/shm, else /tmp. */
static int scratch_dir(char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    const char *base = tmp && *tmp ? tmp : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, size, "%s/eligctl-XXXXXX", base);
    return mkdtemp(buf) ? 0 : -errno;
}

/* A private index sized for events events, in a scratch directory. */
static int query_index_create(struct query_index *qi, uint64_t events)
{
    int err = scratch_dir(qi->dir, sizeof qi->dir);
    if (err < 0)
        return err;
    snprintf(qi->path, sizeof qi->path, "%s/index.seg", qi->dir);
    uint64_t cap = events * 2 + 1024;
    struct elig_index_params p = {
        .path = qi->path, .capacity = cap, .persons = cap, .cards = cap
    };
    int rc = elig_index_create(&p, &qi->ix);
    if (rc < 0)
        rmdir(qi->dir);
    return rc;
}

static void query_index_destroy(struct query_index *qi)
{
    if (!qi->ix)
        return;
    elig_index_close(qi->ix, false);
    unlink(qi->path);
    rmdir(qi->dir);
}

static int on_query_event(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    struct query_index *qi = ctx;
    int rc = elig_apply(qi->ix, ev, 0, NULL);
    if (rc == -ENOMEM || rc == -ELIG_EFULL)
        return rc;
    if (rc) {
        qi->refused++;
        printf("%s:%llu: %s refused: %s\n", path, (unsigned long long)line,
               elig_event_kind_name(ev->kind), elig_strerror(rc));
    } else {
        qi->applied++;
    }
    return 0;
}

static const char *insurer_name(const struct elig_index *ix, const char number[ELIG_INSURER_LEN],
                                char buf[ELIG_INSURER_NAME_MAX + 1])
{
    return elig_index_insurer_name(ix, number, buf) == 0 ? buf : "(name not registered)";
}

/* The rules refer to records by 16-bit index. */
#define QUERY_RECORDS_MAX 65535

/* Every record of the persons in persons[0..n), with names, into out. */
static size_t gather_persons(const struct elig_index *ix, const uint32_t *persons, size_t n,
                             struct elig_record *out, size_t cap)
{
    struct elig_index_span spans[ELIG_INDEX_KEY_PERSONS];
    size_t total = 0;
    elig_index_gather(ix, persons, n, ELIG_INDEX_NAMES, out, cap, spans);
    for (size_t i = 0; i < n; i++)
        if (spans[i].status == 0)
            total = spans[i].first + spans[i].count;
    return total;
}

static const char *loss_reason_name(uint8_t reason)
{
    switch (reason) {
    case ELIG_LOSS_DEATH:
        return "01 death";
    case ELIG_LOSS_WELFARE:
        return "02 welfare";
    case ELIG_LOSS_OTHER_INSURANCE:
        return "03 other insurance acquired";
    case ELIG_LOSS_OTHER:
        return "99 other";
    default:
        return "-";
    }
}

static void print_record(const struct elig_index *ix, const struct elig_record *r, elig_date_t date,
                         bool disclosed)
{
    char d1[ELIG_DATE_ISO_LEN + 1], d2[ELIG_DATE_ISO_LEN + 1], name[ELIG_INSURER_NAME_MAX + 1];
    printf("  insurer:        %.8s %s (%s)\n", r->key.insurer,
           insurer_name(ix, r->key.insurer, name),
           elig_insurance_kind_name(elig_insurance_kind(r->key.insurer)));
    printf("  symbol/number:  %.*s / %.*s / branch %.2s\n", r->key.symbol_len, r->key.symbol,
           r->key.number_len, r->key.number, r->key.branch);
    printf("  relation:       %s\n", r->relation == ELIG_REL_INSURED ? "insured" : "dependent");
    printf("  name:           %s %s (%s %s)\n", r->family_kanji, r->given_kanji, r->family_kana,
           r->given_kana);
    printf("  sex, born:      %s, %s\n", r->sex == ELIG_SEX_MALE ? "male" : "female",
           elig_date_format(r->birth_date, d1));
    printf("  acquired:       %s\n", elig_date_format(r->acquired, d1));
    printf("  valid:          %s to %s\n", elig_date_format(r->valid_from, d1),
           r->valid_until ? elig_date_format(r->valid_until, d2) : "(open)");
    if (r->loss_date)
        printf("  lost:           %s, reason %s\n", elig_date_format(r->loss_date, d1),
               loss_reason_name(r->loss_reason));
    printf("  co-payment:     %d%% on the date of service\n", elig_record_copay_on(r, date));
    if (r->elderly_pct)
        printf("  elderly cert.:  %d%%, %s to %s\n", r->elderly_pct,
               elig_date_format(r->elderly_from, d1),
               r->elderly_until ? elig_date_format(r->elderly_until, d2) : "(open)");
    if (disclosed)
        printf("  limit category: %s\n",
               r->limit_category ? elig_limit_name(r->limit_category) : "(none)");
    else
        printf("  limit category: (withheld: no consent)\n");
}

static void print_answer(const struct elig_index *ix, const struct elig_answer *ans,
                         const struct elig_record *recs, elig_date_t date)
{
    if (ans->validity == ELIG_VALIDITY_NONE) {
        printf("refused: %s\n", elig_refusal_name(ans->refusal));
        return;
    }
    printf("validity: %d %s\n", ans->validity, elig_validity_name(ans->validity));
    if (ans->flags & ELIG_FLAG_RENEWAL_ALERT)
        printf("card: certificate expires within 3 months: renewal alert\n");
    if (ans->flags & ELIG_FLAG_GRACE)
        printf("card: certificate expired, within the 3-month grace period\n");
    for (size_t i = 0; i < ans->count; i++) {
        struct elig_record r;
        elig_answer_record(ans, recs, i, &r);
        printf("record %zu of %u:\n", i + 1, ans->count);
        print_record(ix, &r, date, ans->flags & ELIG_FLAG_LIMIT_DISCLOSED);
    }
}

struct query {
    const char *insurer, *symbol, *number, *branch, *birth, *card, *date;
    const char *segment; /* lookup: the index segment to attach */
    bool consent;
};

/* Query options; files after them unless files is false (lookup). */
static int parse_query(int argc, char **argv, struct query *q, int *first_file, bool files)
{
    static const struct option opts[] = {
        { "insurer", required_argument, NULL, 'i' }, { "symbol", required_argument, NULL, 's' },
        { "number", required_argument, NULL, 'n' },  { "branch", required_argument, NULL, 'b' },
        { "birth", required_argument, NULL, 'B' },   { "card", required_argument, NULL, 'c' },
        { "date", required_argument, NULL, 'd' },    { "consent", no_argument, NULL, 'C' },
        { "segment", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 },
    };
    memset(q, 0, sizeof(*q));
    q->symbol = "";
    q->branch = "";
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            q->insurer = optarg;
            break;
        case 's':
            q->symbol = optarg;
            break;
        case 'n':
            q->number = optarg;
            break;
        case 'b':
            q->branch = optarg;
            break;
        case 'B':
            q->birth = optarg;
            break;
        case 'c':
            q->card = optarg;
            break;
        case 'd':
            q->date = optarg;
            break;
        case 'C':
            q->consent = true;
            break;
        case 'S':
            q->segment = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    bool by_number = q->insurer || q->number || q->birth;
    if (by_number == (q->card != NULL) || (by_number && !(q->insurer && q->number && q->birth))) {
        fputs("eligctl: give either --insurer, --number and --birth (with --symbol "
              "and --branch as printed), or --card\n",
              stderr);
        return EXIT_USAGE;
    }
    if (files ? optind >= argc : optind != argc) {
        fputs(files ? "eligctl feed query: name at least one feed FILE\n"
                    : "eligctl lookup: no files here: it reads the index (--segment)\n",
              stderr);
        return EXIT_USAGE;
    }
    if (files == (q->segment != NULL)) {
        fputs(files ? "eligctl feed query: --segment is for lookup\n"
                    : "eligctl lookup: --segment PATH is required\n",
              stderr);
        return EXIT_USAGE;
    }
    *first_file = optind;
    return 0;
}

static int arg_date(const char *what, const char *s, elig_date_t *out)
{
    int rc = elig_date_parse(s, strlen(s), out);
    if (rc)
        fprintf(stderr, "eligctl: %s: %s (want YYYY-MM-DD)\n", what, elig_strerror(rc));
    return rc ? EXIT_USAGE : 0;
}

static int run_query(const struct elig_index *ix, const struct query *q)
{
    elig_date_t date = elig_date_today(), birth = 0;
    if (q->date && arg_date("--date", q->date, &date))
        return EXIT_USAGE;
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    size_t cap = st.records < QUERY_RECORDS_MAX ? st.records : QUERY_RECORDS_MAX;
    struct elig_record *recs = calloc(cap ? cap : 1, sizeof(*recs));
    if (recs == NULL)
        return EXIT_USAGE;
    struct elig_answer ans;
    size_t n;
    int status = 0;
    if (q->card) {
        uint64_t id;
        int rc = elig_card_id_parse(q->card, strlen(q->card), &id);
        if (rc) {
            fprintf(stderr, "eligctl: --card: %s (want 16 hex digits)\n", elig_strerror(rc));
            status = EXIT_USAGE;
            goto out;
        }
        struct elig_index_card_hit hit;
        elig_index_lookup_cards(ix, &id, 1, &hit);
        n = hit.status == 0 ? gather_persons(ix, &hit.person, 1, recs, cap) : 0;
        elig_eval_card(hit.status == 0 ? &hit.card : NULL, date, q->consent, recs, n, &ans);
    } else {
        struct elig_key key;
        enum elig_key_field bad;
        int rc = elig_key_normalize(q->insurer, strlen(q->insurer), q->symbol, strlen(q->symbol),
                                    q->number, strlen(q->number), q->branch, strlen(q->branch),
                                    &key, &bad);
        if (rc) {
            fprintf(stderr, "eligctl: --%s: %s\n", elig_key_field_name(bad), elig_strerror(rc));
            status = EXIT_USAGE;
            goto out;
        }
        if (arg_date("--birth", q->birth, &birth)) {
            status = EXIT_USAGE;
            goto out;
        }
        struct elig_index_hit hit;
        elig_index_lookup(ix, &key, 1, &hit);
        n = hit.status == 0 || hit.status == -E2BIG
                ? gather_persons(ix, hit.person, hit.npersons, recs, cap)
                : 0;
        elig_eval_number(&key, birth, date, q->consent, recs, n, &ans);
    }
    char d[ELIG_DATE_ISO_LEN + 1];
    printf("check as of %s (date of service)\n", elig_date_format(date, d));
    print_answer(ix, &ans, recs, date);
out:
    free(recs);
    return status;
}

static int cmd_feed_query(int argc, char **argv)
{
    struct query q;
    int first;
    int rc = parse_query(argc, argv, &q, &first, true);
    if (rc)
        return rc;
    uint64_t accepted, rejected, events = 0;
    /* first pass: size the index; its rejects are reported by the second */
    rc = read_feeds(argv + first, argc - first, count_event, quiet_reject, &events, &accepted,
                    &rejected);
    struct query_index qi = { 0 };
    if (rc == 0 && (rc = query_index_create(&qi, events)) < 0) {
        fprintf(stderr, "eligctl: cannot make a temporary index: %s\n", elig_strerror(rc));
        return EXIT_USAGE;
    }
    if (rc == 0)
        rc = read_feeds(argv + first, argc - first, on_query_event, print_reject, &qi, &accepted,
                        &rejected);
    if (rc == 0) {
        printf("%llu events applied, %llu refused, %llu lines rejected\n",
               (unsigned long long)qi.applied, (unsigned long long)qi.refused,
               (unsigned long long)rejected);
        rc = run_query(qi.ix, &q);
    }
    query_index_destroy(&qi);
    return rc;
}

/* ---- key ---------------------------------------------------------------- */

static int cmd_key(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fputs("usage: eligctl key INSURER SYMBOL NUMBER [BRANCH]\n", stderr);
        return EXIT_USAGE;
    }
    const char *branch = argc == 4 ? argv[3] : "";
    struct elig_key key;
    enum elig_key_field bad;
    int rc = elig_key_normalize(argv[0], strlen(argv[0]), argv[1], strlen(argv[1]), argv[2],
                                strlen(argv[2]), branch, strlen(branch), &key, &bad);
    if (rc) {
        printf("invalid: %s: %s\n", elig_key_field_name(bad), elig_strerror(rc));
        return EXIT_JUDGED;
    }
    printf("insurer: %.8s (%s)\nsymbol:  %.*s\nnumber:  %.*s\nbranch:  %.2s\n", key.insurer,
           elig_insurance_kind_name(elig_insurance_kind(key.insurer)), key.symbol_len, key.symbol,
           key.number_len, key.number, key.branch);
    return 0;
}

/* ---- dump -------------------------------------------------------------- */

static int dump_record(void *ctx, const struct elig_record *r)
{
    (void)ctx;
    char d[7][ELIG_DATE_ISO_LEN + 1];
    const elig_date_t dates[7] = { r->birth_date, r->acquired,     r->valid_from,   r->valid_until,
                                   r->loss_date,  r->elderly_from, r->elderly_until };
    for (int i = 0; i < 7; i++)
        elig_date_format(dates[i], d[i]);
    printf(
        "RECORD\t%.8s\t%.*s\t%.*s\t%.2s\t%llu\t%s\t%s\t%s\t%s\t%s\t%u\t%u\t%u\t%u\t%u\t%s\t%s\t%s"
        "\t%s\t%s\t%s\t%s\n",
        r->key.insurer, r->key.symbol_len, r->key.symbol, r->key.number_len, r->key.number,
        r->key.branch, (unsigned long long)r->person_id, d[0], d[1], d[2], d[3], d[4],
        r->loss_reason, r->relation, r->sex, r->copay_pct, r->elderly_pct, d[5], d[6],
        elig_limit_name(r->limit_category), r->family_kanji, r->given_kanji, r->family_kana,
        r->given_kana);
    return ferror(stdout) ? -EIO : 0;
}

static int dump_card(void *ctx, const struct elig_card *c)
{
    (void)ctx;
    char id[ELIG_CARD_ID_LEN + 1], d[4][ELIG_DATE_ISO_LEN + 1];
    printf("CARD\t%s\t%llu\t%s\t%s\t%s\t%s\t%s\n", elig_card_id_format(c->card_id, id),
           (unsigned long long)c->person_id, elig_card_state_name(c->state),
           elig_date_format(c->registered_on, d[0]), elig_date_format(c->cert_expiry, d[1]),
           elig_date_format(c->dereg_effective, d[2]), elig_date_format(c->returned_on, d[3]));
    return ferror(stdout) ? -EIO : 0;
}

static int dump_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                        size_t len)
{
    (void)ctx;
    printf("INSURER\t%.8s\t%.*s\n", insurer, (int)len, name);
    return ferror(stdout) ? -EIO : 0;
}

/* Attach the segment at path read-only; on failure say why and return EXIT_USAGE. */
static int attach(const char *path, struct elig_index **ix)
{
    int rc = elig_index_open(path, ELIG_SEG_READONLY, ix);
    if (rc < 0)
        fprintf(stderr, "eligctl: %s: %s\n", path, elig_strerror(rc));
    return rc < 0 ? EXIT_USAGE : 0;
}

/* The single SEGMENT argument of stats and dump, attached read-only. */
static int attach_arg(int argc, char **argv, const char *cmd, struct elig_index **ix)
{
    if (argc != 1) {
        fprintf(stderr, "usage: eligctl %s SEGMENT\n", cmd);
        return EXIT_USAGE;
    }
    return attach(argv[0], ix);
}

static int cmd_dump(int argc, char **argv)
{
    struct elig_index *ix;
    int rc = attach_arg(argc, argv, "dump", &ix);
    if (rc)
        return rc;
    printf("# eligd index dump, applied through LSN %llu: personal data, handle as such\n",
           (unsigned long long)elig_index_applied_lsn(ix));
    printf("# RECORD insurer symbol number branch person birth acquired valid_from valid_until "
           "loss_date loss_reason relation sex copay elderly_pct elderly_from elderly_until "
           "limit family_kanji given_kanji family_kana given_kana\n"
           "# CARD card_id person state registered cert_expiry dereg_effective returned\n"
           "# INSURER number name\n");
    struct elig_index_export ex = { NULL, dump_record, dump_card, dump_insurer };
    rc = elig_index_export(ix, &ex);
    elig_index_close(ix, false);
    if (rc < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "eligctl: dump: %s\n", elig_strerror(rc < 0 ? rc : -EIO));
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- lookup ------------------------------------------------------------ */

static int cmd_lookup(int argc, char **argv)
{
    struct query q;
    int first;
    int rc = parse_query(argc, argv, &q, &first, false);
    if (rc)
        return rc;
    struct elig_index *ix;
    if ((rc = attach(q.segment, &ix)) != 0)
        return rc;
    rc = run_query(ix, &q);
    elig_index_close(ix, false);
    return rc;
}

/* ---- append ------------------------------------------------------------ */

#define APPEND_CHUNK 1024

/* Events read from the feeds, submitted a chunk at a time; where each came from. */
struct appender {
    struct elig_db *db;
    struct elig_event *evs;
    const char *path[APPEND_CHUNK];
    uint64_t line[APPEND_CHUNK];
    int status[APPEND_CHUNK];
    size_t n;
    uint64_t applied, refused, last_lsn;
    int err;
};

static int append_flush(struct appender *a)
{
    uint64_t first;
    if (a->n == 0)
        return 0;
    int rc = elig_db_submit(a->db, a->evs, a->n, a->status, &first);
    if (rc < 0) {
        fprintf(stderr, "eligctl: append: %s\n", elig_strerror(rc));
        return a->err = rc;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->status[i] == 0) {
            a->applied++;
            continue;
        }
        a->refused++;
        printf("%s:%llu: %s refused: %s\n", a->path[i], (unsigned long long)a->line[i],
               elig_event_kind_name(a->evs[i].kind), elig_strerror(a->status[i]));
    }
    a->last_lsn = first + a->n - 1;
    a->n = 0;
    return 0;
}

static int on_append_event(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    struct appender *a = ctx;
    a->evs[a->n] = *ev;
    a->path[a->n] = path;
    a->line[a->n] = line;
    return ++a->n == APPEND_CHUNK ? append_flush(a) : 0;
}

static void print_start(const struct elig_db_start *st)
{
    if (st->tail.stop != ELIG_LOG_STOP_END)
        fprintf(stderr,
                "eligctl: LOG TAIL CUT: %s at offset %llu of %s; %llu bytes and %u later "
                "file(s) dropped; the log now ends at LSN %llu\n",
                elig_log_stop_name(st->tail.stop), (unsigned long long)st->tail.offset,
                st->tail.file, (unsigned long long)st->tail.dropped_bytes, st->tail.dropped_files,
                (unsigned long long)st->tail.last_lsn);
    if (st->snapshots_damaged)
        fprintf(stderr, "eligctl: SNAPSHOT DAMAGED: %s (and %u newer) skipped\n", st->damaged,
                st->snapshots_damaged - 1);
    char from[64] = "";
    if (st->snapshot_lsn)
        snprintf(from, sizeof from, ", from the snapshot at LSN %llu",
                 (unsigned long long)st->snapshot_lsn);
    printf("start: %s%s%s%s, %llu log records replayed (%llu refused), applied through LSN "
           "%llu, %.3f s\n",
           st->warm ? "warm" : "cold", st->warm ? "" : ": ", st->warm ? "" : st->cold_reason, from,
           (unsigned long long)st->replayed, (unsigned long long)st->rejected,
           (unsigned long long)st->applied_lsn, st->seconds);
}

/*
 * Options of the commands that open the store (append, snapshot), then open
 * it (warm or cold start, reported). files: whether FILE... must follow.
 */
static int open_store(int argc, char **argv, bool files, struct elig_db **db)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'D' },
        { "segment", required_argument, NULL, 'S' },
        { "capacity", required_argument, NULL, 'c' },
        { "truncate-tail", no_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    struct elig_db_params p = { .index.capacity = 1000000 };
    char *end;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'D')
            p.data_dir = optarg;
        else if (c == 'S')
            p.segment_path = optarg;
        else if (c == 't')
            p.tail = ELIG_LOG_TAIL_TRUNCATE;
        else if (c == 'c' && (p.index.capacity = strtoull(optarg, &end, 10)) > 0 && !*end)
            continue;
        else
            return EXIT_USAGE;
    }
    if (!p.data_dir || !p.segment_path || (files ? optind >= argc : optind != argc)) {
        fprintf(stderr,
                "usage: eligctl %s --data DIR --segment PATH [--capacity N] "
                "[--truncate-tail]%s\n",
                argv[0], files ? " FILE..." : "");
        return EXIT_USAGE;
    }
    struct elig_db_start st;
    int rc = elig_db_open(&p, db, &st);
    if (rc < 0) {
        fprintf(stderr, "eligctl: %s: %s\n", p.data_dir, elig_strerror(rc));
        if (rc == -ELIG_ELOGTAIL)
            fprintf(stderr,
                    "eligctl: the log ends in a bad record: %s at offset %llu of %s "
                    "(--truncate-tail cuts it there)\n",
                    elig_log_stop_name(st.tail.stop), (unsigned long long)st.tail.offset,
                    st.tail.file);
        return EXIT_USAGE;
    }
    print_start(&st);
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'D' },
        { "segment", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    const char *data = NULL, *segment = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'D')
            data = optarg;
        else if (c == 'S')
            segment = optarg;
        else
            return EXIT_USAGE;
    }
    if (!data || !segment || optind != argc) {
        fputs("usage: eligctl verify --data DIR --segment PATH\n", stderr);
        return EXIT_USAGE;
    }
    struct elig_index *live;
    int rc = attach(segment, &live);
    if (rc)
        return rc;
    struct query_index scratch = { 0 };
    struct elig_db_verify rep;
    if ((rc = scratch_dir(scratch.dir, sizeof scratch.dir)) == 0) {
        snprintf(scratch.path, sizeof scratch.path, "%s/verify.seg", scratch.dir);
        rc = elig_db_verify(data, live, scratch.path, &rep);
        rmdir(scratch.dir);
    }
    elig_index_close(live, false);
    if (rc < 0) {
        fprintf(stderr, "eligctl: verify: %s\n", elig_strerror(rc));
        return EXIT_USAGE;
    }
    bool same = rep.only_live == 0 && rep.only_rebuilt == 0 && rep.live_lsn == rep.rebuilt_lsn;
    char from[64] = "no snapshot";
    if (rep.snapshot_lsn)
        snprintf(from, sizeof from, "the snapshot at LSN %llu",
                 (unsigned long long)rep.snapshot_lsn);
    printf("rebuilt from %s and %llu log records: applied through LSN %llu (live: %llu)\n", from,
           (unsigned long long)rep.replayed, (unsigned long long)rep.rebuilt_lsn,
           (unsigned long long)rep.live_lsn);
    printf("%s: %llu items live, %llu rebuilt; %llu only in the live index, %llu only in the "
           "rebuild\n",
           same ? "identical" : "DIFFERENT", (unsigned long long)rep.live_items,
           (unsigned long long)rep.rebuilt_items, (unsigned long long)rep.only_live,
           (unsigned long long)rep.only_rebuilt);
    return same ? 0 : EXIT_JUDGED;
}

static int cmd_snapshot(int argc, char **argv)
{
    struct elig_db *db;
    int rc = open_store(argc, argv, false, &db);
    if (rc)
        return rc;
    struct elig_snap_info info;
    rc = elig_db_snapshot(db, &info);
    if (rc < 0)
        fprintf(stderr, "eligctl: snapshot: %s\n", elig_strerror(rc));
    else
        printf("snapshot at LSN %llu: %llu records, %llu cards, %llu insurer names, %llu bytes\n",
               (unsigned long long)info.lsn, (unsigned long long)info.records,
               (unsigned long long)info.cards, (unsigned long long)info.insurers,
               (unsigned long long)info.bytes);
    elig_db_close(db);
    return rc < 0 ? EXIT_USAGE : 0;
}

static int cmd_append(int argc, char **argv)
{
    struct appender a = { 0 };
    int rc = open_store(argc, argv, true, &a.db);
    if (rc)
        return rc;
    a.evs = malloc(APPEND_CHUNK * sizeof *a.evs);
    uint64_t accepted, rejected;
    rc = a.evs ? read_feeds(argv + optind, argc - optind, on_append_event, print_reject, &a,
                            &accepted, &rejected)
               : EXIT_USAGE;
    if (rc == 0 && a.err == 0)
        append_flush(&a);
    if (a.err == 0 && rc == 0)
        printf("%llu events applied, %llu refused, %llu lines rejected; durable and applied "
               "through LSN %llu\n",
               (unsigned long long)a.applied, (unsigned long long)a.refused,
               (unsigned long long)rejected,
               (unsigned long long)elig_index_applied_lsn(elig_db_index(a.db)));
    elig_db_close(a.db);
    free(a.evs);
    if (a.err || rc)
        return EXIT_USAGE;
    return a.refused || rejected ? EXIT_JUDGED : 0;
}

/* ---- stats ------------------------------------------------------------- */

static void print_use(const char *what, uint64_t used, uint64_t cap)
{
    printf("%-15s %llu of %llu (%.1f%%)\n", what, (unsigned long long)used, (unsigned long long)cap,
           cap ? 100.0 * (double)used / (double)cap : 0.0);
}

static int cmd_stats(int argc, char **argv)
{
    struct elig_index *ix;
    int rc = attach_arg(argc, argv, "stats", &ix);
    if (rc)
        return rc;
    struct elig_index_stats st;
    struct elig_seg_header h;
    elig_index_stats(ix, &st);
    rc = elig_seg_header_read(elig_index_seg(ix), &h);
    printf("segment         %s\n", argv[0]);
    printf("state           %s\n", rc < 0 ? elig_strerror(rc)
                                   : h.state == ELIG_SEG_CLEAN
                                       ? "clean"
                                       : "dirty (a writer has it open, or died)");
    printf("pages           %s\n", elig_seg_backing_name(st.backing));
    printf("size            %.1f MiB, %.1f bytes per record held\n",
           (double)st.segment_bytes / (1 << 20),
           st.records ? (double)st.segment_bytes / (double)st.records : 0.0);
    print_use("records", st.records, st.capacity);
    print_use("persons", st.persons, st.persons_capacity);
    print_use("cards", st.cards, st.cards_capacity);
    printf("insurers        %u\n", st.insurers);
    printf("name pairs      %u\n", st.names);
    printf("key strings     %u\n", st.key_strings);
    printf("applied lsn     %llu\n", (unsigned long long)st.applied_lsn);
    elig_index_close(ix, false);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("eligctl %s\n", ELIG_VERSION);
        return 0;
    }
    if (strcmp(cmd, "key") == 0)
        return cmd_key(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "lookup") == 0)
        return cmd_lookup(argc - 1, argv + 1);
    if (strcmp(cmd, "append") == 0)
        return cmd_append(argc - 1, argv + 1);
    if (strcmp(cmd, "snapshot") == 0)
        return cmd_snapshot(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "dump") == 0)
        return cmd_dump(argc - 2, argv + 2);
    if (strcmp(cmd, "feed") == 0 && argc >= 3) {
        if (strcmp(argv[2], "check") == 0)
            return cmd_feed_check(argc - 3, argv + 3);
        if (strcmp(argv[2], "query") == 0)
            return cmd_feed_query(argc - 2, argv + 2);
    }
    fprintf(stderr, "eligctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
