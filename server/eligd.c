/* SPDX-License-Identifier: MIT */
/*
 * eligd: the eligibility server's main program.
 *
 * Design: parse options, open the store (warm or cold start, elig_db),
 * start the network loops (elig_srv), then the main thread does nothing but
 * wait for signals with sigwaitinfo(): SIGTERM/SIGINT stop the server
 * gracefully (answers in flight are finished, exit 0), SIGHUP reopens the
 * message log. Signals are blocked in every thread before any starts, so
 * no handler runs inside a worker and nothing is async-signal-unsafe.
 *
 * "--attach SEGMENT" serves an existing index read-only, without the store
 * or the admin side: for benchmarks and for a read replica of a segment
 * another process keeps up to date.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elig_config.h"
#include "elig_cluster.h"
#include "elig_access.h"
#include "elig_bq.h"
#include "elig_conf.h"
#include "elig_addr.h"
#include "elig_db.h"
#include "elig_net_error.h"
#include "elig_notify.h"
#include "elig_opt.h"
#include "elig_fac.h"
#include "elig_http.h"
#include "elig_index.h"
#include "elig_proto.h"
#include "elig_slog.h"
#include "elig_srv.h"
#include "elig_udp.h"
#if ELIG_HAVE_DPDK
#include "elig_dpdk.h"
#include "elig_text.h"
#endif

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fputs("usage: eligd --data DIR --segment PATH [options]\n"
          "       eligd --attach SEGMENT [options]\n"
          "\n"
          "Serves eligibility checks over the binary protocol (docs/protocol.md).\n"
          "\n"
          "  --data DIR             store: log, snapshots, rejects (created if missing)\n"
          "  --segment PATH         the shared index segment (tmpfs or hugetlbfs)\n"
          "  --capacity N           records the index holds: for a new store (default\n"
          "                         1000000); a made store keeps what DATA/store records\n"
          "  --key-strings N        keys whose symbol or number is not a short decimal string\n"
          "                         it can hold (default capacity / 64 + 4096)\n"
          "  --pages small|huge|auto page policy of a new segment (default auto)\n"
          "  --truncate-tail        cut the log at a corrupt record (and all after it); a torn\n"
          "                         tail is cut without it (both reported)\n"
          "  --rebuild-segment      rebuild a segment that holds updates the log does not\n"
          "                         (refused without it: a wrong --data or --segment?)\n"
          "  --attach SEGMENT       serve an existing segment read-only (no store, no admin)\n"
          "  --listen HOST:PORT     facility port (default 127.0.0.1:7700; [::1]:7700 for IPv6;\n"
          "                         a host name; PORT 0 = any); not loopback: TLS, or\n"
          "                         --plaintext\n"
          "  --tls-cert FILE        TLS 1.3 on the facility port: eligd's certificate (PEM)\n"
          "  --tls-key FILE         its private key (PEM)\n"
          "  --tls-ca FILE          the CA of facility certificates: a connection is the\n"
          "                         facility its certificate names (eligctl ca, facility)\n"
          "  --plaintext            serve a non-loopback --listen without TLS (warned)\n"
          "  --tls-handshakes N     TLS handshakes in progress per worker (default 128)\n"
          "  --tls-handshake-rate N handshakes a second one source address may start, in\n"
          "                         bursts of 2N (default 50); past either: closed at once\n"
          "  --admin-socket PATH    admin Unix socket (default DIR/eligd.sock)\n"
          "  --admin-listen ADDR:PORT  also serve admin on TCP (loopback only unless\n"
          "                         --admin-any); clients authenticate with the admin key\n"
          "  --admin-key FILE       that key, 64 hex digits (default DIR/admin.key, made\n"
          "                         with mode 0600 on first use)\n"
          "  --workers N            worker threads (default: one per core)\n"
          "  --max-conns N          facility connections in all (default 4096)\n"
          "  --conn-memory-mb N     MiB the buffers of all connections may hold; past it new\n"
          "                         ones are refused busy, the greediest closed (default:\n"
          "                         an eighth of physical memory)\n"
          "  --frame-timeout-ms N   a started frame must complete within N ms (default 10000)\n"
          "  --idle-timeout-ms N    close connections idle N ms (default 0: never)\n"
          "  --log-file PATH        messages to PATH (SIGHUP reopens it); default stderr\n"
          "  --cluster URLS         a cluster node: updates go through the replicated stream\n"
          "                         on these NATS servers (nats://HOST:PORT,...), and every\n"
          "                         node applies it (docs/operations.md, \"A cluster\")\n"
          "  --stream NAME          the cluster's stream (default ELIGD)\n"
          "  --stream-replicas N    its replicas, when this node makes it (default 3)\n"
          "  --stream-max-chunks N  its retention in chunks, when this node makes it (default:\n"
          "                         all kept)\n"
          "  --max-lag N            a cluster node answers checks BEHIND while the stream is\n"
          "                         more than N messages (chunks) ahead of it (default 100)\n"
          "  --metrics-listen HOST:PORT  serve /metrics (Prometheus) and /healthz over HTTP\n"
          "                         there (off by default; loopback unless you say otherwise)\n"
          "  --facilities PATH      facility registry (default DIR/facilities; eligctl\n"
          "                         facility manages it): connections must HELLO/AUTH\n"
          "  --trust-network        ask no key of facilities (benchmarks, a network that is\n"
          "                         the only guard); --attach needs this or --facilities\n"
          "  --facility-rate R      checks per second a facility may make (default 50)\n"
          "  --facility-burst B     checks it may make at once (default 2000)\n"
          "  --facility-conns N     connections a facility may hold open (default 16)\n"
          "  --audit DIR            audit log of every check, encrypted, for POSTHOC reads\n"
          "                         (default DIR/audit with --data; none with --attach)\n"
          "  --no-audit             keep no audit log (benchmarks)\n"
          "  --lists DIR            appointment lists handed in (LIST_SUBMIT) and their\n"
          "                         answers (default DIR/lists with --data; none with --attach)\n"
          "  --dpdk-addr A.B.C.D:PORT  also serve UDP on a DPDK port at this address\n"
          "                         (kernel bypass; docs/operations.md \"DPDK\")\n"
          "  --dpdk-eal \"ARGS\"      EAL arguments: lcores, memory, --vdev or a bound NIC\n"
          "  --dpdk-port N          DPDK port to serve (default 0)\n"
          "  --dpdk-mtu N           IP MTU asked of the port (default 9000)\n"
          "  --config FILE          read options from FILE first (INI: each option a key of\n"
          "                         its name, \"capacity = 1000000\"); flags given override it;\n"
          "                         SIGHUP reads it again (docs/operations.md, \"Config\")\n"
          "  --check-config         check the options and files, print the effective\n"
          "                         configuration, exit (the store is not opened)\n"
          "  --help, --version\n",
          out);
}

struct options {
    struct elig_db_params db;
    struct elig_srv_params srv;
    const char *attach;
    const char *log_file;
    const char *dpdk_addr, *dpdk_eal;
    struct elig_access_params access;
    bool trust_network, no_audit;
    const char *audit_dir, *admin_key_file;
    const char *lists_dir;
    char lists_path[4096], disaster_path[4096];
    uint8_t admin_key[ELIG_FKEY_LEN];
    char admin_key_path[4096];
    const char *admin_key_new; /* a key made now: written here once eligd serves */
    char registry_path[4096], audit_path[4096];
    unsigned dpdk_port, dpdk_mtu;
    char admin_path[4096];
    bool truncate_tail, version; /* options read into other fields once parsed */
    const char *tls_cert, *tls_key, *tls_ca;
    bool plaintext;
    unsigned conn_memory_mb;
    const char *metrics_listen;
    const char *cluster, *stream; /* a cluster node: the NATS servers, the stream */
    unsigned stream_replicas;
    unsigned max_lag;
    uint64_t stream_max_chunks;
    const char *config; /* the configuration file, read before the command line */
    bool check_config;
    struct elig_conf *conf; /* the strings of the file's values */
};

