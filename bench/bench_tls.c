/* SPDX-License-Identifier: MIT */
/*
 * bench_tls: "elig-bench tls": TLS 1.3 handshakes on one core, as eligd's
 * facility port makes them (elig_tls: ECDSA P-256 certificates from a CA
 * eligctl makes for the run, client certificates required, ALPN eligd/1).
 *
 * Client and server sessions run in this one thread and hand each other
 * their bytes through memory, so no socket or scheduler is measured. The
 * time spent in the server's calls (feed, read, take) is clocked apart:
 * server handshakes/s is handshakes over that time, the figure that says
 * how many handshakes one eligd core can take; pairs/s is both ends on one
 * core. Full handshakes first, then resumed ones (the client offers the
 * ticket of its previous connection, as a reconnecting facility would).
 * Each run lasts --seconds; medians of --runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_net_error.h"
#include "elig_tls.h"

struct hs_result {
    double pairs_s;  /* handshakes a second, both ends on this core */
    double server_s; /* handshakes a second of the server's time alone */
    double resumed;  /* share of handshakes that resumed */
};

/* One handshake between a new client session (resuming *r when given) and a new server one. */
static int handshake(struct elig_tls_ctx *sc, struct elig_tls_ctx *cc, struct elig_tls_resume **r,
                     double *server_time, bool *resumed)
{
    struct elig_tls *cl = NULL, *sv = NULL;
    int rc = *r ? elig_tls_new_resuming(cc, *r, &cl) : elig_tls_new(cc, &cl);
    double t0 = bench_now();
    if (rc == 0)
        rc = elig_tls_new(sc, &sv);
    *server_time += bench_now() - t0;
    uint8_t buf[16384], plain[64];
    for (int round = 0; rc == 0 && round < 8; round++) { /* a handshake is 2 flights and tickets */
        size_t n = elig_tls_take(cl, buf, sizeof buf);
        t0 = bench_now();
        if (n)
            rc = elig_tls_feed(sv, buf, n);
        long s = rc ? 0 : elig_tls_read(sv, plain, sizeof plain);
        size_t m = elig_tls_take(sv, buf, sizeof buf);
        *server_time += bench_now() - t0;
        if (s < 0)
            rc = (int)s;
        if (rc == 0 && m)
            rc = elig_tls_feed(cl, buf, m);
        long c = rc ? 0 : elig_tls_read(cl, plain, sizeof plain); /* the tickets, once ready */
        if (c < 0)
            rc = (int)c;
        if (rc == 0 && elig_tls_ready(sv) && elig_tls_ready(cl) && n == 0 && m == 0)
            break;
    }
    if (rc == 0 && !(elig_tls_ready(sv) && elig_tls_ready(cl)))
        rc = -EPROTO;
    if (rc == 0) {
        *resumed = elig_tls_resumed(sv);
        struct elig_tls_resume *next = elig_tls_resume_get(cl);
        if (next) { /* the ticket of this connection for the next */
            elig_tls_resume_free(*r);
            *r = next;
        }
    }
    t0 = bench_now();
    elig_tls_free(sv);
    *server_time += bench_now() - t0;
    elig_tls_free(cl);
    return rc;
}

static int run(struct elig_tls_ctx *sc, struct elig_tls_ctx *cc, bool resume, double seconds,
               struct hs_result *out)
{
    struct elig_tls_resume *r = NULL;
    double server_time = 0;
    bool resumed = false;
    int rc = resume ? handshake(sc, cc, &r, &server_time, &resumed) : 0; /* a first ticket */
    uint64_t n = 0, reused = 0;
    server_time = 0;
    double t0 = bench_now(), end = t0 + seconds;
    while (rc == 0 && bench_now() < end) {
        struct elig_tls_resume *none = NULL;
        rc = handshake(sc, cc, resume ? &r : &none, &server_time, &resumed);
        elig_tls_resume_free(none);
        n++;
        reused += resumed;
    }
    double spent = bench_now() - t0;
    elig_tls_resume_free(r);
    out->pairs_s = (double)n / spent;
    out->server_s = server_time > 0 ? (double)n / server_time : 0;
    out->resumed = n ? (double)reused / (double)n : 0;
    return rc;
}

void bench_eligctl(const struct bench_opts *o, char *out, size_t size)
{
    const char *slash = strrchr(o->eligd, '/');
    snprintf(out, size, "%.*seligctl", slash ? (int)(slash - o->eligd + 1) : 0, o->eligd);
}

