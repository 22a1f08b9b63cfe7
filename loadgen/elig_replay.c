/* SPDX-License-Identifier: MIT */
/*
 * elig_replay: traffic against eligd, open or closed loop.
 *
 * Design: one thread, one io_uring, N connections. Frames are made on the
 * fly from a counter-based stream (frame k is a pure function of the
 * traffic seed and k): its place in the month from the schedule
 * (elig_sched), whether it is a BATCH by the batch share of that hour, its
 * facility type and method from the month's mix, its persons from the
 * population, and for every check the answer the population implies.
 * Frame k goes to connection k mod N; each connection
 * keeps a FIFO of the frames it has in flight (answers come back in order)
 * and a ring of the checks' expectations. A connection has at most one send
 * in flight and one recv posted; everything that became due meanwhile goes
 * out in the next send.
 *
 * Expectations, as of the population's reference date (the date every
 * check asks about): the current key with the right birth date is valid
 * (1); a mistyped birth date matches nothing (4); the key of a lost earlier
 * qualification answers "lost, a newer one exists" (3); a registered card
 * is valid unless its certificate expired (refused after the 3-month
 * grace; either answer accepted inside the grace window's edges); any
 * other card is refused as unregistered.
 *
 * Against redis (ELIG_REPLAY_REDIS) a check is one HGETALL of the hash
 * elig_redis_load() wrote and a BATCH frame is its entries' HGETALLs in one
 * send; the client then applies the rules itself (birth date, loss,
 * certificate expiry with its grace), as a service built on redis would,
 * and the same accounting follows.
 *
 * Over datagrams (p->dgram: eligd's UDP datapath on a DPDK port) the loop
 * polls instead of waiting on the ring: each connection is a flow, its
 * queued frames go out packed into datagrams of whole frames, answers come
 * back per flow in order. A datagram can be lost, so answers are matched to
 * the in-flight FIFO by request id (frame k carries id k): frames skipped
 * over, and all of a flow's frames after loss_s without an answer, are
 * counted lost rather than waited for.
 *
 * The time series: answered frames go into the whole run's histogram and
 * into the current interval's, which is read out and emptied when the
 * interval ends (one point per interval, empty ones included).
 */
#include "elig_replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "elig_cconn.h"
#include "elig_client.h"
#include "elig_net_error.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "elig_rand.h"
#include "elig_redis.h"
#include "elig_resp.h"
#include "elig_rules.h"
#include "elig_sched.h"
#include "elig_tables.h"

enum method { M_CARD, M_NUMBER, M_BATCH };
enum expect { X_VALID, X_NO_MATCH, X_LOST_NEWER, X_UNREGISTERED, X_EXPIRED, X_VALID_OR_EXPIRED };

struct check {
    uint8_t type, method, expect;
    uint32_t birth; /* as typed (redis: the client compares it) */
};

struct frame {
    uint64_t intended_ns;
    uint32_t checks; /* entries (1 unless BATCH) */
    uint32_t id;     /* its request id (k) */
    uint8_t hour;    /* of the schedule: with k, all it takes to make the frame again */
};

struct conn {
    int fd;
    struct elig_cconn *cc; /* the client core: frames queued and sent, answers received */
    bool send_busy;
    struct frame *fifo; /* ring of frames in flight */
    uint32_t f_head, f_len, f_cap;
    uint32_t f_done;   /* redis: replies already taken for the head frame */
    struct check *cks; /* ring of their checks */
    uint32_t c_head, c_len, c_cap;
    uint64_t heard_ns; /* last answer, or the send that started the wait */
    bool recv_armed;   /* a recv of it is in flight */
    bool broken;       /* lost: moves to the next server once no operation is in flight */
    unsigned server;   /* its index in the server list */
    uint64_t broken_ns;
    uint64_t hold_ns; /* not moved before: a node that answered BEHIND is given time to catch up */
};

#define SERVERS_MAX 16

