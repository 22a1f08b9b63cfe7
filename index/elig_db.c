/* SPDX-License-Identifier: MIT */
/*
 * elig_db: the append log and the index kept in step.
 *
 * Invariant: the index's applied LSN never exceeds the log's last durable
 * LSN, and every record up to it has been applied exactly once (elig_apply
 * commits the LSN with the changes). Start-up restores it: a segment that is
 * missing, damaged, left mid-change or ahead of the log (the log lost its
 * tail) is not trusted and is rebuilt from the log; a trusted one only
 * replays what follows its applied LSN. submit() keeps it: log first
 * (durable), then apply in LSN order, under one mutex so that LSN order is
 * apply order.
 *
 * Chunks. A submit with a chunk id logs one unit: a CHUNK record (the id,
 * a digest of the events, their count) and then the events. Applying it
 * holds the index's "being changed" mark from the CHUNK record to the last
 * event, so a writer dying inside leaves a segment that the next start
 * refuses and rebuilds: a start always resumes at a chunk boundary, and the
 * replay of a chunk sees all of its events and can rebuild its result. The
 * result (first LSN, count, statuses) goes to the chunk table (elig_chunk),
 * where a resubmission of the same id finds it and is answered with it
 * instead of being logged again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_apply.h"
#include "elig_chunk.h"
#include "elig_codec.h"
#include "elig_db.h"
#include "elig_error.h"
#include "elig_lag.h"
#include "elig_le.h"
#include "elig_snap.h"

struct elig_db {
    char data_dir[4096], segment_path[4096], log_dir[4096], snap_dir[4096];
    struct elig_store_info store; /* identity and sizes in force (DATA/store) */
    struct elig_log *log;
    struct elig_index *ix;
    int rejects_fd;
    struct elig_chunk_table *chunks; /* NULL in a verify rebuild */
    pthread_mutex_t mu;
    uint64_t rejected;
    uint64_t full_lsn; /* a logged record that did not fit the index: updates are refused
                          until it grows (0: not full) */
    void (*progress)(void *ctx, const struct elig_db_progress *p); /* during open, or NULL */
    void *progress_ctx;
    double opened_s;        /* when the open began */
    pthread_mutex_t lag_mu; /* one fold of the log into DATA/lag at a time (elig_db_snapshot) */
    /* registration lag of the events applied since the open (elig_db_lag_counts), relaxed
     * atomics: written under mu, read by any thread */
    uint64_t lag[ELIG_LAG_CLASSES][ELIG_LAG_BUCKETS];
    uint64_t lag_days[ELIG_LAG_CLASSES];
};

static double now_s(void);

/* Tell the opener where the start is, if it asked. */
static void progress(struct elig_db *db, const char *phase, uint64_t snapshot, uint64_t first,
                     uint64_t lsn, uint64_t last)
{
    if (db->progress)
        db->progress(db->progress_ctx,
                     &(struct elig_db_progress){ .phase = phase,
                                                 .snapshot = snapshot,
                                                 .first_lsn = first,
                                                 .lsn = lsn,
                                                 .last_lsn = last,
                                                 .seconds = now_s() - db->opened_s });
}

#define CHUNK_EVENTS_MAX (1u << 20) /* more events than any sender may send at once */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One line per refused event; the reason and the sender, never the event's personal data. */
static void reject(struct elig_db *db, uint64_t lsn, const struct elig_event *ev, int why)
{
    char line[256];
    const char *kind = elig_event_kind_name(ev->kind);
    int n = snprintf(line, sizeof line, "%llu\t%s\t%.8s\t%s\n", (unsigned long long)lsn,
                     kind ? kind : "?", ev->source, elig_strerror(why));
    db->rejected++;
    if (db->rejects_fd >= 0 && n > 0 && write(db->rejects_fd, line, (size_t)n) != n)
        fprintf(stderr, "eligd: cannot write the reject file: %s\n", elig_strerror(-errno));
}

/*
 * Apply one logged event; *status gets the model's verdict (0 or its
 * reason, recorded in the reject file). Returns 0, or an error that stops
 * the store.
 */
static int apply_event(struct elig_db *db, uint64_t lsn, const struct elig_event *ev, int decoded,
                       int *status)
{
    int rc = decoded == 0 ? elig_apply(db->ix, ev, lsn, NULL) : decoded;
    *status = 0;
    if (rc == ELIG_APPLY_SKIPPED)
        return 0;
    if (rc <= -ELIG_ERRNO_BASE && rc != -ELIG_EFULL) {
        reject(db, lsn, ev, rc); /* the model refused it: done with, and on record */
        *status = rc;
        return 0;
    }
    return rc;
}

/* Mark a store record (not an event) applied: the index's LSN moves past it. */
static void apply_marker(struct elig_index *ix, uint64_t lsn)
{
    if (lsn <= elig_index_applied_lsn(ix))
        return;
    elig_index_begin(ix);
    elig_index_commit(ix, lsn);
}

/* A chunk being replayed: its CHUNK record was seen, its events are being applied. */
struct chunk_run {
    uint8_t id[ELIG_CHUNK_ID_LEN];
    struct elig_chunk_result res;
    uint32_t seen;
    int *status;
};

/*
 * Events read ahead of the one applied: each is decoded when the scan reaches it and the
 * index lines it will touch are requested then, so that by its turn (REPLAY_AHEAD events
 * later) they are in cache; they are still applied one by one, in log order.
 */
#define REPLAY_AHEAD 16

struct replay_event {
    uint64_t lsn;
    int decoded; /* elig_event_decode()'s result */
    struct elig_event ev;
};

struct replay {
    struct elig_db *db;
    uint64_t from; /* the first LSN the log must hold */
    uint64_t last; /* the log's last record (for progress) */
    uint64_t at;   /* the record being applied */
    uint64_t seen, applied, rejected;
    struct chunk_run chunk;                  /* chunk.status != NULL while one is open */
    struct replay_event ahead[REPLAY_AHEAD]; /* events read, not yet applied (a ring) */
    unsigned head, pending;
    int err;
};

static int chunk_begin(struct replay *r, uint64_t lsn, const uint8_t *payload, size_t len)
{
    struct chunk_run *c = &r->chunk;
    struct elig_chunk_record rec;
    if (elig_chunk_record_decode(payload, len, &rec) < 0 || rec.n == 0 || rec.n > CHUNK_EVENTS_MAX)
        return -ELIG_EKIND;
    free(c->status);
    if (!(c->status = calloc(rec.n, sizeof *c->status)))
        return -ENOMEM;
    memcpy(c->id, rec.id, ELIG_CHUNK_ID_LEN);
    c->res = (struct elig_chunk_result){ .hash = rec.hash, .first_lsn = lsn + 1, .n = rec.n };
    c->seen = 0;
    elig_index_unit_begin(r->db->ix);
    apply_marker(r->db->ix, lsn);
    return 0;
}