/* eligd's options: one row each (the usage above says what each is for). */
#define O(kind, name, ...) ELIG_OPT_##kind(name, struct options, __VA_ARGS__)
static const struct elig_opt eligd_opts[] = {
    O(S, "data", db.data_dir),
    O(S, "segment", db.segment_path),
    O(U, "capacity", db.index.capacity, 1, 1ull << 31),
    O(U, "key-strings", db.index.key_strings, 1, (1ull << 31) - 1),
    O(C, "pages", db.index.pages, elig_seg_pages_names),
    O(F, "truncate-tail", truncate_tail),
    O(F, "rebuild-segment", db.rebuild_segment),
    O(S, "attach", attach),
    O(S, "listen", srv.listen),
    O(S, "admin-socket", srv.admin_socket),
    O(S, "admin-listen", srv.admin_listen),
    O(F, "admin-any", srv.admin_any),
    O(U, "workers", srv.workers, 1, 256),
    O(U, "max-conns", srv.max_conns, 1, 1u << 20),
    O(U, "conn-memory-mb", conn_memory_mb, 1, 1u << 24),
    O(U, "frame-timeout-ms", srv.frame_timeout_ms, 1, 3600000),
    O(U, "idle-timeout-ms", srv.idle_timeout_ms, 0, 86400000),
    O(S, "log-file", log_file),
    O(S, "metrics-listen", metrics_listen),
    O(S, "cluster", cluster),
    O(S, "stream", stream),
    O(U, "stream-replicas", stream_replicas, 1, 5),
    O(U, "max-lag", max_lag, 1, 100000000),
    O(U, "stream-max-chunks", stream_max_chunks, 1, 1ull << 62),
    O(S, "facilities", access.registry),
    O(F, "trust-network", trust_network),
    O(S, "audit", audit_dir),
    O(S, "admin-key", admin_key_file),
    O(F, "no-audit", no_audit),
    O(S, "lists", lists_dir),
    O(D, "facility-rate", access.rate, 1, 100000000),
    O(D, "facility-burst", access.burst, ELIG_PROTO_BATCH_MAX, 100000000), /* a whole BATCH */
    O(U, "facility-conns", access.max_conns, 1, 65536),
    O(S, "dpdk-addr", dpdk_addr),
    O(S, "dpdk-eal", dpdk_eal),
    O(U, "dpdk-port", dpdk_port, 0, 1023),
    O(U, "dpdk-mtu", dpdk_mtu, ELIG_UDP_MTU_MIN, 65535),
    O(S, "tls-cert", tls_cert),
    O(S, "tls-key", tls_key),
    O(S, "tls-ca", tls_ca),
    O(F, "plaintext", plaintext),
    O(U, "tls-handshakes", srv.tls_handshakes, 1, 1u << 20),
    O(U, "tls-handshake-rate", srv.tls_rate, 1, 1000000),
    O(S, "config", config),
    O(F, "check-config", check_config),
    O(F, "version", version),
    ELIG_OPT_END,
};
#undef O

/* Options of the command line only: not keys of the file, not in what --check-config prints. */
static const char *const cmdline_only[] = { "config", "check-config", "version", NULL };

/*
 * What SIGHUP applies when the file changed them; every other key waits for
 * a restart (eligd says which). The facility registry, the TLS files and the
 * message log are read again on every SIGHUP whatever the file says.
 */
static const char *const live_keys[] = { "log-file", "facility-rate", "facility-burst",
                                         "facility-conns", NULL };

/* The FILE of "--config FILE" or "--config=FILE" in argv (before any "--"), or NULL. */
static const char *config_arg(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    return path;
}

/*
 * The options as given: defaults, then the file of --config, then the
 * command line over it. A refused file is told in err. Returns 0,
 * ELIG_OPT_HELP, or non-zero (told: the command line's on stderr).
 */
