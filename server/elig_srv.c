/* SPDX-License-Identifier: MIT */
/*
 * elig_srv: the io_uring network loops of eligd.
 *
 * Threads. N facility workers and one admin loop, each owning one io_uring
 * (created on its own thread, so SINGLE_ISSUER holds), one listener and its
 * connections; nothing is shared between loops but the read-only index,
 * the connection count (an atomic, for the global cap) and the published
 * counters. The admin loop is the only thread that calls the store's writer
 * side (elig_db_submit / elig_db_snapshot), which block it while they run:
 * facility workers go on answering from the index meanwhile.
 *
 * Per loop: a multishot accept on the listener, a multishot recv per
 * connection drawing from the loop's provided buffer ring, and at most one
 * send per connection in flight. A received buffer is appended to the
 * connection's input and handed straight back to the ring, so the ring never
 * runs dry because one connection is slow to be served.
 *
 * Rounds. The loop waits for completions (at most TICK_MS, or not at all
 * when work is ready), handles them all, then serves the ready connections:
 * every complete frame they hold, up to a round budget shared fairly
 * between them, is decoded into one array of checks that goes through the
 * checker (and so through the index's batch lookups) in one call; answers
 * are encoded in frame order straight into each connection's output, and
 * each connection gets one send for everything it produced. Connections
 * left with complete frames stay ready for the next round, after the
 * completions that arrived meanwhile: one flooding connection cannot hold a
 * round for itself.
 *
 * Memory. Output is double-buffered (one buffer on the wire, one being
 * filled) so a send's memory never moves. A connection is not parsed while
 * the buffer being filled holds OUT_SOFT bytes, so neither buffer grows past
 * OUT_BUF (answers of one frame are far below OUT_BUF - OUT_SOFT): the 8 MiB
 * of answers a connection may hold count both. One whose unparsed input
 * passes two maximal frames has its recv cancelled until it drains, so TCP
 * flow control pushes back on the client. Before AUTH a connection gets a
 * few KiB: frames of at most PRE_BODY bytes, PRE_FRAMES of them, parsing
 * stopped past PRE_OUT bytes of unsent answers and recv past PRE_IN bytes of
 * input (what one provided buffer holds is the most it costs). Every
 * connection's buffer capacity is counted in one atomic total; past the
 * budget (conn_memory) new connections are answered BUSY and, once a tick,
 * each loop closes its greediest connection. A closed connection's buffers
 * go back to the allocator.
 *
 * Modules. This file is the ring loop: listeners, connections, rounds,
 * timers and threads. The facility session (HELLO, AUTH, allowances,
 * POSTHOC, the audit) is elig_session.c; STATS and the admin opcodes are
 * elig_admin.c; what they share is elig_srv_loop.h.
 *
 * Facilities. Unless the network is trusted (elig_access), a connection
 * must HELLO (naming its facility; a fresh challenge comes back) and AUTH
 * (the HMAC of the challenge under the facility's key) before anything but
 * PING is answered; both are decided as the frames are parsed, so checks
 * pipelined behind a successful AUTH are served in the same round. From
 * then on its checks must name that facility and spend its allowance
 * (rate; connections). Each worker holds a snapshot of the registry and
 * takes the new one on its next tick after a reload, closing the
 * connections of facilities that were revoked or removed.
 *
 * Errors. A malformed header or an over-long body: an error answer, then
 * the connection closes once the answer is sent. An unknown version or
 * opcode, a malformed body: an error answer, and the connection goes on.
 * A frame left incomplete for frame_timeout_ms, or a connection not
 * authenticated within it: TIMEOUT answer, close (a peer that has not
 * authenticated is closed LINGER_MS later whatever it does).
 *
 * Lifetime of a connection slot: in use from accept until no operation on
 * it is in flight (recv armed, send busy) after it was marked closing. Each
 * reuse bumps a generation carried in user_data, and completions of an
 * older generation are dropped (their provided buffer still goes back).
 */
#include "elig_srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "elig_addr.h"
#include "elig_check.h"
#include "elig_codec.h"
#include "elig_net_error.h"
#include "elig_le.h"
#include "elig_live.h"
#include "elig_proto.h"
#include "elig_round.h"
#include "elig_slog.h"
#include "elig_srv_loop.h"

/* ---- addresses and listeners ------------------------------------------ */

static int tcp_listener(const struct elig_addr *sa, bool reuseport, uint16_t *bound)
{
    int fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
        goto fail;
    if (bind(fd, (const struct sockaddr *)&sa->ss, sa->len) || listen(fd, 4096))
        goto fail;
    struct elig_addr got = { .len = sizeof got.ss };
    if (getsockname(fd, (struct sockaddr *)&got.ss, &got.len))
        goto fail;
    *bound = elig_addr_port(&got);
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

/*
 * Whether the server behind a connected admin socket is alive: it answers a
 * PING within a second. A server killed a moment ago can still have its
 * listener held by its ring as it is torn down, so connect() succeeds there
 * but nothing ever answers (or the connection is reset): that socket file is
 * stale.
 */
static bool unix_peer_answers(int fd)
{
    uint8_t frame[ELIG_PROTO_HEADER];
    struct elig_proto_header h = { .version = ELIG_PROTO_VERSION, .opcode = ELIG_OP_PING };
    elig_proto_header_encode(frame, &h);
    if (send(fd, frame, sizeof frame, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof frame)
        return false;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint8_t answer[ELIG_PROTO_HEADER];
    return poll(&p, 1, 1000) == 1 &&
           recv(fd, answer, sizeof answer, MSG_DONTWAIT) == (ssize_t)sizeof answer;
}

static int unix_listener(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    /* a socket file left by a server that died is replaced; a live one is not */
    bool live = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 && unix_peer_answers(probe);
    close(probe); /* connected or not, it cannot be the listener: a fresh socket is */
    if (live)
        return -EADDRINUSE;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc || listen(fd, 64)) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* ---- ring plumbing ---------------------------------------------------- */

static struct io_uring_sqe *sqe_get(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (sqe == NULL) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe; /* non-NULL: the submit emptied the queue */
}

static int ring_init(struct loop *l, const char **mode)
{
    struct io_uring_params rp;
    static const struct {
        unsigned flags;
        const char *name;
    } modes[] = {
        { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
          "single-issuer+defer-taskrun" },
        { IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL, "coop-taskrun" },
        { 0, "plain" },
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        memset(&rp, 0, sizeof(rp));
        rp.flags = modes[i].flags | IORING_SETUP_CQSIZE;
        rp.cq_entries = RING_ENTRIES * 4;
        rc = io_uring_queue_init_params(RING_ENTRIES, &l->ring, &rp);
        if (rc == 0) {
            *mode = modes[i].name;
            break;
        }
        if (rc != -EINVAL)
            return rc;
    }
    if (rc)
        return rc;
    l->ring_ok = true;
    if (posix_memalign((void **)&l->br, 4096, BUF_COUNT * sizeof(struct io_uring_buf)) ||
        posix_memalign((void **)&l->bufs, 4096, (size_t)BUF_COUNT * BUF_SIZE))
        return -ENOMEM;
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)l->br,
        .ring_entries = BUF_COUNT,
        .bgid = 0,
    };
    if ((rc = io_uring_register_buf_ring(&l->ring, &reg, 0)))
        return rc;
    memset(l->bufs, 0, (size_t)BUF_COUNT * BUF_SIZE); /* resident from the start */
    io_uring_buf_ring_init(l->br);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(l->br, l->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(l->br, BUF_COUNT);
    return 0;
}

static void buf_recycle(struct loop *l, unsigned bid)
{
    io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(l->br, 1);
}

static void arm_accept(struct loop *l, int which)
{
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_multishot_accept(sqe, l->listen_fd[which], NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud_make(UD_ACCEPT, (uint32_t)which, 0));
    l->accept_armed[which] = true;
}

static bool pre_auth(const struct loop *l, const struct conn *c);

/*
 * Arm the connection's recv: multishot, drawing from the provided buffers;
 * before AUTH one recv at a time of at most PRE_IN bytes, so what a peer
 * that has not authenticated can make eligd hold stays a few KiB (a
 * multishot recv posts many buffers before a cancellation takes effect).
 */
static void arm_recv(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    struct io_uring_sqe *sqe = sqe_get(l);
    if (pre_auth(l, c) && !c->lingering)
        io_uring_prep_recv(sqe, c->fd, NULL, PRE_IN, 0);
    else
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, slot, c->gen));
    c->recv_armed = true;
    c->paused = false;
}