/* One more event of the open chunk; the last one records its result. */
static int chunk_event(struct replay *r, int status)
{
    struct chunk_run *c = &r->chunk;
    if (!c->status)
        return 0;
    c->status[c->seen++] = status;
    if (c->seen < c->res.n)
        return 0;
    int rc = r->db->chunks ? elig_chunk_add(r->db->chunks, c->id, &c->res, c->status) : 0;
    elig_index_unit_end(r->db->ix);
    free(c->status);
    c->status = NULL;
    return rc;
}

/* Apply the oldest event read ahead. */
static int replay_apply_one(struct replay *r)
{
    struct replay_event *e = &r->ahead[r->head];
    r->head = (r->head + 1) % REPLAY_AHEAD;
    r->pending--;
    r->at = e->lsn;
    int status = 0;
    int rc = apply_event(r->db, e->lsn, &e->ev, e->decoded, &status);
    if (rc == 0)
        rc = chunk_event(r, status);
    if (rc < 0)
        return rc;
    r->applied++;
    r->rejected += status != 0;
    if ((r->applied & 0xffff) == 0)
        progress(r->db, "replay", 0, r->from, e->lsn, r->last);
    return 0;
}

/* Apply every event read ahead (before a chunk record, and at the end of the log). */
static int replay_drain(struct replay *r)
{
    int rc = 0;
    while (rc == 0 && r->pending > 0)
        rc = replay_apply_one(r);
    if (rc < 0 && r->err == 0)
        r->err = rc;
    return r->err;
}

static int replay_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *payload, size_t len)
{
    struct replay *r = ctx;
    if (r->seen++ == 0 && lsn != r->from) {
        r->at = lsn;
        r->err = -ELIG_ELOGGAP; /* pruned past what the index holds */
        return 1;
    }
    int rc = 0;
    if (kind == ELIG_DB_KIND_CHUNK) {
        if (replay_drain(r) == 0) {
            r->at = lsn;
            if ((rc = chunk_begin(r, lsn, payload, len)) == 0)
                r->applied++;
        }
    } else {
        if (r->pending == REPLAY_AHEAD)
            rc = replay_apply_one(r);
        struct replay_event *e = &r->ahead[(r->head + r->pending) % REPLAY_AHEAD];
        e->lsn = lsn;
        e->decoded = elig_event_decode(payload, len, &e->ev);
        if (e->decoded == 0)
            elig_apply_prefetch(r->db->ix, &e->ev);
        r->pending++;
    }
    if (rc < 0 && r->err == 0)
        r->err = rc;
    return r->err ? 1 : 0; /* 1 stops the scan */
}

/* The end of a replay's scan: what was read ahead applied. */
static int replay_finish(struct replay *r, int scan_rc)
{
    if (r->err == 0) /* what the scan handed over is applied, as if it had not read ahead */
        replay_drain(r);
    return r->err ? r->err : scan_rc < 0 ? scan_rc : 0;
}

/* n bytes of an id as 2n hex digits (out holds 2n + 1). */
static void hex_id(const uint8_t *id, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/*
 * A segment we may reattach: present, valid, not mid-change, not ahead of
 * the log. Returns 0 (warm: db->ix open), 1 (cold: *why says why; nothing
 * was changed), or a negative error for a segment that must not be touched:
 * -EBUSY (another process holds it), -ELIG_ESEGAHEAD (it holds updates the
 * log does not have, and rebuilding was not asked for).
 */
static int attach_warm(struct elig_db *db, const struct elig_db_params *p, uint64_t log_last,
                       struct elig_db_start *st)
{
    /* first a reader's look, which changes nothing: a segment ahead of the log is refused
     * before it is opened as its writer (which would mark its header) */
    struct elig_index *look;
    bool replace = false; /* another store's, or ahead, and --rebuild-segment */
    if (elig_index_open(p->segment_path, ELIG_SEG_READONLY, &look) == 0) {
        static const uint8_t none[16];
        uint8_t seg_id[16], id[16];
        elig_store_id_bytes(&st->store, id);
        uint64_t lsn = elig_index_applied_lsn(look);
        bool other = elig_index_store_id(look, seg_id) == 0 && memcmp(seg_id, none, 16) != 0 &&
                     memcmp(seg_id, id, 16) != 0;
        elig_index_close(look, false);
        if (other && !p->rebuild_segment) { /* another store's: replaced only on purpose */
            st->segment_other = true;
            hex_id(seg_id, 16, st->other_id);
            return -ELIG_ESTOREID;
        }
        if (lsn > log_last && !p->rebuild_segment) {
            st->segment_lsn = lsn;
            return -ELIG_ESEGAHEAD;
        }
        replace = other || lsn > log_last;
    }
    int rc = elig_index_open(p->segment_path, ELIG_SEG_WRITER, &db->ix);
    if (rc == -EBUSY)
        return rc;
    st->cold_reason = rc == -ENOENT              ? "no segment"
                      : rc == -ELIG_EINTERRUPTED ? "segment left mid-change by a writer that died"
                      : rc < 0                   ? elig_strerror(rc)
                                                 : NULL;
    if (rc < 0)
        return 1;
    if (replace || elig_index_applied_lsn(db->ix) > log_last) {
        st->segment_lsn = elig_index_applied_lsn(db->ix);
        elig_index_close(db->ix, false);
        db->ix = NULL;
        if (!p->rebuild_segment)
            return -ELIG_ESEGAHEAD;
        st->cold_reason = "segment replaced (--rebuild-segment)";
        return 1;
    }
    return 0;
}

/*
 * The store's parameters: those recorded in DATA/store, against which a
 * non-zero option must agree; or, for a store not made yet, the options
 * with the defaults filled in. Reads only. Returns 0, -ELIG_ESTOREPARAM or
 * -ELIG_ESTOREFILE (st says which and where).
 */
static int store_params(const struct elig_db_params *p, struct elig_db_start *st)
{
    int rc = elig_store_read(p->data_dir, &st->store, &st->store_line);
    const struct elig_index_params *ip = &p->index;
    if (rc == -ENOENT || rc == -ENOTDIR) { /* made now: its id, written once it opened */
        st->store = (struct elig_store_info){ .capacity = ip->capacity ? ip->capacity : 1000000,
                                              .persons = ip->persons,
                                              .cards = ip->cards,
                                              .names = ip->names,
                                              .key_strings = ip->key_strings };
        st->store_made = true;
        return elig_store_new(&st->store);
    }
    if (rc)
        return rc;
    const struct {
        const char *name;
        uint64_t given, recorded;
    } opts[] = {
        { "capacity", ip->capacity, st->store.capacity },
        { "persons", ip->persons, st->store.persons },
        { "cards", ip->cards, st->store.cards },
        { "names", ip->names, st->store.names },
        { "key-strings", ip->key_strings, st->store.key_strings },
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].given && opts[i].given != opts[i].recorded) {
            st->conflict = opts[i].name;
            st->conflict_given = opts[i].given;
            st->conflict_recorded = opts[i].recorded;
            return -ELIG_ESTOREPARAM;
        }
    return 0;
}

