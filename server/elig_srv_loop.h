/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SRV_LOOP_H
#define ELIG_SRV_LOOP_H

/*
 * Private to eligd's network code: the loop, its connections and the server
 * they belong to, shared by the ring loop (elig_srv.c), the facility session
 * (elig_session.c: HELLO, AUTH, allowances, POSTHOC, the audit) and the
 * admin and STATS handlers (elig_admin.c). Every function here runs on the
 * loop's own thread unless it says otherwise.
 */
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "elig_audit.h"
#include "elig_check.h"
#include "elig_live.h"
#include "elig_proto.h"
#include "elig_lat.h"
#include "elig_round.h"
#include "elig_disaster.h"
#include "elig_srv.h"

#define RING_ENTRIES  2048
#define BUF_COUNT     512                   /* provided buffers per loop */
#define BUF_SIZE      (16u * 1024)          /* bytes each */
#define TICK_MS       100                   /* longest wait: timers are checked this often */
#define ROUND_CHECKS  4096                  /* checks one round sends through the checker */
#define ROUND_FRAMES  (ROUND_CHECKS + 256)  /* frames one round holds */
#define FAIR_MIN      64                    /* checks a ready connection may always add */
#define OUT_BUF       (4u << 20)            /* largest output buffer (two per connection) */
#define OUT_SOFT      (3u << 20)            /* answers being filled that stop parsing */
#define PRE_BODY      ELIG_PROTO_PING_MAX   /* before AUTH: largest request body */
#define PRE_FRAMES    16                    /* before AUTH: frames answered */
#define PRE_OUT       2048                  /* before AUTH: unsent answers that stop parsing */
#define PRE_IN        2048                  /* before AUTH: unparsed input that stops recv */
#define GREEDY_MIN    (64u * 1024)          /* over budget: connections above this may be closed */
#define IN_KEEP       (64u * 1024)          /* input buffer kept between frames */
#define LINGER_MS     2000                  /* longest wait for the peer's close after ours */
#define ADMIN_EVENTS  ELIG_PROTO_APPEND_MAX /* events one ADMIN_APPEND may carry */
#define SCRATCH       (256u * 1024)         /* POSTHOC answer bodies one round may hold */
#define AUDIT_SYNC_MS 1000                  /* audit blocks written and synced this often */

enum ud_kind { UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_CANCEL };

static inline uint64_t ud_make(enum ud_kind k, uint32_t slot, uint32_t gen)
{
    return (uint64_t)k << 56 | (uint64_t)(slot & 0xFFFFFF) << 32 | gen;
}

enum loop_kind { LOOP_FACILITY, LOOP_ADMIN };
enum { AUTH_NONE, AUTH_CHALLENGED, AUTH_OK };

struct conn {
    int fd;              /* -1: slot free */
    uint32_t gen;        /* bumped on reuse */
    bool recv_armed;     /* a multishot recv is in flight */
    bool send_busy;      /* a send is in flight */
    bool closing;        /* being torn down: no new operations */
    bool finish;         /* close once everything owed is sent */
    bool no_parse;       /* a fatal frame error: parse nothing more */
    bool eof;            /* peer closed its side */
    bool paused;         /* recv cancelled for backpressure */
    bool ready;          /* in the ready queue */
    bool lingering;      /* answers and FIN sent: reading to the peer's close */
    uint8_t auth;        /* AUTH_NONE, AUTH_CHALLENGED, AUTH_OK */
    uint64_t rx_ns;      /* when bytes last arrived (the loop's wake time) */
    bool admin_tcp;      /* accepted on the admin TCP port: must authenticate with the admin key */
    int fac_slot;        /* allowance slot of the authenticated facility, or -1 */
    uint32_t pre_frames; /* frames answered before AUTH */
    size_t held;         /* buffer capacity counted in the server's total */
    uint32_t credit;     /* checks already taken from the facility's allowance */
    char fac[ELIG_PROTO_FACILITY_LEN + 1];      /* the facility it named (HELLO) */
    uint8_t challenge[ELIG_FKEY_CHALLENGE_LEN]; /* HELLO's, until AUTH */
    struct elig_pbuf in; /* received, not yet parsed: in.data[in_off..in.len) */
    size_t in_off;
    struct elig_pbuf out;  /* answers being encoded */
    struct elig_pbuf wire; /* answers being sent: wire.data[wire_off..wire.len) */
    size_t wire_off;
    uint64_t partial_ms;  /* when the incomplete frame at in_off began; 0: none */
    uint64_t opened_ms;   /* accepted: AUTH must succeed within the frame timeout */
    uint64_t active_ms;   /* last byte received */
    uint64_t linger_ms;   /* when lingering began */
    struct elig_tls *tls; /* TLS on the facility port: in holds plaintext, wire ciphertext */
    bool handshaking;     /* TLS: counted in the loop's handshakes in progress */
};