static int read_options(int argc, char **argv, struct options *o, char *err, size_t err_size)
{
    memset(o, 0, sizeof(*o));
    o->db.index.pages = ELIG_SEG_PAGES_AUTO;
    o->srv.listen = "127.0.0.1:7700";
    err[0] = '\0';
    const char *config = config_arg(argc, argv);
    int rc;
    if (config &&
        (rc = elig_conf_load(config, eligd_opts, cmdline_only, o, &o->conf, err, err_size)))
        return rc;
    int first;
    rc = elig_opt_parse("eligd", eligd_opts, argc, argv, o, &first);
    if (rc == 0 && first != argc) {
        fprintf(stderr, "eligd: %s: eligd takes no operands, only options (eligd --help)\n",
                argv[first]);
        rc = -EINVAL;
    }
    return rc;
}

/*
 * The values of a configuration as elig_opt_format() gives them, one per
 * row of eligd_opts (NULL where unset): what SIGHUP compares a re-read file
 * with. Owned strings, freed by values_free().
 */
struct values {
    char *v[sizeof eligd_opts / sizeof eligd_opts[0]];
};

static void values_free(struct values *vs)
{
    for (size_t i = 0; i < sizeof vs->v / sizeof vs->v[0]; i++)
        free(vs->v[i]);
    memset(vs, 0, sizeof *vs);
}

static int values_of(const struct options *o, struct values *vs)
{
    memset(vs, 0, sizeof *vs);
    char buf[4200];
    for (size_t i = 0; eligd_opts[i].name; i++)
        if (elig_opt_format(&eligd_opts[i], o, buf, sizeof buf) == 0 && !(vs->v[i] = strdup(buf))) {
            values_free(vs);
            return -ENOMEM;
        }
    return 0;
}

