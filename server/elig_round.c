/* SPDX-License-Identifier: MIT */
/*
 * elig_round: frames in, answers out, one checker call per round.
 *
 * Design. A round keeps two arrays: the frames added (struct pending: what
 * to answer, the output buffer, and the range of its checks) and the checks
 * prepared from them (struct elig_check_req), in the same order. The run
 * hands the whole check array to the checker, whose batch lookups overlap
 * the cache misses of every frame of every source at once. The checker
 * answers in request order, so the frame owning check i is always the
 * first frame not yet answered that has checks: frames without checks
 * (errors, PING, STATS, admin) before it are answered as the emitter passes
 * them, which keeps every output in frame order without sorting.
 *
 * Fullness. A round takes checks until max_checks; a BATCH that would pass
 * max_checks + ELIG_PROTO_BATCH_MAX - 1 is refused (-ENOSPC) so the check
 * array never grows; a first frame is always taken, so a round makes
 * progress. Decoding of check bodies happens at add time: a frame's fate
 * (answered, or an error status) is settled before the run.
 *
 * The round owns no sockets and no threads; eligd's io_uring loops and its
 * DPDK lcores each own one.
 */
#include "elig_round.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CHECKS 4096
#define DEFAULT_FRAMES 8192

struct pending {
    struct elig_pbuf *out;
    const uint8_t *body;
    uint32_t body_len;
    uint32_t request_id;
    uint8_t opcode;
    uint8_t status; /* ELIG_PS_* to answer with */
    bool batch;
    bool plain;            /* answered without checks (PING, STATS, admin) */
    bool given;            /* answered with the caller's body (body, body_len) */
    const char *facility;  /* the code its checks named (in the body) */
    uint32_t first, count; /* its checks in reqs[] */
};

struct elig_round {
    struct elig_round_params p;
    struct pending *pend;
    struct elig_check_req *reqs;
    size_t npend, nreq, req_cap;
    elig_date_t today;
    const char *facility; /* checks must name it (NULL: any) */
    elig_round_audit_fn audit;
    void *audit_ctx;
    elig_round_spend_fn spend; /* the allowance of the frames being added (NULL: none) */
    void *spend_ctx;
    struct elig_round_counters cnt;
};

void elig_round_spend(struct elig_round *r, elig_round_spend_fn fn, void *ctx)
{
    r->spend = fn;
    r->spend_ctx = ctx;
}

void elig_round_set_audit(struct elig_round *r, elig_round_audit_fn fn, void *ctx)
{
    r->audit = fn;
    r->audit_ctx = ctx;
}

int elig_round_create(const struct elig_round_params *p, struct elig_round **out)
{
    struct elig_round *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->p = *p;
    if (!r->p.max_checks)
        r->p.max_checks = DEFAULT_CHECKS;
    if (!r->p.max_frames)
        r->p.max_frames = DEFAULT_FRAMES;
    r->req_cap = r->p.max_checks + ELIG_PROTO_BATCH_MAX;
    r->pend = calloc(r->p.max_frames, sizeof(*r->pend));
    r->reqs = calloc(r->req_cap, sizeof(*r->reqs));
    if (!r->pend || !r->reqs) {
        elig_round_destroy(r);
        return -ENOMEM;
    }
    /* resident from the start (calloc's fresh pages are not yet): a server's fixed memory
     * shows at once, and the first busy rounds take no page faults */
    memset(r->pend, 0, r->p.max_frames * sizeof(*r->pend));
    memset(r->reqs, 0, r->req_cap * sizeof(*r->reqs));
    *out = r;
    return 0;
}

void elig_round_destroy(struct elig_round *r)
{
    if (!r)
        return;
    free(r->pend);
    free(r->reqs);
    free(r);
}

void elig_round_begin(struct elig_round *r, elig_date_t today)
{
    r->npend = 0;
    r->nreq = 0;
    r->today = today;
    r->facility = NULL;
}

bool elig_round_room(const struct elig_round *r, size_t n)
{
    return r->npend < r->p.max_frames &&
           (n == 0 || ((r->nreq == 0 || r->nreq < r->p.max_checks) && r->nreq + n <= r->req_cap));
}

size_t elig_round_checks(const struct elig_round *r)
{
    return r->nreq;
}

const struct elig_round_counters *elig_round_counters(const struct elig_round *r)
{
    return &r->cnt;
}

static struct pending *pend_add(struct elig_round *r, const struct elig_proto_header *h,
                                uint8_t status, struct elig_pbuf *out)
{
    struct pending *p = &r->pend[r->npend++];
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->opcode = h->opcode;
    p->status = status;
    p->request_id = h->request_id;
    p->first = (uint32_t)r->nreq;
    r->cnt.frames++;
    return p;
}