static void cancel_recv(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_cancel64(sqe, ud_make(UD_RECV, slot, c->gen), 0);
    io_uring_sqe_set_data64(sqe, ud_make(UD_CANCEL, slot, c->gen));
}

/* ---- connections ------------------------------------------------------ */

/* Not yet authenticated where it must be: the small budget applies. */
static bool pre_auth(const struct loop *l, const struct conn *c)
{
    if (c->auth == AUTH_OK)
        return false;
    return l->kind == LOOP_ADMIN ? c->admin_tcp : !session_trusted(l);
}

static size_t limit_body(const struct loop *l, const struct conn *c)
{
    if (pre_auth(l, c))
        return PRE_BODY;
    return l->kind == LOOP_ADMIN ? ELIG_PROTO_ADMIN_BODY : ELIG_PROTO_MAX_BODY;
}

/* Count c's buffer capacity in the server's total as it is now. */
/*
 * What a TLS session holds inside OpenSSL, which eligd cannot see: measured
 * (glibc's mallinfo2 over 1,000 server sessions, OpenSSL 3.0.19) at about
 * 9 KiB new, 46 KiB with a handshake in progress, 15 KiB once established
 * with buffers released between records; counted at those, rounded up.
 */
#define TLS_HANDSHAKE_BYTES (48u * 1024)
#define TLS_SESSION_BYTES   (16u * 1024)

static void conn_account(struct loop *l, struct conn *c)
{
    size_t held = c->in.cap + c->out.cap + c->wire.cap;
    if (c->tls)
        held += c->handshaking ? TLS_HANDSHAKE_BYTES : TLS_SESSION_BYTES;
    if (held > c->held)
        atomic_fetch_add_explicit(&l->srv->mem, held - c->held, memory_order_relaxed);
    else if (held < c->held)
        atomic_fetch_sub_explicit(&l->srv->mem, c->held - held, memory_order_relaxed);
    c->held = held;
}

static bool over_budget(const struct elig_srv *s)
{
    return atomic_load_explicit(&s->mem, memory_order_relaxed) > s->p.conn_memory;
}

static void mark_ready(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->ready || c->closing)
        return;
    c->ready = true;
    l->readyq[(l->rq_head + l->rq_len++) % l->nconns] = slot;
}

/*
 * TLS: the answers in out are encrypted into the session, and the wire gets
 * every byte of ciphertext the session has (handshake messages included).
 * Returns false when there is nothing to send or the session failed (the
 * connection is then closed).
 */
static bool tls_fill_wire(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->out.len && elig_tls_write(c->tls, c->out.data, c->out.len)) {
        loop_conn_close(l, slot);
        return false;
    }
    c->out.len = 0;
    size_t n = elig_tls_pending(c->tls);
    if (n == 0)
        return false;
    c->wire.len = c->wire_off = 0;
    if (elig_pbuf_reserve(&c->wire, n)) {
        loop_conn_close(l, slot);
        return false;
    }
    c->wire.len = elig_tls_take(c->tls, c->wire.data, n);
    conn_account(l, c);
    return c->wire.len > 0;
}

static void start_send(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->send_busy || c->closing)
        return;
    if (c->tls) {
        if (!tls_fill_wire(l, slot))
            return;
    } else {
        if (c->out.len == 0)
            return;
        struct elig_pbuf t = c->wire;
        c->wire = c->out;
        c->out = t;
        c->out.len = 0;
        c->wire_off = 0;
    }
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_send(sqe, c->fd, c->wire.data, c->wire.len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, slot, c->gen));
    c->send_busy = true;
}

/* TLS: the handshake of c has ended (well or not), or c closes before it did. */
static void tls_handshake_over(struct loop *l, struct conn *c)
{
    if (c->handshaking) {
        c->handshaking = false;
        l->tls_inflight--;
    }
}