/*
 * Before anything is created: a data directory that does not exist with a
 * segment that holds updates is a mistyped --data (or --segment), not a new
 * store. Returns 0 or -ELIG_ESEGAHEAD.
 */
static int check_new_store(const struct elig_db_params *p, struct elig_db_start *st)
{
    struct stat sb;
    if (stat(p->data_dir, &sb) == 0 || errno != ENOENT || p->rebuild_segment)
        return 0;
    struct elig_index *ix;
    if (elig_index_open(p->segment_path, ELIG_SEG_READONLY, &ix) < 0)
        return 0; /* no segment (or not one): a new store */
    st->segment_lsn = elig_index_applied_lsn(ix);
    elig_index_close(ix, false);
    return st->segment_lsn > 0 ? -ELIG_ESEGAHEAD : 0;
}

/*
 * Before anything is made: a segment that must be created (none at the path)
 * must be one the sizes allow and must fit its file system. Returns 0,
 * -EINVAL (st->segment_needed 0) or -ENOSPC (st says how much and where).
 */
static int check_room(const struct elig_db_params *p, struct elig_db_start *st)
{
    struct stat sb;
    if (stat(p->segment_path, &sb) == 0)
        return 0;
    struct elig_index_params ip = { .capacity = st->store.capacity,
                                    .persons = st->store.persons,
                                    .cards = st->store.cards,
                                    .names = st->store.names,
                                    .key_strings = st->store.key_strings };
    if (elig_index_size(&ip, &st->segment_needed) < 0)
        return -EINVAL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", p->segment_path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/x" -> "/" */
    struct statvfs vfs;
    if (statvfs(dir, &vfs) < 0)
        return 0; /* no such directory: creating the segment says so */
    if (vfs.f_blocks == 0)
        return 0; /* no size of its own (hugetlbfs without size=): the page pool is the limit,
                     and creating the segment says at once when it is short */
    st->segment_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return st->segment_needed > st->segment_free ? -ENOSPC : 0;
}