int elig_round_add_status(struct elig_round *r, const struct elig_proto_header *h, uint8_t status,
                          struct elig_pbuf *out)
{
    if (r->npend >= r->p.max_frames)
        return -ENOSPC;
    pend_add(r, h, status, out);
    return 0;
}

int elig_round_add_answer(struct elig_round *r, const struct elig_proto_header *h, uint8_t status,
                          const uint8_t *body, size_t len, struct elig_pbuf *out)
{
    if (r->npend >= r->p.max_frames)
        return -ENOSPC;
    struct pending *p = pend_add(r, h, status, out);
    p->given = true;
    p->body = body;
    p->body_len = (uint32_t)len;
    return 0;
}

void elig_round_facility(struct elig_round *r, const char *facility)
{
    r->facility = facility;
}

/* Whether a check's facility code may be served in this round. */
static bool facility_ok(const struct elig_round *r, const char *code)
{
    return elig_proto_facility_valid(code) &&
           (!r->facility || memcmp(code, r->facility, ELIG_PROTO_FACILITY_LEN) == 0);
}

static bool is_check(uint8_t op)
{
    return elig_op_has(op, ELIG_OPF_CHECK);
}

/* Served by a round of this port (the opcode table says; the session's opcodes never come here). */
static bool served(const struct elig_round *r, uint8_t op)
{
    const struct elig_op_info *o = elig_op_info(op);
    return o && !(o->flags & ELIG_OPF_SESSION) &&
           (o->flags & (r->p.port == ELIG_ROUND_ADMIN ? ELIG_OPF_ADMIN : ELIG_OPF_FACILITY));
}

/* Decode a check frame into prepared checks; false when a BATCH does not fit. */
static bool add_checks(struct elig_round *r, struct pending *p, const uint8_t *body, size_t len)
{
    if (p->opcode == ELIG_OP_LOOKUP_CARD) {
        struct elig_proto_card q;
        if (elig_proto_card_decode(body, len, &q))
            p->status = ELIG_PS_BODY;
        else if (!facility_ok(r, q.facility))
            p->status = ELIG_PS_FACILITY;
        else if ((p->facility = q.facility))
            elig_check_prepare_card(&q, q.facility[2], r->today, &r->reqs[r->nreq++]);
    } else if (p->opcode == ELIG_OP_LOOKUP_NUMBER) {
        struct elig_proto_number q;
        size_t off = 0;
        if (elig_proto_number_decode(body, len, &off, false, &q))
            p->status = ELIG_PS_BODY;
        else if (!facility_ok(r, q.facility))
            p->status = ELIG_PS_FACILITY;
        else if ((p->facility = q.facility))
            elig_check_prepare_number(&q, q.facility[2], r->today, &r->reqs[r->nreq++]);
    } else {
        struct elig_proto_batch b;
        p->batch = true;
        if (elig_proto_batch_decode(body, len, &b)) {
            p->status = ELIG_PS_BODY;
        } else if (!facility_ok(r, b.facility)) {
            p->status = ELIG_PS_FACILITY;
        } else {
            p->facility = b.facility;
            if (r->nreq + b.count > r->req_cap)
                return false;
            for (unsigned i = 0; i < b.count; i++) {
                struct elig_proto_number q;
                elig_proto_batch_next(body, len, &b, &q);
                elig_check_prepare_number(&q, b.facility[2], r->today, &r->reqs[r->nreq++]);
            }
        }
    }
    p->count = (uint32_t)(r->nreq - p->first);
    return true;
}

int elig_round_add(struct elig_round *r, const struct elig_proto_header *h, const uint8_t *body,
                   struct elig_pbuf *out)
{
    if (r->npend >= r->p.max_frames)
        return -ENOSPC;
    if (h->version != ELIG_PROTO_VERSION || !served(r, h->opcode)) {
        pend_add(r, h, h->version != ELIG_PROTO_VERSION ? ELIG_PS_VERSION : ELIG_PS_OPCODE, out);
        return 0;
    }
    if (!is_check(h->opcode)) {
        bool empty = elig_op_has(h->opcode, ELIG_OPF_EMPTY);
        struct pending *p = pend_add(r, h, empty && h->body_len ? ELIG_PS_BODY : ELIG_PS_OK, out);
        p->plain = true;
        p->body = body;
        p->body_len = h->body_len;
        return 0;
    }
    if (r->nreq > 0 && r->nreq >= r->p.max_checks)
        return -ENOSPC;
    struct pending *p = pend_add(r, h, ELIG_PS_OK, out);
    if (!add_checks(r, p, body, h->body_len)) {
        r->npend--;
        r->cnt.frames--;
        return -ENOSPC;
    }
    /* only a frame that will be checked is charged: a refused one costs nothing */
    if (p->status == ELIG_PS_OK && p->count && r->spend && !r->spend(r->spend_ctx, p->count)) {
        r->nreq = p->first;
        p->count = 0;
        p->status = ELIG_PS_RATE_LIMITED;
    }
    return 0;
}