static void conn_release(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    close(c->fd);
    c->fd = -1;
    c->gen++;
    /* its buffers go back to the allocator: an idle slot costs nothing */
    l->freed += c->held;
    elig_pbuf_free(&c->in);
    elig_pbuf_free(&c->out);
    elig_pbuf_free(&c->wire);
    tls_handshake_over(l, c);
    elig_tls_free(c->tls);
    c->tls = NULL;
    conn_account(l, c);
    l->free_slots[l->nfree++] = slot;
    l->live--;
    if (c->fac_slot >= 0) {
        if (c->credit) /* taken in advance and not spent: the facility's again */
            elig_access_refund(l->srv->p.access, c->fac_slot, c->credit,
                               (uint64_t)mono_ms() * 1000000);
        elig_access_leave(l->srv->p.access, c->fac_slot);
    }
    c->fac_slot = -1;
    c->auth = AUTH_NONE;
    if (l->kind == LOOP_FACILITY)
        atomic_fetch_sub(&l->srv->conns, 1);
    stat_add(&l->st.closed, 1);
}

/* Tear a connection down now: nothing more is sent. */
void loop_conn_close(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->fd < 0)
        return;
    if (!c->closing) {
        c->closing = true;
        shutdown(c->fd, SHUT_RDWR);
        if (c->recv_armed)
            cancel_recv(l, slot);
    }
    if (!c->recv_armed && !c->send_busy)
        conn_release(l, slot);
}

/*
 * A lingering close: our side is shut for writing (the peer sees our
 * answers, then end of stream), and what the peer still sends is read and
 * dropped until it closes or LINGER_MS pass. Closing a socket with unread
 * input would make the kernel reset the connection and throw away answers
 * the peer has not read yet.
 */
static void conn_linger(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    c->lingering = true;
    c->no_parse = true;
    c->linger_ms = l->now_ms;
    c->in.len = c->in_off = 0;
    shutdown(c->fd, SHUT_WR);
    if (!c->recv_armed)
        arm_recv(l, slot);
}

/* Close once owed answers are out, if that is what the connection waits for. */
static void conn_settle(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->fd < 0 || c->closing)
        return;
    bool owed = c->ready || c->send_busy || c->out.len > 0;
    if (owed)
        return;
    if (c->eof)
        loop_conn_close(l, slot); /* the peer has closed: nothing unread can follow */
    else if (!c->lingering && (c->finish || c->no_parse || l->draining))
        conn_linger(l, slot);
}

/*
 * TLS: may this new connection start a handshake? Not past the loop's
 * handshakes in progress, nor past its source address's rate (a token
 * bucket: tls_rate a second, a burst of twice that). A handshake costs a
 * signature and a session's memory before anything is known of the peer,
 * so a flood is turned away at accept.
 */
static bool tls_admit_source(struct loop *l, int fd)
{
    const struct elig_srv *s = l->srv;
    if (l->tls_inflight >= s->p.tls_handshakes)
        return false;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len))
        return false;
    const uint8_t *a = ss.ss_family == AF_INET6
                           ? ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr
                           : (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
    size_t alen = ss.ss_family == AF_INET6 ? 16 : 4;
    uint64_t key = 1469598103934665603ull; /* FNV-1a over the address: never 0 in practice */
    for (size_t i = 0; i < alen; i++)
        key = (key ^ a[i]) * 1099511628211ull;
    key |= 1;
    struct tls_source *src = &l->tls_sources[key % TLS_SOURCES];
    double burst = 2.0 * s->p.tls_rate;
    if (src->key != key) { /* a new source (or one that shared the slot): a full bucket */
        src->key = key;
        src->tokens = burst;
        src->at_ms = l->now_ms;
    }
    src->tokens += (double)(l->now_ms - src->at_ms) * s->p.tls_rate / 1000.0;
    if (src->tokens > burst)
        src->tokens = burst;
    src->at_ms = l->now_ms;
    if (src->tokens < 1)
        return false;
    src->tokens -= 1;
    return true;
}

static void conn_open(struct loop *l, int fd, bool admin_tcp)
{
    struct elig_srv *s = l->srv;
    if (l->kind == LOOP_FACILITY && s->p.tls && !tls_admit_source(l, fd)) {
        close(fd); /* a TLS client sees the close; nothing was read or sent */
        stat_add(&l->st.tls_refused, 1);
        stat_add(&l->st.refused_busy, 1);
        return;
    }
    bool no_memory = l->kind == LOOP_FACILITY && over_budget(s);
    if (l->kind == LOOP_FACILITY &&
        (no_memory || atomic_fetch_add(&s->conns, 1) >= s->p.max_conns || l->nfree == 0)) {
        if (!no_memory)
            atomic_fetch_sub(&s->conns, 1);
        uint8_t frame[ELIG_PROTO_HEADER];
        struct elig_proto_header h = { .version = ELIG_PROTO_VERSION,
                                       .flags = ELIG_PROTO_F_RESPONSE,
                                       .status = ELIG_PS_BUSY };
        elig_proto_header_encode(frame, &h);
        if (!s->p.tls) { /* a TLS client would read it as garbage: it sees the close */
            ssize_t w = send(fd, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)w; /* best effort: the client learns why, or sees the close */
        }
        close(fd);
        stat_add(no_memory ? &l->st.refused_memory : &l->st.refused_busy, 1);
        return;
    }
    if (l->nfree == 0) { /* admin loop full */
        close(fd);
        return;
    }
    uint32_t slot = l->free_slots[--l->nfree];
    if (slot >= l->slot_hi)
        l->slot_hi = slot + 1;
    struct conn *c = &l->conns[slot];
    uint32_t gen = c->gen;
    memset(c, 0, sizeof(*c)); /* its buffers were freed at its last release */
    c->gen = gen;
    c->fd = fd;
    c->fac_slot = -1;
    c->credit = 0;
    c->admin_tcp = admin_tcp;
    c->active_ms = c->opened_ms = l->now_ms;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails harmlessly on Unix */
    l->live++;
    stat_add(&l->st.accepted, 1);
    if (l->kind == LOOP_FACILITY && s->p.tls) {
        if (elig_tls_new(s->p.tls, &c->tls)) {
            loop_conn_close(l, slot); /* out of memory for a session */
            return;
        }
        c->handshaking = true;
        l->tls_inflight++;
        conn_account(l, c);
    }
    arm_recv(l, slot);
}

/*
 * Input flow control: past two maximal frames of unparsed input, the recv is
 * cancelled (TCP then holds the client back); below one, it is armed again.
 */
static void flow_control(struct loop *l, uint32_t slot)
{
    struct conn *c = &l->conns[slot];
    if (c->fd < 0 || c->closing || c->eof || c->no_parse)
        return;
    size_t backlog = c->in.len - c->in_off;
    size_t high = pre_auth(l, c) ? PRE_IN : 2 * limit_body(l, c) + ELIG_PROTO_HEADER;
    if (!c->paused && backlog > high) {
        c->paused = true;
        if (c->recv_armed)
            cancel_recv(l, slot);
    } else if (c->paused && !c->recv_armed && !c->finish &&
               backlog <= limit_body(l, c) + ELIG_PROTO_HEADER) {
        arm_recv(l, slot);
    }
}