struct replay {
    const struct elig_replay_params *p;
    struct elig_replay_report *r;
    const struct elig_month_checks *m;
    struct elig_sched *sched;
    int64_t single_cum[4 * 2]; /* type x (card, number), by checks */
    int64_t batch_cum[4];
    uint64_t k_begin, k_end; /* window: frames [k_begin, k_end); k_end 0: by checks */
    double off_begin;        /* the first frame's place in the month, s */
    double last_off;         /* the last queued frame's */
    uint32_t date;           /* YYYYMMDD asked about */
    elig_date_t today;
    struct io_uring ring;
    struct conn *conns;
    struct elig_proto_answer ans;
    int dgram_rc;         /* dgram: the first error met while delivering */
    char (*servers)[256]; /* the server list (TCP) */
    unsigned nservers;
    uint64_t last_answer_ns;           /* when the last frame was answered */
    struct elig_hist *tick;            /* the current interval's latencies */
    uint64_t tick_checks, tick_frames; /* its answers */
    size_t series_cap;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t draw(const struct replay *rp, uint64_t k, uint64_t j)
{
    return elig_draw(rp->p->seed, k, j);
}

/* ---- the traffic -------------------------------------------------------- */

static int setup_mix(struct replay *rp)
{
    const struct elig_replay_params *p = rp->p;
    struct elig_sched_params sp = { .month = p->month,
                                    .checks = p->checks,
                                    .batch_size = p->batch_size };
    int rc = elig_sched_create(&sp, &rp->sched);
    if (rc)
        return rc;
    rp->m = elig_sched_month(rp->sched);
    int64_t c = 0, b = 0;
    for (int t = 0; t < 4; t++) {
        rp->single_cum[2 * t] = c += rp->m->card[t];
        rp->single_cum[2 * t + 1] = c += rp->m->total[t] - rp->m->card[t];
        rp->batch_cum[t] = b += rp->m->batch[t];
    }
    if (p->hours > 0) {
        rp->k_begin = elig_sched_frame_at(rp->sched, p->from_s);
        rp->k_end = elig_sched_frame_at(rp->sched, p->from_s + p->hours * 3600);
        if (rp->k_end <= rp->k_begin)
            return -EINVAL;
    }
    unsigned h;
    rp->off_begin = rp->last_off = elig_sched_offset(rp->sched, rp->k_begin, &h);
    return 0;
}

static void facility(char out[ELIG_PROTO_FACILITY_LEN + 1], unsigned type, uint64_t r)
{
    static const char fee[4] = { '1', '1', '3', '4' };
    unsigned pref = 1 + (unsigned)(r % 47);
    out[0] = (char)('0' + pref / 10);
    out[1] = (char)('0' + pref % 10);
    out[2] = fee[type];
    r /= 47;
    for (int i = 9; i >= 3; i--, r /= 10)
        out[i] = (char)('0' + r % 10);
    out[10] = '\0';
}

/* Check j of frame k as HGETALL of its hash (redis). */
static void redis_get(struct elig_pbuf *b, const char *key, size_t len)
{
    const char *argv[2] = { "HGETALL", key };
    size_t lens[2] = { 7, len };
    elig_resp_command(b, 2, argv, lens);
}

/* One number check of a random person (an entry of a BATCH when batch). */
static void number_check(struct replay *rp, uint64_t k, unsigned j, struct elig_pbuf *b, bool batch,
                         const char *fac, struct check *ck)
{
    struct elig_pop_person_keys key;
    uint64_t i = draw(rp, k, 3 * j + 1) % elig_pop_persons(rp->p->pop);
    elig_pop_keys(rp->p->pop, i, &key);
    double u = elig_unit(draw(rp, k, 3 * j + 2));
    struct elig_proto_number q = { .facility = fac, .date = rp->date, .birth = key.birth };
    ck->expect = X_VALID;
    const char *ins = key.insurer, *sym = key.symbol, *num = key.number, *br = key.branch;
    if (u < rp->p->miss_share) {
        /* the year before: a typing slip (29 February becomes the 28th) */
        q.birth = key.birth - 10000 - (key.birth % 10000 == 229 ? 1 : 0);
        ck->expect = X_NO_MATCH;
    } else if (u < rp->p->miss_share + rp->p->lost_share && key.has_past) {
        ins = key.past_insurer;
        sym = key.past_symbol;
        num = key.past_number;
        br = "00";
        ck->expect = X_LOST_NEWER;
    }
    ck->birth = q.birth;
    if (rp->p->target == ELIG_REPLAY_REDIS) { /* the client normalises the key itself */
        struct elig_key nk;
        char rk[ELIG_REDIS_KEY_MAX];
        if (elig_key_normalize(ins, strlen(ins), sym, strlen(sym), num, strlen(num), br, strlen(br),
                               &nk, NULL) == 0)
            redis_get(b, rk, elig_redis_qkey(&nk, rk));
        else
            redis_get(b, "q:", 2); /* cannot happen for generated keys: answered as no match */
        return;
    }
    q.insurer = ins;
    q.insurer_len = (uint8_t)strlen(ins);
    q.symbol = sym;
    q.symbol_len = (uint8_t)strlen(sym);
    q.number = num;
    q.number_len = (uint8_t)strlen(num);
    q.branch = br;
    q.branch_len = (uint8_t)strlen(br);
    elig_proto_number_encode(b, &q, batch);
}

/* Encode frame k, of hour h, into b; its checks into cks (at most batch_size). Returns the count.
 */
static uint32_t make_frame(struct replay *rp, uint64_t k, unsigned h, struct elig_pbuf *b,
                           struct check *cks)
{
    char fac[ELIG_PROTO_FACILITY_LEN + 1];
    bool eligd = rp->p->target == ELIG_REPLAY_ELIGD;
    bool batch = elig_unit(draw(rp, k, 0)) < elig_sched_batch_share(rp->sched, h);
    long at = 0;
    if (batch) {
        unsigned type = elig_pick(rp->batch_cum, 4, draw(rp, k, 4095));
        facility(fac, type, draw(rp, k, 4094));
        if (eligd) {
            at = elig_proto_frame_begin(b, ELIG_OP_BATCH, 0, 0, (uint32_t)k);
            elig_proto_batch_head_encode(b, fac, (uint16_t)rp->p->batch_size);
        }
        for (unsigned j = 0; j < rp->p->batch_size; j++) {
            cks[j] = (struct check){ .type = (uint8_t)type, .method = M_BATCH };
            number_check(rp, k, j, b, true, fac, &cks[j]);
        }
        if (eligd)
            elig_proto_frame_end(b, at);
        return rp->p->batch_size;
    }
    unsigned cell = elig_pick(rp->single_cum, 8, draw(rp, k, 4095));
    unsigned type = cell / 2;
    facility(fac, type, draw(rp, k, 4094));
    cks[0] = (struct check){ .type = (uint8_t)type, .method = cell % 2 ? M_NUMBER : M_CARD };
    if (cks[0].method == M_NUMBER) {
        if (eligd)
            at = elig_proto_frame_begin(b, ELIG_OP_LOOKUP_NUMBER, 0, 0, (uint32_t)k);
        number_check(rp, k, 0, b, false, fac, &cks[0]);
        if (eligd)
            elig_proto_frame_end(b, at);
        return 1;
    }
    struct elig_pop_person_keys key;
    elig_pop_keys(rp->p->pop, draw(rp, k, 1) % elig_pop_persons(rp->p->pop), &key);
    struct elig_proto_card q = { .facility = fac, .date = rp->date, .card_id = key.card };
    if (!key.registered) {
        cks[0].expect = X_UNREGISTERED;
    } else {
        elig_date_t exp;
        elig_proto_date_in(key.cert_expiry, &exp);
        cks[0].expect = exp >= rp->today        ? X_VALID
                        : exp + 100 < rp->today ? X_EXPIRED
                                                : X_VALID_OR_EXPIRED;
    }
    if (!eligd) {
        char rk[ELIG_REDIS_KEY_MAX];
        redis_get(b, rk, elig_redis_ckey(key.card, rk));
        return 1;
    }
    at = elig_proto_frame_begin(b, ELIG_OP_LOOKUP_CARD, 0, 0, (uint32_t)k);
    elig_proto_card_encode(b, &q);
    elig_proto_frame_end(b, at);
    return 1;
}

/* ---- answers ------------------------------------------------------------- */

static bool as_expected(const struct check *ck, const struct elig_proto_answer *a)
{
    switch (ck->expect) {
    case X_VALID:
        return a->validity == ELIG_VALID;
    case X_NO_MATCH:
        return a->validity == ELIG_NO_MATCH;
    case X_LOST_NEWER:
        return a->validity == ELIG_LOST_NEWER;
    case X_UNREGISTERED:
        return a->validity == 0 && a->refusal == ELIG_REFUSE_CARD_UNREGISTERED;
    case X_EXPIRED:
        return a->validity == 0 && a->refusal == ELIG_REFUSE_CERT_EXPIRED;
    default:
        return a->validity == ELIG_VALID ||
               (a->validity == 0 && a->refusal == ELIG_REFUSE_CERT_EXPIRED);
    }
}

static void count_check(struct replay *rp, const struct check *ck,
                        const struct elig_proto_answer *a)
{
    struct elig_replay_report *r = rp->r;
    r->checks_answered++;
    rp->tick_checks++;
    r->answered[ck->type][ck->method]++;
    if (a->status != ELIG_AS_OK) {
        r->check_errors++;
        return;
    }
    r->validity[a->validity < 6 ? a->validity : 0]++;
    r->unexpected += !as_expected(ck, a);
}

/* The head frame of c is fully answered: its latency, then off the rings. */
static void frame_done(struct replay *rp, struct conn *c, uint64_t now)
{
    struct frame *f = &c->fifo[c->f_head];
    uint64_t ns = now > f->intended_ns ? now - f->intended_ns : 0;
    uint64_t since = rp->last_answer_ns > f->intended_ns ? rp->last_answer_ns : f->intended_ns;
    if (now > since && (double)(now - since) / 1e9 > rp->r->longest_gap_s)
        rp->r->longest_gap_s = (double)(now - since) / 1e9;
    rp->last_answer_ns = now;
    c->heard_ns = now;
    elig_hist_record(&rp->r->latency, ns);
    elig_hist_record(rp->tick, ns);
    rp->r->frames_answered++;
    rp->tick_frames++;
    c->c_head = (c->c_head + f->checks) % c->c_cap;
    c->c_len -= f->checks;
    c->f_head = (c->f_head + 1) % c->f_cap;
    c->f_len--;
    c->f_done = 0;
}

/* The head frame of c will never be answered (dgram): counted lost, off the rings. */
static void frame_lost(struct replay *rp, struct conn *c)
{
    struct frame *f = &c->fifo[c->f_head];
    rp->r->frames_lost++;
    rp->r->checks_lost += f->checks;
    c->c_head = (c->c_head + f->checks) % c->c_cap;
    c->c_len -= f->checks;
    c->f_head = (c->f_head + 1) % c->f_cap;
    c->f_len--;
}

static void conn_break(struct replay *rp, unsigned ci, uint64_t now);

#define BEHIND_HOLD_NS 100000000ull /* a connection moved on BEHIND waits 0.1 s first */

/* Take the complete eligd answers of c's input. A node's BEHIND moves the connection. */
static int take_eligd(struct replay *rp, struct conn *c, uint64_t now)
{
    for (;;) {
        struct elig_proto_header h;
        const uint8_t *body;
        int rc = elig_cconn_answer(c->cc, &h, &body);
        if (rc <= 0)
            return rc;
        if (rp->p->dgram) /* frames before the one answered were lost */
            while (c->f_len && c->fifo[c->f_head].id != h.request_id)
                frame_lost(rp, c);
        if (c->f_len == 0)
            return -ELIG_EPROTO;
        struct frame *f = &c->fifo[c->f_head];
        size_t bo = 0;
        uint16_t n = 1;
        if (h.status == ELIG_PS_BEHIND && rp->nservers > 1 && !rp->p->dgram) {
            /* that node is not up to date: this frame and those after it go to another */
            rp->r->behind++;
            conn_break(rp, (unsigned)(c - rp->conns), now);
            c->hold_ns = now + BEHIND_HOLD_NS; /* were every node behind: no ping-pong */
            return 0;
        }
        if (h.status != ELIG_PS_OK)
            rp->r->frame_errors++;
        else if (h.opcode == ELIG_OP_BATCH &&
                 elig_proto_batch_answer_count(body, h.body_len, &bo, &n))
            return -ELIG_EPROTO;
        for (uint32_t j = 0; j < f->checks && h.status == ELIG_PS_OK; j++) {
            const struct check *ck = &c->cks[(c->c_head + j) % c->c_cap];
            if (n != f->checks || elig_proto_answer_decode(body, h.body_len, &bo, &rp->ans))
                return -ELIG_EPROTO;
            count_check(rp, ck, &rp->ans);
        }
        frame_done(rp, c, now);
    }
}

/* The value of field name in an HGETALL reply as a number; 0 if absent. */
static uint32_t hash_num(const struct elig_resp_reply *r, const char *name)
{
    size_t nl = strlen(name);
    for (unsigned i = 0; i + 1 < r->items; i += 2)
        if (r->item[i].len == nl && memcmp(r->item[i].p, name, nl) == 0) {
            uint32_t v = 0;
            for (size_t j = 0; j < r->item[i + 1].len && j < 9; j++)
                v = v * 10 + (uint32_t)(r->item[i + 1].p[j] - '0');
            return v;
        }
    return 0;
}

/* What eligd would answer, decided by the client from the hash redis sent. */
static void redis_rules(const struct replay *rp, const struct check *ck,
                        const struct elig_resp_reply *r, struct elig_proto_answer *a)
{
    a->status = r->type == '*' ? ELIG_AS_OK : ELIG_AS_RETRY;
    a->validity = 0;
    a->refusal = 0;
    if (a->status != ELIG_AS_OK)
        return;
    if (ck->method == M_CARD) {
        if (r->items == 0)
            a->refusal = ELIG_REFUSE_CARD_UNREGISTERED;
        else if (hash_num(r, "until") < rp->date)
            a->refusal = ELIG_REFUSE_CERT_EXPIRED;
        else
            a->validity = ELIG_VALID;
        return;
    }
    uint32_t lost = hash_num(r, "lost");
    if (r->items == 0 || hash_num(r, "birth") != ck->birth)
        a->validity = ELIG_NO_MATCH;
    else if (lost && lost <= rp->date)
        a->validity = hash_num(r, "newer") ? ELIG_LOST_NEWER : ELIG_LOST;
    else
        a->validity = ELIG_VALID;
}

/* Take the complete redis replies of c's input. */
static int take_redis(struct replay *rp, struct conn *c, uint64_t now)
{
    static struct elig_resp_reply reply; /* one thread; 1 KiB kept off the stack */
    for (;;) {
        size_t len;
        const uint8_t *in = elig_cconn_input(c->cc, &len);
        long m = elig_resp_parse(in, len, &reply);
        if (m == 0)
            return 0;
        if (m < 0 || c->f_len == 0)
            return -ELIG_EPROTO;
        const struct check *ck = &c->cks[(c->c_head + c->f_done) % c->c_cap];
        redis_rules(rp, ck, &reply, &rp->ans);
        count_check(rp, ck, &rp->ans);
        elig_cconn_consume(c->cc, (size_t)m);
        if (++c->f_done == c->fifo[c->f_head].checks)
            frame_done(rp, c, now);
    }
}

/* Take the complete answers of c's input. */
static int take_answers(struct replay *rp, struct conn *c, uint64_t now)
{
    return rp->p->target == ELIG_REPLAY_REDIS ? take_redis(rp, c, now) : take_eligd(rp, c, now);
}

/* ---- the loop ------------------------------------------------------------- */

static int post_recv(struct replay *rp, unsigned ci)
{
    struct conn *c = &rp->conns[ci];
    size_t room;
    uint8_t *p = elig_cconn_recv_space(c->cc, &room);
    if (p == NULL)
        return -ENOMEM;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&rp->ring);
    io_uring_prep_recv(sqe, c->fd, p, room, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1 | 1);
    c->recv_armed = true;
    return 0;
}