/* TLS: a source address's handshake allowance (a slot of a small direct-mapped table). */
struct tls_source {
    uint64_t key;   /* hash of the address; 0: free */
    double tokens;  /* handshakes it may start now */
    uint64_t at_ms; /* when tokens was last brought up to date */
};
#define TLS_SOURCES 1024 /* per loop: a source colliding with another shares its slot afresh */

/* Counters one loop publishes each round (relaxed atomics: STATS reads them). */
/* Why the store refused an append or a snapshot, as the counters tell it. */
enum store_error { SE_NOSPACE, SE_QUOTA, SE_IO, SE_SHORT_WRITE, SE_OTHER, SE_COUNT };

struct loop_stats {
    _Atomic uint64_t accepted, closed, refused_busy, timeouts, frames, bad_frames;
    _Atomic uint64_t refused_memory, closed_memory;
    _Atomic uint64_t check[ELIG_CHECK_WORDS]; /* the checker's counters, word by word */
    _Atomic uint64_t appended, rejected, snapshots, duplicates;
    _Atomic uint64_t store_errors[SE_COUNT]; /* refused appends and snapshots, by cause */
    _Atomic uint64_t auth_ok, auth_failed, rate_limited, facility_conns, revoked_closed;
    _Atomic uint64_t posthoc, posthoc_missed, audit_errors;
    _Atomic uint64_t audit_records, audit_synced; /* recorded; of those, handed to an fdatasync */
    _Atomic uint64_t tls_handshakes, tls_refused;
    _Atomic uint64_t behind; /* frames of checks answered BEHIND (a cluster node behind) */
    _Atomic uint64_t person_lookups, person_refused; /* LOOKUP_PERSON answered; refused (no
                                                         disaster there, or its allowance) */
    _Atomic uint64_t checks[ELIG_OP_SLOTS][ELIG_ROUND_VALIDITIES]; /* the round's, published */
    struct elig_lat latency[ELIG_OP_SLOTS]; /* frame received to answer made, by opcode slot */
};

struct loop {
    struct elig_srv *srv;
    enum loop_kind kind;
    unsigned id;
    pthread_t thread;
    int listen_fd[2]; /* admin: Unix socket and optional TCP; facility: [0] only */
    bool accept_armed[2];
    struct io_uring ring;
    bool ring_ok;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    struct conn *conns;
    uint32_t nconns, live;
    uint32_t *free_slots;
    uint32_t nfree;
    uint32_t *readyq; /* ring queue of ready slots */
    uint32_t rq_head, rq_len;
    struct elig_checker *ck;
    const struct elig_index *ix; /* the index this loop reads until its next safe point */
    int live_slot;               /* its reader slot in srv->live (-1: none) */
    struct elig_round *round;    /* this round's frames and checks */
    struct elig_event *events;   /* admin: one ADMIN_APPEND's events */
    int *ev_status;
    uint64_t now_ms, last_tick_ms;
    _Atomic uint64_t beat_ms; /* last_tick_ms, for the watchdog in another thread */
    uint64_t wake_ns;         /* when the loop last woke (CLOCK_MONOTONIC): bytes' arrival */
    uint8_t *lat_slot;        /* this round's frames: opcode slot ... */
    uint64_t *lat_rx;         /* ... and when their last bytes arrived */
    uint32_t nlat;
    atomic_bool long_op; /* admin: in a snapshot or a grow, which take minutes at 160M
                            records and are not a stuck loop */
    elig_date_t today;   /* the server's date, refreshed every tick */
    uint32_t slot_hi;    /* slots [0, slot_hi) have ever been used: scans stop there */
    bool draining;
    uint64_t drain_deadline;
    struct loop_stats st;
    int error;
    uint32_t *touched;                   /* slots served this round */
    struct conn *spending;               /* the connection whose frames the round charges */
    const struct elig_fac_registry *reg; /* this worker's registry snapshot */
    uint64_t reg_gen;                    /* its generation */
    struct elig_audit_writer *aw;        /* this worker's audit writer, or NULL */
    int64_t now_s;                       /* wall clock, seconds: the audit's time */
    uint64_t synced_ms;                  /* last fdatasync of the audit */
    elig_date_t pruned;                  /* the day the audit was last pruned */
    struct elig_audit_entry *entry;      /* POSTHOC: a record read back */
    uint8_t *scratch;                    /* POSTHOC: this round's answer bodies */
    size_t scratch_len;
    struct elig_pbuf person_buf;    /* LOOKUP_PERSON: one answer being encoded */
    struct elig_disaster disaster;  /* DATA/disaster as last read */
    struct timespec disaster_mtime; /* its file's, when read (0: none) */
    uint64_t disaster_checked_ms;   /* when the file was last looked at */
    bool audit_failed;              /* an audit write failed (logged once) */
    size_t freed;            /* connection buffer bytes freed since memory was last returned */
    uint64_t auth_warned_ms; /* when a refused AUTH was last logged */
    uint64_t tls_warned_ms;  /* when a refused TLS connection was last logged */
    unsigned tls_inflight;   /* handshakes in progress */
    struct tls_source *tls_sources; /* TLS_SOURCES of them, or NULL without TLS */
    uint64_t auth_unlogged;         /* refused AUTHs not logged since */
};