/* ---- completions ------------------------------------------------------ */

static void on_accept(struct loop *l, struct io_uring_cqe *cqe, uint32_t which)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        l->accept_armed[which] = false;
    if (cqe->res >= 0) {
        if (l->draining)
            close(cqe->res);
        else
            conn_open(l, cqe->res, l->kind == LOOP_ADMIN && which == 1);
    } else if (cqe->res != -ECANCELED && cqe->res != -EBADF) {
        elig_slog(ELIG_SLOG_WARN, "accept: %s", elig_net_strerror(cqe->res));
    }
    if (!l->accept_armed[which] && !l->draining && l->listen_fd[which] >= 0)
        arm_accept(l, (int)which);
}

/*
 * A TLS session refused its peer (a wrong or revoked certificate, a
 * plaintext client, garbage): its alert goes out if it made one, nothing
 * more is read, and the reason is logged at most once a second per worker.
 */
static void tls_refuse(struct loop *l, uint32_t slot, const char *why)
{
    struct conn *c = &l->conns[slot];
    stat_add(&l->st.tls_refused, 1);
    if (!l->tls_warned_ms || l->now_ms - l->tls_warned_ms >= 1000) {
        elig_slog(ELIG_SLOG_WARN, "TLS connection refused: %s", why);
        l->tls_warned_ms = l->now_ms;
    }
    c->no_parse = true;
    c->finish = true;
}

/* Received ciphertext: into the session, plaintext out of it into c->in; the handshake's end. */
static void tls_input(struct loop *l, uint32_t slot, const uint8_t *p, size_t n)
{
    struct conn *c = &l->conns[slot];
    bool was_ready = elig_tls_ready(c->tls);
    if (elig_tls_feed(c->tls, p, n)) {
        c->no_parse = true;
        return;
    }
    for (unsigned guard = 0; guard < 64; guard++) { /* a recv's bytes: a few records */
        if (elig_pbuf_reserve(&c->in, BUF_SIZE)) {
            c->no_parse = true;
            return;
        }
        long r = elig_tls_read(c->tls, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (r <= 0) {
            if (r == -EPROTO)
                tls_refuse(l, slot, elig_tls_error(c->tls));
            else if (r < 0)
                c->eof = true; /* close_notify */
            break;
        }
        c->in.len += (size_t)r;
    }
    if (c->handshaking && (c->no_parse || elig_tls_ready(c->tls)))
        tls_handshake_over(l, c);
    if (!was_ready && elig_tls_ready(c->tls)) {
        char code[ELIG_PROTO_FACILITY_LEN + 2];
        int rc = elig_tls_peer_name(c->tls, code, sizeof code);
        if (rc == 0)
            rc = session_tls_admit(l, c, code);
        if (rc == 0) {
            stat_add(&l->st.tls_handshakes, 1);
        } else { /* a valid certificate, but not of an active facility: told as AUTH is */
            struct elig_proto_header h = { .version = ELIG_PROTO_VERSION,
                                           .flags = ELIG_PROTO_F_RESPONSE,
                                           .status = ELIG_PS_UNAUTHENTICATED };
            if (elig_pbuf_reserve(&c->out, ELIG_PROTO_HEADER) == 0) {
                elig_proto_header_encode(c->out.data + c->out.len, &h);
                c->out.len += ELIG_PROTO_HEADER;
            }
            tls_refuse(l, slot,
                       rc == -EUSERS ? "the facility's connections are at their cap"
                                     : "the certificate names no active facility");
        }
    }
    if (elig_tls_pending(c->tls) || c->out.len)
        start_send(l, slot); /* the handshake's messages, an alert, a refusal */
}

static void on_recv(struct loop *l, struct io_uring_cqe *cqe, uint32_t slot, uint32_t gen)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        struct conn *c = &l->conns[slot];
        if (cqe->res > 0 && c->fd >= 0 && c->gen == gen && !c->closing && !c->no_parse) {
            const uint8_t *p = l->bufs + (size_t)bid * BUF_SIZE;
            c->rx_ns = l->wake_ns;
            if (c->tls)
                tls_input(l, slot, p, (size_t)cqe->res);
            else if (elig_pbuf_reserve(&c->in, (size_t)cqe->res) == 0) {
                memcpy(c->in.data + c->in.len, p, (size_t)cqe->res);
                c->in.len += (size_t)cqe->res;
            } else {
                c->no_parse = true; /* out of memory: drop this connection */
            }
            conn_account(l, c);
        }
        buf_recycle(l, bid);
    }
    struct conn *c = &l->conns[slot];
    if (c->fd < 0 || c->gen != gen)
        return;
    if (!more)
        c->recv_armed = false;
    if (c->closing) {
        loop_conn_close(l, slot);
        return;
    }
    if (cqe->res > 0) {
        c->active_ms = l->now_ms;
        mark_ready(l, slot);
        flow_control(l, slot);
    } else if (cqe->res == 0) {
        c->eof = true;
        mark_ready(l, slot);
    } else if (cqe->res == -ENOBUFS) {
        /* ring momentarily empty: ask again below */
    } else if (cqe->res != -ECANCELED) {
        loop_conn_close(l, slot);
        return;
    }
    bool wanted = c->lingering || (!c->paused && !c->no_parse && cqe->res != -ECANCELED);
    if (!c->recv_armed && !c->eof && wanted)
        arm_recv(l, slot);
}

static void on_send(struct loop *l, struct io_uring_cqe *cqe, uint32_t slot, uint32_t gen)
{
    struct conn *c = &l->conns[slot];
    if (c->fd < 0 || c->gen != gen)
        return;
    c->send_busy = false;
    if (c->closing || cqe->res <= 0) {
        loop_conn_close(l, slot);
        return;
    }
    c->wire_off += (size_t)cqe->res;
    if (c->wire_off < c->wire.len) { /* short send: the rest */
        struct io_uring_sqe *sqe = sqe_get(l);
        io_uring_prep_send(sqe, c->fd, c->wire.data + c->wire_off, c->wire.len - c->wire_off,
                           MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, slot, c->gen));
        c->send_busy = true;
        return;
    }
    c->wire.len = 0;
    c->wire_off = 0;
    start_send(l, slot);
    if (c->in.len > c->in_off)
        mark_ready(l, slot); /* parsing may have waited for output to drain */
    conn_settle(l, slot);
}