static bool listed(const char *const *names, const char *name)
{
    for (; *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

static int parse_options(int argc, char **argv, struct options *o, struct values *given)
{
    char err[512];
    int rc = read_options(argc, argv, o, err, sizeof err);
    if (rc == ELIG_OPT_HELP) {
        usage(stdout);
        exit(0);
    }
    if (rc) {
        if (err[0])
            fprintf(stderr, "eligd: %s\n", err);
        return EXIT_USAGE;
    }
    if (o->version) {
        printf("eligd %s\n", ELIG_VERSION);
        exit(0);
    }
    if (values_of(o, given)) {
        fputs("eligd: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    if (o->truncate_tail)
        o->db.tail = ELIG_LOG_TAIL_TRUNCATE;
    o->srv.conn_memory = (uint64_t)o->conn_memory_mb << 20;
    if ((o->attach != NULL) == (o->db.data_dir != NULL || o->db.segment_path) ||
        (!o->attach && (!o->db.data_dir || !o->db.segment_path))) {
        fputs(o->attach ? "eligd: --attach serves a segment as it is: without --data and "
                          "--segment\n"
                        : "eligd: give --data DIR and --segment PATH (or --attach PATH); eligd "
                          "--help\n",
              stderr);
        return EXIT_USAGE;
    }
    struct elig_addr sa;
    rc = elig_addr_resolve(o->srv.listen, true, &sa);
    bool loopback = rc == 0 && elig_addr_is_loopback(&sa);
    if (rc == 0)
        rc = elig_addr_free(&sa);
    if (rc) { /* refused before the store is opened or anything is written */
        fprintf(stderr, "eligd: --listen %s: %s%s\n", o->srv.listen, elig_net_strerror(rc),
                rc == -EADDRINUSE ? " (another eligd, or another program, serves it: stop it "
                                    "or choose another port)"
                                  : "");
        return EXIT_USAGE;
    }
    bool tls = o->tls_cert || o->tls_key || o->tls_ca;
    if (tls && !(o->tls_cert && o->tls_key && o->tls_ca)) {
        fputs("eligd: TLS needs all three of --tls-cert, --tls-key and --tls-ca\n", stderr);
        return EXIT_USAGE;
    }
    if (tls && o->plaintext) {
        fputs("eligd: --plaintext and the --tls-* options exclude each other\n", stderr);
        return EXIT_USAGE;
    }
    if (!loopback && !tls && !o->plaintext) {
        fprintf(stderr,
                "eligd: --listen %s is not a loopback address: names, birth dates and insurance "
                "numbers would cross the network in clear; give --tls-cert, --tls-key and "
                "--tls-ca (docs/operations.md, \"TLS\"), or --plaintext to accept that\n",
                o->srv.listen);
        return EXIT_USAGE;
    }
    if (o->srv.admin_listen && (rc = elig_addr_resolve(o->srv.admin_listen, true, &sa))) {
        fprintf(stderr, "eligd: --admin-listen %s: %s\n", o->srv.admin_listen,
                elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    if (o->metrics_listen && (rc = elig_addr_resolve(o->metrics_listen, true, &sa))) {
        fprintf(stderr, "eligd: --metrics-listen %s: %s\n", o->metrics_listen,
                elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    if (o->srv.admin_listen && !elig_addr_is_loopback(&sa) && !o->srv.admin_any) {
        fprintf(stderr,
                "eligd: --admin-listen %s is not a loopback address: serve admin there only with "
                "--admin-any (clients must hold the admin key)\n",
                o->srv.admin_listen);
        return EXIT_USAGE;
    }
    if ((o->dpdk_eal || o->dpdk_port || o->dpdk_mtu) && !o->dpdk_addr) {
        fputs("eligd: the --dpdk-* options need --dpdk-addr\n", stderr);
        return EXIT_USAGE;
    }
    if (o->dpdk_addr && !ELIG_HAVE_DPDK) {
        fputs("eligd: built without DPDK (meson -Ddpdk=enabled with libdpdk-dev)\n", stderr);
        return EXIT_USAGE;
    }
    if (o->trust_network && o->access.registry) {
        fputs("eligd: --trust-network and --facilities exclude each other\n", stderr);
        return EXIT_USAGE;
    }
    if (o->attach && !o->trust_network && !o->access.registry) {
        fputs("eligd: --attach needs --facilities PATH or --trust-network\n", stderr);
        return EXIT_USAGE;
    }
    if ((o->stream || o->stream_replicas || o->max_lag || o->stream_max_chunks) && !o->cluster) {
        fputs("eligd: --stream, --stream-replicas, --stream-max-chunks and --max-lag need "
              "--cluster\n",
              stderr);
        return EXIT_USAGE;
    }
    if (o->cluster && o->attach) {
        fputs("eligd: --cluster needs a store (--data, --segment): an --attach node applies "
              "nothing\n",
              stderr);
        return EXIT_USAGE;
    }
    if (o->no_audit && o->audit_dir) {
        fputs("eligd: --audit and --no-audit exclude each other\n", stderr);
        return EXIT_USAGE;
    }
    if (!o->no_audit && !o->audit_dir && !o->attach) {
        snprintf(o->audit_path, sizeof o->audit_path, "%s/audit", o->db.data_dir);
        o->audit_dir = o->audit_path;
    }
    if (!o->attach) {
        snprintf(o->disaster_path, sizeof o->disaster_path, "%s/disaster", o->db.data_dir);
        o->srv.disaster = o->disaster_path;
    }
    if (!o->lists_dir && !o->attach) {
        snprintf(o->lists_path, sizeof o->lists_path, "%s/lists", o->db.data_dir);
        o->lists_dir = o->lists_path;
    }
    if (!o->trust_network && !o->access.registry) {
        snprintf(o->registry_path, sizeof o->registry_path, "%s/facilities", o->db.data_dir);
        o->access.registry = o->registry_path;
    }
    if (!o->attach && !o->srv.admin_socket) {
        snprintf(o->admin_path, sizeof(o->admin_path), "%s/eligd.sock", o->db.data_dir);
        o->srv.admin_socket = o->admin_path;
    }
    if (o->tls_cert) { /* the files are read now: a wrong one is refused before the store is opened
                        */
        struct elig_tls_params tp = {
            .role = ELIG_TLS_SERVER, .cert = o->tls_cert, .key = o->tls_key, .ca = o->tls_ca
        };
        if ((rc = elig_tls_ctx_new(&tp, &o->srv.tls, err, sizeof err))) {
            fprintf(stderr, "eligd: TLS: %s\n", rc == -ENOMEM ? "out of memory" : err);
            return EXIT_USAGE;
        }
    }
    if (o->check_config) { /* everything above passed: say what eligd would run with */
        printf("# eligd %s: the effective configuration (%s%s), checked\n", ELIG_VERSION,
               o->config ? o->config : "no file", o->config ? ", then the command line" : "");
        rc = elig_conf_print(stdout, eligd_opts, cmdline_only, o);
        elig_tls_ctx_free(o->srv.tls);
        elig_conf_free(o->conf);
        values_free(given);
        exit(rc ? 1 : 0);
    }
    return 0;
}

static void log_start_line(void *ctx, bool warning, const char *line)
{
    (void)ctx;
    elig_slog(warning ? ELIG_SLOG_WARN : ELIG_SLOG_INFO, "%s", line);
}

static void log_error_line(void *ctx, bool warning, const char *line)
{
    (void)ctx;
    (void)warning;
    elig_slog(ELIG_SLOG_ERROR, "%s", line);
}

/*
 * A cold start's progress as the service manager's status line (systemctl
 * status eligd): the phase, how far, and when it should end; at most one a
 * second.
 */
struct start_told {
    double told;         /* when the last line went */
    double replay_began; /* when the replay began */
};

static void start_progress(void *ctx, const struct elig_db_progress *p)
{
    struct start_told *t = ctx;
    bool begins = p->lsn == p->first_lsn;
    if (!begins && p->seconds - t->told < 1.0)
        return;
    t->told = p->seconds;
    if (strcmp(p->phase, "snapshot") == 0) {
        elig_notify_status("cold start: loading the snapshot of LSN %llu",
                           (unsigned long long)p->snapshot);
        return;
    }
    if (begins)
        t->replay_began = p->seconds;
    uint64_t done = p->lsn - p->first_lsn, left = p->last_lsn - p->lsn;
    double spent = p->seconds - t->replay_began;
    if (done == 0 || spent <= 0)
        elig_notify_status("start: replaying the log, LSN %llu to %llu",
                           (unsigned long long)p->first_lsn, (unsigned long long)p->last_lsn);
    else
        elig_notify_status("start: replaying the log, LSN %llu of %llu (%.0f%%), %.0f s left",
                           (unsigned long long)p->lsn, (unsigned long long)p->last_lsn,
                           100.0 * (double)done / (double)(done + left),
                           (double)left * spent / (double)done);
}

/* Open what will be served: the store, or an attached segment. */
static int open_data(struct options *o, struct elig_db **db, struct elig_index **ix)
{
    if (o->attach) {
        int rc = elig_index_open(o->attach, ELIG_SEG_READONLY, ix);
        if (rc)
            elig_slog(ELIG_SLOG_ERROR, "%s: %s", o->attach, elig_net_strerror(rc));
        o->srv.ix = *ix;
        return rc;
    }
    struct elig_db_start st;
    struct start_told told = { 0 };
    o->db.progress = start_progress;
    o->db.progress_ctx = &told;
    elig_notify_status("start: opening the store in %s", o->db.data_dir);
    int rc = elig_db_open(&o->db, db, &st);
    o->db.progress = NULL;
    if (rc) {
        if (elig_db_open_report(rc, &st, log_error_line, NULL) == 0)
            elig_slog(ELIG_SLOG_ERROR, "%s: %s", o->db.data_dir, elig_net_strerror(rc));
        return rc;
    }
    elig_db_start_report(&st, log_start_line, NULL);
    o->srv.db = *db;
    return 0;
}

/*
 * The UDP datapath on a DPDK port, when asked for: NULL without it.
 * Appends " dpdk_mac=.. dpdk_mtu=.." to ready (the line on stdout).
 */
static int start_dpdk(const struct options *o, struct elig_live *live, void **out, char *ready,
                      size_t cap)
{
    *out = NULL;
    if (!o->dpdk_addr)
        return 0;
#if ELIG_HAVE_DPDK
    struct elig_dpdk_params p = {
        .eal_args = o->dpdk_eal,
        .addr = o->dpdk_addr,
        .port_id = (uint16_t)o->dpdk_port,
        .mtu = o->dpdk_mtu,
        .live = live,
        .audit = o->srv.audit,
        .cluster = o->srv.cluster,
        .max_lag = o->srv.max_lag,
    };
    struct elig_dpdk *d;
    int rc = elig_dpdk_start(&p, &d);
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "cannot serve UDP on DPDK port %u: %s", o->dpdk_port,
                  elig_net_strerror(rc));
        return rc;
    }
    struct elig_dpdk_info in;
    elig_dpdk_info(d, &in);
    char mac[18];
    elig_udp_format_mac(in.mac, mac);
    elig_slog(ELIG_SLOG_INFO, "serving UDP on DPDK port %u (%s) at %s, MAC %s, MTU %u, %u queue(s)",
              o->dpdk_port, in.driver, o->dpdk_addr, mac, in.mtu, in.queues);
    size_t len = strlen(ready);
    snprintf(ready + len, cap - len, " dpdk_mac=%s dpdk_mtu=%u", mac, in.mtu);
    *out = d;
    return 0;
#else
    (void)db, (void)ix, (void)ready, (void)cap;
    return -ENOTSUP;
#endif
}

#if ELIG_HAVE_DPDK
/* The UDP datapath's series on the metrics endpoint. */
static int dpdk_metrics(const void *dp, struct elig_pbuf *out)
{
    return elig_dpdk_metrics(dp, out);
}
#endif

/* The metrics endpoint reports the server, and the UDP datapath when there is one. */
static void serve_metrics(struct elig_http *http, const struct elig_srv *srv, const void *dpdk)
{
    if (!http)
        return;
#if ELIG_HAVE_DPDK
    if (dpdk)
        elig_http_add_source(http, dpdk_metrics, dpdk);
#else
    (void)dpdk;
#endif
    elig_http_serve(http, srv);
}

static void stop_dpdk(void *dp)
{
#if ELIG_HAVE_DPDK
    if (!dp)
        return;
    struct elig_dpdk *d = dp;
    struct elig_dpdk_stats st;
    elig_dpdk_stop(d);
    elig_dpdk_wait(d, &st);
    uint64_t dropped = st.dropped_segmented;
    for (int r = 0; r < ELIG_UDP_DROP_COUNT; r++)
        dropped += st.dropped[r];
    elig_slog(ELIG_SLOG_INFO,
              "DPDK port stopped: %llu frames received, %llu dropped, %llu datagrams, %llu "
              "checks, %llu answers sent, %llu not sent",
              (unsigned long long)st.rx_packets, (unsigned long long)dropped,
              (unsigned long long)st.datagrams, (unsigned long long)st.check.checks,
              (unsigned long long)st.tx_packets, (unsigned long long)st.tx_dropped);
#else
    (void)dp;
#endif
}

/*
 * A cluster node, before its store is opened: connected to the stream, its
 * position read and found within the stream (a node the stream has left
 * behind is refused here, before anything is written).
 */
static int open_cluster(struct options *o, struct elig_cluster **out)
{
    char err[768];
    struct elig_cluster_params cp = { .servers = o->cluster,
                                      .stream = o->stream,
                                      .replicas = (int)o->stream_replicas,
                                      .max_chunks = o->stream_max_chunks,
                                      .data_dir = o->db.data_dir };
    int rc = elig_cluster_open(&cp, out, err, sizeof err);
    if (rc)
        elig_slog(ELIG_SLOG_ERROR, "cluster %s: %s", o->cluster, err);
    return rc;
}

/* Its applier, on the opened store. */
static int start_cluster(struct options *o, struct elig_cluster *c, struct elig_db *db)
{
    int rc = elig_cluster_start(c, db);
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "cluster: the applier did not start: %s", elig_net_strerror(rc));
        return rc;
    }
    struct elig_cluster_state st;
    elig_cluster_state(c, &st);
    elig_slog(ELIG_SLOG_INFO,
              "cluster node: stream %s on %s, applied through sequence %llu; updates go "
              "through the stream",
              o->stream ? o->stream : "ELIGD", o->cluster, (unsigned long long)st.applied);
    o->srv.cluster = c;
    o->srv.max_lag = o->max_lag ? o->max_lag : 100;
    return 0;
}

/* Who may ask: the facility registry, or a trusted network. */
static int open_access(struct options *o, struct elig_access **acc)
{
    int rc = elig_access_open(&o->access, acc);
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "facility registry %s: %s", o->access.registry,
                  elig_net_strerror(rc));
        return rc;
    }
    o->srv.access = *acc;
    if (o->trust_network) {
        elig_slog(ELIG_SLOG_WARN, "--trust-network: facilities are not asked for a key");
        return 0;
    }
    uint64_t gen;
    const struct elig_fac_registry *r = elig_access_acquire(*acc, &gen);
    size_t n = elig_fac_count(r), active = 0;
    for (size_t i = 0; i < n; i++)
        active += !elig_fac_at(r, i)->revoked;
    elig_access_release(*acc, r);
    elig_slog(active ? ELIG_SLOG_INFO : ELIG_SLOG_WARN,
              "facility registry %s: %zu facilities, %zu active%s", o->access.registry, n, active,
              active ? "" : " (no facility can connect: eligctl facility add)");
    return 0;
}

/*
 * The admin key for --admin-listen: read, or made on first use (written,
 * mode 0600, by save_admin_key() once the listeners are bound: a start
 * that is refused leaves no key behind).
 */
static int admin_key(struct options *o)
{
    if (!o->srv.admin_listen || o->attach)
        return 0;
    const char *path = o->admin_key_file;
    if (!path) {
        snprintf(o->admin_key_path, sizeof o->admin_key_path, "%s/admin.key", o->db.data_dir);
        path = o->admin_key_path;
    }
    int rc = elig_fkey_init();
    if (rc == 0 && (rc = elig_fkey_read(path, o->admin_key)) == -ENOENT) {
        elig_fac_challenge(o->admin_key); /* first use: a new random key */
        o->admin_key_new = path;
        rc = 0;
    }
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "admin key %s: %s", path,
                  rc == -EINVAL ? "not 64 hex digits" : elig_net_strerror(rc));
        return rc;
    }
    o->srv.admin_key = o->admin_key;
    return 0;
}