/* Send what connection ci has queued, unless a send of it is in flight. */
static void post_send(struct replay *rp, unsigned ci)
{
    struct conn *c = &rp->conns[ci];
    size_t len;
    if (c->send_busy || c->broken)
        return;
    const uint8_t *p = elig_cconn_send_view(c->cc, &len);
    if (len == 0)
        return;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&rp->ring);
    io_uring_prep_send(sqe, c->fd, p, len, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1);
    c->send_busy = true;
}

/* Queue frame k, of hour h, on connection ci. */
static void queue_frame(struct replay *rp, unsigned ci, uint64_t k, unsigned h, uint64_t intended)
{
    struct conn *c = &rp->conns[ci];
    struct check cks[ELIG_PROTO_BATCH_MAX];
    uint32_t n = make_frame(rp, k, h, elig_cconn_queue(c->cc), cks);
    if (c->f_len == c->f_cap) { /* grow the rings, keeping their order */
        struct frame *f = malloc(2 * c->f_cap * sizeof *f);
        for (uint32_t j = 0; j < c->f_len; j++)
            f[j] = c->fifo[(c->f_head + j) % c->f_cap];
        free(c->fifo);
        c->fifo = f;
        c->f_head = 0;
        c->f_cap *= 2;
    }
    while (c->c_cap - c->c_len < n) {
        struct check *x = malloc(2 * c->c_cap * sizeof *x);
        for (uint32_t j = 0; j < c->c_len; j++)
            x[j] = c->cks[(c->c_head + j) % c->c_cap];
        free(c->cks);
        c->cks = x;
        c->c_head = 0;
        c->c_cap *= 2;
    }
    if (c->f_len == 0)
        c->heard_ns = intended;
    c->fifo[(c->f_head + c->f_len++) % c->f_cap] =
        (struct frame){ intended, n, (uint32_t)k, (uint8_t)h };
    for (uint32_t j = 0; j < n; j++) {
        c->cks[(c->c_head + c->c_len++) % c->c_cap] = cks[j];
        rp->r->sent[cks[j].type][cks[j].method]++;
    }
    rp->r->frames_sent++;
    rp->r->checks_sent += n;
}