static void handle_cqe(struct loop *l, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t slot = (uint32_t)(ud >> 32) & 0xFFFFFF, gen = (uint32_t)ud;
    switch ((enum ud_kind)(ud >> 56)) {
    case UD_ACCEPT:
        on_accept(l, cqe, slot);
        break;
    case UD_RECV:
        on_recv(l, cqe, slot, gen);
        break;
    case UD_SEND:
        on_send(l, cqe, slot, gen);
        break;
    case UD_CANCEL:
        break;
    }
}

/*
 * Parse the complete frames of one connection, up to budget checks.
 * Returns true if it stopped with complete frames left (stays ready).
 */
static bool parse_conn(struct loop *l, uint32_t slot, size_t budget)
{
    struct conn *c = &l->conns[slot];
    size_t start = elig_round_checks(l->round);
    elig_round_facility(l->round, !session_trusted(l) && c->auth == AUTH_OK ? c->fac : NULL);
    l->spending = c;
    elig_round_spend(
        l->round, l->kind == LOOP_FACILITY && !session_trusted(l) ? session_round_spend : NULL, l);
    while (!c->no_parse) {
        bool pre = pre_auth(l, c);
        if (c->out.len >= OUT_SOFT || (pre && c->out.len + (c->wire.len - c->wire_off) >= PRE_OUT))
            return false; /* resumes when a send completes */
        if (pre && c->pre_frames >= PRE_FRAMES) {
            struct elig_proto_header none = { 0 }; /* enough said before AUTH */
            if (elig_round_add_status(l->round, &none, ELIG_PS_UNAUTHENTICATED, &c->out))
                return true;
            stat_add(&l->st.auth_failed, 1);
            c->no_parse = true;
            break;
        }
        if (elig_round_checks(l->round) - start >= budget)
            return true;
        size_t have = c->in.len - c->in_off;
        const uint8_t *f = c->in.data + c->in_off;
        struct elig_proto_header h;
        int rc = elig_proto_header_decode(f, have, false, &h);
        if (rc == -EAGAIN)
            break;
        if (rc || h.body_len > limit_body(l, c)) {
            /* a bad header cannot be trusted: answered with opcode and id 0 */
            uint8_t status = rc ? ELIG_PS_HEADER : ELIG_PS_TOO_LARGE;
            if (rc)
                memset(&h, 0, sizeof(h));
            if (elig_round_add_status(l->round, &h, status, &c->out))
                return true;
            c->no_parse = true;
            break;
        }
        if (have < ELIG_PROTO_HEADER + (size_t)h.body_len)
            break;
        int g = session_gate(l, c, &h, f + ELIG_PROTO_HEADER);
        if (g == -ENOSPC ||
            (g == 0 && elig_round_add(l->round, &h, f + ELIG_PROTO_HEADER, &c->out)))
            return true; /* the round is full: this frame starts the next one */
        c->in_off += ELIG_PROTO_HEADER + h.body_len;
        c->partial_ms = 0;
        c->pre_frames += pre;
        const struct elig_op_info *op = elig_op_info(h.opcode);
        if (op && l->nlat < ROUND_FRAMES) { /* its answer is made in this round: timed then */
            l->lat_slot[l->nlat] = op->slot;
            l->lat_rx[l->nlat++] = c->rx_ns;
        }
    }
    if (c->in.len > c->in_off && c->partial_ms == 0 && !c->no_parse)
        c->partial_ms = l->now_ms;
    return false;
}

/* The round's frames have their answers: each one's time since its bytes arrived, by opcode. */
static void time_answers(struct loop *l)
{
    uint64_t now = mono_ns();
    for (uint32_t i = 0; i < l->nlat; i++)
        elig_lat_add_own(&l->st.latency[l->lat_slot[i]],
                         now > l->lat_rx[i] ? now - l->lat_rx[i] : 0, 1);
    l->nlat = 0;
}

static void publish_checks(struct loop *l)
{
    const struct elig_round_counters *rc = elig_round_counters(l->round);
    atomic_store_explicit(&l->st.frames, rc->frames, memory_order_relaxed);
    atomic_store_explicit(&l->st.bad_frames, rc->bad_frames, memory_order_relaxed);
    for (unsigned s = 0; s < ELIG_OP_SLOTS; s++) /* by slot: no walk of the opcode table */
        for (unsigned v = 0; v < ELIG_ROUND_VALIDITIES; v++)
            atomic_store_explicit(&l->st.checks[s][v], rc->checks[s][v], memory_order_relaxed);
    uint64_t words[ELIG_CHECK_WORDS];
    memcpy(words, elig_checker_counters(l->ck), sizeof words);
    for (size_t i = 0; i < ELIG_CHECK_WORDS; i++)
        atomic_store_explicit(&l->st.check[i], words[i], memory_order_relaxed);
}

/* Drop parsed input; keep an incomplete frame at the front. */
static void compact_input(struct conn *c)
{
    size_t left = c->in.len - c->in_off;
    if (left && c->in_off)
        memmove(c->in.data, c->in.data + c->in_off, left);
    c->in.len = left;
    c->in_off = 0;
    if (left == 0 && c->in.cap > IN_KEEP)
        elig_pbuf_free(&c->in);
}

/* One round: parse ready connections fairly, run their checks together, answer in order. */
static void serve_ready(struct loop *l)
{
    if (l->rq_len == 0)
        return;
    elig_round_begin(l->round, l->today);
    l->scratch_len = 0;
    l->now_s = (int64_t)time(NULL);
    uint32_t n = l->rq_len, ntouched = 0;
    size_t fair = ROUND_CHECKS / n > FAIR_MIN ? ROUND_CHECKS / n : FAIR_MIN;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t slot = l->readyq[l->rq_head];
        l->rq_head = (l->rq_head + 1) % l->nconns;
        l->rq_len--;
        struct conn *c = &l->conns[slot];
        c->ready = false;
        if (c->fd < 0 || c->closing)
            continue;
        l->touched[ntouched++] = slot;
        if (parse_conn(l, slot, fair))
            mark_ready(l, slot);
    }
    int rc = elig_round_run(l->round, l->ck, admin_plain, l);
    time_answers(l);
    if (rc) { /* out of memory while encoding: the connections concerned cannot be answered */
        elig_slog(ELIG_SLOG_ERROR, "encoding answers: %s", elig_net_strerror(rc));
        for (uint32_t k = 0; k < ntouched; k++)
            l->conns[l->touched[k]].no_parse = true;
    }
    publish_checks(l);
    for (uint32_t k = 0; k < ntouched; k++) {
        uint32_t slot = l->touched[k];
        if (l->conns[slot].fd < 0)
            continue;
        compact_input(&l->conns[slot]);
        conn_account(l, &l->conns[slot]);
        start_send(l, slot);
        conn_settle(l, slot);
        flow_control(l, slot);
    }
}