static int create_empty(struct elig_db *db, const char *path, enum elig_seg_pages pages,
                        const struct elig_store_info *store)
{
    struct elig_index_params ip = { .path = path, .pages = pages };
    ip.capacity = store->capacity;
    ip.persons = store->persons;
    ip.cards = store->cards;
    ip.names = store->names;
    ip.key_strings = store->key_strings;
    uint8_t id[16];
    elig_store_id_bytes(store, id);
    ip.store_id = id;
    if (db->ix) {
        elig_index_close(db->ix, false);
        db->ix = NULL;
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return elig_index_create(&ip, &db->ix);
}

/* Cold: a new segment, loaded from the newest snapshot that checks out, if any. */
static int create_cold(struct elig_db *db, const char *path, enum elig_seg_pages pages,
                       struct elig_db_start *st)
{
    char(*snaps)[4096] = malloc(8 * sizeof *snaps);
    if (!snaps)
        return -ENOMEM;
    int n = elig_snap_list(db->snap_dir, snaps, 8), rc = 0;
    uint8_t id[16];
    elig_store_id_bytes(&st->store, id);
    for (int i = 0; i < n && i < 8; i++) { /* another store's snapshot: refused, not skipped */
        struct elig_snap_info peek;
        if (elig_snap_peek(snaps[i], &peek) == 0 && peek.store_tag != 0 &&
            peek.store_tag != elig_rd32(id)) {
            snprintf(st->damaged, sizeof st->damaged, "%s", strrchr(snaps[i], '/') + 1);
            st->snapshot_other = true;
            uint8_t tag[4];
            elig_le32(tag, peek.store_tag);
            hex_id(tag, 4, st->other_id);
            free(snaps);
            return -ELIG_ESTOREID;
        }
    }
    for (int i = 0; i < n && i < 8; i++) {
        struct elig_snap_info info;
        if ((rc = create_empty(db, path, pages, &st->store)) < 0)
            break;
        struct elig_snap_info peek;
        progress(db, "snapshot", elig_snap_peek(snaps[i], &peek) == 0 ? peek.lsn : 0, 0, 0, 0);
        rc = elig_snap_load(snaps[i], db->ix, &info);
        if (rc == 0) {
            st->snapshot_lsn = info.lsn;
            break;
        }
        if (rc != -ELIG_ESNAPSHOT)
            break;
        st->snapshots_damaged++; /* try the next older one */
        snprintf(st->damaged, sizeof st->damaged, "%s", strrchr(snaps[i], '/') + 1);
        rc = 0;
    }
    if (rc == 0 && st->snapshot_lsn == 0)
        rc = create_empty(db, path, pages, &st->store);
    free(snaps);
    return rc;
}

/*
 * Apply the log after the index's applied LSN (through last). A record that
 * does not fit the index leaves the store full (db->full_lsn): lookups are
 * served as of the records before it, updates refused until it grows.
 */
static int replay_log(struct elig_db *db, uint64_t last, struct elig_db_start *st)
{
    uint64_t from = elig_index_applied_lsn(db->ix) + 1;
    struct replay r = { .db = db, .from = from, .last = last };
    if (from <= last)
        progress(db, "replay", 0, from, from, last);
    int rc = replay_finish(&r, elig_log_scan(db->log_dir, from, replay_record, &r, NULL));
    free(r.chunk.status); /* open at the end: only when the index filled inside a chunk */
    if (rc == 0 && from <= last && r.applied == 0)
        rc = -ELIG_ELOGGAP;
    if (rc == -ELIG_EFULL) {
        db->full_lsn = r.at;
        rc = 0;
    }
    st->replayed += r.applied;
    st->rejected += r.rejected;
    return rc;
}

int elig_db_open(const struct elig_db_params *p, struct elig_db **out, struct elig_db_start *st)
{
    struct elig_db_start local;
    st = st ? st : &local;
    memset(st, 0, sizeof *st);
    double t0 = now_s();
    int early = check_new_store(p, st);
    if (early == 0)
        early = store_params(p, st);
    if (early == 0)
        early = check_room(p, st);
    if (early)
        return early;
    if (mkdir(p->data_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct elig_db *db = calloc(1, sizeof *db);
    if (!db)
        return -ENOMEM;
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->lag_mu, NULL);
    db->progress = p->progress;
    db->progress_ctx = p->progress_ctx;
    db->opened_s = t0;
    char path[4096];
    snprintf(path, sizeof path, "%s/rejects.tsv", p->data_dir);
    db->rejects_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(db->data_dir, sizeof db->data_dir, "%s", p->data_dir);
    snprintf(db->segment_path, sizeof db->segment_path, "%s", p->segment_path);
    db->store = st->store;
    snprintf(db->log_dir, sizeof db->log_dir, "%s/log", p->data_dir);
    snprintf(db->snap_dir, sizeof db->snap_dir, "%s/snapshots", p->data_dir);
    uint8_t id[ELIG_LOG_STORE_ID];
    elig_store_id_bytes(&st->store, id);
    struct elig_log_params lp = {
        .dir = db->log_dir, .tail = p->tail, .commit_window_us = p->commit_window_us, .store_id = id
    };
    int rc = db->rejects_fd < 0 ? -errno : elig_log_open(&lp, &db->log, &st->tail);
    if (rc == -ELIG_ESTOREID)
        hex_id(st->tail.other_id, 16, st->other_id);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/chunks", p->data_dir);
        rc = elig_chunk_open(path, &db->chunks);
    }
    if (rc == 0) {
        rc = attach_warm(db, p, st->tail.last_lsn, st);
        st->warm = rc == 0;
        if (rc == 1)
            rc = create_cold(db, p->segment_path, p->index.pages, st);
    }
    if (rc == 0 && (rc = replay_log(db, st->tail.last_lsn, st)) == 0)
        st->full_lsn = db->full_lsn;
    if (rc == 0 && st->tail.last_lsn == 0 && elig_index_applied_lsn(db->ix) > 0)
        rc = elig_log_start_at(db->log, elig_index_applied_lsn(db->ix) + 1); /* made from a
                                                                     snapshot: LSNs go on */
    if (rc < 0) {
        elig_db_close(db);
        return rc;
    }
    if (st->store_made && (rc = elig_store_write(p->data_dir, &st->store)) < 0) {
        elig_db_close(db);
        return rc;
    }
    st->applied_lsn = elig_index_applied_lsn(db->ix);
    elig_index_publish(db->ix, st->applied_lsn);
    st->seconds = now_s() - t0;
    *out = db;
    return 0;
}

/* A unit's log records: a CHUNK record (with an id), then the events. */
struct unit {
    uint8_t *buf;
    struct elig_log_rec *recs;
    size_t nrecs;
    uint64_t hash;   /* digest of the encoded events */
    int64_t entered; /* the entry time its chunk record carries */
};

static void unit_free(struct unit *u)
{
    free(u->buf);
    free(u->recs);
}

/* Encode evs as log records, led by a CHUNK record (with the entry time) when id is given. */
static int unit_encode(const uint8_t *id, int64_t entered, const struct elig_event *evs, size_t n,
                       struct unit *u)
{
    size_t lead = id ? 1 : 0;
    *u = (struct unit){ .buf = malloc(n * ELIG_EVENT_WIRE_MAX + ELIG_CHUNK_RECORD),
                        .recs = malloc((n + lead) * sizeof *u->recs),
                        .nrecs = n + lead,
                        .entered = entered };
    XXH3_state_t *xs = XXH3_createState();
    int rc = u->buf && u->recs && xs && XXH3_64bits_reset(xs) == XXH_OK ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t *e = u->buf + i * ELIG_EVENT_WIRE_MAX;
        int len = elig_event_encode(&evs[i], e, ELIG_EVENT_WIRE_MAX);
        if (len < 0)
            rc = len;
        else
            u->recs[lead + i] = (struct elig_log_rec){ evs[i].kind, e, (size_t)len };
        if (len > 0)
            XXH3_64bits_update(xs, e, (size_t)len);
    }
    if (rc == 0 && id) {
        uint8_t *chunk = u->buf + n * ELIG_EVENT_WIRE_MAX;
        u->hash = XXH3_64bits_digest(xs);
        struct elig_chunk_record rec = { .hash = u->hash, .n = (uint32_t)n, .entered = entered };
        memcpy(rec.id, id, ELIG_CHUNK_ID_LEN);
        elig_chunk_record_encode(&rec, chunk);
        u->recs[0] = (struct elig_log_rec){ ELIG_DB_KIND_CHUNK, chunk, ELIG_CHUNK_RECORD };
    }
    if (xs)
        XXH3_freeState(xs);
    return rc;
}

/* Mutex held: one applied event's registration lag into the live counts. */
static void count_lag(struct elig_db *db, const struct elig_event *ev, elig_date_t day)
{
    int cls = elig_lag_class_of(ev->kind);
    if (cls < 0 || day == ELIG_DATE_NONE || ev->effective == ELIG_DATE_NONE)
        return;
    int days = (int)day - (int)ev->effective;
    __atomic_fetch_add(&db->lag[cls][elig_lag_bucket_of(days)], 1, __ATOMIC_RELAXED);
    if (days > 0)
        __atomic_fetch_add(&db->lag_days[cls], (uint64_t)days, __ATOMIC_RELAXED);
}

void elig_db_lag_counts(const struct elig_db *db,
                        uint64_t counts[ELIG_LAG_CLASSES][ELIG_LAG_BUCKETS],
                        uint64_t days_sum[ELIG_LAG_CLASSES])
{
    for (unsigned c = 0; c < ELIG_LAG_CLASSES; c++) {
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++)
            counts[c][b] = __atomic_load_n(&db->lag[c][b], __ATOMIC_RELAXED);
        days_sum[c] = __atomic_load_n(&db->lag_days[c], __ATOMIC_RELAXED);
    }
}

