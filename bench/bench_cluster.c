/* SPDX-License-Identifier: MIT */
/*
 * bench_cluster: "elig-bench cluster": how long after an insurer's update is
 * acknowledged it is visible on every node of a running cluster.
 *
 * Set-up: the cluster runs already (scripts/cluster up, or a deployment);
 * the benchmark is given the admin socket of the node it appends through
 * (--admin) and the facility ports of every node (--servers, trusted
 * network: no HELLO/AUTH). It appends new records only: ACQUIRE events of
 * the synthetic population from record --first on, --batch events a chunk,
 * paced to --rate events a second for --seconds.
 *
 * Measure: each chunk is sent at its time (an open loop: a late chunk is
 * sent at once, and the achieved rate is reported); its acknowledgement
 * (published, stored by JetStream's quorum, applied on the appending node)
 * is t_ack. Then each node is asked for the chunk's last record (a check by
 * number, the way a facility asks) until it is answered as held; the
 * delay of node i is its first such answer minus t_ack, and "all" is the
 * largest of them. A node asked for 5 s in vain counts as not seen. The
 * client polls with a pause of 100 us between checks, so a delay is
 * measured to about a check's round trip on loopback (~0.1 ms).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elig_bench.h"
#include "elig_client.h"
#include "elig_codec.h"
#include "elig_net_error.h"
#include "elig_proto.h"

#define NODES_MAX 8
#define SEEN_WAIT 5.0 /* s: a node that does not answer the record within it: not seen */

static void pause_until(double t)
{
    double d = t - bench_now();
    if (d <= 0)
        return;
    struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
    nanosleep(&ts, NULL);
}

/* Ask c for record i until it is held or SEEN_WAIT passes: seconds after t_ack, or -1. */
static double seen_after(struct elig_client *c, const struct bench_pop *pop, uint64_t i,
                         double t_ack)
{
    struct elig_record r;
    struct elig_proto_number q;
    bench_number_query(pop, i, &r, &q);
    struct elig_proto_answer a;
    uint8_t status;
    for (;;) {
        int rc = elig_client_lookup_number(c, &q, &a, &status);
        double now = bench_now();
        if (rc == 0 && a.status == ELIG_AS_OK && a.count > 0)
            return now - t_ack;
        if (now - t_ack > SEEN_WAIT)
            return -1;
        pause_until(now + 100e-6);
    }
}

/* Append evs[0..n) as one chunk through the admin connection; *refused: its events refused. */
static int append_chunk(struct elig_client *adm, const struct elig_event *evs, size_t n, uint64_t k,
                        int *status, unsigned *refused)
{
    uint8_t id[ELIG_PROTO_CHUNK_ID_LEN] = { 'b', 'c', 'l' };
    memcpy(id + 8, &k, sizeof k);
    memcpy(id + 3, &evs[0].u.acquire.key.number, 5); /* a run's chunks differ from another's */
    uint64_t first;
    uint8_t pstatus;
    int code;
    int rc = elig_client_append(adm, id, 0, evs, n, &first, status, &pstatus, &code);
    if (rc == -ELIG_EREFUSED && code)
        return code;
    *refused = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        *refused += status[i] != 0;
    return rc;
}