/* Answer a frame that carries no checks. */
static int answer_plain(struct elig_round *r, const struct pending *p, elig_round_plain_fn plain,
                        void *ctx)
{
    struct elig_pbuf *b = p->out;
    uint8_t status = p->status;
    long at = elig_proto_frame_begin(b, p->opcode, ELIG_PROTO_F_RESPONSE, status, p->request_id);
    if (at < 0)
        return (int)at;
    size_t body_at = (size_t)at + ELIG_PROTO_HEADER, keep = 0;
    int rc = 0;
    if (p->given) {
        if ((rc = elig_pbuf_reserve(b, p->body_len)) == 0 && p->body_len) {
            memcpy(b->data + b->len, p->body, p->body_len);
            b->len += p->body_len;
        }
        keep = p->body_len; /* a refusal's body (its error code) stays too */
    } else if (status == ELIG_PS_OK && p->plain) {
        if (p->opcode == ELIG_OP_PING) {
            if (p->body_len > ELIG_PROTO_PING_MAX) {
                status = ELIG_PS_BODY;
            } else if ((rc = elig_pbuf_reserve(b, p->body_len)) == 0) {
                memcpy(b->data + b->len, p->body, p->body_len);
                b->len += p->body_len;
            }
        } else if (plain) {
            rc = plain(ctx, p->opcode, p->body, p->body_len, b, &status, &keep);
        } else {
            status = ELIG_PS_INTERNAL;
        }
    }
    if (status != ELIG_PS_OK) {
        if (b->len > body_at + keep)
            b->len = body_at + keep;
        b->data[at + 5] = status;
        r->cnt.bad_frames += status != ELIG_PS_UNAVAILABLE;
    }
    elig_proto_frame_end(b, at);
    return rc;
}

struct emit_ctx {
    struct elig_round *r;
    elig_round_plain_fn plain;
    void *ctx;
    size_t next; /* next frame to answer */
    long at;     /* offset of the open frame in its output */
};

/* Answer the frames without checks before the next frame that has some. */
static int emit_plain(struct emit_ctx *e)
{
    struct elig_round *r = e->r;
    while (e->next < r->npend) {
        const struct pending *p = &r->pend[e->next];
        if (p->status == ELIG_PS_OK && p->count > 0)
            return 0;
        int rc = answer_plain(r, p, e->plain, e->ctx);
        if (rc)
            return rc;
        e->next++;
    }
    return 0;
}

static int emit_answer(void *ctx, size_t i, const struct elig_proto_answer *ans)
{
    struct emit_ctx *e = ctx;
    int rc = emit_plain(e);
    if (rc)
        return rc;
    const struct pending *p = &e->r->pend[e->next];
    struct elig_pbuf *b = p->out;
    if (i == p->first) {
        e->at =
            elig_proto_frame_begin(b, p->opcode, ELIG_PROTO_F_RESPONSE, ELIG_PS_OK, p->request_id);
        if (e->at < 0)
            return (int)e->at;
        if (p->batch && (rc = elig_proto_batch_answer_head(b, (uint16_t)p->count)))
            return rc;
    }
    size_t at = b->len;
    if ((rc = elig_proto_answer_encode(b, ans)))
        return rc;
    e->r->cnt.checks[elig_op_info(p->opcode)->slot][ans->status != ELIG_AS_OK ? 6
                                                    : ans->validity < 6       ? ans->validity
                                                                              : 0]++;
    if (e->r->audit)
        e->r->audit(e->r->audit_ctx, p->facility, p->opcode, ans, b->data + at, b->len - at);
    if (i == p->first + p->count - 1) {
        elig_proto_frame_end(b, e->at);
        e->next++;
    }
    return 0;
}

int elig_round_run(struct elig_round *r, struct elig_checker *ck, elig_round_plain_fn plain,
                   void *ctx)
{
    struct emit_ctx e = { .r = r, .plain = plain, .ctx = ctx };
    int rc = elig_checker_run(ck, r->reqs, r->nreq, emit_answer, &e);
    if (rc == 0)
        rc = emit_plain(&e);
    return rc;
}