/* Whether frame k is still to be sent. */
static bool more(const struct replay *rp, uint64_t k)
{
    return rp->k_end ? k < rp->k_end : rp->r->checks_sent < rp->p->checks;
}

/* Close the interval that ended at t (seconds from the start): one point. */
static void tick(struct replay *rp, double t)
{
    struct elig_replay_report *r = rp->r;
    if (r->points == rp->series_cap) {
        size_t cap = rp->series_cap ? rp->series_cap * 2 : 256;
        struct elig_replay_point *ns = realloc(r->series, cap * sizeof *ns);
        if (ns == NULL)
            return; /* the series is a report; the run goes on without it */
        r->series = ns;
        rp->series_cap = cap;
    }
    r->series[r->points++] = (struct elig_replay_point){
        .t = t,
        .month_h = rp->last_off / 3600,
        .checks = rp->tick_checks,
        .frames = rp->tick_frames,
        .p50_ns = elig_hist_percentile(rp->tick, 50),
        .p99_ns = elig_hist_percentile(rp->tick, 99),
        .max_ns = elig_hist_percentile(rp->tick, 100),
    };
    elig_hist_reset(rp->tick);
    rp->tick_checks = rp->tick_frames = 0;
}

static void progress(const struct replay *rp, uint64_t now, uint64_t t0)
{
    const struct elig_replay_report *r = rp->r;
    double done = rp->k_end ? (double)r->frames_answered / (double)(rp->k_end - rp->k_begin)
                            : (double)r->checks_answered / (double)rp->p->checks;
    double secs = (double)(now - t0) / 1e9;
    fprintf(stderr, "\relig-loadgen: %5.1f%%, %.0f checks/s, ETA %.0f s   ", 100 * done,
            (double)r->checks_answered / secs, done > 0 ? secs / done - secs : 0.0);
}