static int save_admin_key(const struct options *o)
{
    if (!o->admin_key_new)
        return 0;
    int rc = elig_fkey_write(o->admin_key_new, o->admin_key);
    if (rc)
        elig_slog(ELIG_SLOG_ERROR, "admin key %s: %s", o->admin_key_new, elig_net_strerror(rc));
    else
        elig_slog(ELIG_SLOG_INFO, "admin key made: %s (mode 0600)", o->admin_key_new);
    return rc;
}

/* Appointment lists checked in the background (--lists; DATA/lists; none with --attach). */
static int open_lists(const struct options *o, struct elig_live *live, struct elig_bq **bq)
{
    if (!o->lists_dir)
        return 0;
    int rc = elig_bq_open(&(struct elig_bq_params){ .dir = o->lists_dir, .live = live }, bq);
    if (rc)
        elig_slog(ELIG_SLOG_ERROR, "appointment lists %s: %s", o->lists_dir, elig_net_strerror(rc));
    return rc;
}

/* The audit log, when one is kept. */
static int open_audit(struct options *o, struct elig_audit **audit)
{
    if (!o->audit_dir)
        return 0;
    int rc = elig_audit_open(o->audit_dir, (int64_t)time(NULL), audit);
    if (rc) {
        elig_slog(ELIG_SLOG_ERROR, "audit log %s: %s", o->audit_dir, elig_net_strerror(rc));
        return rc;
    }
    o->srv.audit = *audit;
    elig_slog(ELIG_SLOG_INFO, "audit log in %s (encrypted; kept to the end of the next month)",
              o->audit_dir);
    return 0;
}