/* Mutex held: log the unit, then apply its events; status[i] as elig_db_submit() says. */
static int unit_commit(struct elig_db *db, const uint8_t *id, const struct unit *u,
                       const struct elig_event *evs, size_t n, int *status, uint64_t *first)
{
    int rc = elig_log_append_batch(db->log, u->recs, u->nrecs, first);
    if (rc < 0)
        return rc;
    if (id) {
        elig_index_unit_begin(db->ix);
        apply_marker(db->ix, (*first)++); /* the events follow the CHUNK record */
    }
    elig_date_t day = elig_date_of_time(u->entered);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        status[i] = elig_apply(db->ix, &evs[i], *first + i, NULL);
        if (status[i] == 0 && id)
            count_lag(db, &evs[i], day);
        if (status[i] == -ELIG_EFULL)
            rc = status[i];
        else if (status[i] <= -ELIG_ERRNO_BASE)
            reject(db, *first + i, &evs[i], status[i]);
        else if (status[i] < 0)
            rc = status[i];
    }
    if (rc == 0 && id) {
        /* recorded while the segment is still marked: a writer dying before the record is
         * made leaves a segment the next start rebuilds, and its replay records the chunk */
        struct elig_chunk_result res = { .hash = u->hash, .first_lsn = *first, .n = (uint32_t)n };
        int crc = elig_chunk_add(db->chunks, id, &res, status);
        if (crc < 0) /* the chunk is durable and applied: only a retry's answer is at stake */
            fprintf(stderr, "eligd: cannot write the chunk file: %s\n", elig_strerror(crc));
    }
    if (rc == 0 && id) /* a chunk not wholly applied (index full) leaves the segment marked */
        elig_index_unit_end(db->ix);
    return rc;
}

int elig_db_submit_chunk(struct elig_db *db, const uint8_t *id, int64_t entered,
                         const struct elig_event *evs, size_t n, int *status, uint64_t *first_lsn,
                         bool *duplicate)
{
    if (duplicate)
        *duplicate = false;
    if (n == 0)
        return 0;
    if (n > CHUNK_EVENTS_MAX || entered < 0)
        return -EINVAL;
    if (entered == 0)
        entered = (int64_t)time(NULL);
    struct unit u;
    int rc = unit_encode(id, entered, evs, n, &u);
    uint64_t first = 0;
    pthread_mutex_lock(&db->mu);
    struct elig_chunk_result seen;
    if (rc == 0 && db->full_lsn) {
        rc = -ELIG_EFULL; /* nothing more is logged until the index grows */
    } else if (rc == 0 && id && elig_chunk_find(db->chunks, id, &seen, status, n)) {
        /* sent before: the same events get the same answer, other events a refusal */
        if (seen.hash != u.hash || seen.n != n)
            rc = -ELIG_ECHUNKID;
        first = seen.first_lsn;
        if (duplicate)
            *duplicate = rc == 0;
    } else if (rc == 0) {
        rc = unit_commit(db, id, &u, evs, n, status, &first);
        if (rc == -ELIG_EFULL)
            db->full_lsn = elig_index_applied_lsn(db->ix) + 1;
        if (rc == 0 || rc == -ELIG_EFULL)
            elig_index_publish(db->ix, elig_index_applied_lsn(db->ix));
    }
    pthread_mutex_unlock(&db->mu);
    unit_free(&u);
    if (rc == 0 && first_lsn)
        *first_lsn = first;
    return rc;
}

int elig_db_submit(struct elig_db *db, const struct elig_event *evs, size_t n, int *status,
                   uint64_t *first_lsn)
{
    return elig_db_submit_chunk(db, NULL, 0, evs, n, status, first_lsn, NULL);
}

/* DATA/lag and DATA/log of the store at data_dir. */
static void lag_paths(const char *data_dir, char path[4200], char log_dir[4200])
{
    snprintf(path, 4200, "%s/lag", data_dir);
    snprintf(log_dir, 4200, "%s/log", data_dir);
}

int elig_db_lag_fold(const char *data_dir, uint64_t upto)
{
    char path[4200], log_dir[4200];
    lag_paths(data_dir, path, log_dir);
    struct elig_lag *t;
    uint64_t through;
    int rc = elig_lag_create(&t);
    if (rc == 0)
        rc = elig_lag_load(t, path, &through);
    if (rc == 0 && through < upto) {
        rc = elig_lag_scan_log(t, log_dir, through, upto, NULL, NULL);
        if (rc == -ENOENT)
            rc = 0; /* no log yet: nothing to count */
        if (rc == 0)
            rc = elig_lag_save(t, path, upto);
    }
    elig_lag_destroy(t);
    return rc;
}

int elig_db_lag_table(const char *data_dir, struct elig_lag *t, uint64_t *through, uint64_t *last,
                      uint64_t *untimed)
{
    char path[4200], log_dir[4200];
    lag_paths(data_dir, path, log_dir);
    int rc = elig_lag_load(t, path, through);
    if (rc == 0)
        rc = elig_lag_scan_log(t, log_dir, *through, UINT64_MAX, last, untimed);
    return rc;
}

int elig_db_snapshot(struct elig_db *db, struct elig_snap_info *info)
{
    pthread_mutex_lock(&db->mu); /* no applies meanwhile; lookups go on */
    if (db->full_lsn) {          /* its index may stop inside a chunk: not an image to start from */
        pthread_mutex_unlock(&db->mu);
        return -ELIG_EFULL;
    }
    uint64_t lsn = elig_index_applied_lsn(db->ix);
    int rc = elig_snap_write(db->ix, db->snap_dir, lsn, info);
    if (rc == 0) /* chunks before the snapshot may leave the log: their results must stay */
        rc = elig_chunk_sync(db->chunks);
    pthread_mutex_unlock(&db->mu);
    pthread_mutex_lock(&db->lag_mu);
    if (rc == 0) /* the log's registration lag must stay too (a failure prunes nothing) */
        rc = elig_db_lag_fold(db->data_dir, lsn);
    if (rc == 0)
        rc = elig_log_prune(db->log_dir, lsn);
    pthread_mutex_unlock(&db->lag_mu);
    if (rc >= 0)
        rc = elig_snap_prune(db->snap_dir, 2);
    return rc < 0 ? rc : 0;
}

/* ---- grow ------------------------------------------------------------------------------ */

