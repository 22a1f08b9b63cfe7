/* SPDX-License-Identifier: MIT */
/*
 * bench_store: "elig-bench store": the durable store end to end.
 *
 * 1. submit: N synthetic ACQUIRE events (and a card registration for 62% of
 *    persons), 4,096 a call, through elig_db_submit: logged durably, then
 *    applied. Records per second, generation not timed.
 * 2. warm restart: close, reopen: the segment is reattached, nothing to
 *    replay. Seconds from open to serving.
 * 3. cold start from the log alone: the segment deleted, reopen: the whole
 *    log replayed into a new index; records per second.
 * 4. snapshot: seconds and bytes (the log it covers is then deleted).
 * 5. cold start from the snapshot: the segment deleted, reopen.
 * 6. the disk in the same run: the snapshot file read sequentially (4 MiB
 *    reads), the bound of step 5.
 * Before each cold start and the disk read, the store's files are dropped
 * from the page cache, as after a reboot: a cold start reads the disk.
 * The log and snapshots go in --dir (a disk; default /var/tmp), the segment
 * in --segment-dir (default /dev/shm). Everything is removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_config.h"
#include "elig_db.h"
#include "elig_net_error.h"

#define SUBMIT 4096

static int reopen(const struct elig_db_params *p, struct elig_db **db, struct elig_db_start *st)
{
    int rc = elig_db_open(p, db, st);
    if (rc < 0)
        fprintf(stderr, "elig-bench: store: open: %s\n", elig_net_strerror(rc));
    return rc;
}

/* Drop the files of dir and its subdirectories from the page cache (one level deep). */
static void evict_files(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[4200];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0) {
            evict_files(path, depth - 1);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                fdatasync(fd); /* dirty pages are not dropped */
                posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
                close(fd);
            }
        }
    }
    closedir(d);
}

/* The newest snapshot of data read sequentially, evicted first: bytes per second, 0 if none. */
static double disk_read_rate(const char *data)
{
    char snaps[4200], path[8400];
    snprintf(snaps, sizeof snaps, "%s/snapshots", data);
    DIR *d = opendir(snaps);
    path[0] = '\0';
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, "snapshot-", 9) == 0 && strcmp(path, e->d_name) < 0)
            snprintf(path, sizeof path, "%s", e->d_name);
    if (d)
        closedir(d);
    char full[8400];
    snprintf(full, sizeof full, "%s/%s", snaps, path);
    evict_files(snaps, 0);
    int fd = path[0] ? open(full, O_RDONLY | O_CLOEXEC) : -1;
    char *buf = malloc(4u << 20);
    double rate = 0;
    if (fd >= 0 && buf) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        double t0 = bench_now();
        uint64_t total = 0;
        for (ssize_t n; (n = read(fd, buf, 4u << 20)) > 0;)
            total += (uint64_t)n;
        rate = (double)total / (bench_now() - t0);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return rate;
}

/* Submit the population; returns records per second of submit time. */
static int submit_all(struct elig_db *db, const struct bench_pop *pop, double *rate)
{
    struct elig_event *evs = malloc(SUBMIT * sizeof *evs);
    int *status = malloc(SUBMIT * sizeof *status);
    if (!evs || !status) {
        free(evs);
        free(status);
        return -ENOMEM;
    }
    elig_date_t today = bench_ymd(2025, 2, 1);
    double spent = 0;
    int rc = 0;
    for (uint64_t base = 0; rc == 0 && base < pop->n;) {
        size_t n = 0;
        for (; n < SUBMIT - 1 && base < pop->n; base++) {
            struct elig_event *ev = &evs[n++];
            memset(ev, 0, offsetof(struct elig_event, u));
            ev->kind = ELIG_EV_ACQUIRE;
            bench_record(pop, base, today, &ev->u.acquire);
            ev->effective = ev->u.acquire.valid_from;
            memcpy(ev->source, ev->u.acquire.key.insurer, ELIG_INSURER_LEN);
            struct elig_card c;
            if (bench_card(base, &ev->u.acquire, today, &c)) {
                struct elig_event *cv = &evs[n++];
                memset(cv, 0, sizeof *cv);
                cv->kind = ELIG_EV_CARD_REGISTER;
                cv->effective = c.registered_on;
                memcpy(cv->source, ev->source, ELIG_INSURER_LEN);
                cv->u.card.card_id = c.card_id;
                cv->u.card.person_id = c.person_id;
                cv->u.card.cert_expiry = c.cert_expiry;
            }
        }
        double t0 = bench_now();
        rc = elig_db_submit(db, evs, n, status, NULL);
        spent += bench_now() - t0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = status[i];
    }
    free(evs);
    free(status);
    *rate = (double)pop->n / spent;
    return rc;
}