/*
 * Attached to a segment another process writes: when that writer grows the
 * index, the old segment is marked replaced; open the path again and move
 * every loop to it. Returns the index now served.
 */
static struct elig_index *follow_grow(const char *path, struct elig_index *ix,
                                      struct elig_live *live)
{
    if (!elig_index_replaced(ix))
        return ix;
    struct elig_index *grown;
    int rc = elig_index_open(path, ELIG_SEG_READONLY, &grown);
    if (rc) { /* the writer may still be renaming: tried again next second */
        elig_slog(ELIG_SLOG_WARN, "%s was replaced but cannot be opened yet: %s", path,
                  elig_net_strerror(rc));
        return ix;
    }
    if (elig_live_swap(live, grown, -1, 10000)) {
        elig_slog(ELIG_SLOG_WARN, "%s: a loop did not move to the grown index in time", path);
        return grown; /* the old mapping stays for it */
    }
    struct elig_index_stats s;
    elig_index_stats(grown, &s);
    elig_slog(ELIG_SLOG_INFO, "%s was grown by its writer: reattached, capacity %llu records", path,
              (unsigned long long)s.capacity);
    elig_index_close(ix, false);
    return grown;
}

/* SIGHUP: eligd's TLS certificate, key and CA read again (renewed files, no restart). */
static void reload_tls(const struct options *o)
{
    if (!o->srv.tls)
        return;
    struct elig_tls_params tp = {
        .role = ELIG_TLS_SERVER, .cert = o->tls_cert, .key = o->tls_key, .ca = o->tls_ca
    };
    char err[512];
    int rc = elig_tls_ctx_reload(o->srv.tls, &tp, err, sizeof err);
    if (rc)
        elig_slog(ELIG_SLOG_ERROR, "SIGHUP: TLS files not reloaded (the old ones stay): %s",
                  rc == -ENOMEM ? "out of memory" : err);
    else
        elig_slog(ELIG_SLOG_INFO, "SIGHUP: TLS certificate %s reloaded: new connections use it",
                  o->tls_cert);
}

/* What SIGHUP needs beyond the options: how eligd was started, and what it runs with. */
struct reload {
    int argc;
    char **argv;
    struct values *given; /* the values in force, as the file and command line gave them */
    struct elig_access *acc;
};

/* A key of the re-read file that SIGHUP applies: 0, or -errno (the old value stays). */
static int apply_live(const char *key, const struct options *n, struct reload *rl)
{
    if (strcmp(key, "log-file") == 0)
        return n->log_file ? elig_slog_reopen(n->log_file) : (elig_slog_close(), 0);
    elig_access_set_limits(rl->acc, n->access.rate, n->access.burst, n->access.max_conns);
    return 0;
}

/*
 * SIGHUP with --config: read the file again (the command line still over it)
 * and apply what may change live; say in the log what changed and what
 * waits for a restart. A refused file changes nothing.
 */