/* A size recorded as given grows with capacity; one left to the default (0) follows it. */
static uint64_t scaled(uint64_t v, uint64_t from, uint64_t to, uint64_t max)
{
    if (v == 0)
        return 0;
    unsigned __int128 x = ((unsigned __int128)v * to + from - 1) / from;
    return x > max ? max : (uint64_t)x;
}

/* The sizes of a store as an index would be created with them, defaults resolved. */
static struct elig_index_params resolved(const struct elig_store_info *s)
{
    struct elig_index_params p = { .capacity = s->capacity,
                                   .persons = s->persons,
                                   .cards = s->cards,
                                   .names = s->names,
                                   .key_strings = s->key_strings };
    elig_index_params_resolve(&p);
    return p;
}

/* The sizes after a grow: those asked for, the others scaled; -ELIG_EGROWSIZE unless larger. */
static int grown_sizes(const struct elig_store_info *cur, uint64_t cur_capacity,
                       const struct elig_index_params *want, struct elig_store_info *next)
{
    *next = *cur;
    bool other = want->persons || want->cards || want->names || want->key_strings;
    next->capacity = want->capacity ? want->capacity : other ? cur_capacity : 2 * cur_capacity;
    if (next->capacity > (1ull << 31))
        return -ELIG_EGROWSIZE;
    next->persons = want->persons ? want->persons
                                  : scaled(cur->persons, cur_capacity, next->capacity, 1ull << 30);
    next->cards =
        want->cards ? want->cards : scaled(cur->cards, cur_capacity, next->capacity, 1ull << 30);
    next->names = want->names
                      ? want->names
                      : (uint32_t)scaled(cur->names, cur_capacity, next->capacity, UINT32_MAX / 2);
    next->key_strings = want->key_strings ? want->key_strings
                                          : (uint32_t)scaled(cur->key_strings, cur_capacity,
                                                             next->capacity, UINT32_MAX / 2);
    struct elig_store_info was = *cur;
    was.capacity = cur_capacity;
    struct elig_index_params a = resolved(&was), b = resolved(next);
    bool none_smaller = b.capacity >= a.capacity && b.persons >= a.persons && b.cards >= a.cards &&
                        b.names >= a.names && b.key_strings >= a.key_strings;
    bool one_larger = b.capacity > a.capacity || b.persons > a.persons || b.cards > a.cards ||
                      b.names > a.names || b.key_strings > a.key_strings;
    return none_smaller && one_larger ? 0 : -ELIG_EGROWSIZE;
}

/*
 * Mutex held: the grown index at path. A copy of the live one; or, when the
 * store is full (a logged record did not fit, perhaps inside a chunk), what
 * a cold start makes: the newest snapshot and the whole log after it.
 */
static int build_grown(struct elig_db *db, const struct elig_store_info *next, const char *path,
                       enum elig_seg_pages pages, struct elig_index **out)
{
    if (!db->full_lsn) {
        uint8_t id[16];
        elig_store_id_bytes(next, id);
        struct elig_index_params ip = { .path = path,
                                        .capacity = next->capacity,
                                        .persons = next->persons,
                                        .cards = next->cards,
                                        .names = next->names,
                                        .key_strings = next->key_strings,
                                        .pages = pages,
                                        .store_id = id };
        return elig_index_rebuild(db->ix, &ip, out);
    }
    struct elig_index *live = db->ix;
    struct elig_db_start st = { .store = *next };
    db->ix = NULL;
    db->full_lsn = 0;
    int rc = create_cold(db, path, pages, &st);
    if (rc == 0)
        rc = replay_log(db, elig_log_durable_lsn(db->log), &st);
    if (rc == 0 && db->full_lsn) /* still does not fit */
        rc = -ELIG_EFULL;
    if (rc == 0) {
        elig_index_publish(db->ix, elig_index_applied_lsn(db->ix));
        *out = db->ix;
    } else if (db->ix) {
        elig_index_close(db->ix, false);
        unlink(path);
    }
    db->full_lsn = rc == 0 ? 0 : elig_index_applied_lsn(live) + 1;
    db->ix = live;
    return rc;
}

int elig_db_grow(struct elig_db *db, const struct elig_index_params *want, struct elig_index **old,
                 struct elig_db_grow *rep)
{
    double t0 = now_s();
    pthread_mutex_lock(&db->mu); /* no applies meanwhile; lookups go on in the old index */
    memset(rep, 0, sizeof *rep);
    struct elig_index_stats s;
    elig_index_stats(db->ix, &s);
    struct elig_store_info next;
    int rc = grown_sizes(&db->store, s.capacity, want, &next);
    char tmp[4096 + 8];
    snprintf(tmp, sizeof tmp, "%s.grow", db->segment_path);
    if (rc == 0 && unlink(tmp) < 0 && errno != ENOENT) /* left by a grow that died: ours */
        rc = -errno;
    enum elig_seg_pages pages =
        s.backing == ELIG_SEG_BACKING_SMALL ? ELIG_SEG_PAGES_SMALL : ELIG_SEG_PAGES_AUTO;
    struct elig_index *grown = NULL;
    bool was_full = db->full_lsn != 0;
    if (rc == 0)
        rc = build_grown(db, &next, tmp, pages, &grown);
    /* the sizes first: a crash before the rename leaves the old segment (warm), and any
     * cold start builds one of the new size */
    if (rc == 0 && ((rc = elig_store_write(db->data_dir, &next)) < 0 ||
                    (rc = elig_seg_rename(elig_index_seg(grown), db->segment_path)) < 0)) {
        elig_index_close(grown, false);
        unlink(tmp);
        if (was_full)
            db->full_lsn = elig_index_applied_lsn(db->ix) + 1;
    }
    if (rc == 0) {
        elig_seg_retire(elig_index_seg(db->ix));
        struct elig_index_stats g;
        elig_index_stats(grown, &g);
        rep->before = db->store;
        rep->before.capacity = s.capacity;
        rep->after = next;
        rep->records = g.records;
        rep->lsn = elig_index_applied_lsn(grown);
        rep->segment_bytes = g.segment_bytes;
        rep->was_full = was_full;
        *old = db->ix;
        db->ix = grown;
        db->store = next;
    }
    pthread_mutex_unlock(&db->mu);
    rep->seconds = now_s() - t0;
    return rc;
}

