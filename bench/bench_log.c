/* SPDX-License-Identifier: MIT */
/*
 * bench_log: "elig-bench log": durable appends with group commit, and
 * replay.
 *
 * T threads each append N / T records, B per call (elig_log_append_batch: a
 * feed's events; B = 1 is one update at a time), to a fresh log in a
 * temporary directory, each call timed from entry to its return (which is
 * after the fdatasync covering its records): records per second over the
 * whole run, and the latency distribution of a commit as a caller sees it. Then the log
 * is read back R times (elig_log_scan, every record checked by CRC and LSN):
 * records per second. The payload is a real encoded ACQUIRE event (about 150
 * bytes), the record an insurer's feed turns into.
 *
 * Where the files go matters: on tmpfs an fdatasync costs nothing; the
 * default is /var/tmp, a disk file system.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_codec.h"
#include "elig_config.h"
#include "elig_net_error.h"
#include "elig_log.h"

struct appender {
    struct elig_log *log;
    const struct elig_log_rec *recs; /* batch records, all the same payload */
    unsigned batch;
    uint64_t calls;
    double *lat; /* seconds, one per call */
    int rc;
};

static void *appender_main(void *p)
{
    struct appender *a = p;
    for (uint64_t i = 0; i < a->calls && a->rc == 0; i++) {
        double t0 = bench_now();
        a->rc = elig_log_append_batch(a->log, a->recs, a->batch, NULL);
        a->lat[i] = bench_now() - t0;
    }
    return NULL;
}

static int count_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    (void)lsn;
    (void)kind;
    (void)p;
    (void)len;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* A realistic payload: one encoded ACQUIRE event. */
static int sample_payload(uint8_t *buf, size_t cap)
{
    struct elig_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ELIG_EV_ACQUIRE;
    elig_date_parse("2025-02-01", 10, &ev.effective);
    memcpy(ev.source, "01130012", ELIG_INSURER_LEN);
    struct elig_record *r = &ev.u.acquire;
    elig_key_normalize("01130012", 8, "12345678", 8, "1234567", 7, "00", 2, &r->key, NULL);
    r->person_id = 123456789012;
    elig_date_parse("1980-04-01", 10, &r->birth_date);
    r->acquired = r->valid_from = ev.effective;
    r->relation = ELIG_REL_INSURED;
    r->sex = ELIG_SEX_FEMALE;
    r->copay_pct = 30;
    strcpy(r->family_kanji, "佐々木");
    strcpy(r->given_kanji, "美和子");
    strcpy(r->family_kana, "ササキ");
    strcpy(r->given_kana, "ミワコ");
    return elig_event_encode(&ev, buf, cap);
}

int bench_log(const struct bench_opts *o)
{
    char dir[4096];
    uint8_t payload[ELIG_EVENT_WIRE_MAX];
    int len = sample_payload(payload, sizeof payload);
    snprintf(dir, sizeof dir, "%s/elig-bench-log-XXXXXX", o->dir);
    if (len < 0 || !mkdtemp(dir)) {
        fprintf(stderr, "elig-bench: cannot make a directory in %s: %s\n", o->dir,
                elig_net_strerror(len < 0 ? len : -errno));
        return 1;
    }
    struct elig_log_params p = { .dir = dir, .commit_window_us = o->window_us };
    struct elig_log *log;
    int rc = elig_log_open(&p, &log, NULL);
    if (rc < 0) {
        fprintf(stderr, "elig-bench: log: %s\n", elig_net_strerror(rc));
        bench_rm_tree(dir);
        return 1;
    }
    unsigned t = o->threads, b = o->batch;
    uint64_t each = o->records / t / b, calls = each * t, total = calls * b;
    double *lat = malloc((calls ? calls : 1) * sizeof *lat);
    struct appender *a = calloc(t, sizeof *a);
    pthread_t *tid = calloc(t, sizeof *tid);
    struct elig_log_rec *recs = malloc(b * sizeof *recs);
    for (unsigned i = 0; recs && i < b; i++)
        recs[i] = (struct elig_log_rec){ ELIG_EV_ACQUIRE, payload, (size_t)len };
    if (!lat || !a || !tid || !recs || calls == 0) {
        fprintf(stderr, "elig-bench: out of memory\n");
        elig_log_close(log);
        bench_rm_tree(dir);
        return 1;
    }
    double t0 = bench_now();
    for (unsigned i = 0; i < t; i++) {
        a[i] = (struct appender){ log, recs, b, each, lat + i * each, 0 };
        pthread_create(&tid[i], NULL, appender_main, &a[i]);
    }
    for (unsigned i = 0; i < t; i++) {
        pthread_join(tid[i], NULL);
        rc = rc ? rc : a[i].rc;
    }
    double spent = bench_now() - t0;
    elig_log_close(log);
    int status = 0;
    if (rc < 0) {
        fprintf(stderr, "elig-bench: append: %s\n", elig_net_strerror(rc));
        status = 1;
    }
    bench_sort(lat, calls);
    double replay[64];
    for (unsigned r = 0; status == 0 && r < o->runs; r++) {
        uint64_t n = 0;
        double s0 = bench_now();
        rc = elig_log_scan(dir, 1, count_record, &n, NULL);
        replay[r] = (double)n / (bench_now() - s0);
        if (rc < 0 || n != total) {
            fprintf(stderr, "elig-bench: replay read %llu of %llu records\n", (unsigned long long)n,
                    (unsigned long long)total);
            status = 1;
        }
    }
    if (status == 0) {
        double p50 = lat[calls / 2], p99 = lat[calls * 99 / 100], max = lat[calls - 1];
        double rate = (double)total / spent, med = bench_median(replay, o->runs);
        if (o->json) {
            printf(
                "{\"benchmark\": \"log\", \"version\": \"%s\", \"dir\": \"%s\", \"records\": %llu, "
                "\"payload_bytes\": %d, \"threads\": %u, \"batch\": %u, \"window_us\": %u, "
                "\"appends_per_s\": %.0f, \"commit_p50_ms\": %.3f, \"commit_p99_ms\": %.3f, "
                "\"commit_max_ms\": %.3f, \"replay_per_s\": %.0f, \"replay_runs\": [",
                ELIG_VERSION, o->dir, (unsigned long long)total, len, t, b, o->window_us, rate,
                p50 * 1e3, p99 * 1e3, max * 1e3, med);
            for (unsigned r = 0; r < o->runs; r++)
                printf("%s%.0f", r ? ", " : "", replay[r]);
            printf("]}\n");
        } else {
            printf(
                "log: %llu records of %d bytes, %u appenders of %u records a call, window %u us, "
                "in %s\n",
                (unsigned long long)total, len, t, b, o->window_us, o->dir);
            printf("  durable appends      %.0f /s\n", rate);
            printf("  commit latency       p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", p50 * 1e3,
                   p99 * 1e3, max * 1e3);
            printf("  replay               %.2f M records/s (median of %u)\n", med / 1e6, o->runs);
        }
    }
    free(lat);
    free(a);
    free(tid);
    free(recs);
    bench_rm_tree(dir);
    return status;
}