int bench_store(const struct bench_opts *o)
{
    static struct bench_pop pop;
    char data[4096], segdir[4096], seg[4200];
    snprintf(data, sizeof data, "%s/elig-bench-store-XXXXXX", o->dir);
    snprintf(segdir, sizeof segdir, "%s/elig-bench-store-XXXXXX", o->segment_dir);
    if (!mkdtemp(data) || !mkdtemp(segdir)) {
        fprintf(stderr, "elig-bench: cannot make directories: %s\n", elig_net_strerror(-errno));
        return 1;
    }
    snprintf(seg, sizeof seg, "%s/index.seg", segdir);
    pop.n = o->records;
    bench_insurers(&pop);
    struct elig_db_params p = { .data_dir = data, .segment_path = seg, .index.pages = o->pages };
    p.index.capacity = o->records + o->records / 10;
    p.index.persons = bench_person(o->records) + 4096;
    p.index.cards = p.index.persons * 62 / 100 + 4096;
    struct elig_db *db = NULL;
    struct elig_db_start st, warm, from_snap, from_log;
    struct elig_snap_info snap;
    double submit_rate = 0, snap_s = 0;
    int rc = reopen(&p, &db, &st);
    if (rc == 0 && (rc = submit_all(db, &pop, &submit_rate)) < 0)
        fprintf(stderr, "elig-bench: store: submit: %s\n", elig_net_strerror(rc));
    elig_db_close(db);
    db = NULL;
    if (rc == 0 && (rc = reopen(&p, &db, &warm)) == 0)
        elig_db_close(db);
    if (rc == 0) { /* before any snapshot: once one exists, the log it covers is deleted */
        unlink(seg);
        evict_files(data, 1);
        rc = reopen(&p, &db, &from_log);
    }
    if (rc == 0) {
        double t0 = bench_now();
        rc = elig_db_snapshot(db, &snap);
        snap_s = bench_now() - t0;
        elig_db_close(db);
    }
    if (rc == 0) {
        unlink(seg);
        evict_files(data, 1);
        if ((rc = reopen(&p, &db, &from_snap)) == 0)
            elig_db_close(db);
    }
    double disk = rc == 0 ? disk_read_rate(data) : 0;
    if (rc == 0) {
        double replay = (double)from_log.replayed / from_log.seconds;
        if (o->json) {
            printf("{\"benchmark\": \"store\", \"version\": \"%s\", \"records\": %llu, "
                   "\"log_dir\": \"%s\", \"segment_dir\": \"%s\", \"submit_per_s\": %.0f, "
                   "\"warm_restart_s\": %.3f, \"snapshot_s\": %.2f, \"snapshot_bytes\": %llu, "
                   "\"cold_from_snapshot_s\": %.2f, \"cold_from_log_s\": %.2f, "
                   "\"log_records\": %llu, \"replay_into_index_per_s\": %.0f, "
                   "\"disk_read_bytes_per_s\": %.0f}\n",
                   ELIG_VERSION, (unsigned long long)o->records, o->dir, o->segment_dir,
                   submit_rate, warm.seconds, snap_s, (unsigned long long)snap.bytes,
                   from_snap.seconds, from_log.seconds, (unsigned long long)from_log.replayed,
                   replay, disk);
        } else {
            printf("store: %llu records, log in %s, segment in %s\n",
                   (unsigned long long)o->records, o->dir, o->segment_dir);
            printf("  submit (log + apply)      %.2f M records/s\n", submit_rate / 1e6);
            printf("  warm restart              %.3f s (%llu replayed)\n", warm.seconds,
                   (unsigned long long)warm.replayed);
            printf("  snapshot                  %.2f s, %.2f GiB\n", snap_s,
                   (double)snap.bytes / (1u << 30));
            printf("  cold start from snapshot  %.2f s\n", from_snap.seconds);
            printf("  cold start from the log   %.2f s (%llu records, %.2f M/s)\n",
                   from_log.seconds, (unsigned long long)from_log.replayed, replay / 1e6);
            printf("  the disk: snapshot read   %.2f GB/s (the bound of a cold start from it)\n",
                   disk / 1e9);
        }
    }
    bench_rm_tree(data);
    bench_rm_tree(segdir);
    return rc == 0 ? 0 : 1;
}