int bench_tls_make(const struct bench_opts *o, const char *dir)
{
    char eligctl[4096], ca[4200], key[4200], crt[4200], reg[4200], certs[4200];
    bench_eligctl(o, eligctl, sizeof eligctl);
    snprintf(ca, sizeof ca, "%s/ca", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(reg, sizeof reg, "%s/facilities", dir);
    snprintf(certs, sizeof certs, "%s/certs", dir);
    if (mkdir(dir, 0700))
        return -errno;
    char *init[] = { eligctl, "ca", "init", "--dir", ca, NULL };
    char *server[] = { eligctl,     "ca",        "server", "--dir",      ca,  "--name",
                       "127.0.0.1", "--key-out", key,      "--cert-out", crt, NULL };
    char *fac[] = { eligctl, "facility", "add", BENCH_FACILITY, "--type", "hospital", "--registry",
                    reg,     "--ca",     ca,    "--cert-out",   certs,    NULL };
    if (bench_run(init) || bench_run(server) || bench_run(fac)) {
        fprintf(stderr, "elig-bench: %s could not make the CA and certificates\n", eligctl);
        return -EIO;
    }
    return 0;
}

static int contexts(const char *dir, struct elig_tls_ctx **sc, struct elig_tls_ctx **cc)
{
    char ca[4200], key[4200], crt[4200], fkey[4200], fcrt[4200], err[512];
    snprintf(ca, sizeof ca, "%s/ca/ca.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(fkey, sizeof fkey, "%s/certs/%s.key", dir, BENCH_FACILITY);
    snprintf(fcrt, sizeof fcrt, "%s/certs/%s.crt", dir, BENCH_FACILITY);
    struct elig_tls_params sp = { .role = ELIG_TLS_SERVER, .cert = crt, .key = key, .ca = ca };
    struct elig_tls_params cp = {
        .role = ELIG_TLS_CLIENT, .cert = fcrt, .key = fkey, .ca = ca, .server_name = "127.0.0.1"
    };
    int rc = elig_tls_ctx_new(&sp, sc, err, sizeof err);
    if (rc == 0 && (rc = elig_tls_ctx_new(&cp, cc, err, sizeof err)) != 0)
        elig_tls_ctx_free(*sc);
    if (rc)
        fprintf(stderr, "elig-bench: TLS: %s\n", err);
    return rc;
}

int bench_tls(const struct bench_opts *o)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/elig-bench-tls-%ld", o->dir, (long)getpid());
    struct elig_tls_ctx *sc = NULL, *cc = NULL;
    int rc = bench_tls_make(o, dir);
    if (rc == 0)
        rc = contexts(dir, &sc, &cc);
    struct hs_result res[2][64];
    double med[2][3] = { { 0 } };
    for (unsigned r = 0; rc == 0 && r < o->runs; r++)
        for (int k = 0; rc == 0 && k < 2; k++)
            rc = run(sc, cc, k == 1, o->seconds, &res[k][r]);
    for (int k = 0; rc == 0 && k < 2; k++) {
        double v[3][64];
        for (unsigned r = 0; r < o->runs; r++) {
            v[0][r] = res[k][r].pairs_s;
            v[1][r] = res[k][r].server_s;
            v[2][r] = res[k][r].resumed;
        }
        for (int f = 0; f < 3; f++)
            med[k][f] = bench_median(v[f], o->runs);
    }
    elig_tls_ctx_free(sc);
    elig_tls_ctx_free(cc);
    bench_rm_tree(dir);
    if (rc) {
        fprintf(stderr, "elig-bench: tls: %s\n", elig_net_strerror(rc));
        return 1;
    }
    static const char *const kind[2] = { "full", "resumed" };
    if (o->json) {
        printf("{\"benchmark\":\"tls\",\"runs\":%u,\"seconds\":%.1f,\"results\":[", o->runs,
               o->seconds);
        for (int k = 0; k < 2; k++)
            printf("%s{\"handshake\":\"%s\",\"pairs_per_s\":%.0f,\"server_per_s\":%.0f,"
                   "\"resumed_share\":%.3f}",
                   k ? "," : "", kind[k], med[k][0], med[k][1], med[k][2]);
        printf("]}\n");
        return 0;
    }
    printf("tls: TLS 1.3 handshakes, ECDSA P-256, client certificates, one core; medians of %u "
           "runs of %.1f s\n",
           o->runs, o->seconds);
    printf("  %-10s %16s %18s %10s\n", "handshake", "both ends /s", "server alone /s", "resumed");
    for (int k = 0; k < 2; k++)
        printf("  %-10s %16.0f %18.0f %9.0f%%\n", kind[k], med[k][0], med[k][1], 100 * med[k][2]);
    return 0;
}