int elig_db_chunk_result(struct elig_db *db, const uint8_t *id, const struct elig_event *evs,
                         size_t n, int *status, uint64_t *first_lsn)
{
    struct unit u;
    int rc = unit_encode(id, 0, evs, n, &u); /* its digest: the events must be the ones applied */
    uint64_t hash = u.hash;
    unit_free(&u);
    if (rc)
        return rc;
    struct elig_chunk_result seen;
    pthread_mutex_lock(&db->mu);
    bool found = db->chunks && elig_chunk_find(db->chunks, id, &seen, status, n);
    pthread_mutex_unlock(&db->mu);
    if (!found)
        return -ENOENT;
    if (seen.n != n || seen.hash != hash)
        return -ELIG_ECHUNKID;
    if (first_lsn)
        *first_lsn = seen.first_lsn;
    return 0;
}

uint64_t elig_db_durable_lsn(const struct elig_db *db)
{
    return elig_log_durable_lsn(db->log);
}

const struct elig_lat *elig_db_commit_latency(const struct elig_db *db)
{
    return elig_log_commit_latency(db->log);
}

struct elig_index *elig_db_index(struct elig_db *db)
{
    return db->ix;
}

void elig_db_close(struct elig_db *db)
{
    if (!db)
        return;
    if (db->ix)
        elig_index_close(db->ix, true);
    elig_log_close(db->log);
    elig_chunk_close(db->chunks);
    if (db->rejects_fd >= 0)
        close(db->rejects_fd);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->lag_mu);
    free(db);
}

/* ---- verify ----------------------------------------------------------------------------- */

/* Digests of everything an index holds: records, cards and insurer names, one array. */
struct digests {
    uint64_t *v;
    size_t n, cap;
    uint64_t records, cards, insurers;
};

static int digest_add(struct digests *d, uint64_t h)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        uint64_t *grown = realloc(d->v, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        d->v = grown;
        d->cap = cap;
    }
    d->v[d->n++] = h;
    return 0;
}

static int digest_record(void *ctx, const struct elig_record *rec)
{
    struct digests *d = ctx;
    struct elig_record c;
    memset(&c, 0, sizeof c);
    memcpy(&c, rec, offsetof(struct elig_record, family_kanji));
    strcpy(c.family_kanji, rec->family_kanji);
    strcpy(c.given_kanji, rec->given_kanji);
    strcpy(c.family_kana, rec->family_kana);
    strcpy(c.given_kana, rec->given_kana);
    d->records++;
    return digest_add(d, XXH3_64bits_withSeed(&c, sizeof c, 1));
}

static int digest_card(void *ctx, const struct elig_card *card)
{
    struct digests *d = ctx;
    uint64_t f[7] = { card->card_id,     card->person_id,       card->registered_on,
                      card->cert_expiry, card->dereg_effective, card->returned_on,
                      card->state };
    d->cards++;
    return digest_add(d, XXH3_64bits_withSeed(f, sizeof f, 2));
}