/* ---- datagrams ----------------------------------------------------------- */

/* Send connection ci's queued frames as datagrams of whole frames. */
static int dgram_send(struct replay *rp, unsigned ci)
{
    const struct elig_replay_dgram *d = rp->p->dgram;
    struct conn *c = &rp->conns[ci];
    size_t len, start = 0, off = 0;
    const uint8_t *a = elig_cconn_send_view(c->cc, &len);
    int rc = 0;
    while (off < len && rc == 0) {
        size_t flen = ELIG_PROTO_HEADER + elig_rd32(a + off + 12);
        if (flen > d->max_payload)
            return -EMSGSIZE;
        if (off + flen - start > d->max_payload) {
            rc = d->send(d->ctx, ci, a + start, off - start);
            start = off;
        }
        off += flen;
    }
    if (rc == 0 && off > start)
        rc = d->send(d->ctx, ci, a + start, off - start);
    elig_cconn_sent(c->cc, len);
    return rc;
}

static void dgram_deliver(void *arg, unsigned flow, const uint8_t *p, size_t len)
{
    struct replay *rp = arg;
    if (flow >= rp->p->connections || rp->dgram_rc)
        return; /* not one of ours */
    struct conn *c = &rp->conns[flow];
    size_t room;
    uint8_t *in = elig_cconn_recv_space(c->cc, &room);
    if (in == NULL || room < len) { /* room is 64 KiB: more than a datagram */
        rp->dgram_rc = in ? -ELIG_EPROTO : -ENOMEM;
        return;
    }
    memcpy(in, p, len);
    elig_cconn_received(c->cc, len);
    uint64_t now = now_ns();
    c->heard_ns = now;
    rp->dgram_rc = take_answers(rp, c, now);
    if (rp->dgram_rc == 0 && elig_cconn_input(c->cc, &room) &&
        room) /* a datagram holds whole frames */
        rp->dgram_rc = -ELIG_EPROTO;
}