#define RETIRED_MAX 8 /* old indexes a reader was too slow to leave: closed at the end */

struct elig_srv {
    struct elig_srv_params p;
    struct elig_live *live; /* the index served (p.live, or made here) */
    bool own_live;
    struct elig_index *retired[RETIRED_MAX];
    unsigned nretired;
    unsigned nloops;
    struct loop *loops; /* facility workers, then the admin loop (if any) */
    atomic_uint conns;
    _Atomic uint64_t mem; /* buffer capacity of every connection: against p.conn_memory */
    atomic_bool stop;
    uint16_t port, admin_port;
    const char *ring_mode;
    uint64_t started_ms;
    /* the served index's sizes, published by loop 0 every tick for the metrics thread
       (which must not read an index a grow may unmap) */
    struct {
        _Atomic uint64_t records, capacity, persons, persons_capacity, cards, cards_capacity;
        _Atomic uint64_t names, names_capacity, key_strings, key_strings_capacity;
        _Atomic uint64_t segment_bytes, applied_lsn;
    } ixs;
    /* start-up handshake: every loop reports its setup before any serves */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int setup_left, setup_err;
};

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void stat_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* ---- the ring loop (elig_srv.c) ---------------------------------------- */

/* Close a connection now (no more answers). */
void loop_conn_close(struct loop *l, uint32_t slot);

/* ---- the facility session (elig_session.c) ------------------------------ */

/* No keys asked: no registry, or a trusted network. */
bool session_trusted(const struct loop *l);

/*
 * Before a frame goes into the round: the handshake (HELLO, AUTH), POSTHOC,
 * and the rule that a connection must authenticate first. Returns 0 (the
 * round takes the frame), 1 (answered here), -ENOSPC (the round is full).
 */
int session_gate(struct loop *l, struct conn *c, const struct elig_proto_header *h,
                 const uint8_t *body);

/* The round's charge (elig_round_spend_fn) for the frames of l->spending. */
bool session_round_spend(void *ctx, unsigned n);

/* After a registry reload: take it; close the connections of facilities it no longer has. */
void session_registry_refresh(struct loop *l);

/*
 * A TLS handshake ended with a certificate naming code: admit the
 * connection as that facility, as a successful AUTH does (registry, revoked
 * or not, its connection cap). Returns 0; -EACCES (not a registered, active
 * facility); -EUSERS (its connections are at their cap).
 */
int session_tls_admit(struct loop *l, struct conn *c, const char *code);

/* The round's audit hook (elig_round_audit_fn). */
void session_loop_audit(void *ctx, const char *facility, uint8_t opcode,
                        const struct elig_proto_answer *a, const uint8_t *encoded, size_t len);

/* Each tick: write and sync the audit's blocks, prune it once a day. */
void session_audit_tick(struct loop *l);
/* Once a second: read the disaster-mode declaration again if its file changed. */
void session_disaster_refresh(struct loop *l);

/* ---- STATS and the admin opcodes (elig_admin.c) ------------------------- */

/* The round's callback (elig_round_plain_fn) for STATS and the admin opcodes. */
int admin_plain(void *ctx, uint8_t opcode, const uint8_t *body, size_t len, struct elig_pbuf *out,
                uint8_t *status, size_t *keep_on_error);

/*
 * The loops' own counters, one row each: how STATS names it (admin: on the
 * admin socket's STATS only) and its series on the metrics endpoint (a
 * family of elig_prom.c and its labels). The one table both follow.
 */
struct loop_stat_desc {
    const char *name;   /* STATS item */
    size_t offset;      /* of its word in struct loop_stats */
    bool admin;         /* admin STATS only */
    const char *metric; /* its family, or NULL: not a series of its own */
    const char *labels; /* within the family, or "" */
};
#define LOOP_STATS_MAX 32 /* rows the table may hold (STATS answers are sized by it) */
extern const struct loop_stat_desc loop_stats_desc[];
extern const size_t loop_stats_count;

/* One counter summed over every loop (relaxed: a snapshot, not a transaction). */
uint64_t loop_stat_sum(const struct elig_srv *s, size_t offset);

/* Loop 0, every tick: the served index's sizes into srv->ixs. */
void loop_publish_index(struct loop *l);

#endif