static int digest_insurer(void *ctx, const char insurer[ELIG_INSURER_LEN], const char *name,
                          size_t len)
{
    struct digests *d = ctx;
    char buf[ELIG_INSURER_LEN + ELIG_INSURER_NAME_MAX];
    memcpy(buf, insurer, ELIG_INSURER_LEN);
    memcpy(buf + ELIG_INSURER_LEN, name, len);
    d->insurers++;
    return digest_add(d, XXH3_64bits_withSeed(buf, ELIG_INSURER_LEN + len, 3));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int digest_index(const struct elig_index *ix, struct digests *d)
{
    struct elig_index_export ex = { d, digest_record, digest_card, digest_insurer };
    int rc = elig_index_export(ix, &ex);
    if (rc == 0 && d->n > 1)
        qsort(d->v, d->n, sizeof *d->v, cmp_u64);
    return rc;
}

/* Rebuild into ix (empty, writer) from the newest good snapshot in data_dir and the log after it.
 */
static int rebuild_from_disk(const char *data_dir, struct elig_index *ix,
                             struct elig_db_verify *rep)
{
    struct elig_db db = { .ix = ix, .rejects_fd = -1 };
    snprintf(db.log_dir, sizeof db.log_dir, "%s/log", data_dir);
    snprintf(db.snap_dir, sizeof db.snap_dir, "%s/snapshots", data_dir);
    char(*snaps)[4096] = malloc(8 * sizeof *snaps);
    if (!snaps)
        return -ENOMEM;
    int n = elig_snap_list(db.snap_dir, snaps, 8), rc = 0;
    for (int i = 0; i < n && i < 8; i++) {
        struct elig_snap_info info;
        if (elig_snap_check(snaps[i], &info) == 0) {
            rc = elig_snap_load(snaps[i], ix, &info);
            rep->snapshot_lsn = info.lsn;
            break;
        }
    }
    free(snaps);
    if (rc < 0)
        return rc;
    uint64_t from = elig_index_applied_lsn(ix) + 1;
    struct replay r = { .db = &db, .from = from };
    rc = replay_finish(&r, elig_log_scan(db.log_dir, from, replay_record, &r, NULL));
    rep->replayed = r.applied;
    free(r.chunk.status);
    return rc;
}

int elig_db_verify(const char *data_dir, const struct elig_index *live, const char *scratch_path,
                   struct elig_db_verify *rep)
{
    memset(rep, 0, sizeof *rep);
    struct elig_index_stats st;
    elig_index_stats(live, &st);
    struct elig_index_params p = { .path = scratch_path,
                                   .capacity = st.capacity,
                                   .persons = st.persons_capacity,
                                   .cards = st.cards_capacity };
    struct elig_index *ix;
    int rc = elig_index_create(&p, &ix);
    if (rc < 0)
        return rc;
    struct digests a = { 0 }, b = { 0 };
    rc = rebuild_from_disk(data_dir, ix, rep);
    if (rc == 0)
        rc = digest_index(live, &a);
    if (rc == 0)
        rc = digest_index(ix, &b);
    rep->live_lsn = elig_index_applied_lsn(live);
    rep->rebuilt_lsn = elig_index_applied_lsn(ix);
    elig_index_close(ix, false);
    unlink(scratch_path);
    if (rc == 0) {
        rep->live_items = a.n;
        rep->rebuilt_items = b.n;
        for (size_t i = 0, j = 0; i < a.n || j < b.n;) {
            if (j == b.n || (i < a.n && a.v[i] < b.v[j])) {
                rep->only_live++;
                i++;
            } else if (i == a.n || b.v[j] < a.v[i]) {
                rep->only_rebuilt++;
                j++;
            } else {
                i++;
                j++;
            }
        }
    }
    free(a.v);
    free(b.v);
    return rc;
}

void elig_db_start_report(const struct elig_db_start *st, elig_db_report_fn emit, void *ctx)
{
    char line[1024];
    if (st->tail.stop != ELIG_LOG_STOP_END) {
        snprintf(line, sizeof line,
                 "LOG TAIL CUT (%s): %s at offset %llu of %s; %llu bytes (%llu whole records of "
                 "an unfinished unit) and %u later file(s) dropped; the log now ends at LSN %llu",
                 st->tail.torn ? "torn write, never acknowledged" : "--truncate-tail",
                 elig_log_stop_name(st->tail.stop), (unsigned long long)st->tail.offset,
                 st->tail.file, (unsigned long long)st->tail.dropped_bytes,
                 (unsigned long long)st->tail.dropped_records, st->tail.dropped_files,
                 (unsigned long long)st->tail.last_lsn);
        emit(ctx, true, line);
    }
    if (st->snapshots_damaged) {
        snprintf(line, sizeof line, "SNAPSHOT DAMAGED: %s (and %u newer) skipped", st->damaged,
                 st->snapshots_damaged - 1);
        emit(ctx, true, line);
    }
    if (st->store_made) {
        snprintf(line, sizeof line,
                 "store made: capacity %llu records (DATA/%s records it, with the store's id: "
                 "later starts need no --capacity)",
                 (unsigned long long)st->store.capacity, ELIG_STORE_FILE);
        emit(ctx, false, line);
    }
    char from[64] = "";
    if (st->snapshot_lsn)
        snprintf(from, sizeof from, ", from the snapshot at LSN %llu",
                 (unsigned long long)st->snapshot_lsn);
    snprintf(line, sizeof line,
             "start: %s%s%s%s, %llu log records replayed (%llu refused), applied through LSN "
             "%llu, %.3f s",
             st->warm ? "warm" : "cold", st->warm ? "" : ": ", st->warm ? "" : st->cold_reason,
             from, (unsigned long long)st->replayed, (unsigned long long)st->rejected,
             (unsigned long long)st->applied_lsn, st->seconds);
    emit(ctx, false, line);
    if (st->full_lsn) {
        snprintf(line, sizeof line,
                 "INDEX FULL: log record %llu and those after it do not fit the index's sizes "
                 "(DATA/%s: capacity %llu records); "
                 "lookups are answered as of LSN %llu, updates are refused until `eligctl grow` "
                 "makes the index larger",
                 (unsigned long long)st->full_lsn, ELIG_STORE_FILE,
                 (unsigned long long)st->store.capacity, (unsigned long long)st->applied_lsn);
        emit(ctx, true, line);
    }
}

int elig_db_open_report(int rc, const struct elig_db_start *st, elig_db_report_fn emit, void *ctx)
{
    char line[1024];
    if (rc == -EBUSY) {
        emit(ctx, true,
             "the log or the segment is held by another process (an eligd serving them, or "
             "another eligctl): nothing was changed; while eligd serves, go through its admin "
             "socket (--admin DATA/eligd.sock)");
        return 1;
    }
    if (rc == -ELIG_ESTOREPARAM) {
        snprintf(line, sizeof line,
                 "--%s %llu: the store was made with %s %llu (DATA/%s); leave the option out, or "
                 "give the recorded value; nothing was changed",
                 st->conflict, (unsigned long long)st->conflict_given, st->conflict,
                 (unsigned long long)st->conflict_recorded, ELIG_STORE_FILE);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ELIG_ESTOREID && st->snapshot_other) {
        snprintf(line, sizeof line,
                 "snapshot %s was written by another store (its header names store %s..., "
                 "DATA/%s this store %.8s...): a snapshot copied or restored into the wrong "
                 "data directory? Move it out; nothing was changed",
                 st->damaged, st->other_id, ELIG_STORE_FILE, st->store.id);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ELIG_ESTOREID && st->segment_other) {
        snprintf(line, sizeof line,
                 "the segment belongs to another store (its header names store %s, DATA/%s "
                 "this store %s): a wrong --segment or --data? Nothing was changed. To replace "
                 "it with this store's index: --rebuild-segment",
                 st->other_id, ELIG_STORE_FILE, st->store.id);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ELIG_ESTOREID) {
        snprintf(line, sizeof line,
                 "log file %s was written by another store (its header names store %s, DATA/%s "
                 "this store %s): a log copied or restored into the wrong data directory? "
                 "Nothing was changed",
                 st->tail.file, st->other_id, ELIG_STORE_FILE, st->store.id);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ELIG_ESTOREFILE) {
        snprintf(line, sizeof line,
                 "DATA/%s does not check out (line %d; 0: the file as a whole): restore it from "
                 "a backup; nothing was changed",
                 ELIG_STORE_FILE, st->store_line);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -EINVAL && st->store_made) {
        snprintf(line, sizeof line,
                 "an index of %llu records cannot be made: at most 2^31 records, 2^30 persons "
                 "and 2^30 card links (by default 80%% and 50%% of the records), and name and "
                 "key-string tables of at most 2^31 entries; nothing was changed",
                 (unsigned long long)st->store.capacity);
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ENOSPC && st->segment_needed) {
        snprintf(line, sizeof line,
                 "the segment of %llu records needs %llu MiB and its file system has %llu MiB "
                 "free (df on the segment's directory: /dev/shm is half the memory by default): "
                 "a smaller --capacity, or more room there (docs/operations.md, \"Sizing\"); "
                 "nothing was changed",
                 (unsigned long long)st->store.capacity,
                 (unsigned long long)(st->segment_needed >> 20),
                 (unsigned long long)(st->segment_free >> 20));
        emit(ctx, true, line);
        return 1;
    }
    if (rc == -ELIG_ESEGAHEAD) {
        snprintf(line, sizeof line,
                 "the segment holds updates through LSN %llu, this data directory's log through "
                 "LSN %llu: a mistyped --data or --segment? Nothing was changed. To rebuild the "
                 "segment from this log anyway (its newer updates are lost): --rebuild-segment",
                 (unsigned long long)st->segment_lsn, (unsigned long long)st->tail.last_lsn);
        emit(ctx, true, line);
        return 1;
    }
    if (rc != -ELIG_ELOGTAIL)
        return 0;
    snprintf(line, sizeof line,
             "the log has a corrupt record with good ones after it: %s at offset %llu of %s "
             "(restore the log from a backup, or --truncate-tail drops everything from there)",
             elig_log_stop_name(st->tail.stop), (unsigned long long)st->tail.offset, st->tail.file);
    emit(ctx, true, line);
    return 1;
}