static void reload_config(const struct options *o, struct reload *rl)
{
    if (!o->config)
        return;
    struct options n;
    char err[512];
    if (read_options(rl->argc, rl->argv, &n, err, sizeof err)) {
        elig_slog(ELIG_SLOG_ERROR, "SIGHUP: %s: nothing changed", err[0] ? err : o->config);
        elig_conf_free(n.conf);
        return;
    }
    struct values now;
    if (values_of(&n, &now)) {
        elig_slog(ELIG_SLOG_ERROR, "SIGHUP: out of memory: nothing changed");
        elig_conf_free(n.conf);
        return;
    }
    unsigned changed = 0;
    size_t log_row = (size_t)(elig_opt_find(eligd_opts, "log-file") - eligd_opts);
    for (size_t k = 0; eligd_opts[k].name; k++) {
        size_t i = k == 0 ? log_row : k == log_row ? 0 : k; /* the log first: all lines go there */
        const char *key = eligd_opts[i].name, *was = rl->given->v[i], *is = now.v[i];
        if (listed(cmdline_only, key) || (was && is ? strcmp(was, is) == 0 : was == is))
            continue;
        changed++;
        if (i == log_row)
            elig_slog(ELIG_SLOG_INFO, "SIGHUP: log-file changed in %s: messages go to %s from now",
                      o->config, is ? is : "stderr");
        int rc = listed(live_keys, key) ? apply_live(key, &n, rl) : 1;
        if (rc == 0) {
            free(rl->given->v[i]);
            rl->given->v[i] = now.v[i];
            now.v[i] = NULL;
            elig_slog(ELIG_SLOG_INFO, "SIGHUP: %s changed in %s: applied", key, o->config);
        } else if (rc < 0) {
            elig_slog(ELIG_SLOG_ERROR, "SIGHUP: %s changed in %s: not applied (%s)", key, o->config,
                      elig_net_strerror(rc));
        } else {
            elig_slog(ELIG_SLOG_WARN,
                      "SIGHUP: %s changed in %s: needs a restart (the running value stays)", key,
                      o->config);
        }
    }
    if (!changed)
        elig_slog(ELIG_SLOG_INFO, "SIGHUP: %s read again: no option changed", o->config);
    values_free(&now);
    elig_conf_free(n.conf);
}

/* SIGHUP: the facility registry read again (as eligctl facility reload does). */
static void reload_registry(const struct options *o, struct reload *rl)
{
    if (o->trust_network)
        return;
    size_t count;
    int rc = elig_access_reload(rl->acc, &count);
    if (rc)
        elig_slog(ELIG_SLOG_ERROR,
                  "SIGHUP: facility registry %s not reloaded (the old one "
                  "stays): %s",
                  o->access.registry, elig_net_strerror(rc));
    else
        elig_slog(ELIG_SLOG_INFO, "SIGHUP: facility registry %s reloaded: %zu facilities",
                  o->access.registry, count);
}