static double pct(const double *sorted, size_t n, double p)
{
    return n ? sorted[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

int bench_cluster(const struct bench_opts *o)
{
    char list[NODES_MAX][256];
    int nodes = o->servers ? elig_client_servers(o->servers, list, NODES_MAX) : 0;
    if (nodes <= 0 || !o->admin) {
        fputs("elig-bench cluster: give --admin SOCKET (the node appended through) and "
              "--servers HOST:PORT,... (every node's facility port)\n",
              stderr);
        return 2; /* usage */
    }
    unsigned batch = o->batch, rate = o->rate ? o->rate : 10000;
    uint64_t chunks = (uint64_t)(o->seconds * rate / batch);
    struct elig_client *adm = NULL, *node[NODES_MAX] = { 0 };
    int rc = elig_client_connect(o->admin, 5000, &adm);
    if (rc)
        fprintf(stderr, "elig-bench cluster: %s: %s\n", o->admin, elig_net_strerror(rc));
    for (int i = 0; rc == 0 && i < nodes; i++)
        if ((rc = elig_client_connect(list[i], 5000, &node[i])) != 0)
            fprintf(stderr, "elig-bench cluster: %s: %s\n", list[i], elig_net_strerror(rc));
    struct bench_pop pop = { .n = o->first + chunks * batch };
    bench_insurers(&pop);
    struct elig_event *evs = calloc(batch, sizeof *evs);
    int *status = calloc(batch, sizeof *status);
    double *ack = calloc(chunks + 1, sizeof *ack), *all = calloc(chunks + 1, sizeof *all);
    double *each[NODES_MAX];
    for (int i = 0; i < nodes; i++)
        each[i] = calloc(chunks + 1, sizeof *each[i]);
    if (!evs || !status || !ack || !all || (nodes && !each[nodes - 1]))
        rc = rc ? rc : -ENOMEM;
    uint64_t sent = 0, seen = 0, refused_events = 0;
    unsigned missed[NODES_MAX] = { 0 };
    double t0 = bench_now(), late = 0;
    for (uint64_t k = 0; rc == 0 && k < chunks; k++) {
        uint64_t base = o->first + k * batch;
        for (unsigned j = 0; j < batch; j++) {
            evs[j] = (struct elig_event){ .kind = ELIG_EV_ACQUIRE };
            bench_record(&pop, base + j, bench_ymd(2025, 2, 1), &evs[j].u.acquire);
            memcpy(evs[j].source, evs[j].u.acquire.key.insurer, ELIG_INSURER_LEN);
        }
        double due = t0 + (double)k * batch / rate;
        late = bench_now() - due > late ? bench_now() - due : late;
        pause_until(due);
        double ts = bench_now();
        unsigned refused = 0;
        if ((rc = append_chunk(adm, evs, batch, k, status, &refused)) != 0) {
            fprintf(stderr, "elig-bench cluster: chunk %llu not acknowledged: %s\n",
                    (unsigned long long)k, elig_net_strerror(rc));
            break;
        }
        double t_ack = bench_now();
        ack[sent++] = t_ack - ts;
        refused_events += refused;
        if (refused) /* its last record may be one refused: not a visibility to wait for */
            continue;
        double worst = 0;
        bool everywhere = true;
        uint64_t last = base + batch - 1; /* the chunk's last record held as of the query's date */
        last -= last % 4 == 3 && batch > 1; /* (every fourth one was lost before it) */
        for (int i = 0; i < nodes; i++) {
            double d = seen_after(node[i], &pop, last, t_ack);
            if (d < 0) {
                missed[i]++;
                everywhere = false;
                continue;
            }
            each[i][seen] = d;
            worst = d > worst ? d : worst;
        }
        if (everywhere)
            all[seen++] = worst;
    }
    double span = bench_now() - t0;
    if (rc == 0) {
        bench_sort(ack, sent);
        bench_sort(all, seen);
        printf("elig-bench cluster: %llu chunks of %u events through %s in %.1f s (%.0f events/s "
               "asked, "
               "%.0f achieved; latest send %.1f ms after its time), %llu events refused\n",
               (unsigned long long)sent, batch, o->admin, span, (double)rate,
               (double)(sent * batch) / span, late * 1e3, (unsigned long long)refused_events);
        printf("  acknowledged (durable: in a cluster stored by the stream's quorum; applied on "
               "the node appended through): p50 %.2f ms, "
               "p99 %.2f ms, max %.2f ms\n",
               pct(ack, sent, 0.5) * 1e3, pct(ack, sent, 0.99) * 1e3, pct(ack, sent, 1) * 1e3);
        printf("  acknowledgement to visible on all %d nodes: p50 %.2f ms, p99 %.2f ms, max "
               "%.2f ms (%llu chunks seen everywhere)\n",
               nodes, pct(all, seen, 0.5) * 1e3, pct(all, seen, 0.99) * 1e3,
               pct(all, seen, 1) * 1e3, (unsigned long long)seen);
        for (int i = 0; i < nodes; i++) {
            bench_sort(each[i], seen);
            printf("  %s: p50 %.2f ms, p99 %.2f ms, %u not seen within %.0f s\n", list[i],
                   pct(each[i], seen, 0.5) * 1e3, pct(each[i], seen, 0.99) * 1e3, missed[i],
                   SEEN_WAIT);
        }
    }
    for (int i = 0; i < nodes; i++) {
        elig_client_close(node[i]);
        free(each[i]);
    }
    elig_client_close(adm);
    free(evs);
    free(status);
    free(ack);
    free(all);
    return rc ? 1 : 0;
}
