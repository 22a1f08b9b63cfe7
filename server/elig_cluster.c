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
 * Snapshots in a cluster carry the stream position they hold: the applier
 * applies a chunk and moves its position under apply_mu, and a snapshot is
 * written under the same mutex, so the position beside it (a ".stream"
 * mark) is exact. A new node is made from a peer's snapshot and its mark
 * (elig_cluster_bootstrap) and applies the stream after it. A node whose
 * position the stream no longer reaches (messages dropped by its retention)
 * is refused at start; one that meets such a gap while running stops
 * applying and answers BEHIND, never skipping a message silently.
 *
 * A store refusal (a full disk, a full index) stops the applier where it is:
 * it logs the error once, waits a second and tries the same chunk again, so
 * the node falls behind rather than skipping anything. Messages that do not
 * decode are logged with their sequence and skipped (counted).
 */
#include "elig_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_io.h"
#include "elig_le.h"
#include "elig_net_error.h"
#include "elig_proto.h"
#include "elig_slog.h"
#include "elig_snap.h"
#include "elig_store.h"
#include "elig_stream.h"
#include "elig_update.h"

#define POSITION_EVERY                                                                             \
    256 /* chunks between writes of the position (the recent-chunk table: 1,024) */

struct elig_cluster {
    struct elig_cluster_params p;
    struct elig_db *db;
    char data_dir[4096], stream_name[64], pos_path[4200];
    struct elig_stream *stream;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    _Atomic uint64_t applied, pending, malformed;
    _Atomic uint64_t stream_last; /* the stream's last sequence, as last heard */
    _Atomic uint64_t contact_ms;  /* when the stream was last heard from (CLOCK_MONOTONIC) */
    _Atomic int error;
    atomic_bool gap;          /* the stream skipped past the position: applying stopped */
    pthread_mutex_t apply_mu; /* held while a chunk is applied and the position moved */
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
    char text[32];
    int n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)pos);
    return elig_io_replace_file(path, text, (size_t)n);
}

static void set_applied(struct elig_cluster *c, uint64_t seq)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->applied, seq);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Apply message seq; 0, or a store error (the same message is tried again). */
static int apply(struct elig_cluster *c, uint64_t seq, int64_t stored, const void *data, size_t len)
{
    struct elig_proto_append a;
    if (elig_proto_append_decode(data, len, c->evs, ELIG_PROTO_APPEND_MAX, &a) || !a.id) {
        atomic_fetch_add(&c->malformed, 1);
        elig_slog(ELIG_SLOG_ERROR,
                  "cluster: stream message %llu is not an update chunk with its id (%zu bytes): "
                  "skipped, nothing of it applied",
                  (unsigned long long)seq, len);
        return 0;
    }
    bool dup;
    /* the entry time: a back-fill's own, else when the stream stored the chunk (the same on
     * every node, whoever published it) */
    int rc = elig_db_submit_chunk(c->db, a.id, a.entered ? a.entered : stored, c->evs, a.n,
                                  c->status, NULL, &dup);
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

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
    nanosleep(&ts, NULL);
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
            pause_ms(200);
            continue;
        }
        uint64_t seq, pending;
        int64_t stored;
        const void *data;
        size_t len;
        int rc = elig_stream_next(r, 200, &seq, &pending, &stored, &data, &len);
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
        uint64_t applied = atomic_load(&c->applied);
        if (seq <= applied)
            continue; /* delivered again after a consumer restart */
        if (seq != applied + 1) {
            /* the messages between are gone (retention, or deleted): never skipped silently */
            atomic_store(&c->error, -ELIG_ESTREAMGAP);
            atomic_store(&c->gap, true);
            elig_slog(ELIG_SLOG_ERROR,
                      "cluster: the stream went on at sequence %llu after this node's %llu (the "
                      "messages between are past the stream's retention): applying stopped, "
                      "checks are answered BEHIND; make this node anew from a peer's snapshot "
                      "(eligctl bootstrap)",
                      (unsigned long long)seq, (unsigned long long)applied);
            break;
        }
        pthread_mutex_lock(&c->apply_mu);
        while ((rc = apply(c, seq, stored, data, len)) != 0 && !atomic_load(&c->stop)) {
            pthread_mutex_unlock(&c->apply_mu);
            atomic_store(&c->error, rc);
            if (rc != warned)
                elig_slog(ELIG_SLOG_ERROR,
                          "cluster: stream message %llu not applied (%s): tried again each "
                          "second; this node falls behind",
                          (unsigned long long)seq, elig_net_strerror(rc));
            warned = rc;
            pause_ms(1000);
            pthread_mutex_lock(&c->apply_mu);
        }
        if (rc == 0) {
            atomic_store(&c->pending, pending);
            set_applied(c, seq);
        }
        pthread_mutex_unlock(&c->apply_mu);
        if (rc)
            break;
        warned = 0;
        atomic_store(&c->error, 0);
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

