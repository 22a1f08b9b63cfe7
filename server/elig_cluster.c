/* SPDX-License-Identifier: MIT */
/*
 * elig_cluster: a node's applier of the cluster's stream, and its publisher.
 *
 * Design: one applier thread per node reads the stream in order
 * (elig_stream_reader, an ordered consumer) and applies each chunk through
 * the store's own path (elig_db_submit_chunk), the only way updates enter a
 * cluster node's store. The position it has reached is an atomic that the
 * publishing side waits on (a mutex and condition variable, signalled after
 * each chunk): ADMIN_APPEND is answered with what this node's store made of
 * the chunk (elig_db_chunk_result), never by applying it a second way.
 *
 * A reader quiet for a second while the stream has messages past the node's
 * position is taken as lost (its consumer lived on a server that went away)
 * and opened again from the position.
 *
 * A store refusal (a full disk, a full index) stops the applier where it is:
 * it logs the error once, waits a second and tries the same chunk again, so
 * the node falls behind rather than skipping anything. Messages that do not
 * decode are logged with their sequence and skipped (counted).
 */
#include "elig_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_net_error.h"
#include "elig_proto.h"
#include "elig_slog.h"
#include "elig_stream.h"
#include "elig_update.h"

#define POSITION_EVERY                                                                             \
    256 /* chunks between writes of the position (the recent-chunk table: 1,024) */

struct elig_cluster {
    struct elig_cluster_params p;
    char pos_path[4200];
    struct elig_stream *stream;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    _Atomic uint64_t applied, pending, malformed;
    _Atomic uint64_t stream_last; /* the stream's last sequence, as last heard */
    _Atomic uint64_t contact_ms;  /* when the stream was last heard from (CLOCK_MONOTONIC) */
    _Atomic int error;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* applied moved */
    struct elig_event *evs;
    int *status;
};

/* The position file: the sequence as decimal text and a newline. 0 when absent. */
static int read_position(const char *path, uint64_t *pos, char *err, size_t err_size)
{
    *pos = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return errno == ENOENT ? 0 : -errno;
    char line[32] = "";
    unsigned long long v;
    char nl;
    int ok = fgets(line, sizeof line, f) && sscanf(line, "%llu%c", &v, &nl) == 2 && nl == '\n';
    fclose(f);
    if (!ok) {
        snprintf(err, err_size, "%s: not a stream position (a number and a newline)", path);
        return -EINVAL;
    }
    *pos = v;
    return 0;
}

static int write_position(const char *path, uint64_t pos)
{
    char tmp[4300], text[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)pos);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = write(fd, text, (size_t)len) == len && fdatasync(fd) == 0 ? 0 : -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    return rc;
}

static void set_applied(struct elig_cluster *c, uint64_t seq)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->applied, seq);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Apply message seq; 0, or a store error (the same message is tried again). */
static int apply(struct elig_cluster *c, uint64_t seq, const void *data, size_t len)
{
    uint32_t n;
    const uint8_t *id;
    if (elig_proto_append_decode(data, len, c->evs, ELIG_PROTO_APPEND_MAX, &n, &id) || !id) {
        atomic_fetch_add(&c->malformed, 1);
        elig_slog(ELIG_SLOG_ERROR,
                  "cluster: stream message %llu is not an update chunk with its id (%zu bytes): "
                  "skipped, nothing of it applied",
                  (unsigned long long)seq, len);
        return 0;
    }
    bool dup;
    int rc = elig_db_submit_chunk(c->p.db, id, c->evs, n, c->status, NULL, &dup);
    if (rc == -ELIG_ECHUNKID) { /* an id used before for other events: not applied anywhere */
        atomic_fetch_add(&c->malformed, 1);
        elig_slog(ELIG_SLOG_ERROR,
                  "cluster: stream message %llu reuses a chunk id for other events: skipped",
                  (unsigned long long)seq);
        return 0;
    }
    return rc;
}

/*
 * Whether the reader is stalled: quiet for a second while the stream holds
 * messages past this node's position. A consumer whose server died is
 * noticed by the client only after missed heartbeats (some 15 s); asking
 * the stream its last sequence once a second while quiet finds it sooner.
 */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The stream was heard from: its last sequence is at least last. */
static void heard(struct elig_cluster *c, uint64_t last)
{
    atomic_store(&c->stream_last, last);
    atomic_store(&c->contact_ms, now_ms());
}

static bool stalled(struct elig_cluster *c, uint64_t *checked_ms)
{
    uint64_t now = now_ms();
    if (now - *checked_ms < 1000)
        return false;
    *checked_ms = now;
    uint64_t first, last;
    if (elig_stream_bounds(c->stream, &first, &last) != 0)
        return false;
    heard(c, last);
    return last > atomic_load(&c->applied);
}