/* One pass of the datagram loop: send, receive a burst, write off silent flows. */
static int dgram_io(struct replay *rp, uint64_t now)
{
    const struct elig_replay_dgram *d = rp->p->dgram;
    int rc = 0;
    for (unsigned i = 0; i < rp->p->connections && rc == 0; i++)
        if (elig_cconn_unsent(rp->conns[i].cc))
            rc = dgram_send(rp, i);
    d->flush(d->ctx);
    if (rc)
        return rc;
    d->poll(d->ctx, dgram_deliver, rp);
    if (rp->dgram_rc)
        return rp->dgram_rc;
    uint64_t loss = (uint64_t)(rp->p->loss_s * 1e9);
    for (unsigned i = 0; i < rp->p->connections; i++) {
        struct conn *c = &rp->conns[i];
        if (c->f_len && now > c->heard_ns && now - c->heard_ns > loss) {
            while (c->f_len)
                frame_lost(rp, c);
            size_t partial;
            elig_cconn_input(c->cc, &partial);
            elig_cconn_consume(c->cc, partial);
        }
    }
    return 0;
}

/* ---- failover ---------------------------------------------------------- */

/*
 * Connect to a server of the list, starting at first and going round it
 * once: c gets the connection, its core and the server's index. 0, or the
 * last server's error.
 */
static int connect_any(struct replay *rp, struct conn *c, unsigned first, int timeout_ms)
{
    int rc = -ECONNREFUSED;
    for (unsigned t = 0; t < rp->nservers; t++) {
        unsigned i = (first + t) % rp->nservers;
        uint8_t status;
        struct elig_cconn *cc;
        int fd = elig_client_open_core(
            &(struct elig_client_open){ rp->servers[i], timeout_ms, rp->p->tls, NULL, NULL }, &cc,
            &status);
        if (fd >= 0) {
            c->fd = fd;
            c->cc = cc;
            c->server = i;
            return 0;
        }
        rc = fd;
    }
    return rc;
}

/* Connection ci is lost: stop using it; it moves once its operations are done. */
static void conn_break(struct replay *rp, unsigned ci, uint64_t now)
{
    struct conn *c = &rp->conns[ci];
    if (c->broken)
        return;
    c->broken = true;
    c->broken_ns = now;
    shutdown(c->fd, SHUT_RDWR); /* a send in flight ends now */
}

/*
 * A lost connection with nothing in flight: to the next server (a blocking
 * connect: failover is rare, and every connection waits the same), its
 * frames in flight made again and queued first, in their order. 0 (moved,
 * or to be tried again); -ETIMEDOUT when no server took it for timeout_s.
 */
static int conn_move(struct replay *rp, unsigned ci, uint64_t now)
{
    struct conn *c = &rp->conns[ci];
    if (!c->broken || c->send_busy || c->recv_armed || now < c->hold_ns)
        return 0;
    close(c->fd);
    c->fd = -1;
    elig_cconn_free(c->cc);
    c->cc = NULL;
    if (connect_any(rp, c, c->server + 1, 1000)) {
        if (elig_cconn_new(&c->cc))
            return -ENOMEM;
        c->fd = -1;
        return now - c->broken_ns > (uint64_t)(rp->p->timeout_s * 1e9) ? -ETIMEDOUT : 0;
    }
    c->broken = false;
    c->heard_ns = now; /* its frames' wait starts again on this server */
    rp->r->failovers++;
    struct check cks[ELIG_PROTO_BATCH_MAX];
    for (uint32_t j = 0; j < c->f_len; j++) { /* the same frames: k and its hour make them */
        const struct frame *f = &c->fifo[(c->f_head + j) % c->f_cap];
        make_frame(rp, f->id, f->hour, elig_cconn_queue(c->cc), cks);
        rp->r->frames_resent++;
        rp->r->checks_resent += f->checks;
    }
    int rc = post_recv(rp, ci);
    if (rc == 0)
        post_send(rp, ci);
    return rc;
}