/* The stream must hold every message after pos: refused, naming the snapshot needed. */
static int check_reach(struct elig_cluster *c, uint64_t pos, uint64_t first, char *err,
                       size_t err_size)
{
    if (first <= pos + 1)
        return 0;
    snprintf(err, err_size,
             "this node applied stream %s through sequence %llu, but the stream now begins at "
             "%llu (older messages are past its retention): make this node anew from a peer's "
             "snapshot that reaches sequence %llu or later (eligctl snapshot --admin on a peer, "
             "then eligctl bootstrap; docs/operations.md, \"Adding a node\")",
             c->stream_name, (unsigned long long)pos, (unsigned long long)first,
             (unsigned long long)(first - 1));
    return -ELIG_ESTREAMGAP;
}

static struct elig_cluster *cluster_new(const struct elig_cluster_params *p)
{
    struct elig_cluster *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->p = *p;
    snprintf(c->data_dir, sizeof c->data_dir, "%s", p->data_dir);
    snprintf(c->stream_name, sizeof c->stream_name, "%s", p->stream ? p->stream : "ELIGD");
    c->p.data_dir = c->data_dir;
    c->p.stream = c->stream_name;
    c->p.servers = NULL; /* not kept: the stream handle has them */
    pthread_mutex_init(&c->apply_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    snprintf(c->pos_path, sizeof c->pos_path, "%s/stream-position", p->data_dir);
    return c;
}

static int stream_open(const struct elig_cluster_params *p, struct elig_stream **s, char *err,
                       size_t err_size)
{
    return elig_stream_open(&(struct elig_stream_params){ .servers = p->servers,
                                                          .name = p->stream,
                                                          .replicas = p->replicas,
                                                          .max_msgs = p->max_chunks },
                            s, err, err_size);
}

/*
 * Connect and read the stream's bounds. A stream with no leader for the
 * moment (an election: a nats-server died or restarts with this node)
 * answers nothing: tried again for up to OPEN_WAIT_MS, said once in the log.
 */
#define OPEN_WAIT_MS 60000

static int stream_reach(struct elig_cluster *c, const struct elig_cluster_params *p,
                        uint64_t *first, uint64_t *last, char *err, size_t err_size)
{
    uint64_t t0 = now_ms();
    for (bool said = false;; said = true) {
        int rc = c->stream ? 0 : stream_open(p, &c->stream, err, err_size);
        if (rc == 0 && (rc = elig_stream_bounds(c->stream, first, last)) != 0)
            snprintf(err, err_size, "the stream's bounds: %s", elig_net_strerror(rc));
        bool passing = rc == -ETIMEDOUT || rc == -EAGAIN || rc == -ENOTCONN;
        if (!passing || now_ms() - t0 > OPEN_WAIT_MS)
            return rc;
        if (!said)
            elig_slog(ELIG_SLOG_WARN,
                      "cluster: the stream does not answer (%s: its leader being elected?): "
                      "tried again for up to %d s",
                      err, OPEN_WAIT_MS / 1000);
        pause_ms(200);
    }
}

int elig_cluster_open(const struct elig_cluster_params *p, struct elig_cluster **out, char *err,
                      size_t err_size)
{
    struct elig_cluster *c = cluster_new(p);
    if (c == NULL)
        return -ENOMEM;
    uint64_t pos = 0, first = 0, last = 0;
    int rc = read_position(c->pos_path, &pos, err, err_size);
    if (rc == 0)
        rc = stream_reach(c, p, &first, &last, err, err_size);
    if (rc == 0 && first > 0)
        rc = check_reach(c, pos, first, err, err_size);
    if (rc == 0 && pos > last) {
        snprintf(err, err_size,
                 "this node applied stream %s through sequence %llu, but the stream ends at %llu: "
                 "it is not the stream this node applied (a stream made anew, or another "
                 "cluster's); see docs/operations.md, \"Disaster recovery\"",
                 c->stream_name, (unsigned long long)pos, (unsigned long long)last);
        rc = -EINVAL;
    }
    if (rc) {
        elig_cluster_stop(c);
        return rc;
    }
    atomic_store(&c->applied, pos);
    heard(c, last);
    *out = c;
    return 0;
}

int elig_cluster_start(struct elig_cluster *c, struct elig_db *db)
{
    c->db = db;
    c->evs = calloc(ELIG_PROTO_APPEND_MAX, sizeof *c->evs);
    c->status = calloc(ELIG_PROTO_APPEND_MAX, sizeof *c->status);
    if (!c->evs || !c->status)
        return -ENOMEM;
    int rc = -pthread_create(&c->thread, NULL, applier, c);
    c->running = rc == 0;
    return rc;
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
    pthread_mutex_destroy(&c->apply_mu);
    free(c->evs);
    free(c->status);
    free(c);
}

/* ---- snapshots and their marks -------------------------------------------------------------- */

/* The mark's path: the snapshot's, ".els" replaced by ".stream". */
static int mark_path(const char *snapshot, char *out, size_t size)
{
    size_t n = strlen(snapshot);
    if (n < 4 || strcmp(snapshot + n - 4, ".els") != 0 || n + 4 > size)
        return -EINVAL;
    snprintf(out, size, "%.*s.stream", (int)(n - 4), snapshot);
    return 0;
}

/* Remove the marks of dir whose snapshot is gone (pruned). */
static void prune_marks(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 7, ".stream") != 0 ||
            strncmp(e->d_name, "snapshot-", 9))
            continue;
        char snap[4400], mark[4400];
        snprintf(mark, sizeof mark, "%s/%s", dir, e->d_name);
        snprintf(snap, sizeof snap, "%s/%.*s.els", dir, (int)(n - 7), e->d_name);
        if (access(snap, F_OK) != 0 && errno == ENOENT)
            unlink(mark);
    }
    closedir(d);
}