/* True when the bytes at the front of the input make a whole frame (or a bad header). */
static bool frame_complete(const struct loop *l, const struct conn *c)
{
    struct elig_proto_header h;
    size_t have = c->in.len - c->in_off;
    int rc = elig_proto_header_decode(c->in.data + c->in_off, have, false, &h);
    return rc == -EAGAIN ? false
                         : rc != 0 || h.body_len > limit_body(l, c) ||
                               have >= ELIG_PROTO_HEADER + (size_t)h.body_len;
}

/* Connections that became ready only through EOF have no pending frame: settle them too. */
static void settle_all_idle(struct loop *l)
{
    for (uint32_t s = 0; s < l->slot_hi; s++) {
        struct conn *c = &l->conns[s];
        if (c->fd < 0 || c->closing)
            continue;
        if (!c->ready && !c->send_busy && c->in_off == c->in.len && c->in_off) {
            compact_input(c);
            conn_account(l, c);
        }
        if (c->eof || c->no_parse || c->finish || l->draining)
            conn_settle(l, s);
        flow_control(l, s);
    }
}

/*
 * Over the memory budget: close this loop's greediest connection (one a
 * tick, in every loop, until the total is under the budget again).
 */
static void shed_memory(struct loop *l)
{
    if (l->kind != LOOP_FACILITY || !over_budget(l->srv))
        return;
    uint32_t worst = UINT32_MAX;
    size_t most = GREEDY_MIN;
    for (uint32_t s = 0; s < l->slot_hi; s++) {
        const struct conn *c = &l->conns[s];
        if (c->fd >= 0 && !c->closing && c->held > most) {
            most = c->held;
            worst = s;
        }
    }
    if (worst == UINT32_MAX)
        return;
    if (atomic_load_explicit(&l->st.closed_memory, memory_order_relaxed) == 0)
        elig_slog(ELIG_SLOG_WARN,
                  "connection memory over its budget (%llu MiB): closing the connections that "
                  "hold the most (--conn-memory-mb)",
                  (unsigned long long)(l->srv->p.conn_memory >> 20));
    stat_add(&l->st.closed_memory, 1);
    loop_conn_close(l, worst);
}

/* jemalloc's control call when the program links jemalloc (weak: NULL when it does not). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

/*
 * After connections holding a MiB or more closed: give their pages back to
 * the system now. The allocator keeps freed pages for reuse and, without
 * allocations to drive its decay, an idle server would hold a flood's
 * memory for good ("arena.4096" is every arena: MALLCTL_ARENAS_ALL).
 */
static void return_memory(struct loop *l)
{
    if (l->freed < (1u << 20))
        return;
    l->freed = 0;
    if (mallctl)
        mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
#ifndef __SANITIZE_ADDRESS__
    else
        malloc_trim(0);
#endif
    /* Under AddressSanitizer its own allocator serves malloc (freed memory waits in its
     * quarantine), and glibc's arenas, never used, are set up by the first malloc_trim:
     * two loops trimming at once raced in that set-up and one read an empty bin. */
}

/* Frame and idle timeouts; the drain deadline. */
static void check_timers(struct loop *l)
{
    const struct elig_srv_params *p = &l->srv->p;
    for (uint32_t s = 0; s < l->slot_hi; s++) {
        struct conn *c = &l->conns[s];
        if (c->fd < 0 || c->closing)
            continue;
        /* a peer that has not authenticated goes, whatever it is doing, soon after its
         * time is up (its TIMEOUT answer had LINGER_MS to leave) */
        bool unauth_over =
            pre_auth(l, c) && l->now_ms - c->opened_ms >= p->frame_timeout_ms + LINGER_MS;
        if ((l->draining && l->now_ms >= l->drain_deadline) || unauth_over ||
            (c->lingering && l->now_ms - c->linger_ms >= LINGER_MS)) {
            loop_conn_close(l, s);
            continue;
        }
        if (c->lingering)
            continue;
        bool timed_out =
            !c->no_parse && ((c->partial_ms && l->now_ms - c->partial_ms >= p->frame_timeout_ms &&
                              !frame_complete(l, c)) ||
                             (pre_auth(l, c) && l->now_ms - c->opened_ms >= p->frame_timeout_ms));
        if (timed_out) {
            struct elig_proto_header h = { 0 };
            elig_round_begin(l->round, l->today);
            elig_round_add_status(l->round, &h, ELIG_PS_TIMEOUT, &c->out);
            if (elig_round_run(l->round, l->ck, NULL, NULL))
                c->out.len = 0; /* no memory for the answer: the connection just closes */
            c->no_parse = true;
            stat_add(&l->st.timeouts, 1);
            start_send(l, s);
            conn_settle(l, s);
        } else if (p->idle_timeout_ms && !c->send_busy && c->in.len == c->in_off &&
                   l->now_ms - c->active_ms >= p->idle_timeout_ms) {
            loop_conn_close(l, s);
        }
    }
}

static void begin_drain(struct loop *l)
{
    l->draining = true;
    l->drain_deadline = l->now_ms + l->srv->p.drain_ms;
    for (int i = 0; i < 2; i++) {
        if (l->listen_fd[i] < 0)
            continue;
        if (l->accept_armed[i]) {
            struct io_uring_sqe *sqe = sqe_get(l);
            io_uring_prep_cancel64(sqe, ud_make(UD_ACCEPT, (uint32_t)i, 0), 0);
            io_uring_sqe_set_data64(sqe, ud_make(UD_CANCEL, 0, 0));
        }
    }
    for (uint32_t s = 0; s < l->slot_hi; s++) {
        struct conn *c = &l->conns[s];
        if (c->fd < 0 || c->closing)
            continue;
        c->finish = true;
        if (c->recv_armed) {
            c->paused = true;
            cancel_recv(l, s);
        }
    }
}