/* An error on connection ci: moved to another server when there is one, else the run's end. */
static int conn_failed(struct replay *rp, unsigned ci, int err, uint64_t now)
{
    if (rp->nservers < 2 || rp->p->target != ELIG_REPLAY_ELIGD)
        return err;
    conn_break(rp, ci, now);
    return 0;
}

static int run(struct replay *rp)
{
    const struct elig_replay_params *p = rp->p;
    unsigned nc = p->connections;
    uint64_t k = rp->k_begin;
    uint64_t t0 = now_ns(), last_send = t0;
    uint64_t interval = (uint64_t)(p->interval_s * 1e9), next_tick = t0 + interval;
    bool open_loop = p->speed > 0 || p->rate > 0;
    int rc = 0;
    for (unsigned i = 0; i < nc && !p->dgram && rc == 0; i++)
        rc = post_recv(rp, i);
    bool tty = p->progress && isatty(STDERR_FILENO);
    uint64_t shown = t0, due = 0;
    unsigned hour = 0;
    double off = rp->off_begin;
    while (rc == 0) {
        uint64_t now = now_ns();
        if (tty && now - shown > 500000000) { /* progress on a terminal only */
            shown = now;
            progress(rp, now, t0);
        }
        /* send what is due: by schedule or rate (open loop) or up to depth (closed loop) */
        bool sending = more(rp, k);
        if (open_loop) { /* frame k on connection k mod N, when it is due */
            while (more(rp, k)) {
                off = elig_sched_offset(rp->sched, k, &hour);
                due = p->speed > 0 ? t0 + (uint64_t)((off - rp->off_begin) / p->speed * 1e9)
                                   : t0 + (uint64_t)((double)(k - rp->k_begin) * 1e9 / p->rate);
                if (due > now)
                    break;
                queue_frame(rp, (unsigned)(k % nc), k, hour, due);
                rp->last_off = off;
                k++;
            }
        } else { /* every connection topped up to depth */
            for (unsigned ci = 0; ci < nc; ci++)
                while (!rp->conns[ci].broken && rp->conns[ci].f_len < p->depth && more(rp, k)) {
                    off = elig_sched_offset(rp->sched, k, &hour);
                    queue_frame(rp, ci, k, hour, now);
                    rp->last_off = off;
                    k++;
                }
        }
        if (sending)
            last_send = now;
        for (unsigned i = 0; i < nc && !p->dgram; i++)
            post_send(rp, i);
        if (p->dgram) {
            rc = dgram_io(rp, now);
            now = now_ns();
            for (; now >= next_tick; next_tick += interval)
                tick(rp, (double)(next_tick - t0) / 1e9);
        }
        if (!more(rp, k) && rp->r->frames_answered + rp->r->frames_lost == rp->r->frames_sent)
            break;
        if (!more(rp, k) && now - last_send > (uint64_t)(p->timeout_s * 1e9)) {
            rc = -ETIMEDOUT;
            break;
        }
        if (p->dgram)
            continue; /* a polled port: no waiting */
        uint64_t wake = next_tick;
        if (open_loop && more(rp, k) && due < wake)
            wake = due;
        struct __kernel_timespec ts = { .tv_sec = 0,
                                        .tv_nsec = wake > now ? (long long)(wake - now) : 0 };
        if (ts.tv_nsec >= 1000000000)
            ts.tv_nsec = 999999999;
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&rp->ring, &cqe, 1, &ts, NULL);
        unsigned head, seen = 0;
        now = now_ns();
        io_uring_for_each_cqe(&rp->ring, head, cqe)
        {
            unsigned ci = (unsigned)(cqe->user_data >> 1);
            struct conn *c = &rp->conns[ci];
            seen++;
            if (rc)
                continue;
            if (cqe->user_data & 1) {
                c->recv_armed = false;
                if (c->broken)
                    continue;
                if (cqe->res <= 0) {
                    rc = conn_failed(rp, ci, cqe->res ? cqe->res : -ECONNRESET, now);
                    continue;
                }
                elig_cconn_received(c->cc, (size_t)cqe->res);
                rc = take_answers(rp, c, now);
                if (rc == 0)
                    rc = post_recv(rp, ci);
            } else {
                c->send_busy = false;
                if (c->broken)
                    continue;
                if (cqe->res <= 0)
                    rc = conn_failed(rp, ci, cqe->res < 0 ? cqe->res : -EIO, now);
                else /* all of it (MSG_WAITALL); a short send would go on from there */
                    elig_cconn_sent(c->cc, (size_t)cqe->res);
            }
        }
        io_uring_cq_advance(&rp->ring, seen);
        for (unsigned ci = 0; ci < nc && rc == 0; ci++) {
            struct conn *c = &rp->conns[ci];
            if (rp->nservers > 1 && !c->broken && c->f_len && now > c->heard_ns &&
                now - c->heard_ns > (uint64_t)(p->loss_s * 1e9)) /* silent: cut off? */
                rc = conn_failed(rp, ci, -ETIMEDOUT, now);
            if (rc == 0 && c->broken)
                rc = conn_move(rp, ci, now);
        }
        for (; now >= next_tick; next_tick += interval)
            tick(rp, (double)(next_tick - t0) / 1e9);
    }
    uint64_t end = now_ns();
    rp->r->seconds = (double)(end - t0) / 1e9;
    struct elig_replay_point *last = rp->r->points ? &rp->r->series[rp->r->points - 1] : NULL;
    if (last && rp->r->seconds - last->t < 0.001) { /* ended on a tick: no empty-span point */
        uint64_t p99 = elig_hist_percentile(rp->tick, 99),
                 max = elig_hist_percentile(rp->tick, 100);
        last->checks += rp->tick_checks;
        last->frames += rp->tick_frames;
        last->p99_ns = p99 > last->p99_ns ? p99 : last->p99_ns;
        last->max_ns = max > last->max_ns ? max : last->max_ns;
    } else if (rp->tick_frames || rp->r->points == 0) {
        tick(rp, rp->r->seconds);
    }
    rp->r->month_from_h = rp->off_begin / 3600;
    rp->r->month_to_h = rp->last_off / 3600;
    if (tty)
        fputc('\n', stderr);
    return rc;
}