static void *applier(void *arg)
{
    struct elig_cluster *c = arg;
    struct elig_stream_reader *r = NULL;
    uint64_t idle_checked = 0; /* when the reader was last found quiet and checked (ms) */
    uint64_t written = atomic_load(&c->applied);
    int warned = 0;
    while (!atomic_load(&c->stop)) {
        if (r == NULL && elig_stream_reader_open(c->stream, atomic_load(&c->applied) + 1, &r)) {
            r = NULL;
            struct timespec ts = { 0, 200000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t seq, pending;
        const void *data;
        size_t len;
        int rc = elig_stream_next(r, 200, &seq, &pending, &data, &len);
        if (rc == -ETIMEDOUT && stalled(c, &idle_checked)) {
            elig_stream_reader_close(r); /* a consumer on a server that went away: anew */
            r = NULL;
            continue;
        }
        if (rc == -ETIMEDOUT)
            continue;
        if (rc) { /* the consumer is gone: a new one from where this node is */
            elig_stream_reader_close(r);
            r = NULL;
            continue;
        }
        idle_checked = now_ms(); /* a message: not stalled */
        heard(c, seq + pending);
        if (seq <= atomic_load(&c->applied))
            continue; /* delivered again after a consumer restart */
        while ((rc = apply(c, seq, data, len)) != 0 && !atomic_load(&c->stop)) {
            atomic_store(&c->error, rc);
            if (rc != warned)
                elig_slog(ELIG_SLOG_ERROR,
                          "cluster: stream message %llu not applied (%s): tried again each "
                          "second; this node falls behind",
                          (unsigned long long)seq, elig_net_strerror(rc));
            warned = rc;
            struct timespec ts = { 1, 0 };
            nanosleep(&ts, NULL);
        }
        if (rc)
            break;
        warned = 0;
        atomic_store(&c->error, 0);
        atomic_store(&c->pending, pending);
        set_applied(c, seq);
        if (seq - written >= POSITION_EVERY) {
            if ((rc = write_position(c->pos_path, seq)))
                elig_slog(ELIG_SLOG_ERROR, "cluster: %s not written: %s", c->pos_path,
                          elig_net_strerror(rc));
            else
                written = seq;
        }
    }
    elig_stream_reader_close(r);
    return NULL;
}

int elig_cluster_start(const struct elig_cluster_params *p, struct elig_cluster **out, char *err,
                       size_t err_size)
{
    struct elig_cluster *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->p = *p;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    snprintf(c->pos_path, sizeof c->pos_path, "%s/stream-position", p->data_dir);
    c->evs = calloc(ELIG_PROTO_APPEND_MAX, sizeof *c->evs);
    c->status = calloc(ELIG_PROTO_APPEND_MAX, sizeof *c->status);
    uint64_t pos = 0;
    int rc = c->evs && c->status ? read_position(c->pos_path, &pos, err, err_size) : -ENOMEM;
    if (rc == 0)
        rc = elig_stream_open(&(struct elig_stream_params){ .servers = p->servers,
                                                            .name = p->stream,
                                                            .replicas = p->replicas },
                              &c->stream, err, err_size);
    uint64_t first, last;
    if (rc == 0 && (rc = elig_stream_bounds(c->stream, &first, &last)) != 0)
        snprintf(err, err_size, "the stream's bounds: %s", elig_net_strerror(rc));
    if (rc == 0) {
        atomic_store(&c->applied, pos);
        heard(c, last);
        rc = -pthread_create(&c->thread, NULL, applier, c);
        c->running = rc == 0;
    }
    if (rc) {
        elig_cluster_stop(c);
        return rc;
    }
    *out = c;
    return 0;
}

void elig_cluster_stop(struct elig_cluster *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->stop, true);
    if (c->running) {
        pthread_join(c->thread, NULL);
        int rc = write_position(c->pos_path, atomic_load(&c->applied));
        if (rc)
            elig_slog(ELIG_SLOG_ERROR, "cluster: %s not written: %s", c->pos_path,
                      elig_net_strerror(rc));
    }
    elig_stream_close(c->stream);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->evs);
    free(c->status);
    free(c);
}

int elig_cluster_append(struct elig_cluster *c, const uint8_t *body, size_t len,
                        const uint8_t id[16], int timeout_ms, uint64_t *seq)
{
    char hex[2 * ELIG_PROTO_CHUNK_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, id, ELIG_PROTO_CHUNK_ID_LEN);
    bool has_id = len >= 4 + ELIG_PROTO_CHUNK_ID_LEN &&
                  memcmp(body + len - ELIG_PROTO_CHUNK_ID_LEN, id, ELIG_PROTO_CHUNK_ID_LEN) == 0;
    uint8_t *msg = NULL;
    if (!has_id) { /* the message always carries its id: the body, then the id */
        if ((msg = malloc(len + ELIG_PROTO_CHUNK_ID_LEN)) == NULL)
            return -ENOMEM;
        memcpy(msg, body, len);
        memcpy(msg + len, id, ELIG_PROTO_CHUNK_ID_LEN);
    }
    bool dup;
    int rc = -ETIMEDOUT;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int tries = 0; rc != 0 && rc != -ENOMEM && rc != -EINVAL && tries < 100; tries++) {
        /* the same id each time: stored once however often it is sent; through an election
         * (no leader, no acknowledgement) for up to timeout_ms */
        rc = elig_stream_publish(c->stream, hex, msg ? msg : body,
                                 msg ? len + ELIG_PROTO_CHUNK_ID_LEN : len, seq, &dup);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (rc == 0 ||
            (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
            break;
        if (rc) {
            struct timespec pause = { 0, 200000000 };
            nanosleep(&pause, NULL);
        }
    }
    free(msg);
    if (rc)
        return rc;
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->mu);
    while (atomic_load(&c->applied) < *seq && rc == 0)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &end) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

bool elig_cluster_behind(const struct elig_cluster *c, uint64_t max_lag)
{
    uint64_t applied = atomic_load_explicit(&c->applied, memory_order_relaxed);
    uint64_t last = atomic_load_explicit(&c->stream_last, memory_order_relaxed);
    uint64_t contact = atomic_load_explicit(&c->contact_ms, memory_order_relaxed);
    return last > applied + max_lag || now_ms() - contact > 5000;
}

void elig_cluster_state(const struct elig_cluster *c, struct elig_cluster_state *st)
{
    st->applied = atomic_load(&c->applied);
    st->pending = atomic_load(&c->pending);
    st->malformed = atomic_load(&c->malformed);
    st->error = atomic_load(&c->error);
}