/* Move to the index published last (after a grow). */
static void live_enter(struct loop *l)
{
    bool changed;
    l->ix = elig_live_enter(l->srv->live, l->live_slot, &changed);
    if (changed)
        elig_checker_set_index(l->ck, l->ix);
}

static void loop_run(struct loop *l)
{
    for (int i = 0; i < 2; i++)
        if (l->listen_fd[i] >= 0)
            arm_accept(l, i);
    for (;;) {
        struct io_uring_cqe *cqe = NULL;
        struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L };
        unsigned wait = l->rq_len ? 0 : 1;
        int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, wait, &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            elig_slog(ELIG_SLOG_ERROR, "io_uring wait: %s", elig_net_strerror(rc));
            l->error = rc;
            break;
        }
        l->wake_ns = mono_ns();
        l->now_ms = l->wake_ns / 1000000;
        live_enter(l); /* a safe point: nothing of the index is held between rounds */
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&l->ring, head, cqe)
        {
            handle_cqe(l, cqe);
            seen++;
        }
        io_uring_cq_advance(&l->ring, seen);
        if (!l->draining && atomic_load(&l->srv->stop))
            begin_drain(l);
        serve_ready(l);
        if (l->now_ms - l->last_tick_ms >= TICK_MS || l->draining) {
            l->last_tick_ms = l->now_ms;
            atomic_store_explicit(&l->beat_ms, l->now_ms, memory_order_relaxed);
            l->today = elig_date_today();
            session_registry_refresh(l);
            session_audit_tick(l);
            session_disaster_refresh(l);
            if (l->id == 0 && l->kind == LOOP_FACILITY)
                loop_publish_index(l);
            check_timers(l);
            settle_all_idle(l);
            shed_memory(l);
            return_memory(l);
        }
        if (l->draining && l->live == 0 && !l->accept_armed[0] && !l->accept_armed[1])
            break;
    }
}

/* ---- threads ---------------------------------------------------------- */

static int loop_setup(struct loop *l)
{
    struct elig_srv *s = l->srv;
    const char *mode = "plain";
    int rc = ring_init(l, &mode);
    if (rc)
        return rc;
    if (l->id == 0)
        s->ring_mode = mode;
    l->nconns = l->kind == LOOP_ADMIN ? 64 : s->p.max_conns;
    l->conns = calloc(l->nconns, sizeof(*l->conns));
    l->free_slots = calloc(l->nconns, sizeof(uint32_t));
    l->readyq = calloc(l->nconns, sizeof(uint32_t));
    l->touched = calloc(l->nconns, sizeof(uint32_t));
    struct elig_round_params rp = {
        .port = l->kind == LOOP_ADMIN ? ELIG_ROUND_ADMIN : ELIG_ROUND_FACILITY,
        .max_checks = ROUND_CHECKS,
        .max_frames = ROUND_FRAMES,
    };
    l->lat_slot = calloc(ROUND_FRAMES, sizeof *l->lat_slot);
    l->lat_rx = calloc(ROUND_FRAMES, sizeof *l->lat_rx);
    if (l->kind == LOOP_FACILITY && s->p.tls)
        l->tls_sources = calloc(TLS_SOURCES, sizeof *l->tls_sources);
    if (!l->conns || !l->free_slots || !l->readyq || !l->touched || !l->lat_slot || !l->lat_rx ||
        (s->p.tls && l->kind == LOOP_FACILITY && !l->tls_sources) ||
        elig_round_create(&rp, &l->round))
        return -ENOMEM;
    for (uint32_t i = 0; i < l->nconns; i++) {
        l->conns[i].fd = -1;
        l->free_slots[l->nfree++] = l->nconns - 1 - i;
    }
    if ((l->live_slot = elig_live_join(s->live)) < 0)
        return l->live_slot;
    l->ix = elig_live_enter(s->live, l->live_slot, NULL);
    if (l->id == 0 && l->kind == LOOP_FACILITY)
        loop_publish_index(l); /* the metrics' first scrape may come before the first tick */
    if (l->kind == LOOP_FACILITY) {
        rc = elig_checker_create(l->ix, elig_check_ref_base((uint8_t)l->id), &l->ck);
        if (s->p.access)
            l->reg = elig_access_acquire(s->p.access, &l->reg_gen);
        if (rc == 0 && (l->scratch = malloc(SCRATCH)) == NULL)
            rc = -ENOMEM; /* answers the session makes (POSTHOC, the lists) are made in it */
        if (rc == 0 && s->p.audit) {
            l->entry = malloc(sizeof(*l->entry));
            rc = l->entry ? elig_audit_writer_open(s->p.audit, l->id, &l->aw) : -ENOMEM;
            if (rc == 0)
                elig_round_set_audit(l->round, session_loop_audit, l);
        }
    } else {
        l->events = calloc(ADMIN_EVENTS, sizeof(*l->events));
        l->ev_status = calloc(ADMIN_EVENTS, sizeof(int));
        rc = (l->events && l->ev_status) ? elig_checker_create(l->ix, 0, &l->ck) : -ENOMEM;
    }
    l->now_ms = l->last_tick_ms = mono_ms();
    atomic_store(&l->beat_ms, l->now_ms);
    l->today = elig_date_today();
    return rc;
}

