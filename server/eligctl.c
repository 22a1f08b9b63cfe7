/* SPDX-License-Identifier: MIT */
/*
 * eligctl: the admin and query command line.
 *
 * Design: one program, one subcommand a job, each a row of the command table
 * (at the end) and a function that reads its options from a table of its own
 * with elig_opt_parse() (argv[0] is "eligctl COMMAND", which its messages
 * start with) and returns an exit status (0 ok, 1 the data was judged and
 * found wanting, 2 usage or system error). Nothing here
 * decides eligibility or parses feeds itself: it calls the index library
 * (elig_feed_*, elig_update_*, elig_eval_*), so the command line answers
 * exactly as the server will.
 *
 * "feed query" applies the given files through the applier to a private,
 * temporary index and answers from it the way the server does, so what it
 * prints is what the service would answer after those updates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_config.h"
#include "elig_disaster.h"
#include "elig_net_error.h"
#include "elig_apply.h"
#include "elig_ca.h"
#include "elig_fac.h"
#include "elig_check.h"
#include "elig_client.h"
#include "elig_cluster.h"
#include "elig_chunk.h"
#include "elig_db.h"
#include "elig_feed.h"
#include "elig_codec.h"
#include "elig_index.h"
#include "elig_jis.h"
#include "elig_key.h"
#include "elig_lag.h"
#include "elig_le.h"
#include "elig_opt.h"
#include "elig_rules.h"
#include "elig_tls.h"
#include "elig_text.h"
#include "elig_update.h"

#define EXIT_JUDGED 1
#define EXIT_USAGE  2

static void usage(FILE *out);

static const struct elig_opt no_opts[] = { ELIG_OPT_END };

/* TLS files of query, ping and server-stats: the facility's certificate and key, the CA. */
struct tls_files {
    const char *cert, *key, *ca;
};