void elig_replay_report_free(struct elig_replay_report *r)
{
    free(r->series);
    r->series = NULL;
    r->points = 0;
}

int elig_replay_run(const struct elig_replay_params *params, struct elig_replay_report *r)
{
    struct elig_replay_params p = *params;
    if ((!p.server && !p.dgram) || (p.dgram && p.target != ELIG_REPLAY_ELIGD) || !p.pop ||
        !p.month || p.from_s < 0 || p.hours < 0 || p.speed < 0 || p.rate < 0)
        return -EINVAL;
    if (!p.connections)
        p.connections = 16;
    if (!p.depth)
        p.depth = 16;
    if (!p.batch_size || p.batch_size > ELIG_PROTO_BATCH_MAX)
        p.batch_size = 32;
    if (!p.timeout_s)
        p.timeout_s = 30;
    if (!(p.loss_s > 0))
        p.loss_s = 1;
    if (!(p.interval_s > 0))
        p.interval_s = 1;
    struct replay *rp = calloc(1, sizeof(*rp));
    if (rp == NULL)
        return -ENOMEM;
    memset(r, 0, sizeof(*r));
    elig_hist_reset(&r->latency);
    rp->p = &p;
    rp->r = r;
    int rc = setup_mix(rp);
    if (rc == 0 && p.checks == 0) { /* the published month */
        for (int t = 0; t < ELIG_FACILITY_TYPES; t++)
            p.checks += (uint64_t)(rp->m->total[t] + rp->m->batch[t]);
    }
    rp->tick = malloc(sizeof *rp->tick);
    if (rc == 0 && rp->tick == NULL)
        rc = -ENOMEM;
    bool ring = rc == 0 && !p.dgram;
    if (ring)
        rc = io_uring_queue_init(4 * p.connections + 16, &rp->ring, 0);
    if (rc) {
        elig_sched_destroy(rp->sched);
        free(rp->tick);
        free(rp);
        return rc;
    }
    elig_hist_reset(rp->tick);
    /* the day every check asks about: the population's reference date */
    rp->today = elig_pop_today(p.pop);
    rp->date = elig_proto_date_out(rp->today);
    rp->conns = calloc(p.connections, sizeof *rp->conns);
    unsigned nconns = rp->conns ? p.connections : 0;
    if (!rp->conns)
        rc = -ENOMEM;
    for (unsigned i = 0; i < nconns; i++)
        rp->conns[i].fd = -1;
    if (rc == 0 && !p.dgram) { /* the server list: connections move along it */
        rp->servers = calloc(SERVERS_MAX, sizeof *rp->servers);
        int n = rp->servers ? elig_client_servers(p.server, rp->servers, SERVERS_MAX) : -ENOMEM;
        rc = n < 0 ? n : 0;
        rp->nservers = n > 0 ? (unsigned)n : 0;
    }
    for (unsigned i = 0; rc == 0 && i < nconns; i++) {
        struct conn *c = &rp->conns[i];
        c->f_cap = c->c_cap = 1024;
        c->fifo = malloc(c->f_cap * sizeof *c->fifo);
        c->cks = malloc(c->c_cap * sizeof *c->cks);
        if (!c->fifo || !c->cks)
            rc = -ENOMEM;
        else if (p.dgram)
            rc = elig_cconn_new(&c->cc);
        else
            rc = connect_any(rp, c, 0, 10000);
    }
    if (rc == 0)
        rc = run(rp);
    if (ring)
        io_uring_queue_exit(&rp->ring);
    for (unsigned i = 0; i < nconns; i++) {
        struct conn *c = &rp->conns[i];
        if (c->fd >= 0)
            close(c->fd);
        elig_cconn_free(c->cc);
        free(c->fifo);
        free(c->cks);
    }
    free(rp->conns);
    free(rp->servers);
    elig_sched_destroy(rp->sched);
    free(rp->tick);
    free(rp);
    return rc;
}