/* The service manager's watchdog: pinged while every loop goes round. */
struct watchdog {
    uint64_t usec;      /* WATCHDOG_USEC; 0: none */
    uint64_t pinged_us; /* when last pinged (CLOCK_MONOTONIC) */
    int stuck;          /* the loop last found stuck, or -1 */
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * WATCHDOG=1 when half the interval has passed and every loop ticked within
 * it (at least half a second: a loop ticks every 100 ms). A stuck loop gets
 * no ping, so systemd restarts eligd after WatchdogSec; said once in the log.
 */
static void watchdog_ping(struct watchdog *wd, struct elig_srv *srv)
{
    uint64_t now = mono_us();
    if (!wd->usec || now - wd->pinged_us < wd->usec / 2)
        return;
    uint64_t max_age_ms = wd->usec / 2000 > 500 ? wd->usec / 2000 : 500;
    int stuck = elig_srv_alive(srv, max_age_ms);
    if (stuck >= 0) {
        if (stuck != wd->stuck)
            elig_slog(ELIG_SLOG_ERROR,
                      "loop %d has not gone round for over %llu ms: no watchdog ping (the "
                      "service manager restarts eligd)",
                      stuck, (unsigned long long)max_age_ms);
        wd->stuck = stuck;
        return;
    }
    wd->stuck = -1;
    wd->pinged_us = now;
    elig_notify_watchdog();
}

/*
 * Until SIGTERM or SIGINT. SIGHUP: the configuration file read again, the
 * message log reopened, the facility registry and the TLS files reloaded.
 * Attached: follow grows.
 */
static void wait_signals(const sigset_t *set, const struct options *o, struct reload *rl,
                         struct elig_srv *srv, struct elig_index **ix, struct elig_live *live)
{
    const char *attach = o->attach;
    struct watchdog wd = { .usec = elig_notify_watchdog_usec(), .stuck = -1 };
    for (;;) {
        siginfo_t si;
        uint64_t wait_us = wd.usec && wd.usec / 2 < 1000000 ? wd.usec / 2 : 1000000;
        int sig =
            attach || wd.usec
                ? sigtimedwait(set, &si,
                               &(struct timespec){ .tv_sec = (time_t)(wait_us / 1000000),
                                                   .tv_nsec = (long)(wait_us % 1000000) * 1000 })
                : sigwaitinfo(set, &si);
        if (attach)
            *ix = follow_grow(attach, *ix, live);
        watchdog_ping(&wd, srv);
        if (sig == SIGHUP) {
            int rc = elig_slog_reopen(NULL);
            elig_slog(rc ? ELIG_SLOG_ERROR : ELIG_SLOG_INFO, "SIGHUP: message log %s%s",
                      rc ? "not reopened: " : "reopened", rc ? elig_net_strerror(rc) : "");
            reload_config(o, rl);
            reload_registry(o, rl);
            reload_tls(o);
        } else if (sig == SIGTERM || sig == SIGINT) {
            elig_notify_stopping();
            elig_slog(ELIG_SLOG_INFO, "%s: finishing in-flight requests",
                      sig == SIGTERM ? "SIGTERM" : "SIGINT");
            elig_srv_stop(srv);
            return;
        }
    }
}

/* What main opened, closed in reverse (after the loops and lcores stopped). */
static void close_all(struct elig_http *http, struct elig_cluster *cluster, struct elig_access *acc,
                      struct elig_audit *audit, struct elig_db *db, struct elig_index *ix,
                      struct elig_live *live, struct elig_bq *bq)
{
    elig_http_stop(http);
    elig_cluster_stop(cluster); /* before the store it applies to */
    elig_bq_close(bq);          /* a reader of the live index */
    elig_live_destroy(live);
    elig_access_close(acc);
    elig_audit_close(audit);
    elig_db_close(db);
    elig_index_close(ix, false);
}

/* eligd with its options parsed: until stopped. Returns the exit status. */
static int serve(struct options *op, struct values *given, int argc, char **argv)
{
    struct options o = *op; /* main keeps op for what it frees */
    int rc;
    if (o.log_file && (rc = elig_slog_open(o.log_file))) {
        fprintf(stderr, "eligd: %s: %s\n", o.log_file, elig_net_strerror(rc));
        return EXIT_USAGE;
    }
    elig_slog_tee_errors(true); /* until ready: a failed start is told on stderr too */
    if (o.plaintext)
        elig_slog(ELIG_SLOG_WARN,
                  "--plaintext: facilities' checks (names, birth dates, insurance numbers) cross "
                  "the network on %s in clear",
                  o.srv.listen);
    else if (o.srv.tls)
        elig_slog(ELIG_SLOG_INFO,
                  "facility port: TLS 1.3 with client certificates of %s, ALPN %s, records made "
                  "in user space (no kernel TLS: they go through the io_uring rings)",
                  o.tls_ca, ELIG_TLS_ALPN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct elig_http *http = NULL;
    if (o.metrics_listen &&
        (rc = elig_http_start(&(struct elig_http_params){ .listen = o.metrics_listen }, &http))) {
        fprintf(stderr, "eligd: --metrics-listen %s: %s%s\n", o.metrics_listen,
                elig_net_strerror(rc),
                rc == -EADDRINUSE ? " (another program serves it: choose another port)" : "");
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    if (http)
        elig_slog(ELIG_SLOG_INFO, "metrics on http://%s/metrics (port %u), health on /healthz",
                  o.metrics_listen, elig_http_port(http));
    struct elig_db *db = NULL;
    struct elig_index *ix = NULL;
    struct elig_access *acc = NULL;
    struct elig_audit *audit = NULL;
    struct elig_cluster *cluster = NULL;
    if ((o.cluster && (rc = open_cluster(&o, &cluster))) || (rc = open_data(&o, &db, &ix)) ||
        (cluster && (rc = start_cluster(&o, cluster, db)))) {
        elig_cluster_stop(cluster);
        elig_http_stop(http);
        elig_db_close(db);
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    struct elig_live *live = NULL;
    struct elig_bq *bq = NULL;
    if (elig_live_create(ix ? ix : elig_db_index(db), &live)) {
        elig_slog(ELIG_SLOG_ERROR, "out of memory");
        close_all(http, cluster, acc, audit, db, ix, live, bq);
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    o.srv.live = live;
    if ((rc = open_lists(&o, live, &bq))) {
        close_all(http, cluster, acc, audit, db, ix, live, bq);
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    o.srv.bq = bq;
    struct elig_srv *srv;
    if ((rc = admin_key(&o)) == 0 && (rc = open_access(&o, &acc)) == 0 &&
        (rc = open_audit(&o, &audit)) == 0 && (rc = elig_srv_start(&o.srv, &srv)))
        elig_slog(ELIG_SLOG_ERROR, "cannot serve on %s (admin %s%s%s): %s", o.srv.listen,
                  o.srv.admin_socket ? o.srv.admin_socket : "none",
                  o.srv.admin_listen ? " and " : "", o.srv.admin_listen ? o.srv.admin_listen : "",
                  elig_net_strerror(rc));
    if (rc == 0 && (rc = save_admin_key(&o))) {
        elig_srv_stop(srv);
        elig_srv_wait(srv);
    }
    if (rc) {
        close_all(http, cluster, acc, audit, db, ix, live, bq);
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    char admin[4200] = "no admin";
    if (o.srv.admin_socket)
        snprintf(admin, sizeof(admin), "admin %s%s", o.srv.admin_socket,
                 o.srv.admin_listen ? " and TCP" : "");
    elig_slog(ELIG_SLOG_INFO, "serving facilities on port %u (%s), ring mode %s, eligd %s",
              elig_srv_port(srv), admin, elig_srv_ring_mode(srv), ELIG_VERSION);
    char ready[256];
    snprintf(ready, sizeof ready, "eligd: ready port=%u admin_port=%u metrics_port=%u",
             elig_srv_port(srv), elig_srv_admin_port(srv), http ? elig_http_port(http) : 0);
    void *dpdk;
    if ((rc = start_dpdk(&o, live, &dpdk, ready, sizeof ready))) {
        elig_srv_stop(srv);
        elig_srv_wait(srv);
        close_all(http, cluster, acc, audit, db, ix, live, bq);
        elig_tls_ctx_free(o.srv.tls);
        elig_slog_close();
        return EXIT_USAGE;
    }
    /* one line on stdout for whoever started us (scripts, tests): the ports are known now */
    printf("%s\n", ready);
    fflush(stdout);
    serve_metrics(http, srv, dpdk);
    elig_notify_ready(ready + strlen("eligd: "));
    elig_slog_tee_errors(false);

    struct reload rl = { .argc = argc, .argv = argv, .given = given, .acc = acc };
    wait_signals(&set, &o, &rl, srv, &ix, live);
    elig_http_stop(http); /* before what it reports (the UDP port, the server) is freed */
    http = NULL;
    stop_dpdk(dpdk);
    rc = elig_srv_wait(srv);
    close_all(http, cluster, acc, audit, db, ix, live, bq);
    elig_tls_ctx_free(o.srv.tls);
    elig_slog(ELIG_SLOG_INFO, "stopped%s%s", rc ? ": " : "", rc ? elig_net_strerror(rc) : "");
    elig_slog_close();
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct values given = { 0 };
    int rc = parse_options(argc, argv, &o, &given);
    if (rc == 0)
        rc = serve(&o, &given, argc, argv);
    elig_conf_free(o.conf);
    values_free(&given);
    return rc;
}