/* The operands argv[first..argc): from min to max of them, else one line saying so. */
static int operand_count(int argc, char **argv, int first, int min, int max, const char *operands)
{
    int n = argc - first;
    if (n < min || n > max) {
        if (n > max)
            fprintf(stderr, "%s: %s: not an option, and no more operands are taken (%s --help)\n",
                    argv[0], argv[first + max], argv[0]);
        else
            fprintf(stderr, "%s: name %s (%s --help)\n", argv[0], operands, argv[0]);
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * Read a command's options (argv[0] names it) into dst; its operands are then
 * argv[*first..argc), which must number from min to max. One line on stderr
 * for whatever is refused.
 */
static int command_opts(const struct elig_opt *opts, int argc, char **argv, void *dst, int *first,
                        int min, int max, const char *operands)
{
    int rc = elig_opt_parse(argv[0], opts, argc, argv, dst, first);
    if (rc) /* --help was taken by main */
        return EXIT_USAGE;
    return operand_count(argc, argv, *first, min, max, operands);
}

/* ---- feed check --------------------------------------------------------- */

static void print_reject(void *ctx, const char *path, uint64_t line,
                         const struct elig_feed_error *err)
{
    (void)ctx;
    printf("%s:%llu: %s: %s\n", path, (unsigned long long)line, err->field,
           elig_net_strerror(err->code));
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
            fprintf(stderr, "eligctl: %s: %s\n", files[i], elig_net_strerror(rc));
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int cmd_feed_check(int argc, char **argv)
{
    int first;
    if (command_opts(no_opts, argc, argv, NULL, &first, 1, INT32_MAX,
                     "at least one FILE (- for standard input)"))
        return EXIT_USAGE;
    uint64_t events = 0, accepted, rejected;
    int rc = read_feeds(argv + first, argc - first, count_event, print_reject, &events, &accepted,
                        &rejected);
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
               elig_event_kind_name(ev->kind), elig_net_strerror(rc));
    } else {
        qi->applied++;
    }
    return 0;
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

/* One answered record. r->copay_pct is already the ratio on the date of service. */
static void print_record(const struct elig_record *r, const char *insurer_name, bool disclosed)
{
    char d1[ELIG_DATE_ISO_LEN + 1], d2[ELIG_DATE_ISO_LEN + 1];
    printf("  insurer:        %.8s %s (%s)\n", r->key.insurer,
           *insurer_name ? insurer_name : "(name not registered)",
           elig_insurance_kind_name(elig_insurance_kind(r->key.insurer)));
    printf("  symbol/number:  %.*s / %.*s / branch %.2s\n", r->key.symbol_len, r->key.symbol,
           r->key.number_len, r->key.number, r->key.branch);
    printf("  relation:       %s\n", r->relation == ELIG_REL_INSURED ? "insured" : "dependent");
    printf("  name:           %s %s (%s %s)\n", r->family_kanji, r->given_kanji, r->family_kana,
           r->given_kana);
    if (r->name_flags)
        printf("  outside JIS:    %s%s(shown as \"\xe2\x97\x8f\" by systems limited to JIS X "
               "0208)%s\n",
               r->name_flags & ELIG_NAME_FAMILY_KANJI ? "family name " : "",
               r->name_flags & ELIG_NAME_GIVEN_KANJI ? "given name " : "",
               r->name_flags & ELIG_NAME_KANA ? "; so is the kana" : "; show the kana");
    printf("  sex, born:      %s, %s\n", r->sex == ELIG_SEX_MALE ? "male" : "female",
           elig_date_format(r->birth_date, d1));
    printf("  acquired:       %s\n", elig_date_format(r->acquired, d1));
    printf("  valid:          %s to %s\n", elig_date_format(r->valid_from, d1),
           r->valid_until ? elig_date_format(r->valid_until, d2) : "(open)");
    if (r->loss_date)
        printf("  lost:           %s, reason %s\n", elig_date_format(r->loss_date, d1),
               loss_reason_name(r->loss_reason));
    printf("  co-payment:     %d%% on the date of service\n", r->copay_pct);
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

/* An answer as the server sends it, whether it came from a server or from a local index. */
static void print_answer(const struct elig_proto_answer *a, elig_date_t date)
{
    char d[ELIG_DATE_ISO_LEN + 1];
    printf("check as of %s (date of service)\n", elig_date_format(date, d));
    if (a->status != ELIG_AS_OK) {
        printf("not answered: %s\n", elig_astatus_name(a->status));
        return;
    }
    if (a->validity == ELIG_VALIDITY_NONE) {
        printf("refused: %s\n", elig_refusal_name(a->refusal));
        printf("reference: %016llx\n", (unsigned long long)a->reference);
        return;
    }
    printf("validity: %d %s\n", a->validity, elig_validity_name(a->validity));
    printf("reference: %016llx\n", (unsigned long long)a->reference);
    if (a->cert_expiry) {
        elig_date_t exp;
        elig_proto_date_in(a->cert_expiry, &exp);
        printf("card: certificate valid until %s\n", elig_date_format(exp, d));
    }
    if (a->flags & ELIG_FLAG_RENEWAL_ALERT)
        printf("card: certificate expires within 3 months: renewal alert\n");
    if (a->flags & ELIG_FLAG_GRACE)
        printf("card: certificate expired, within the 3-month grace period\n");
    for (size_t i = 0; i < a->count; i++) {
        printf("record %zu of %u:\n", i + 1, a->count);
        print_record(&a->rec[i], a->insurer_name[i], a->flags & ELIG_FLAG_LIMIT_DISCLOSED);
    }
}

enum query_mode { QUERY_FEED, QUERY_SEGMENT, QUERY_SERVER };

struct query {
    const char *insurer, *symbol, *number, *branch, *birth, *card, *date;
    const char *segment;  /* lookup: the index segment to attach */
    const char *server;   /* query: ADDR:PORT of eligd */
    const char *facility; /* query: the facility code sent */
    const char *key_file; /* query: the facility's key (HELLO/AUTH first) */
    struct tls_files tls; /* query: TLS with the facility's certificate */
    bool consent;
};

#define QO(name, field) ELIG_OPT_S(name, struct query, field)
static const struct elig_opt query_opts[] = {
    QO("insurer", insurer),
    QO("symbol", symbol),
    QO("number", number),
    QO("branch", branch),
    QO("birth", birth),
    QO("card", card),
    QO("date", date),
    QO("segment", segment),
    QO("server", server),
    QO("facility", facility),
    QO("key-file", key_file),
    QO("tls-cert", tls.cert),
    QO("tls-key", tls.key),
    QO("tls-ca", tls.ca),
    ELIG_OPT_F("consent", struct query, consent),
    ELIG_OPT_END,
};
#undef QO

/* Query options; feed files follow them in QUERY_FEED mode. */
static int parse_query(int argc, char **argv, struct query *q, int *first_file,
                       enum query_mode mode)
{
    memset(q, 0, sizeof(*q));
    q->symbol = "";
    q->branch = "";
    int first;
    if (elig_opt_parse(argv[0], query_opts, argc, argv, q, &first))
        return EXIT_USAGE;
    bool by_number = q->insurer || q->number || q->birth;
    if (by_number == (q->card != NULL) || (by_number && !(q->insurer && q->number && q->birth))) {
        fputs("eligctl: give either --insurer, --number and --birth (with --symbol "
              "and --branch as printed), or --card\n",
              stderr);
        return EXIT_USAGE;
    }
    if (mode == QUERY_FEED ? first >= argc : first != argc) {
        fputs(mode == QUERY_FEED ? "eligctl feed query: name at least one feed FILE\n"
                                 : "eligctl: no files here: it asks an index or a server\n",
              stderr);
        return EXIT_USAGE;
    }
    if ((mode == QUERY_SEGMENT) != (q->segment != NULL) ||
        (mode == QUERY_SERVER) != (q->server != NULL) ||
        (mode == QUERY_SERVER) != (q->facility != NULL)) {
        fputs(mode == QUERY_SEGMENT  ? "eligctl lookup: --segment PATH is required\n"
              : mode == QUERY_SERVER ? "eligctl query: --server ADDR:PORT and --facility CODE "
                                       "are required\n"
                                     : "eligctl feed query: --segment and --server are not for "
                                       "feeds\n",
              stderr);
        return EXIT_USAGE;
    }
    *first_file = first;
    return 0;
}

static int arg_date(const char *what, const char *s, elig_date_t *out)
{
    int rc = elig_date_parse(s, strlen(s), out);
    if (rc)
        fprintf(stderr, "eligctl: %s: %s (want YYYY-MM-DD)\n", what, elig_net_strerror(rc));
    return rc ? EXIT_USAGE : 0;
}

/* The check a query asks for, validated with a message naming the bad option. */
static int query_request(const struct query *q, struct elig_check_req *r)
{
    memset(r, 0, sizeof(*r));
    r->consent = q->consent;
    r->fee = q->facility ? (uint8_t)q->facility[2] : '1';
    r->date = elig_date_today();
    if (q->date && arg_date("--date", q->date, &r->date))
        return EXIT_USAGE;
    if (q->card) {
        r->kind = ELIG_CHECK_CARD;
        int rc = elig_card_id_parse(q->card, strlen(q->card), &r->card_id);
        if (rc)
            fprintf(stderr, "eligctl: --card: %s (want 16 hex digits)\n", elig_net_strerror(rc));
        return rc ? EXIT_USAGE : 0;
    }
    r->kind = ELIG_CHECK_NUMBER;
    enum elig_key_field bad;
    int rc =
        elig_key_normalize(q->insurer, strlen(q->insurer), q->symbol, strlen(q->symbol), q->number,
                           strlen(q->number), q->branch, strlen(q->branch), &r->key, &bad);
    if (rc) {
        fprintf(stderr, "eligctl: --%s: %s\n", elig_key_field_name(bad), elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    return arg_date("--birth", q->birth, &r->birth);
}

static int keep_answer(void *ctx, size_t i, const struct elig_proto_answer *a)
{
    (void)i;
    *(struct elig_proto_answer *)ctx = *a;
    return 0;
}

/* Answer a query from an index through the server's own check path. */
static int run_query(const struct elig_index *ix, const struct query *q)
{
    struct elig_check_req r;
    if (query_request(q, &r))
        return EXIT_USAGE;
    struct elig_checker *ck;
    struct elig_proto_answer *a = malloc(sizeof(*a));
    if (a == NULL || elig_checker_create(ix, 0, &ck)) {
        free(a);
        return EXIT_USAGE;
    }
    elig_checker_run(ck, &r, 1, keep_answer, a);
    print_answer(a, r.date);
    elig_checker_destroy(ck);
    free(a);
    return 0;
}

static int cmd_feed_query(int argc, char **argv)
{
    struct query q;
    int first;
    int rc = parse_query(argc, argv, &q, &first, QUERY_FEED);
    if (rc)
        return rc;
    uint64_t accepted, rejected, events = 0;
    /* first pass: size the index; its rejects are reported by the second */
    rc = read_feeds(argv + first, argc - first, count_event, quiet_reject, &events, &accepted,
                    &rejected);
    struct query_index qi = { 0 };
    if (rc == 0 && (rc = query_index_create(&qi, events)) < 0) {
        fprintf(stderr, "eligctl: cannot make a temporary index: %s\n", elig_net_strerror(rc));
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

/* ---- query, ping, server-stats (over the protocol) ---------------------- */

#define CLIENT_TIMEOUT_MS 30000

static int read_key(const char *path, uint8_t key[ELIG_FKEY_LEN]);

/*
 * Connect to eligd. An admin address that is a TCP port (not a socket path)
 * needs the admin key: the file named by $ELIGCTL_ADMIN_KEY (eligd's
 * DATA/admin.key), proven by HELLO/AUTH as "0000000000".
 */
static int client_open(const char *addr, struct elig_client **c, bool admin)
{
    int rc = elig_client_connect(addr, CLIENT_TIMEOUT_MS, c);
    if (rc) {
        const char *hint = "";
        if (strchr(addr, '/') && rc == -ECONNREFUSED)
            hint = ": no eligd answers there (one that died left its socket; the next start "
                   "replaces it)";
        else if (strchr(addr, '/') && rc == -ENOENT)
            hint = ": no such socket (is eligd running, with this --data? its admin socket is "
                   "DATA/eligd.sock unless --admin-socket says otherwise)";
        else if (rc == -ECONNREFUSED)
            hint = ": nothing listens there (is eligd running, on this port?)";
        fprintf(stderr, "eligctl: %s: %s%s\n", addr, elig_net_strerror(rc), hint);
        return EXIT_USAGE;
    }
    if (!admin || strchr(addr, '/'))
        return 0;
    const char *file = getenv("ELIGCTL_ADMIN_KEY");
    uint8_t key[ELIG_FKEY_LEN], status = 0;
    if (!file) {
        fputs("eligctl: an admin TCP port needs the admin key: set ELIGCTL_ADMIN_KEY to its "
              "file (eligd's DATA/admin.key)\n",
              stderr);
        rc = EXIT_USAGE;
    } else if ((rc = read_key(file, key)) == 0 &&
               (rc = elig_client_hello(*c, "0000000000", key, &status))) {
        fprintf(stderr, "eligctl: %s: the admin key was refused (%s)\n", addr,
                rc == -ELIG_EREFUSED ? elig_pstatus_name(status) : elig_net_strerror(rc));
        rc = EXIT_USAGE;
    }
    memset(key, 0, sizeof key);
    if (rc) {
        elig_client_close(*c);
        *c = NULL;
    }
    return rc;
}

/* Report a failed call on c: a refusal names the server's status, a TLS failure its reason. */
static int client_failed(const char *what, int rc, uint8_t status, const struct elig_client *c)
{
    if (rc == -ELIG_EREFUSED)
        fprintf(stderr, "eligctl: %s: the server answered %s\n", what, elig_pstatus_name(status));
    else if (rc == -ELIG_ETLS && c)
        fprintf(stderr, "eligctl: %s: TLS: %s\n", what, elig_client_tls_error(c));
    else
        fprintf(stderr, "eligctl: %s: %s%s\n", what, elig_net_strerror(rc),
                rc == -ECONNRESET ? " (the server closed the connection: over TLS, a "
                                    "certificate it does not accept)"
                                  : "");
    return EXIT_USAGE;
}

/*
 * Connect to eligd's facility port over TLS with the facility's certificate,
 * checking that the server's certificate names the host of addr.
 */
static int client_open_tls(const char *addr, const struct tls_files *t, struct elig_client **c)
{
    struct elig_tls_ctx *ctx;
    char err[512];
    int rc = elig_client_tls_context(addr, t->cert, t->key, t->ca, &ctx, err, sizeof err);
    if (rc) {
        fprintf(stderr, "eligctl: TLS: %s\n", rc == -ENOMEM ? "out of memory" : err);
        return EXIT_USAGE;
    }
    rc = elig_client_connect_tls(addr, CLIENT_TIMEOUT_MS, ctx, c);
    elig_tls_ctx_free(ctx); /* the session keeps what it needs */
    if (rc) {
        fprintf(stderr, "eligctl: %s: %s\n", addr, elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    return 0;
}

/* TLS files given: all three, and no key file (over TLS the certificate is the proof). */
static int tls_files_check(const char *cmd, const struct tls_files *t, const char *key_file)
{
    bool any = t->cert || t->key || t->ca;
    if (any && !(t->cert && t->key && t->ca)) {
        fprintf(stderr, "%s: TLS needs all three of --tls-cert, --tls-key and --tls-ca\n", cmd);
        return EXIT_USAGE;
    }
    if (any && key_file) {
        fprintf(stderr, "%s: over TLS the certificate names the facility: no --key-file\n", cmd);
        return EXIT_USAGE;
    }
    return 0;
}

/* Read a facility key file: 64 hex digits (and a newline). */
static int read_key(const char *path, uint8_t key[ELIG_FKEY_LEN])
{
    int rc = elig_fkey_read(path, key);
    if (rc)
        fprintf(stderr, "eligctl: %s: %s\n", path,
                rc == -EINVAL ? "not a facility key (64 hex digits)" : elig_net_strerror(rc));
    return rc ? EXIT_USAGE : 0;
}

/* HELLO/AUTH as facility with the key in key_file (nothing without a key file). */
static int client_auth(struct elig_client *c, const char *facility, const char *key_file)
{
    if (!key_file)
        return 0;
    uint8_t key[ELIG_FKEY_LEN], status = 0;
    int rc = read_key(key_file, key);
    if (rc)
        return rc;
    rc = elig_client_hello(c, facility, key, &status);
    memset(key, 0, sizeof key);
    return rc ? client_failed("authentication", rc, status, c) : 0;
}

/*
 * The connection every facility-side command makes: TLS with the facility's
 * certificate or plain TCP (admin: the admin socket), then HELLO/AUTH when a
 * key file is given. Closed again when AUTH fails.
 */
static int client_connect_as(const char *addr, bool admin, const struct tls_files *tls,
                             const char *facility, const char *key_file, struct elig_client **c)
{
    int rc = tls->cert ? client_open_tls(addr, tls, c) : client_open(addr, c, admin);
    if (rc)
        return rc;
    if ((rc = client_auth(*c, facility, key_file))) {
        elig_client_close(*c);
        *c = NULL;
    }
    return rc;
}

static int cmd_query(int argc, char **argv)
{
    struct query q;
    int first;
    struct elig_check_req r;
    int rc = parse_query(argc, argv, &q, &first, QUERY_SERVER);
    if (rc || (rc = query_request(&q, &r)))
        return rc;
    if (strlen(q.facility) != ELIG_PROTO_FACILITY_LEN || !elig_proto_facility_valid(q.facility)) {
        fputs("eligctl: --facility: want 10 digits: prefecture 01-47, fee-table code 1, 3 or 4, "
              "facility number\n",
              stderr);
        return EXIT_USAGE;
    }
    struct elig_client *c;
    if ((rc = tls_files_check(argv[0], &q.tls, q.key_file)) ||
        (rc = client_connect_as(q.server, false, &q.tls, q.facility, q.key_file, &c)))
        return rc;
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint8_t status = 0;
    uint8_t flags = q.consent ? ELIG_PROTO_CONSENT : 0;
    if (a == NULL) {
        rc = -ENOMEM;
    } else if (r.kind == ELIG_CHECK_CARD) {
        struct elig_proto_card pc = { .facility = q.facility,
                                      .flags = flags,
                                      .date = elig_proto_date_out(r.date),
                                      .card_id = r.card_id };
        rc = elig_client_lookup_card(c, &pc, a, &status);
    } else {
        struct elig_proto_number pn = {
            .facility = q.facility,
            .flags = flags,
            .date = elig_proto_date_out(r.date),
            .birth = elig_proto_date_out(r.birth),
            .insurer = q.insurer,
            .insurer_len = (uint8_t)strnlen(q.insurer, 255),
            .symbol = q.symbol,
            .symbol_len = (uint8_t)strnlen(q.symbol, 255),
            .number = q.number,
            .number_len = (uint8_t)strnlen(q.number, 255),
            .branch = q.branch,
            .branch_len = (uint8_t)strnlen(q.branch, 255),
        };
        rc = elig_client_lookup_number(c, &pn, a, &status);
    }
    if (rc == 0)
        print_answer(a, r.date);
    else
        rc = client_failed("query", rc, status, c);
    free(a);
    elig_client_close(c);
    return rc;
}

/* The options of ping and server-stats. */
struct server_args {
    const char *server, *admin, *facility, *key_file;
    struct tls_files tls;
    double wait; /* ping: seconds to wait for eligd to answer (0: not) */
};

#define SO(name, field) ELIG_OPT_S(name, struct server_args, field)
#define SERVER_OPTS                                                                                \
    SO("server", server), SO("admin", admin), SO("facility", facility), SO("key-file", key_file),  \
        SO("tls-cert", tls.cert), SO("tls-key", tls.key), SO("tls-ca", tls.ca)
static const struct elig_opt server_opts[] = { SERVER_OPTS, ELIG_OPT_END };
static const struct elig_opt ping_opts[] = {
    SERVER_OPTS,
    ELIG_OPT_D("wait", struct server_args, wait, 0.001, 3600),
    ELIG_OPT_END,
};
#undef SO
#undef SERVER_OPTS

/*
 * The arguments of ping and server-stats: --server ADDR:PORT or --admin
 * SOCKET, and for --server optionally --facility CODE --key-file FILE.
 */
static int server_arg(const struct elig_opt *opts, int argc, char **argv, struct server_args *a)
{
    memset(a, 0, sizeof *a);
    int first;
    if (command_opts(opts, argc, argv, a, &first, 0, 0, ""))
        return EXIT_USAGE;
    if (tls_files_check(argv[0], &a->tls, a->key_file))
        return EXIT_USAGE;
    if (!a->server == !a->admin || (a->admin && (a->facility || a->key_file || a->tls.cert)) ||
        !a->facility != !a->key_file) {
        fprintf(stderr,
                "%s: give --server ADDR:PORT [--facility CODE --key-file FILE] or --admin "
                "SOCKET\n",
                argv[0]);
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * ping --wait SECONDS: connect again every 100 ms until
 * eligd answers or the time is up, so a script can start eligd in the
 * background and wait for it to serve.
 */
static int wait_for_server(const char *addr, double limit)
{
    struct timespec t0, now, pause = { 0, 100 * 1000000L };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned tries = 0; tries < 36001; tries++) {
        struct elig_client *c;
        if (elig_client_connect(addr, CLIENT_TIMEOUT_MS, &c) == 0) {
            elig_client_close(c);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= limit)
            break;
        nanosleep(&pause, NULL); /* retrying a connection, bounded in count and time */
    }
    fprintf(stderr, "eligctl: %s: nothing answered within %g s\n", addr, limit);
    return EXIT_USAGE;
}

static int cmd_ping(int argc, char **argv)
{
    struct server_args a;
    struct elig_client *c;
    int rc = server_arg(ping_opts, argc, argv, &a);
    const char *addr = a.server ? a.server : a.admin;
    if (rc || (a.wait > 0 && (rc = wait_for_server(addr, a.wait))))
        return rc;
    if ((rc = client_connect_as(addr, a.admin != NULL, &a.tls, a.facility, a.key_file, &c)))
        return rc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct elig_proto_header h;
    const uint8_t *body;
    rc = elig_client_call(c, ELIG_OP_PING, "eligctl", 7, &h, &body);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0 && (h.status != ELIG_PS_OK || h.body_len != 7 || memcmp(body, "eligctl", 7)))
        rc = h.status ? -ELIG_EREFUSED : -ELIG_EPROTO;
    if (rc == 0)
        printf("pong from %s in %.3f ms\n", addr,
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    else
        rc = client_failed("ping", rc, h.status, c);
    elig_client_close(c);
    return rc;
}

static void print_stat(void *ctx, const char *name, uint64_t value)
{
    (void)ctx;
    printf("%-28s %llu\n", name, (unsigned long long)value);
}

static int cmd_server_stats(int argc, char **argv)
{
    struct server_args a;
    struct elig_client *c;
    int rc = server_arg(server_opts, argc, argv, &a);
    bool admin = a.admin != NULL;
    if (rc)
        return rc;
    if ((rc = client_connect_as(a.tls.cert || !admin ? a.server : a.admin, admin, &a.tls,
                                a.facility, a.key_file, &c)))
        return rc;
    uint8_t status = 0;
    rc = elig_client_stats(c, admin ? ELIG_OP_ADMIN_STATS : ELIG_OP_STATS, print_stat, NULL,
                           &status);
    if (rc)
        rc = client_failed("server-stats", rc, status, c);
    elig_client_close(c);
    return rc;
}

/* ---- facility ----------------------------------------------------------- */

struct fac_args {
    const char *verb, *code, *type, *data, *registry, *admin, *key_out;
    const char *ca, *cert_out, *csr; /* certificates: the CA's directory, where they go */
    unsigned days;
    char path[4096], sock[4096];
};

static void fac_usage_to(FILE *out)
{
    fputs("usage: eligctl facility add CODE --type hospital|clinic|dental|pharmacy WHERE\n"
          "                               [--key-out FILE]\n"
          "       eligctl facility rotate CODE WHERE [--key-out FILE]\n"
          "       eligctl facility revoke CODE WHERE\n"
          "       eligctl facility list WHERE\n"
          "       eligctl facility sign CODE WHERE --ca DIR --csr FILE --cert-out FILE\n"
          "WHERE: --data DIR (the registry DIR/facilities; eligd on DIR/eligd.sock is told to\n"
          "       reload) or --registry FILE [--admin SOCKET]\n"
          "add and rotate also issue a TLS client certificate with --ca DIR --cert-out DIR2:\n"
          "DIR2/CODE.key and DIR2/CODE.crt (--days N, default 730); sign signs the\n"
          "facility's own request instead (its key never leaves it)\n",
          out);
}

static int fac_usage(void)
{
    fac_usage_to(stderr);
    return EXIT_USAGE;
}

#define FO(name, field) ELIG_OPT_S(name, struct fac_args, field)
static const struct elig_opt fac_opts[] = {
    FO("type", type),
    FO("data", data),
    FO("registry", registry),
    FO("admin", admin),
    FO("key-out", key_out),
    FO("ca", ca),
    FO("cert-out", cert_out),
    FO("csr", csr),
    ELIG_OPT_U("days", struct fac_args, days, 1, 36500),
    ELIG_OPT_END,
};
#undef FO

static int fac_parse(int argc, char **argv, struct fac_args *a)
{
    memset(a, 0, sizeof(*a));
    int i;
    if (elig_opt_parse(argv[0], fac_opts, argc, argv, a, &i))
        return EXIT_USAGE;
    if (i == argc)
        return fac_usage();
    a->verb = argv[i++];
    if (strcmp(a->verb, "add") && strcmp(a->verb, "rotate") && strcmp(a->verb, "revoke") &&
        strcmp(a->verb, "list") && strcmp(a->verb, "sign"))
        return fac_usage();
    bool sign = strcmp(a->verb, "sign") == 0;
    bool issues = sign || strcmp(a->verb, "add") == 0 || strcmp(a->verb, "rotate") == 0;
    if (!a->ca != !a->cert_out || (a->ca && !issues) || sign != (a->csr != NULL) ||
        (sign && !a->ca)) {
        fprintf(stderr,
                "%s: --ca DIR and --cert-out go together, with add, rotate (a new key "
                "and certificate) or sign (and its --csr FILE)\n",
                argv[0]);
        return EXIT_USAGE;
    }
    if (!a->days)
        a->days = ELIG_CA_CERT_DAYS;
    if (strcmp(a->verb, "list") != 0 && i < argc)
        a->code = argv[i++];
    if (strcmp(a->verb, "list") != 0 && !a->code)
        return fac_usage();
    if (i != argc || !a->data == !a->registry || (a->type != NULL) != (strcmp(a->verb, "add") == 0))
        return fac_usage();
    if (a->data) {
        snprintf(a->path, sizeof a->path, "%s/facilities", a->data);
        snprintf(a->sock, sizeof a->sock, "%s/eligd.sock", a->data);
        if (!a->admin && access(a->sock, F_OK) == 0)
            a->admin = a->sock;
    } else {
        snprintf(a->path, sizeof a->path, "%s", a->registry);
    }
    return 0;
}

/* Hand a new key over once: to a new file of mode 0600, or on stdout. */
static int fac_key_out(const struct fac_args *a, const uint8_t key[ELIG_FKEY_LEN])
{
    int rc = 0;
    if (a->key_out) {
        if ((rc = elig_fkey_write(a->key_out, key)))
            fprintf(stderr, "eligctl: %s: %s\n", a->key_out, elig_net_strerror(rc));
        else
            printf("facility %s: key written to %s (mode 0600)\n", a->code, a->key_out);
    } else {
        char hex[2 * ELIG_FKEY_LEN + 2];
        elig_fkey_hex(key, hex);
        printf("facility %s: its key (shown this once; give it to the facility):\n%s", a->code,
               hex);
        memset(hex, 0, sizeof hex);
    }
    return rc ? EXIT_USAGE : 0;
}

/* The facility's TLS certificate: a new key and certificate, or its own request signed. */
static int fac_cert(const struct fac_args *a)
{
    struct elig_ca *ca;
    int rc = elig_ca_open(a->ca, &ca);
    if (rc) {
        fprintf(stderr, "eligctl: --ca %s: %s\n", a->ca,
                rc == -ENOENT   ? "no CA there (eligctl ca init --dir DIR makes one)"
                : rc == -EINVAL ? "its ca.key does not match its ca.crt, or is not PEM"
                                : elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    char key[4200], cert[4200];
    if (a->csr) {
        snprintf(cert, sizeof cert, "%s", a->cert_out);
        rc = elig_ca_sign_request(ca, a->code, a->csr, a->days, cert);
    } else {
        if (mkdir(a->cert_out, 0700) && errno != EEXIST)
            rc = -errno;
        snprintf(key, sizeof key, "%s/%s.key", a->cert_out, a->code);
        snprintf(cert, sizeof cert, "%s/%s.crt", a->cert_out, a->code);
        if (rc == 0 && strcmp(a->verb, "rotate") == 0) { /* the new pair replaces the old */
            unlink(key);
            unlink(cert);
        }
        if (rc == 0)
            rc = elig_ca_issue_facility(ca, a->code, a->days, key, cert);
    }
    elig_ca_close(ca);
    if (rc) {
        fprintf(stderr, "eligctl: facility %s: certificate: %s\n", a->code,
                rc == -EEXIST ? "a file is in the way (never overwritten): move it"
                : rc == -EINVAL && a->csr
                    ? "the request is not one: a PEM certificate request, signed by its key, "
                      "for this facility code"
                    : elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    if (a->csr)
        printf("facility %s: certificate %s (valid %u days)\n", a->code, cert, a->days);
    else
        printf("facility %s: TLS key %s (mode 0600) and certificate %s (valid %u days)\n", a->code,
               key, cert, a->days);
    return 0;
}

/* Tell a running eligd to read the registry again. */
/* eligd is not running at where: the saved registry is read when it starts. */
static int not_running(const char *where, const char *how)
{
    printf("eligd is not running on %s%s: it reads the registry when it starts\n", where, how);
    return 0;
}

static int fac_reload(const struct fac_args *a)
{
    if (!a->admin && a->data)
        return not_running(a->data, "");
    if (!a->admin) {
        printf("no --admin SOCKET: eligd reads the registry %s when it starts or is told to "
               "reload\n",
               a->path);
        return 0;
    }
    struct elig_client *c;
    int rc = 0;
    bool unix_socket = strchr(a->admin, '/') != NULL;
    if (unix_socket) {
        /* no socket, or one a killed eligd left behind: the registry is read at start */
        rc = elig_client_connect(a->admin, CLIENT_TIMEOUT_MS, &c);
        if (rc == -ENOENT || rc == -ECONNREFUSED)
            return not_running(a->admin, "");
        if (rc) {
            fprintf(stderr, "eligctl: %s: %s\n", a->admin, elig_net_strerror(rc));
            return EXIT_USAGE;
        }
    } else if ((rc = client_open(a->admin, &c, true))) {
        return rc;
    }
    struct elig_proto_header h;
    const uint8_t *body;
    rc = elig_client_call(c, ELIG_OP_ADMIN_RELOAD, NULL, 0, &h, &body);
    if ((rc == -ECONNRESET || rc == -EPIPE) && unix_socket) {
        /* a killed eligd's rings can hold its listener for a moment after it died */
        elig_client_close(c);
        return not_running(a->admin, " (it closed the connection without an answer)");
    }
    if (rc == 0 && h.status == ELIG_PS_OK && h.body_len == 4)
        printf("eligd reloaded the registry: %u facilities\n", elig_rd32(body));
    else if (rc == 0 && h.status == ELIG_PS_UNAVAILABLE && h.body_len == 4)
        fprintf(stderr, "eligctl: eligd could not reload the registry: %s\n",
                elig_net_strerror((int)elig_rd32(body)));
    else
        client_failed("reload", rc ? rc : -ELIG_EREFUSED, h.status, NULL);
    bool ok = rc == 0 && h.status == ELIG_PS_OK;
    elig_client_close(c);
    return ok ? 0 : EXIT_USAGE;
}

static void fac_list(const struct elig_fac_registry *r)
{
    printf("%-10s  %-8s  %-7s  %3s  %s\n", "code", "kind", "status", "key", "changed (UTC)");
    for (size_t i = 0; i < elig_fac_count(r); i++) {
        const struct elig_fac *f = elig_fac_at(r, i);
        time_t t = (time_t)f->changed;
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-10s  %-8s  %-7s  v%-2u  %s\n", f->code, elig_fac_type_name(f->type),
               f->revoked ? "revoked" : "active", f->key_version, when);
    }
}

static int cmd_facility(int argc, char **argv)
{
    struct fac_args a;
    int rc = fac_parse(argc, argv, &a);
    if (rc)
        return rc;
    if (elig_fkey_init()) {
        fputs("eligctl: libsodium could not start\n", stderr);
        return EXIT_USAGE;
    }
    if (a.data && mkdir(a.data, 0700) && errno != EEXIST) {
        fprintf(stderr, "eligctl: %s: %s\n", a.data, strerror(errno));
        return EXIT_USAGE;
    }
    /* one change at a time: an exclusive lock beside the registry */
    char lockpath[4200];
    snprintf(lockpath, sizeof lockpath, "%s.lock", a.path);
    int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX)) {
        fprintf(stderr, "eligctl: %s: %s\n", lockpath, strerror(errno));
        if (lock >= 0)
            close(lock);
        return EXIT_USAGE;
    }
    struct elig_fac_registry *r = NULL;
    rc = elig_fac_load(a.path, &r);
    if (rc == -ENOENT && strcmp(a.verb, "add") == 0)
        rc = elig_fac_new(&r);
    if (rc) {
        fprintf(stderr, "eligctl: %s: %s\n", a.path, elig_net_strerror(rc));
        close(lock);
        return EXIT_USAGE;
    }
    uint8_t key[ELIG_FKEY_LEN];
    int64_t now = (int64_t)time(NULL);
    bool changed = true;
    enum elig_fac_type type = ELIG_FAC_CLINIC;
    if (strcmp(a.verb, "list") == 0) {
        fac_list(r);
        changed = false;
    } else if (strcmp(a.verb, "sign") == 0) { /* the registry must know it, active */
        const struct elig_fac *f = elig_fac_find(r, a.code);
        rc = !f ? -ENOENT : f->revoked ? -EPERM : 0;
        changed = false;
    } else if (strcmp(a.verb, "add") == 0) {
        rc = elig_fac_type_parse(a.type, &type);
        if (rc == 0)
            rc = elig_fac_add(r, a.code, type, now, key);
    } else if (strcmp(a.verb, "rotate") == 0) {
        rc = elig_fac_rotate(r, a.code, now, key);
    } else { /* revoke */
        rc = elig_fac_revoke(r, a.code, now);
    }
    int status = 0;
    if (rc) {
        fprintf(stderr, "eligctl: facility %s %s: %s\n", a.verb, a.code ? a.code : "",
                rc == -EINVAL     ? "not a facility code of that kind (10 digits: prefecture "
                                    "01-47, fee-table 1 medical, 3 dental, 4 pharmacy)"
                : rc == -EEXIST   ? "already registered"
                : rc == -ENOENT   ? "not registered"
                : rc == -EPERM    ? "revoked: add it under a new code"
                : rc == -EALREADY ? "already revoked"
                                  : elig_net_strerror(rc));
        status = EXIT_USAGE;
    } else if (changed && (rc = elig_fac_save(r, a.path))) {
        fprintf(stderr, "eligctl: %s: %s\n", a.path, elig_net_strerror(rc));
        status = EXIT_USAGE;
    } else if (changed) {
        if (strcmp(a.verb, "revoke") == 0)
            printf("facility %s revoked\n", a.code);
        else
            status = fac_key_out(&a, key);
        if (status == 0 && a.ca)
            status = fac_cert(&a);
        if (status == 0)
            status = fac_reload(&a);
    } else if (strcmp(a.verb, "sign") == 0) {
        status = fac_cert(&a);
    }
    memset(key, 0, sizeof key);
    elig_fac_free(r);
    close(lock);
    return status;
}

/* ---- ca ----------------------------------------------------------------- */

struct ca_args {
    const char *dir, *name, *key_out, *cert_out;
    unsigned days;
};

static const struct elig_opt ca_opts[] = {
    ELIG_OPT_S("dir", struct ca_args, dir),
    ELIG_OPT_S("name", struct ca_args, name),
    ELIG_OPT_S("key-out", struct ca_args, key_out),
    ELIG_OPT_S("cert-out", struct ca_args, cert_out),
    ELIG_OPT_U("days", struct ca_args, days, 1, 36500),
    ELIG_OPT_END,
};

static int ca_failed(const char *cmd, const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", cmd, what,
            rc == -EEXIST ? "already there (never overwritten): move it, or choose another"
                          : elig_net_strerror(rc));
    return EXIT_USAGE;
}

static int cmd_ca_init(int argc, char **argv)
{
    struct ca_args a = { .name = "eligd clearinghouse CA", .days = ELIG_CA_DAYS };
    int first;
    if (command_opts(ca_opts, argc, argv, &a, &first, 0, 0, ""))
        return EXIT_USAGE;
    if (!a.dir || a.key_out || a.cert_out) {
        fprintf(stderr, "%s: give --dir DIR (and optionally --name, --days)\n", argv[0]);
        return EXIT_USAGE;
    }
    int rc = elig_ca_init(a.dir, a.name, a.days);
    if (rc)
        return ca_failed(argv[0], a.dir, rc);
    printf("CA made in %s: ca.key (mode 0600; keep it off the servers) and ca.crt, valid %u "
           "days\n",
           a.dir, a.days);
    return 0;
}

static int cmd_ca_server(int argc, char **argv)
{
    struct ca_args a = { .days = ELIG_CA_CERT_DAYS };
    int first;
    if (command_opts(ca_opts, argc, argv, &a, &first, 0, 0, ""))
        return EXIT_USAGE;
    if (!a.dir || !a.name || !a.key_out || !a.cert_out) {
        fprintf(stderr, "%s: give --dir DIR --name HOST --key-out FILE --cert-out FILE\n", argv[0]);
        return EXIT_USAGE;
    }
    struct elig_ca *ca;
    int rc = elig_ca_open(a.dir, &ca);
    if (rc)
        return ca_failed(argv[0], a.dir, rc);
    rc = elig_ca_issue_server(ca, a.name, a.days, a.key_out, a.cert_out);
    elig_ca_close(ca);
    if (rc)
        return ca_failed(argv[0], rc == -EINVAL ? a.name : a.cert_out, rc);
    printf("server certificate for %s: %s, key %s (mode 0600), valid %u days\n", a.name, a.cert_out,
           a.key_out, a.days);
    return 0;
}

/* ---- key ---------------------------------------------------------------- */

static int cmd_key(int argc, char **argv)
{
    int first;
    if (command_opts(no_opts, argc, argv, NULL, &first, 3, 4, "INSURER SYMBOL NUMBER [BRANCH]"))
        return EXIT_USAGE;
    argv += first;
    const char *branch = argc - first == 4 ? argv[3] : "";
    struct elig_key key;
    enum elig_key_field bad;
    int rc = elig_key_normalize(argv[0], strlen(argv[0]), argv[1], strlen(argv[1]), argv[2],
                                strlen(argv[2]), branch, strlen(branch), &key, &bad);
    if (rc) {
        printf("invalid: %s: %s\n", elig_key_field_name(bad), elig_net_strerror(rc));
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
        fprintf(stderr, "eligctl: %s: %s\n", path, elig_net_strerror(rc));
    return rc < 0 ? EXIT_USAGE : 0;
}

/* The single SEGMENT argument of stats and dump, attached read-only. */
static int attach_arg(int argc, char **argv, struct elig_index **ix)
{
    int first;
    if (command_opts(no_opts, argc, argv, NULL, &first, 1, 1, "the SEGMENT"))
        return EXIT_USAGE;
    return attach(argv[first], ix);
}

static int cmd_dump(int argc, char **argv)
{
    struct elig_index *ix;
    int rc = attach_arg(argc, argv, &ix);
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
        fprintf(stderr, "eligctl: dump: %s\n", elig_net_strerror(rc < 0 ? rc : -EIO));
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- lookup ------------------------------------------------------------ */

static int cmd_lookup(int argc, char **argv)
{
    struct query q;
    int first;
    int rc = parse_query(argc, argv, &q, &first, QUERY_SEGMENT);
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
    struct elig_db *db;        /* the store, opened here ... */
    struct elig_client *admin; /* ... or eligd's admin socket */
    struct elig_event *evs;
    const char *path[APPEND_CHUNK];
    uint64_t line[APPEND_CHUNK];
    int status[APPEND_CHUNK];
    size_t n;
    uint64_t chunks; /* chunks submitted: the next one's ordinal */
    uint64_t applied, refused, duplicate, last_lsn;
    int64_t entered; /* the chunks' entry time (Unix seconds); 0: when they are logged */
    int err;
};

/*
 * A chunk's id: a digest of its ordinal in this append and its events. The
 * same append run again (after a failure, a crash or a full disk) sends the
 * same ids, so what was applied the first time is not applied twice.
 */
static void chunk_id(const struct appender *a, uint8_t id[ELIG_CHUNK_ID_LEN])
{
    XXH3_state_t *xs = XXH3_createState();
    uint8_t ord[8], wire[ELIG_EVENT_WIRE_MAX];
    elig_le64(ord, a->chunks);
    XXH3_128bits_reset(xs);
    XXH3_128bits_update(xs, ord, sizeof ord);
    for (size_t i = 0; i < a->n; i++) {
        int len = elig_event_encode(&a->evs[i], wire, sizeof wire);
        if (len > 0)
            XXH3_128bits_update(xs, wire, (size_t)len);
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xs));
    memcpy(id, c.digest, ELIG_CHUNK_ID_LEN);
    XXH3_freeState(xs);
}

/* ADMIN_APPEND of the chunk: eligd makes it durable and answers each event's status. */
static int append_remote(struct appender *a, const uint8_t *id, uint64_t *first)
{
    uint8_t pstatus;
    int code;
    int rc = elig_client_append(a->admin, id, a->entered, a->evs, a->n, first, a->status, &pstatus,
                                &code);
    if (rc == -ELIG_EREFUSED)
        fprintf(stderr, "eligctl: append: eligd answered %s%s%s\n", elig_pstatus_name(pstatus),
                code ? ": " : "", code ? elig_net_strerror(code) : "");
    return rc;
}

static int append_flush(struct appender *a)
{
    uint64_t first;
    if (a->n == 0)
        return 0;
    uint8_t id[ELIG_CHUNK_ID_LEN];
    bool dup = false;
    chunk_id(a, id);
    int rc = a->admin ? append_remote(a, id, &first)
                      : elig_db_submit_chunk(a->db, id, a->entered, a->evs, a->n, a->status, &first,
                                             &dup);
    a->chunks++;
    if (rc < 0) {
        if (rc != -ELIG_EREFUSED)
            fprintf(stderr, "eligctl: append: %s\n", elig_net_strerror(rc));
        return a->err = rc;
    }
    a->duplicate += dup;
    for (size_t i = 0; i < a->n; i++) {
        if (a->status[i] == 0) {
            a->applied++;
            continue;
        }
        a->refused++;
        printf("%s:%llu: %s refused: %s\n", a->path[i], (unsigned long long)a->line[i],
               elig_event_kind_name(a->evs[i].kind), elig_net_strerror(a->status[i]));
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

static void print_start_line(void *ctx, bool warning, const char *line)
{
    (void)ctx;
    if (warning)
        fprintf(stderr, "eligctl: %s\n", line);
    else
        printf("%s\n", line);
}

static void print_start(const struct elig_db_start *st)
{
    elig_db_start_report(st, print_start_line, NULL);
}

/* The options of the commands on a store: append, snapshot, grow, verify. */
struct store_args {
    const char *data, *segment, *admin;
    const char *entered; /* append: YYYY-MM-DD the feed was received (a back-fill) */
    uint64_t capacity, persons, cards, names, key_strings;
    bool truncate_tail, rebuild_segment;
};

#define SA(kind, name, ...) ELIG_OPT_##kind(name, struct store_args, __VA_ARGS__)
#define STORE_OPTS                                                                                 \
    SA(S, "data", data), SA(S, "segment", segment), SA(S, "admin", admin),                         \
        SA(U, "capacity", capacity, 1, 1ull << 31),                                                \
        SA(U, "key-strings", key_strings, 1, (1ull << 31) - 1),                                    \
        SA(F, "truncate-tail", truncate_tail), SA(F, "rebuild-segment", rebuild_segment)
static const struct elig_opt store_opts[] = { STORE_OPTS, ELIG_OPT_END };
static const struct elig_opt append_opts[] = { STORE_OPTS, SA(S, "entered", entered),
                                               ELIG_OPT_END };
static const struct elig_opt grow_opts[] = {
    STORE_OPTS,
    SA(U, "persons", persons, 1, 1ull << 30),
    SA(U, "cards", cards, 1, 1ull << 30),
    SA(U, "names", names, 1, UINT32_MAX / 2),
    ELIG_OPT_END,
};
static const struct elig_opt verify_opts[] = {
    SA(S, "data", data),
    SA(S, "segment", segment),
    ELIG_OPT_END,
};
#undef SA
#undef STORE_OPTS

/*
 * Read a store command's options: --data DIR --segment PATH (the store
 * itself) or, where via_admin, --admin SOCKET (eligd serving it); operands
 * from min to max. One line on stderr for whatever is refused.
 */
static int store_args(const struct elig_opt *opts, int argc, char **argv, struct store_args *a,
                      int *first, int min, int max, const char *operands)
{
    memset(a, 0, sizeof *a);
    if (command_opts(opts, argc, argv, a, first, 0, INT32_MAX, ""))
        return EXIT_USAGE;
    bool local = a->data && a->segment && !a->admin;
    bool remote = a->admin && !a->data && !a->segment && !a->truncate_tail && !a->rebuild_segment;
    if (!local && !remote) {
        fprintf(stderr, "%s: give --data DIR and --segment PATH, or --admin SOCKET (%s --help)\n",
                argv[0], argv[0]);
        return EXIT_USAGE;
    }
    return operand_count(argc, argv, *first, min, max, operands);
}

/* Open the store the options name (warm or cold start, reported). */
static int open_store(const struct store_args *a, struct elig_db **db)
{
    struct elig_db_params p = {
        .data_dir = a->data,
        .segment_path = a->segment,
        .tail = a->truncate_tail ? ELIG_LOG_TAIL_TRUNCATE : ELIG_LOG_TAIL_REFUSE,
        .rebuild_segment = a->rebuild_segment,
        .index = { .capacity = a->capacity, .key_strings = (uint32_t)a->key_strings },
    }; /* sizes not given: the store's record, or the defaults */
    struct elig_db_start st;
    int rc = elig_db_open(&p, db, &st);
    if (rc < 0) {
        if (elig_db_open_report(rc, &st, print_start_line, NULL) == 0)
            fprintf(stderr, "eligctl: %s: %s\n", p.data_dir, elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    print_start(&st);
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    struct store_args sa = { 0 };
    int first;
    if (command_opts(verify_opts, argc, argv, &sa, &first, 0, 0, ""))
        return EXIT_USAGE;
    if (!sa.data || !sa.segment) {
        fputs("eligctl verify: give --data DIR and --segment PATH\n", stderr);
        return EXIT_USAGE;
    }
    const char *data = sa.data, *segment = sa.segment;
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
        fprintf(stderr, "eligctl: verify: %s\n", elig_net_strerror(rc));
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

/* ADMIN_SNAPSHOT: eligd writes it while it serves. */
static int snapshot_remote(const char *socket, struct elig_snap_info *info, uint64_t *seq)
{
    struct elig_client *c;
    int rc = client_open(socket, &c, true);
    if (rc)
        return -EIO;
    struct elig_proto_header h;
    const uint8_t *body;
    rc = elig_client_call(c, ELIG_OP_ADMIN_SNAPSHOT, NULL, 0, &h, &body);
    if (rc == 0 && h.status != ELIG_PS_OK)
        rc = h.body_len == 4 ? (int32_t)elig_rd32(body) : -ELIG_EREFUSED;
    else if (rc == 0 && h.body_len != 48)
        rc = -ELIG_EPROTO;
    if (rc == 0) {
        info->lsn = elig_rd64(body);
        info->records = elig_rd64(body + 8);
        info->cards = elig_rd64(body + 16);
        info->insurers = elig_rd64(body + 24);
        info->bytes = elig_rd64(body + 32);
        *seq = elig_rd64(body + 40);
    }
    elig_client_close(c);
    return rc;
}

static int cmd_snapshot(int argc, char **argv)
{
    struct elig_db *db = NULL;
    struct elig_snap_info info;
    struct store_args sa;
    int first;
    int rc = store_args(store_opts, argc, argv, &sa, &first, 0, 0, "");
    if (rc)
        return rc;
    uint64_t seq = 0;
    if (sa.admin) {
        rc = snapshot_remote(sa.admin, &info, &seq);
    } else if ((rc = open_store(&sa, &db))) {
        return rc;
    } else {
        rc = elig_db_snapshot(db, &info);
    }
    if (rc < 0)
        fprintf(stderr, "eligctl: snapshot: %s\n", elig_net_strerror(rc));
    else
        printf("snapshot at LSN %llu: %llu records, %llu cards, %llu insurer names, %llu bytes\n",
               (unsigned long long)info.lsn, (unsigned long long)info.records,
               (unsigned long long)info.cards, (unsigned long long)info.insurers,
               (unsigned long long)info.bytes);
    if (rc >= 0 && seq)
        printf("cluster: it holds the stream through sequence %llu (snapshots/snapshot-%020llu"
               ".stream beside it): a new node can be made from it (eligctl bootstrap)\n",
               (unsigned long long)seq, (unsigned long long)info.lsn);
    elig_db_close(db);
    return rc < 0 ? EXIT_USAGE : 0;
}

/* ---- bootstrap: a new cluster node from a peer's snapshot --------------- */

struct bootstrap_args {
    const char *data, *snapshot, *cluster, *stream;
    uint64_t capacity;
};

#define BA(kind, name, ...) ELIG_OPT_##kind(name, struct bootstrap_args, __VA_ARGS__)
static const struct elig_opt bootstrap_opts[] = {
    BA(S, "data", data),
    BA(S, "snapshot", snapshot),
    BA(S, "cluster", cluster),
    BA(S, "stream", stream),
    BA(U, "capacity", capacity, 1, 1ull << 31),
    ELIG_OPT_END,
};

static int cmd_bootstrap(int argc, char **argv)
{
    struct bootstrap_args a = { 0 };
    int first;
    if (command_opts(bootstrap_opts, argc, argv, &a, &first, 0, 0, ""))
        return EXIT_USAGE;
    if (!a.data || !a.snapshot || !a.cluster) {
        fprintf(stderr, "%s: give --data DIR --snapshot FILE --cluster URLS (%s --help)\n", argv[0],
                argv[0]);
        return EXIT_USAGE;
    }
    struct elig_cluster_params p = { .servers = a.cluster, .stream = a.stream, .data_dir = a.data };
    struct elig_cluster_boot b;
    char err[768];
    int rc = elig_cluster_bootstrap(&p, a.snapshot, a.capacity, &b, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return EXIT_USAGE;
    }
    printf("bootstrapped %s: snapshot at LSN %llu (%llu records), capacity %llu; stream %s "
           "through sequence %llu of %llu..%llu. Start it as a node (eligd --data %s --cluster "
           "... --segment PATH): it loads the snapshot and applies the stream after it\n",
           a.data, (unsigned long long)b.snap.lsn, (unsigned long long)b.snap.records,
           (unsigned long long)b.capacity, a.stream ? a.stream : "ELIGD", (unsigned long long)b.seq,
           (unsigned long long)b.first, (unsigned long long)b.last, a.data);
    return 0;
}

/* --entered YYYY-MM-DD: the start of that local day as a Unix time; not in the future. */
static int entered_arg(const char *cmd, const char *s, int64_t *out)
{
    elig_date_t d;
    int y, m, dd;
    if (elig_date_parse(s, strlen(s), &d) != 0) {
        fprintf(stderr, "%s: --entered wants the day the feed was received, YYYY-MM-DD\n", cmd);
        return EXIT_USAGE;
    }
    elig_date_to_ymd(d, &y, &m, &dd);
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd, .tm_isdst = -1 };
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || t <= 0 || d > elig_date_today()) {
        fprintf(stderr, "%s: --entered %s is not a past day: give the day the feed was received\n",
                cmd, s);
        return EXIT_USAGE;
    }
    *out = (int64_t)t;
    return 0;
}

static int cmd_append(int argc, char **argv)
{
    struct appender a = { 0 };
    struct store_args sa;
    int first;
    int rc = store_args(append_opts, argc, argv, &sa, &first, 1, INT32_MAX,
                        "at least one feed FILE (- for standard input)");
    if (rc)
        return rc;
    if (sa.entered && (rc = entered_arg(argv[0], sa.entered, &a.entered)))
        return rc;
    if (sa.admin && (rc = client_open(sa.admin, &a.admin, true)))
        return rc;
    if (!sa.admin && (rc = open_store(&sa, &a.db)))
        return rc;
    a.evs = malloc(APPEND_CHUNK * sizeof *a.evs);
    uint64_t accepted, rejected;
    rc = a.evs ? read_feeds(argv + first, argc - first, on_append_event, print_reject, &a,
                            &accepted, &rejected)
               : EXIT_USAGE;
    if (rc == 0 && a.err == 0)
        append_flush(&a);
    if (a.err == 0 && rc == 0 && a.duplicate)
        printf("%llu of %llu chunks had been applied before (a repeated append): their first "
               "results follow\n",
               (unsigned long long)a.duplicate, (unsigned long long)a.chunks);
    if (a.err == 0 && rc == 0)
        printf(
            "%llu events applied, %llu refused, %llu lines rejected; durable and applied "
            "through LSN %llu\n",
            (unsigned long long)a.applied, (unsigned long long)a.refused,
            (unsigned long long)rejected,
            (unsigned long long)(a.db ? elig_index_applied_lsn(elig_db_index(a.db)) : a.last_lsn));
    elig_db_close(a.db);
    elig_client_close(a.admin);
    free(a.evs);
    if (a.err || rc)
        return EXIT_USAGE;
    return a.refused || rejected ? EXIT_JUDGED : 0;
}

/* ---- list: appointment lists checked later ------------------------------------ */

struct list_args {
    const char *server, *facility, *key_file, *date;
    struct tls_files tls;
    uint64_t reception;
    uint64_t wait;
};
#define LS(kind, name, ...) ELIG_OPT_##kind(name, struct list_args, __VA_ARGS__)
static const struct elig_opt list_opts[] = {
    LS(S, "server", server),       LS(S, "facility", facility),
    LS(S, "key-file", key_file),   LS(S, "tls-cert", tls.cert),
    LS(S, "tls-key", tls.key),     LS(S, "tls-ca", tls.ca),
    LS(S, "date", date),           LS(U, "reception", reception, 1, INT64_MAX),
    LS(U, "wait", wait, 0, 86400), ELIG_OPT_END,
};
#undef LS

/* The facility's connection of the list and person commands, their options checked first. */
static int facility_connect(const char *cmd, const char *server, const char *facility,
                            const char *key_file, const struct tls_files *tls,
                            struct elig_client **c)
{
    if (!server || !facility || strlen(facility) != ELIG_PROTO_FACILITY_LEN ||
        !elig_proto_facility_valid(facility)) {
        fprintf(stderr, "%s: needs --server ADDR:PORT and --facility CODE (10 digits)\n", cmd);
        return EXIT_USAGE;
    }
    int rc = tls_files_check(cmd, tls, key_file);
    return rc ? rc : client_connect_as(server, false, tls, facility, key_file, c);
}

/* The entries of a list file: lines of TAB-separated insurer, symbol, number, branch, birth
 * date and, optionally, the date of service (YYYY-MM-DD); '#' starts a comment line. */
struct list_file {
    struct elig_proto_number *qs;
    char (*text)[512]; /* each line's bytes, which qs[i] point into */
    size_t n;
};

static int list_file_read(const char *cmd, const char *path, const char *facility, uint32_t date,
                          struct list_file *lf)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
        return EXIT_USAGE;
    }
    lf->qs = calloc(ELIG_PROTO_LIST_MAX, sizeof *lf->qs);
    lf->text = calloc(ELIG_PROTO_LIST_MAX, sizeof *lf->text);
    lf->n = 0;
    int rc = lf->qs && lf->text ? 0 : EXIT_USAGE;
    char line[512];
    for (unsigned long no = 1; rc == 0 && fgets(line, sizeof line, f); no++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (lf->n == ELIG_PROTO_LIST_MAX) {
            fprintf(stderr, "%s: %s:%lu: more than %d entries: hand in another list\n", cmd, path,
                    no, ELIG_PROTO_LIST_MAX);
            rc = EXIT_USAGE;
            break;
        }
        char *t = lf->text[lf->n], *field[6] = { 0 };
        snprintf(t, sizeof lf->text[0], "%s", line);
        int nf = 0;
        for (char *p = t; nf < 6; nf++) {
            field[nf] = p;
            char *tab = strchr(p, '\t');
            if (!tab) {
                nf++;
                break;
            }
            *tab = '\0';
            p = tab + 1;
        }
        elig_date_t birth, d;
        bool ok = (nf == 5 || nf == 6) &&
                  elig_date_parse(field[4], strlen(field[4]), &birth) == 0 &&
                  (nf == 5 || elig_date_parse(field[5], strlen(field[5]), &d) == 0);
        if (!ok) {
            fprintf(stderr,
                    "%s: %s:%lu: want insurer, symbol, number, branch, birth date and an "
                    "optional date of service (YYYY-MM-DD), separated by TABs\n",
                    cmd, path, no);
            rc = EXIT_USAGE;
            break;
        }
        lf->qs[lf->n++] = (struct elig_proto_number){
            .facility = facility,
            .date = nf == 6 ? elig_proto_date_out(d) : date,
            .birth = elig_proto_date_out(birth),
            .insurer = field[0],
            .insurer_len = (uint8_t)strnlen(field[0], 255),
            .symbol = field[1],
            .symbol_len = (uint8_t)strnlen(field[1], 255),
            .number = field[2],
            .number_len = (uint8_t)strnlen(field[2], 255),
            .branch = field[3],
            .branch_len = (uint8_t)strnlen(field[3], 255),
        };
    }
    if (f != stdin)
        fclose(f);
    if (rc == 0 && lf->n == 0) {
        fprintf(stderr, "%s: %s: no entries\n", cmd, path);
        rc = EXIT_USAGE;
    }
    return rc;
}

static const char *const list_state_names[] = { "open", "queued", "being checked", "done",
                                                "failed: its file was damaged; hand it in again" };

/* Hand in an appointment list: its reception number. */
static int cmd_list_submit(int argc, char **argv)
{
    struct list_args a = { 0 };
    int first;
    if (command_opts(list_opts, argc, argv, &a, &first, 1, 1,
                     "the list FILE (- for standard input)"))
        return EXIT_USAGE;
    elig_date_t d = 0;
    if (a.date && arg_date("--date", a.date, &d))
        return EXIT_USAGE;
    struct list_file lf = { 0 };
    struct elig_client *c = NULL;
    int rc = list_file_read(argv[0], argv[first], a.facility ? a.facility : "",
                            a.date ? elig_proto_date_out(d) : 0, &lf);
    if (rc == 0)
        rc = facility_connect(argv[0], a.server, a.facility, a.key_file, &a.tls, &c);
    if (rc == 0) {
        struct elig_proto_list_state st;
        uint8_t ps;
        int code;
        int crc = elig_client_list_submit(c, a.facility, lf.qs, lf.n, &st, &ps, &code);
        if (crc == 0) {
            printf("reception %llu: %u entries %s\n", (unsigned long long)st.reception, st.entries,
                   list_state_names[st.state]);
        } else {
            fprintf(stderr, "%s: %s%s%s%s\n", argv[0],
                    crc == -ELIG_EREFUSED ? "eligd answered " : "",
                    crc == -ELIG_EREFUSED ? elig_pstatus_name(ps) : elig_net_strerror(crc),
                    code ? ": " : "", code ? elig_net_strerror(code) : "");
            rc = EXIT_USAGE;
        }
    }
    elig_client_close(c);
    free(lf.qs);
    free(lf.text);
    return rc;
}

static int print_list_answer(void *ctx, uint32_t index, const struct elig_proto_answer *ans)
{
    (void)ctx;
    printf("%u\t%s\t%u\t%u", index + 1, elig_astatus_name(ans->status), ans->validity, ans->count);
    if (ans->count)
        printf("\t%.8s\t%u", ans->rec[0].key.insurer, ans->rec[0].copay_pct);
    printf("\n");
    return 0;
}

/* The answers of a list, once it is done (--wait: up to that many seconds for it). */
static int cmd_list_fetch(int argc, char **argv)
{
    struct list_args a = { 0 };
    int first;
    if (command_opts(list_opts, argc, argv, &a, &first, 0, 0, NULL))
        return EXIT_USAGE;
    if (!a.reception) {
        fprintf(stderr, "%s: needs --reception N (what list submit printed)\n", argv[0]);
        return EXIT_USAGE;
    }
    struct elig_client *c;
    int rc = facility_connect(argv[0], a.server, a.facility, a.key_file, &a.tls, &c);
    if (rc)
        return rc;
    struct elig_proto_list_state st = { 0 };
    uint16_t n;
    uint8_t ps;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        rc = elig_client_list_fetch(c, a.facility, a.reception, 0, 1, &st, NULL, NULL, &n, &ps);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (rc || st.state == ELIG_LIST_DONE || st.state == ELIG_LIST_FAILED ||
            (uint64_t)(t.tv_sec - t0.tv_sec) >= a.wait)
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
    }
    if (rc == 0 && st.state == ELIG_LIST_DONE) {
        printf("# reception %llu: %u entries\n# entry\tstatus\tvalidity\trecords\tinsurer\tcopay\n",
               (unsigned long long)a.reception, st.entries);
        for (uint32_t at = 0; rc == 0 && at < st.entries; at += n) {
            rc = elig_client_list_fetch(c, a.facility, a.reception, at, ELIG_PROTO_BATCH_MAX, &st,
                                        print_list_answer, NULL, &n, &ps);
            if (rc == 0 && n == 0)
                rc = -ELIG_EPROTO;
        }
    } else if (rc == 0) {
        printf("reception %llu: %s, %u of %u entries answered\n", (unsigned long long)a.reception,
               list_state_names[st.state], st.done, st.entries);
    }
    elig_client_close(c);
    if (rc) {
        fprintf(stderr, "%s: %s%s\n", argv[0],
                rc == -ELIG_EREFUSED ? "eligd answered " : elig_net_strerror(rc),
                rc == -ELIG_EREFUSED ? elig_pstatus_name(ps) : "");
        return EXIT_USAGE;
    }
    return st.state == ELIG_LIST_DONE ? 0 : EXIT_JUDGED;
}

/* ---- disaster mode -------------------------------------------------------------- */

struct disaster_args {
    const char *data, *prefectures, *until;
};
#define DA(kind, name, ...) ELIG_OPT_##kind(name, struct disaster_args, __VA_ARGS__)
static const struct elig_opt disaster_opts[] = {
    DA(S, "data", data),
    DA(S, "prefectures", prefectures),
    DA(S, "until", until),
    ELIG_OPT_END,
};
#undef DA

/* "YYYY-MM-DDTHH:MM" (local time) as a Unix time. */
static int local_time_arg(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    char *end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (end == NULL || *end)
        return -EINVAL;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = (int64_t)t;
    return 0;
}

static int disaster_path(const char *cmd, const struct disaster_args *a, char *path, size_t size)
{
    struct stat sb;
    if (!a->data || stat(a->data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: --data DIR: the store's directory (where eligd keeps its data)\n",
                cmd);
        return EXIT_USAGE;
    }
    snprintf(path, size, "%s/disaster", a->data);
    return 0;
}

static void print_disaster(const struct elig_disaster *d)
{
    int64_t now = (int64_t)time(NULL);
    if (d->prefectures == 0) {
        printf("disaster mode: off\n");
        return;
    }
    char from[32], until[32];
    time_t f = (time_t)d->from, u = (time_t)d->until;
    strftime(from, sizeof from, "%Y-%m-%dT%H:%M", localtime(&f));
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M", localtime(&u));
    printf("disaster mode: %s for prefectures", now >= d->until ? "over" : "declared");
    for (int p = 1; p <= 47; p++)
        if (d->prefectures & (1ull << p))
            printf(" %02d", p);
    printf(", from %s until %s\n", from, until);
}

enum disaster_do { DISASTER_ON, DISASTER_OFF, DISASTER_STATUS };

/* disaster on|off|status: the declaration made, ended or read, then printed. */
static int disaster_run(int argc, char **argv, enum disaster_do what)
{
    struct disaster_args a = { 0 };
    int first;
    if (command_opts(disaster_opts, argc, argv, &a, &first, 0, 0, NULL))
        return EXIT_USAGE;
    char path[4200];
    int rc = disaster_path(argv[0], &a, path, sizeof path);
    if (rc)
        return rc;
    struct elig_disaster d = { 0 };
    if (what == DISASTER_ON) {
        d.from = (int64_t)time(NULL);
        if (!a.prefectures || elig_disaster_prefectures(a.prefectures, &d.prefectures)) {
            fprintf(stderr, "%s: --prefectures wants codes 01-47, comma-separated (13,14)\n",
                    argv[0]);
            return EXIT_USAGE;
        }
        if (!a.until || local_time_arg(a.until, &d.until) || d.until <= d.from) {
            fprintf(stderr, "%s: --until wants a time to come, YYYY-MM-DDTHH:MM (local)\n",
                    argv[0]);
            return EXIT_USAGE;
        }
    } else if (a.prefectures || a.until) {
        fprintf(stderr, "%s: --prefectures and --until are for disaster on\n", argv[0]);
        return EXIT_USAGE;
    }
    rc = what == DISASTER_STATUS ? elig_disaster_read(path, &d) : elig_disaster_write(path, &d);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], path, elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    print_disaster(&d);
    return 0;
}

/* Declare disaster mode for prefectures until a time: lookups by person from facilities there. */
static int cmd_disaster_on(int argc, char **argv)
{
    return disaster_run(argc, argv, DISASTER_ON);
}

static int cmd_disaster_off(int argc, char **argv)
{
    return disaster_run(argc, argv, DISASTER_OFF);
}

static int cmd_disaster_status(int argc, char **argv)
{
    return disaster_run(argc, argv, DISASTER_STATUS);
}

struct person_args {
    const char *server, *facility, *key_file, *family, *given, *birth, *sex, *date;
    struct tls_files tls;
    uint64_t prefecture, reason;
    bool consent;
};
#define PA(kind, name, ...) ELIG_OPT_##kind(name, struct person_args, __VA_ARGS__)
static const struct elig_opt person_opts[] = {
    PA(S, "server", server),
    PA(S, "facility", facility),
    PA(S, "key-file", key_file),
    PA(S, "tls-cert", tls.cert),
    PA(S, "tls-key", tls.key),
    PA(S, "tls-ca", tls.ca),
    PA(S, "family-kana", family),
    PA(S, "given-kana", given),
    PA(S, "birth", birth),
    PA(S, "sex", sex),
    PA(S, "date", date),
    PA(U, "prefecture", prefecture, 1, 47),
    PA(U, "reason", reason, 1, 3),
    PA(F, "consent", consent),
    ELIG_OPT_END,
};
#undef PA

/* Disaster mode: a patient by kana name, birth date and sex. */
static int cmd_person(int argc, char **argv)
{
    struct person_args a = { .reason = ELIG_REASON_NO_CARD, .given = "" };
    int first;
    if (command_opts(person_opts, argc, argv, &a, &first, 0, 0, NULL))
        return EXIT_USAGE;
    elig_date_t birth, date = 0;
    bool male = a.sex && strcmp(a.sex, "male") == 0, female = a.sex && strcmp(a.sex, "female") == 0;
    if (!a.family || !a.birth || !(male || female)) {
        fprintf(stderr, "%s: needs --family-kana, --birth YYYY-MM-DD and --sex male|female\n",
                argv[0]);
        return EXIT_USAGE;
    }
    if (arg_date("--birth", a.birth, &birth) || (a.date && arg_date("--date", a.date, &date)))
        return EXIT_USAGE;
    if (strlen(a.family) > ELIG_NAME_MAX || strlen(a.given) > ELIG_NAME_MAX) {
        fprintf(stderr, "%s: a kana name is at most %d bytes\n", argv[0], ELIG_NAME_MAX);
        return EXIT_USAGE;
    }
    struct elig_client *c;
    int rc = facility_connect(argv[0], a.server, a.facility, a.key_file, &a.tls, &c);
    if (rc)
        return rc;
    struct elig_proto_person q = { .facility = a.facility,
                                   .flags = a.consent ? ELIG_PROTO_CONSENT : 0,
                                   .reason = (uint8_t)a.reason,
                                   .date = date ? elig_proto_date_out(date) : 0,
                                   .birth = elig_proto_date_out(birth),
                                   .sex = male ? ELIG_SEX_MALE : ELIG_SEX_FEMALE,
                                   .prefecture = (uint8_t)a.prefecture,
                                   .family_kana = a.family,
                                   .family_len = (uint8_t)strlen(a.family),
                                   .given_kana = a.given,
                                   .given_len = (uint8_t)strlen(a.given) };
    struct elig_client_persons *out = malloc(sizeof *out);
    uint8_t ps = 0;
    rc = out ? elig_client_lookup_person(c, &q, out, &ps) : -ENOMEM;
    elig_client_close(c);
    if (rc) {
        fprintf(stderr, "%s: %s%s\n", argv[0], rc == -ELIG_EREFUSED ? "eligd answered " : "",
                rc == -ELIG_EREFUSED ? elig_pstatus_name(ps) : elig_net_strerror(rc));
        free(out);
        return rc == -ELIG_EREFUSED && ps == ELIG_PS_NO_DISASTER ? EXIT_JUDGED : EXIT_USAGE;
    }
    printf("lookup by person, reference %016llx: %s\n", (unsigned long long)out->reference,
           out->result == ELIG_PERSON_FOUND  ? "found"
           : out->result == ELIG_PERSON_NONE ? "nobody with that name, birth date and sex"
                                             : "too many: narrow it (--prefecture)");
    for (unsigned i = 0; i < out->count; i++) {
        printf("person %u of %u: ", i + 1, out->count);
        print_answer(&out->ans[i], date ? date : elig_date_today());
    }
    free(out);
    return 0;
}

/* ---- report lag ------------------------------------------------------------ */

struct lag_args {
    const char *data, *month, *csv, *png;
};
#define LA(kind, name, ...) ELIG_OPT_##kind(name, struct lag_args, __VA_ARGS__)
static const struct elig_opt lag_opts[] = {
    LA(S, "data", data), LA(S, "month", month), LA(S, "csv", csv), LA(S, "png", png), ELIG_OPT_END,
};

/* One insurer's month, its classes summed; late counts each class against its allowance. */
struct lag_line {
    char insurer[9];
    uint64_t count[ELIG_LAG_BUCKETS], events, late, days_sum;
    uint32_t days_max;
};

/* The month's rows (sorted by insurer, class) summed per insurer, then all of them as "all". */
static size_t lag_lines(const struct elig_lag_row *rows, long n, struct lag_line *out)
{
    size_t k = 0;
    struct lag_line *all = &out[0];
    *all = (struct lag_line){ .insurer = "all" };
    for (long i = 0; i < n; i++) {
        const struct elig_lag_row *r = &rows[i];
        if (k == 0 || memcmp(out[k].insurer, r->insurer, 8) != 0) {
            out[++k] = (struct lag_line){ 0 };
            memcpy(out[k].insurer, r->insurer, 8);
        }
        struct lag_line *l[2] = { &out[k], all };
        for (int j = 0; j < 2; j++) {
            for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++) {
                l[j]->count[b] += r->count[b];
                l[j]->events += r->count[b];
                if (elig_lag_late(r->cls, b))
                    l[j]->late += r->count[b];
            }
            l[j]->days_sum += r->days_sum;
            if (r->days_max > l[j]->days_max)
                l[j]->days_max = r->days_max;
        }
    }
    return k + 1;
}

static void lag_csv(FILE *f, const char *month, const struct lag_line *l, size_t n)
{
    fprintf(f, "month,insurer,events");
    for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
        fprintf(f, ",days_%s", elig_lag_bucket_name(b));
    fprintf(f, ",late,late_pct,mean_days,max_days\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s,%s,%llu", month, l[i].insurer, (unsigned long long)l[i].events);
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
            fprintf(f, ",%llu", (unsigned long long)l[i].count[b]);
        fprintf(f, ",%llu,%.2f,%.2f,%u\n", (unsigned long long)l[i].late,
                l[i].events ? 100.0 * (double)l[i].late / (double)l[i].events : 0.0,
                l[i].events ? (double)l[i].days_sum / (double)l[i].events : 0.0, l[i].days_max);
    }
}

static int late_share_cmp(const void *a, const void *b)
{
    const struct lag_line *x = a, *y = b;
    double p = (double)x->late / (double)(x->events ? x->events : 1);
    double q = (double)y->late / (double)(y->events ? y->events : 1);
    return p < q ? 1 : p > q ? -1 : memcmp(x->insurer, y->insurer, 8);
}

/*
 * The PNG: the share of each bucket for all insurers and for the 20 with the
 * largest share late (of those with 20 events or more), drawn by gnuplot
 * from a script on its standard input.
 */
static int lag_png(const char *cmd, const char *path, const char *month, const struct lag_line *l,
                   size_t n)
{
    struct lag_line *top = malloc(n * sizeof *top);
    if (top == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (l[i].events >= 20)
            top[k++] = l[i];
    qsort(top, k, sizeof *top, late_share_cmp);
    if (k > 20)
        k = 20;
    int fds[2];
    if (pipe(fds) < 0) {
        free(top);
        return -errno;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    FILE *f = pid > 0 ? fdopen(fds[1], "w") : NULL;
    if (f == NULL) {
        if (pid < 0)
            close(fds[1]);
        free(top);
        return pid < 0 ? -errno : -ENOMEM;
    }
    fprintf(f, "set terminal pngcairo size 1100,%zu font ',10'\nset output '%s'\n", 300 + 22 * k,
            path);
    fprintf(f,
            "set title 'Registration lag, events entered in %s: days from effect to entry "
            "(allowed: 5, changes 10)'\n",
            month);
    fprintf(f, "set style data histograms\nset style histogram rowstacked\nset style fill solid "
               "border -1\nset boxwidth 0.8\nset xtics rotate by -45\nset ylabel '%% of the "
               "insurer''s events'\nset yrange [0:100]\nset key outside right\n");
    fprintf(f, "$d << EOD\ninsurer");
    for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
        fprintf(f, " \"%s\"", elig_lag_bucket_name(b));
    fprintf(f, "\n");
    for (size_t i = 0; i <= k; i++) {
        const struct lag_line *x = i == 0 ? &l[0] : &top[i - 1];
        fprintf(f, "%s", x->insurer);
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
            fprintf(f, " %.3f", x->events ? 100.0 * (double)x->count[b] / (double)x->events : 0.0);
        fprintf(f, "\n");
    }
    fprintf(f, "EOD\nplot for [i=2:%d] $d using i:xtic(1) title columnheader(i)\n",
            ELIG_LAG_BUCKETS + 1);
    free(top);
    int werr = ferror(f);
    fclose(f);
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -errno;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        fprintf(stderr,
                "%s: --png needs gnuplot: install it (apt-get install gnuplot-nox), or "
                "plot the CSV\n",
                cmd);
        return -ENOENT;
    }
    if (werr || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s: gnuplot could not write %s\n", cmd, path);
        return -EIO;
    }
    return 0;
}

/* Registration lag per insurer for one month of entry: CSV, and a PNG with gnuplot. */
static int cmd_report_lag(int argc, char **argv)
{
    struct lag_args a = { 0 };
    int first;
    if (command_opts(lag_opts, argc, argv, &a, &first, 0, 0, NULL))
        return EXIT_USAGE;
    elig_date_t d;
    char iso[16];
    if (a.data == NULL || a.month == NULL) {
        fprintf(stderr, "%s: needs --data DIR (the store) and --month YYYY-MM\n", argv[0]);
        return EXIT_USAGE;
    }
    snprintf(iso, sizeof iso, "%.7s-01", a.month);
    if (strlen(a.month) != 7 || elig_date_parse(iso, strlen(iso), &d) != 0) {
        fprintf(stderr, "%s: --month wants a month as YYYY-MM\n", argv[0]);
        return EXIT_USAGE;
    }
    struct stat sb;
    if (stat(a.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: --data %s is not a store's directory\n", argv[0], a.data);
        return EXIT_USAGE;
    }
    int y, m, dd;
    elig_date_to_ymd(d, &y, &m, &dd);
    struct elig_lag *t;
    uint64_t through = 0, last = 0, untimed = 0;
    int rc = elig_lag_create(&t);
    if (rc == 0)
        rc = elig_db_lag_table(a.data, t, &through, &last, &untimed);
    if (rc == -ENOENT)
        rc = 0; /* no log (yet): what DATA/lag holds */
    struct elig_lag_row *rows = NULL;
    long n = rc == 0 ? elig_lag_rows(t, (uint32_t)(y * 100 + m), &rows) : 0;
    if (rc == 0 && n < 0)
        rc = (int)n;
    struct lag_line *lines = rc == 0 ? calloc((size_t)n + 1, sizeof *lines) : NULL;
    if (rc == 0 && lines == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], a.data, elig_net_strerror(rc));
        free(rows);
        elig_lag_destroy(t);
        return EXIT_USAGE;
    }
    size_t k = lag_lines(rows, n, lines);
    FILE *out = stdout;
    if (a.csv && (out = fopen(a.csv, "w")) == NULL) {
        fprintf(stderr, "%s: --csv %s: %s\n", argv[0], a.csv, strerror(errno));
        rc = -errno;
    }
    if (rc == 0) {
        lag_csv(out, a.month, lines, k);
        if ((out != stdout && fclose(out) != 0) || (out == stdout && fflush(out) != 0))
            rc = -EIO;
    }
    if (rc == 0 && a.png)
        rc = lag_png(argv[0], a.png, a.month, lines, k);
    fprintf(stderr,
            "%s: %s: %llu events entered in %s, %llu late (%.1f%%); DATA/lag counts through LSN "
            "%llu, the log was read through %llu%s\n",
            argv[0], a.data, (unsigned long long)lines[0].events, a.month,
            (unsigned long long)lines[0].late,
            lines[0].events ? 100.0 * (double)lines[0].late / (double)lines[0].events : 0.0,
            (unsigned long long)through, (unsigned long long)(last > through ? last : through),
            untimed ? "; some events were logged without an entry time and are not counted" : "");
    free(lines);
    free(rows);
    elig_lag_destroy(t);
    return rc ? EXIT_USAGE : 0;
}

/* ---- stats ------------------------------------------------------------- */

static void print_use(const char *what, uint64_t used, uint64_t cap)
{
    printf("%-15s %llu of %llu (%.1f%%)\n", what, (unsigned long long)used, (unsigned long long)cap,
           cap ? 100.0 * (double)used / (double)cap : 0.0);
}

/* ---- report population ----------------------------------------------------- */

/* Counts of one walk over the records (never a name or a number: counts only). */
struct pop_counts {
    elig_date_t today;
    uint64_t records, in_force, insured, dependent, male, female;
    uint64_t family_kanji, given_kanji, either_kanji, kana; /* outside JIS X 0208, in force */
};

static int pop_record(void *ctx, const struct elig_record *r)
{
    struct pop_counts *c = ctx;
    c->records++;
    if (!elig_record_in_force(r, c->today))
        return 0;
    c->in_force++;
    c->insured += r->relation == ELIG_REL_INSURED;
    c->dependent += r->relation == ELIG_REL_DEPENDENT;
    c->male += r->sex == ELIG_SEX_MALE;
    c->female += r->sex == ELIG_SEX_FEMALE;
    c->family_kanji += !!(r->name_flags & ELIG_NAME_FAMILY_KANJI);
    c->given_kanji += !!(r->name_flags & ELIG_NAME_GIVEN_KANJI);
    c->either_kanji += !!(r->name_flags & (ELIG_NAME_FAMILY_KANJI | ELIG_NAME_GIVEN_KANJI));
    c->kana += !!(r->name_flags & ELIG_NAME_KANA);
    return 0;
}

static void print_share(const char *what, uint64_t n, uint64_t of)
{
    printf("%-34s %12llu  %6.3f%%\n", what, (unsigned long long)n,
           of ? 100.0 * (double)n / (double)of : 0.0);
}

/* The population a segment holds, as of today: what is in force, and whose names cannot be shown.
 */
static int cmd_report_population(int argc, char **argv)
{
    struct elig_index *ix;
    int rc = attach_arg(argc, argv, &ix);
    if (rc)
        return rc;
    struct pop_counts c = { .today = elig_date_today() };
    struct elig_index_export ex = { &c, pop_record, NULL, NULL };
    rc = elig_index_export(ix, &ex);
    uint64_t lsn = elig_index_applied_lsn(ix);
    elig_index_close(ix, false);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    char d[ELIG_DATE_ISO_LEN + 1];
    printf("population of %s on %s (applied through LSN %llu)\n", argv[argc - 1],
           elig_date_format(c.today, d), (unsigned long long)lsn);
    printf("%-34s %12llu\n", "records held", (unsigned long long)c.records);
    print_share("in force today", c.in_force, c.records);
    print_share("  insured", c.insured, c.in_force);
    print_share("  dependents", c.dependent, c.in_force);
    print_share("  male", c.male, c.in_force);
    print_share("  female", c.female, c.in_force);
    printf("names outside JIS X 0208 (shown as \"\xe2\x97\x8f\" by systems limited to it), of "
           "those in force:\n");
    print_share("  family or given name (kanji)", c.either_kanji, c.in_force);
    print_share("  family name (kanji)", c.family_kanji, c.in_force);
    print_share("  given name (kanji)", c.given_kanji, c.in_force);
    print_share("  kana, the fallback, too", c.kana, c.in_force);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

static int cmd_stats(int argc, char **argv)
{
    struct elig_index *ix;
    int rc = attach_arg(argc, argv, &ix);
    if (rc)
        return rc;
    struct elig_index_stats st;
    struct elig_seg_header h;
    elig_index_stats(ix, &st);
    rc = elig_seg_header_read(elig_index_seg(ix), &h);
    printf("segment         %s\n", argv[argc - 1]);
    printf("state           %s\n", rc < 0 ? elig_net_strerror(rc)
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

/*
 * The commands, one row each: main dispatches through this table, and the
 * top-level help and every command's --help are printed from it.
 * words: how many words name the command ("feed check": 2). A command's
 * function gets argv[0] = "eligctl NAME" and the arguments after the name.
 */
struct command {
    const char *name;
    int words;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* its arguments */
    const char *about;    /* what it does, lines indented by the printer */
    bool query;           /* takes a QUERY (explained below the table) */
};

/* ---- grow -------------------------------------------------------------- */

/* ADMIN_GROW: eligd builds the larger index while it answers, then moves to it. */
static int grow_remote(const char *socket, const struct elig_proto_grow *want,
                       struct elig_proto_grown *g)
{
    struct elig_client *c;
    if (client_open(socket, &c, true))
        return -EIO;
    uint8_t req[ELIG_PROTO_GROW_BODY];
    elig_proto_grow_encode(req, want);
    struct elig_proto_header h;
    const uint8_t *body;
    int rc = elig_client_call(c, ELIG_OP_ADMIN_GROW, req, sizeof req, &h, &body);
    if (rc == 0 && h.status != ELIG_PS_OK)
        rc = h.body_len == 4 ? (int32_t)elig_rd32(body) : -ELIG_EREFUSED;
    else if (rc == 0 && h.body_len != ELIG_PROTO_GROWN_BODY)
        rc = -ELIG_EPROTO;
    if (rc == 0)
        elig_proto_grown_decode(body, g);
    elig_client_close(c);
    return rc;
}

static int cmd_grow(int argc, char **argv)
{
    struct store_args sa;
    int first;
    int rc = store_args(grow_opts, argc, argv, &sa, &first, 0, 0, "");
    if (rc)
        return rc;
    const struct elig_proto_grow want = { sa.capacity, sa.persons, sa.cards, (uint32_t)sa.names,
                                          (uint32_t)sa.key_strings };
    struct elig_proto_grown g = { 0 };
    struct elig_db *db = NULL;
    struct store_args opened = sa;
    opened.capacity = opened.key_strings = 0; /* the store opens at its sizes; these are the new */
    if (sa.admin) {
        rc = grow_remote(sa.admin, &want, &g);
        if (rc == -EIO) /* client_open said why */
            return EXIT_USAGE;
    } else if ((rc = open_store(&opened, &db))) {
        return rc;
    } else {
        const struct elig_index_params p = { .capacity = want.capacity,
                                             .persons = want.persons,
                                             .cards = want.cards,
                                             .names = want.names,
                                             .key_strings = want.key_strings };
        struct elig_index *old;
        struct elig_db_grow r;
        if ((rc = elig_db_grow(db, &p, &old, &r)) == 0) {
            elig_index_close(old, false);
            g = (struct elig_proto_grown){ r.before.capacity, r.after.capacity,
                                           r.records,         r.lsn,
                                           r.segment_bytes,   (uint64_t)(r.seconds * 1000),
                                           r.was_full };
        }
    }
    elig_db_close(db);
    if (rc == -ENOSPC)
        fprintf(stderr, "eligctl: grow: no room in the segment's file system for a second, larger "
                        "segment beside the live one (both are needed until the swap; df on the "
                        "segment's directory, /dev/shm by default): free memory there, or grow by "
                        "less\n");
    else if (rc < 0)
        fprintf(stderr, "eligctl: grow: %s\n", elig_net_strerror(rc));
    else
        printf("grown from %llu to %llu records: %llu records %s at LSN %llu in %.2f s, "
               "segment %llu bytes\n",
               (unsigned long long)g.capacity_before, (unsigned long long)g.capacity_after,
               (unsigned long long)g.records,
               g.was_full ? "rebuilt from snapshot and log (it was full)" : "copied",
               (unsigned long long)g.lsn, (double)g.ms / 1000, (unsigned long long)g.segment_bytes);
    return rc < 0 ? EXIT_USAGE : 0;
}

static const struct command commands[] = {
    { "feed check", 2, cmd_feed_check, "FILE...",
      "validate insurer feed files; report every bad line as FILE:LINE: FIELD: REASON\n"
      "and count the good ones",
      false },
    { "feed query", 2, cmd_feed_query, "FILE... QUERY",
      "apply the feed files in order (in memory) and answer one check as the rules would", true },
    { "append", 1, cmd_append,
      "--data DIR --segment PATH [--capacity N] [--key-strings N] [--truncate-tail]\n"
      "[--rebuild-segment] [--entered YYYY-MM-DD] FILE...\n"
      "| --admin SOCKET [--entered YYYY-MM-DD] FILE...",
      "make the feed files' events durable in the log under DIR and apply them to the\n"
      "index at PATH (warm or cold start first), or send them to a running eligd; refused\n"
      "events as FILE:LINE: REASON; run again after a failure, nothing is applied twice;\n"
      "--entered: the day the feed was received, when loading it later (registration lag\n"
      "counts from it; default: now)",
      false },
    { "snapshot", 1, cmd_snapshot, "--data DIR --segment PATH | --admin SOCKET",
      "write a snapshot of the index, delete the log it covers", false },
    { "bootstrap", 1, cmd_bootstrap,
      "--data DIR --snapshot FILE --cluster URLS [--stream NAME] [--capacity N]",
      "make a new cluster node's store in DIR from a peer's snapshot (taken with\n"
      "snapshot --admin on a node: its stream position is beside it); refused when the\n"
      "stream no longer holds what follows it; then start eligd --cluster on DIR",
      false },
    { "grow", 1, cmd_grow,
      "[SIZES] --data DIR --segment PATH | [SIZES] --admin SOCKET\n"
      "SIZES: [--capacity N] [--persons N] [--cards N] [--names N] [--key-strings N]",
      "build a larger index beside the live segment and move to it: --capacity N records\n"
      "(default twice the current), other sizes grown in proportion unless given; through\n"
      "--admin eligd answers from the old index meanwhile; a full store is rebuilt from\n"
      "snapshot and log and takes updates again",
      false },
    { "verify", 1, cmd_verify, "--data DIR --segment PATH",
      "rebuild the index from snapshot and log aside and compare it with the segment,\n"
      "item by item",
      false },
    { "lookup", 1, cmd_lookup, "--segment PATH QUERY",
      "answer one check from an index, attached read-only", true },
    { "query", 1, cmd_query,
      "--server HOST:PORT[,HOST:PORT...] --facility CODE [--key-file FILE | TLS] QUERY\n"
      "TLS: --tls-cert FILE --tls-key FILE --tls-ca FILE",
      "answer one check through a running eligd's facility port (HELLO/AUTH with the\n"
      "facility's key unless eligd trusts the network; over TLS its certificate instead);\n"
      "several servers (nodes with the same data): the first that answers",
      true },
    { "ping", 1, cmd_ping,
      "--server HOST:PORT[,HOST:PORT...] [--facility CODE --key-file FILE | TLS]\n"
      "| --admin SOCKET [--wait SECONDS]",
      "round trip to a running eligd; --wait: first wait (bounded) until it answers", false },
    { "server-stats", 1, cmd_server_stats,
      "--server HOST:PORT[,HOST:PORT...] [--facility CODE --key-file FILE | TLS]\n"
      "| --admin SOCKET",
      "a running eligd's counters (the admin socket's include the store's)", false },
    { "dump", 1, cmd_dump, "SEGMENT",
      "every record, card link and insurer name of an index, as TSV (personal data:\n"
      "handle the output as such)",
      false },
    { "list submit", 2, cmd_list_submit,
      "--server ADDR:PORT --facility CODE (--key-file FILE | TLS) [--date YYYY-MM-DD] FILE",
      "hand in an appointment list (up to 10,000 lines of TAB-separated insurer, symbol,\n"
      "number, branch, birth date [, date of service]) to be checked in the background;\n"
      "prints its reception number",
      false },
    { "list fetch", 2, cmd_list_fetch,
      "--server ADDR:PORT --facility CODE (--key-file FILE | TLS) --reception N [--wait S]",
      "the answers of a list handed in, one TSV line an entry, once it is checked\n"
      "(--wait: up to S seconds for it); exit 1 while it is not done yet",
      false },
    { "disaster on", 2, cmd_disaster_on, "--data DIR --prefectures 13,14 --until YYYY-MM-DDTHH:MM",
      "declare disaster mode: facilities in those prefectures may look patients up by\n"
      "kana name, birth date and sex until then (eligd takes it within a second)",
      false },
    { "disaster off", 2, cmd_disaster_off, "--data DIR", "end disaster mode now", false },
    { "disaster status", 2, cmd_disaster_status, "--data DIR", "the declaration in force, if any",
      false },
    { "person", 1, cmd_person,
      "--server ADDR:PORT --facility CODE (--key-file FILE | TLS) --family-kana KANA\n"
      "[--given-kana KANA] --birth YYYY-MM-DD --sex male|female [--prefecture NN]\n"
      "[--reason 1|2|3] [--date YYYY-MM-DD] [--consent]",
      "in a declared disaster, a patient without card or number: at most 3 persons,\n"
      "each answered as a card check; reason 1 evacuated without card, 2 card lost,\n"
      "3 the patient cannot tell",
      false },
    { "report lag", 2, cmd_report_lag, "--data DIR --month YYYY-MM [--csv FILE] [--png FILE]",
      "registration lag of the events entered in that month, per insurer: days from\n"
      "their effective date to their entry, in buckets, and how many were late (over 5\n"
      "days; changes 10), as CSV (standard output, or --csv) and a PNG drawn by gnuplot",
      false },
    { "report population", 2, cmd_report_population, "SEGMENT",
      "the population the segment holds today: records in force by relation and sex, and\n"
      "how many have a name outside JIS X 0208 (counts only, no personal data)",
      false },
    { "stats", 1, cmd_stats, "SEGMENT",
      "attach an index segment read-only and print its occupancy (never blocks or\n"
      "disturbs its writer)",
      false },
    { "facility", 1, cmd_facility, "add|rotate|revoke|list|sign ...",
      "the facility registry: who may connect, with which key (a new key is shown\n"
      "once) and, with --ca, which TLS certificate; eligctl facility --help for more",
      false },
    { "ca init", 2, cmd_ca_init, "--dir DIR [--name NAME] [--days N]",
      "make the clearinghouse's certificate authority in DIR (ca.key, mode 0600, and\n"
      "ca.crt, which eligd's --tls-ca and every facility's client trust)",
      false },
    { "ca server", 2, cmd_ca_server,
      "--dir DIR --name HOST --key-out FILE --cert-out FILE [--days N]",
      "issue eligd's TLS certificate for HOST (the name or IP address facilities\n"
      "connect to) and its key (eligd --tls-cert, --tls-key)",
      false },
    { "key", 1, cmd_key, "INSURER SYMBOL NUMBER [BRANCH]",
      "print the canonical form of an insurance-number key", false },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char query_help[] =
    "QUERY, by insurance number:\n"
    "  --insurer N --symbol S --number N [--branch B] --birth YYYY-MM-DD\n"
    "QUERY, by card:\n"
    "  --card HEX16\n"
    "and for both:\n"
    "  [--date YYYY-MM-DD]  date of service (default: today)\n"
    "  [--consent]          the patient consents to disclose the limit category\n";

/* Print text with every line indented by indent spaces. */
static void print_indented(FILE *out, const char *text, int indent)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(out, "%*s%.*s\n", indent, "", len, p);
        p += len + (nl != NULL);
    }
}

/* "NAME SYNOPSIS", its further lines under the first argument. */
static void print_synopsis(FILE *out, const char *lead, const struct command *c)
{
    int at = fprintf(out, "%s%s ", lead, c->name);
    const char *nl = strchr(c->synopsis, '\n');
    int len = nl ? (int)(nl - c->synopsis) : (int)strlen(c->synopsis);
    fprintf(out, "%.*s\n", len, c->synopsis);
    if (nl)
        print_indented(out, nl + 1, at);
}

static void command_usage(FILE *out, const struct command *c)
{
    print_synopsis(out, "usage: eligctl ", c);
    fputc('\n', out);
    print_indented(out, c->about, 0);
    if (c->query)
        fprintf(out, "\n%s", query_help);
    if (c->run == cmd_facility)
        fac_usage_to(out);
}

static void usage(FILE *out)
{
    fputs("usage: eligctl [--help] [--version] COMMAND [ARGS]   (eligctl COMMAND --help: its own)\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        print_synopsis(out, "  ", &commands[i]);
        print_indented(out, commands[i].about, 6);
    }
    fprintf(out,
            "\n%s\n"
            "Exit status: 0 success; 1 feed check rejected lines, an append refused events, or\n"
            "key found the key invalid; 2 usage or system error (the reason on stderr).\n",
            query_help);
}

/* The command named by argv[1] (and argv[2]), or NULL. */
static const struct command *find_command(int argc, char **argv)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct command *c = &commands[i];
        const char *space = strchr(c->name, ' ');
        if (c->words == 1 && strcmp(argv[1], c->name) == 0)
            return c;
        if (c->words == 2 && argc >= 3 &&
            strncmp(argv[1], c->name, (size_t)(space - c->name)) == 0 &&
            argv[1][space - c->name] == '\0' && strcmp(argv[2], space + 1) == 0)
            return c;
    }
    return NULL;
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
    const struct command *c = find_command(argc, argv);
    if (c) {
        for (int i = 1 + c->words; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                command_usage(stdout, c);
                return 0;
            }
        char name[64];
        snprintf(name, sizeof name, "eligctl %s", c->name);
        argv[c->words] = name; /* what the command's messages start with */
        return c->run(argc - c->words, argv + c->words);
    }
    if (strcmp(cmd, "feed") == 0) {
        fprintf(stderr, "eligctl: feed needs a subcommand: check or query (eligctl --help)\n");
        return EXIT_USAGE;
    }
    fprintf(stderr, "eligctl: unknown command '%s' (eligctl --help lists them)\n", cmd);
    return EXIT_USAGE;
}