static void *loop_thread(void *arg)
{
    struct loop *l = arg;
    struct elig_srv *s = l->srv;
    int rc = loop_setup(l);
    pthread_mutex_lock(&s->mu);
    if (rc && s->setup_err == 0)
        s->setup_err = rc;
    s->setup_left--;
    pthread_cond_broadcast(&s->cv);
    /* wait until every loop is set up: a failed start tears all down */
    while (s->setup_left > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    bool go = s->setup_err == 0;
    pthread_mutex_unlock(&s->mu);
    if (go)
        loop_run(l);
    else
        l->error = rc;
    if (l->live_slot >= 0)
        elig_live_leave(s->live, l->live_slot);
    return NULL;
}

static void loop_free(struct loop *l)
{
    for (uint32_t i = 0; l->conns && i < l->nconns; i++) {
        struct conn *c = &l->conns[i];
        if (c->fd >= 0)
            close(c->fd);
        elig_pbuf_free(&c->in);
        elig_pbuf_free(&c->out);
        elig_pbuf_free(&c->wire);
        elig_tls_free(c->tls);
    }
    free(l->tls_sources);
    for (int i = 0; i < 2; i++)
        if (l->listen_fd[i] >= 0)
            close(l->listen_fd[i]);
    if (l->ring_ok)
        io_uring_queue_exit(&l->ring);
    free(l->br);
    free(l->bufs);
    free(l->conns);
    free(l->free_slots);
    free(l->readyq);
    free(l->touched);
    free(l->lat_slot);
    free(l->lat_rx);
    elig_round_destroy(l->round);
    if (l->reg)
        elig_access_release(l->srv->p.access, l->reg);
    if (l->aw && elig_audit_writer_close(l->aw))
        elig_slog(ELIG_SLOG_ERROR, "audit log: the last records could not be written");
    free(l->entry);
    free(l->scratch);
    elig_pbuf_free(&l->person_buf);
    free(l->events);
    free(l->ev_status);
    elig_checker_destroy(l->ck);
}

static int open_listeners(struct elig_srv *s)
{
    const struct elig_srv_params *p = &s->p;
    struct elig_addr sa;
    int rc = elig_addr_resolve(p->listen, true, &sa);
    if (rc == 0) /* the workers share the port; no other process may */
        rc = elig_addr_free(&sa);
    if (rc)
        return rc;
    unsigned workers = s->nloops - (p->db ? 1 : 0);
    for (unsigned i = 0; i < workers; i++) {
        uint16_t bound = 0;
        int fd = tcp_listener(&sa, true, &bound);
        if (fd < 0)
            return fd;
        s->loops[i].listen_fd[0] = fd;
        if (i == 0) {
            s->port = bound;
            elig_addr_set_port(&sa, bound); /* the others join the same port */
        }
    }
    if (p->db == NULL)
        return 0;
    struct loop *a = &s->loops[s->nloops - 1];
    if (p->admin_socket) {
        int fd = unix_listener(p->admin_socket);
        if (fd < 0)
            return fd;
        a->listen_fd[0] = fd;
    }
    if (p->admin_listen) {
        struct elig_addr asa;
        if ((rc = elig_addr_resolve(p->admin_listen, true, &asa)))
            return rc;
        if (!elig_addr_is_loopback(&asa) && !p->admin_any)
            return -EINVAL;
        int fd = tcp_listener(&asa, false, &s->admin_port);
        if (fd < 0)
            return fd;
        a->listen_fd[1] = fd;
    }
    return 0;
}

static void srv_free(struct elig_srv *s)
{
    for (unsigned i = 0; i < s->nloops; i++)
        loop_free(&s->loops[i]);
    if (s->p.db && s->p.admin_socket)
        unlink(s->p.admin_socket);
    for (unsigned i = 0; i < s->nretired; i++)
        elig_index_close(s->retired[i], false);
    if (s->own_live)
        elig_live_destroy(s->live);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->loops);
    free(s);
}

int elig_srv_start(const struct elig_srv_params *params, struct elig_srv **out)
{
    if (params->listen == NULL || (params->db == NULL && params->ix == NULL) ||
        (params->admin_listen && !params->admin_key))
        return -EINVAL;
    struct elig_srv *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->p = *params;
    if (s->p.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->p.workers = n > 0 ? (unsigned)n : 1;
    }
    if (s->p.max_conns == 0)
        s->p.max_conns = 4096;
    if (s->p.frame_timeout_ms == 0)
        s->p.frame_timeout_ms = 10000;
    if (s->p.tls_handshakes == 0)
        s->p.tls_handshakes = 128;
    if (s->p.tls_rate == 0)
        s->p.tls_rate = 50;
    if (s->p.drain_ms == 0)
        s->p.drain_ms = 5000;
    if (s->p.conn_memory == 0) { /* an eighth of the machine, at least 64 MiB */
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 8ull << 30;
        s->p.conn_memory = ram / 8 > (64ull << 20) ? ram / 8 : 64ull << 20;
    }
    s->live = s->p.live;
    if (!s->live && elig_live_create(s->p.ix ? s->p.ix : elig_db_index(s->p.db), &s->live)) {
        free(s);
        return -ENOMEM;
    }
    s->own_live = !s->p.live;
    s->nloops = s->p.workers + (s->p.db ? 1 : 0);
    s->started_ms = mono_ms();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->loops = calloc(s->nloops, sizeof(*s->loops));
    if (s->loops == NULL) {
        srv_free(s);
        return -ENOMEM;
    }
    s->setup_left = (int)s->nloops;
    for (unsigned i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        l->srv = s;
        l->id = i;
        l->live_slot = -1;
        l->kind = (s->p.db && i == s->nloops - 1) ? LOOP_ADMIN : LOOP_FACILITY;
        l->listen_fd[0] = l->listen_fd[1] = -1;
    }
    int rc = open_listeners(s);
    if (rc) {
        srv_free(s);
        return rc;
    }
    unsigned started = 0;
    for (; started < s->nloops; started++) {
        if ((rc = pthread_create(&s->loops[started].thread, NULL, loop_thread,
                                 &s->loops[started]))) {
            rc = -rc;
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    if (rc) {
        s->setup_err = rc;
        s->setup_left -= (int)(s->nloops - started);
        pthread_cond_broadcast(&s->cv);
    }
    while (s->setup_left > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    rc = s->setup_err;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        for (unsigned i = 0; i < started; i++)
            pthread_join(s->loops[i].thread, NULL);
        srv_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

uint16_t elig_srv_port(const struct elig_srv *s)
{
    return s->port;
}

uint16_t elig_srv_admin_port(const struct elig_srv *s)
{
    return s->admin_port;
}

int elig_srv_alive(struct elig_srv *s, uint64_t max_age_ms)
{
    uint64_t now = mono_ms();
    for (unsigned i = 0; i < s->nloops; i++) {
        uint64_t beat = atomic_load_explicit(&s->loops[i].beat_ms, memory_order_relaxed);
        if (now > beat && now - beat > max_age_ms && !atomic_load(&s->loops[i].long_op))
            return (int)i;
    }
    return -1;
}

const char *elig_srv_ring_mode(const struct elig_srv *s)
{
    return s->ring_mode;
}

void elig_srv_stop(struct elig_srv *s)
{
    atomic_store(&s->stop, true);
}

int elig_srv_wait(struct elig_srv *s)
{
    int rc = 0;
    for (unsigned i = 0; i < s->nloops; i++) {
        pthread_join(s->loops[i].thread, NULL);
        if (rc == 0)
            rc = s->loops[i].error;
    }
    srv_free(s);
    return rc;
}