int elig_cluster_snapshot(struct elig_cluster *c, struct elig_snap_info *info, uint64_t *seq)
{
    pthread_mutex_lock(&c->apply_mu); /* the applier waits: the position is the snapshot's */
    int rc = elig_db_snapshot(c->db, info);
    *seq = atomic_load(&c->applied);
    pthread_mutex_unlock(&c->apply_mu);
    if (rc)
        return rc;
    char dir[4200], snap[4400], mark[4400], text[128];
    snprintf(dir, sizeof dir, "%s/snapshots", c->data_dir);
    snprintf(snap, sizeof snap, "%s/snapshot-%020llu.els", dir, (unsigned long long)info->lsn);
    int n = snprintf(text, sizeof text, "%s %llu\n", c->stream_name, (unsigned long long)*seq);
    if ((rc = mark_path(snap, mark, sizeof mark)) == 0)
        rc = elig_io_replace_file(mark, text, (size_t)n);
    prune_marks(dir);
    return rc;
}

int elig_cluster_mark_read(const char *snapshot, char *stream, size_t stream_size, uint64_t *seq)
{
    char path[4400], line[128], name[64], nl;
    int rc = mark_path(snapshot, path, sizeof path);
    if (rc)
        return rc;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    unsigned long long v;
    int ok = fgets(line, sizeof line, f) && sscanf(line, "%63s %llu%c", name, &v, &nl) == 3 &&
             nl == '\n';
    fclose(f);
    if (!ok)
        return -EINVAL;
    snprintf(stream, stream_size, "%s", name);
    *seq = v;
    return 0;
}

int elig_cluster_bootstrap(const struct elig_cluster_params *p, const char *snapshot,
                           uint64_t capacity, struct elig_cluster_boot *out, char *err,
                           size_t err_size)
{
    memset(out, 0, sizeof *out);
    struct elig_store_info store;
    if (elig_store_read(p->data_dir, &store, NULL) != -ENOENT) {
        snprintf(err, err_size,
                 "%s holds a store already: a new node is made in an empty (or new) directory",
                 p->data_dir);
        return -EEXIST;
    }
    char stream[64];
    const char *want = p->stream ? p->stream : "ELIGD";
    int rc = elig_cluster_mark_read(snapshot, stream, sizeof stream, &out->seq);
    if (rc) {
        snprintf(err, err_size,
                 "%s: %s: take the snapshot on a running cluster node (eligctl snapshot --admin "
                 "SOCKET), and copy the .stream file beside it with it",
                 snapshot,
                 rc == -ENOENT ? "no stream position beside it (its .stream file)"
                               : "the stream position beside it (its .stream file) is unreadable");
        return rc;
    }
    if (strcmp(stream, want) != 0) {
        snprintf(err, err_size, "%s was taken from stream %s, not %s", snapshot, stream, want);
        return -EINVAL;
    }
    if ((rc = elig_snap_peek(snapshot, &out->snap))) {
        snprintf(err, err_size, "%s: %s", snapshot, elig_net_strerror(rc));
        return rc;
    }
    uint64_t records = out->snap.records;
    out->capacity = capacity                          ? capacity
                    : records + records / 4 > 1000000 ? records + records / 4
                                                      : 1000000;
    if (out->capacity < records) {
        snprintf(err, err_size, "%s holds %llu records, more than --capacity %llu", snapshot,
                 (unsigned long long)records, (unsigned long long)out->capacity);
        return -EFBIG;
    }
    struct elig_cluster *c = cluster_new(p);
    if (c == NULL)
        return -ENOMEM;
    rc = stream_open(p, &c->stream, err, err_size);
    if (rc == 0 && (rc = elig_stream_bounds(c->stream, &out->first, &out->last)) != 0)
        snprintf(err, err_size, "the stream's bounds: %s", elig_net_strerror(rc));
    if (rc == 0 && out->first > out->seq + 1) {
        snprintf(err, err_size,
                 "%s reaches stream %s to sequence %llu, but the stream now begins at %llu "
                 "(older messages are past its retention): take a newer snapshot on a peer "
                 "(eligctl snapshot --admin SOCKET) and bootstrap from it",
                 snapshot, want, (unsigned long long)out->seq, (unsigned long long)out->first);
        rc = -ELIG_ESTREAMGAP;
    }
    if (rc == 0 && out->seq > out->last) {
        snprintf(err, err_size,
                 "%s reaches stream %s to sequence %llu, past its last message %llu: a snapshot "
                 "of another cluster's stream",
                 snapshot, want, (unsigned long long)out->seq, (unsigned long long)out->last);
        rc = -EINVAL;
    }
    elig_cluster_stop(c);
    if (rc)
        return rc;

    /* the store: a new id and the sizes; its snapshot; its position; DATA/store last */
    store = (struct elig_store_info){ .capacity = out->capacity };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/snapshots", p->data_dir);
    uint8_t id[16];
    if ((rc = elig_store_new(&store)) == 0 && (mkdir(p->data_dir, 0700) == 0 || errno == EEXIST)) {
        elig_store_id_bytes(&store, id);
        rc = elig_snap_copy(snapshot, dir, elig_rd32(id), &out->snap);
    } else if (rc == 0) {
        rc = -errno;
    }
    char pos[4200], copy[4400];
    snprintf(pos, sizeof pos, "%s/stream-position", p->data_dir);
    snprintf(copy, sizeof copy, "%s/snapshot-%020llu.els", dir, (unsigned long long)out->snap.lsn);
    if (rc == 0 && (rc = write_position(pos, out->seq)) == 0 &&
        (rc = elig_store_write(p->data_dir, &store)) != 0)
        unlink(pos);
    if (rc) {
        if (rc != -ELIG_ESNAPSHOT)
            unlink(copy);
        snprintf(err, err_size, "%s: %s", rc == -ELIG_ESNAPSHOT ? snapshot : p->data_dir,
                 elig_net_strerror(rc));
    }
    return rc;
}

int elig_cluster_append(struct elig_cluster *c, const uint8_t *events, size_t events_len,
                        const uint8_t id[16], int64_t entered, int timeout_ms, uint64_t *seq)
{
    char hex[2 * ELIG_PROTO_CHUNK_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, id, ELIG_PROTO_CHUNK_ID_LEN);
    /* the message always carries its id: the events, the id; and a back-fill's entry time
     * after it (without one, every node takes the time the stream stored the message, and
     * the message is as nodes of earlier versions read it) */
    size_t len = events_len + ELIG_PROTO_CHUNK_ID_LEN + (entered ? ELIG_PROTO_ENTERED_LEN : 0);
    uint8_t *msg = malloc(len);
    if (msg == NULL)
        return -ENOMEM;
    memcpy(msg, events, events_len);
    memcpy(msg + events_len, id, ELIG_PROTO_CHUNK_ID_LEN);
    if (entered)
        elig_le64(msg + events_len + ELIG_PROTO_CHUNK_ID_LEN, (uint64_t)entered);
    bool dup;
    int rc = -ETIMEDOUT;
    uint64_t t0 = now_ms();
    for (int tries = 0; rc != 0 && rc != -ENOMEM && rc != -EINVAL && tries < 100; tries++) {
        /* the same id each time: stored once however often it is sent; through an election
         * (no leader, no acknowledgement) for up to timeout_ms */
        rc = elig_stream_publish(c->stream, hex, msg, len, seq, &dup);
        if (rc == 0 || now_ms() - t0 > (uint64_t)timeout_ms)
            break;
        pause_ms(200);
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
    return last > applied + max_lag || now_ms() - contact > 5000 ||
           atomic_load_explicit(&c->gap, memory_order_relaxed);
}

void elig_cluster_state(const struct elig_cluster *c, struct elig_cluster_state *st)
{
    st->applied = atomic_load(&c->applied);
    st->pending = atomic_load(&c->pending);
    st->malformed = atomic_load(&c->malformed);
    st->error = atomic_load(&c->error);
}
