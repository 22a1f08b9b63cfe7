/* SPDX-License-Identifier: MIT */
/*
 * elig_client: a blocking protocol client.
 *
 * Design: a socket and the client core (elig_cconn: queued frames, received
 * bytes, request ids, the handshake's state machine); this file only moves
 * the core's bytes, with send/recv on a non-blocking socket and every wait
 * through poll() with the connect-time timeout, so a silent server cannot
 * hang a caller. elig_client_call() checks the echo of its request id.
 * elig_client_open_core() hands socket and core to a caller's own event loop
 * (the load generator's and the benchmarks' io_uring), which goes on with
 * the same state.
 */
#include "elig_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "elig_addr.h"
#include "elig_codec.h"
#include "elig_net_error.h"
#include "elig_cconn.h"
#include "elig_tls.h"
#include "elig_le.h"

struct elig_client {
    int fd;
    int timeout_ms;
    struct elig_cconn *cc; /* the protocol state: buffers, ids, the handshake, TLS */
};

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0)
        return -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}

/*
 * The addresses to try: a Unix socket path, or every address each TCP name
 * of a comma-separated list resolves to, in the list's order (eligd nodes
 * serving the same data: the first that answers is used).
 */
static int make_addrs(const char *addr, struct elig_addr *out, size_t max)
{
    if (strchr(addr, ',') && !strchr(addr, '/')) {
        char list[8][256];
        int k = elig_addr_list(addr, list, 8);
        size_t n = 0;
        for (int i = 0; i < k && n < max; i++) {
            int got = elig_addr_resolve_all(list[i], false, out + n, max - n);
            if (got < 0)
                return got;
            n += (size_t)got;
        }
        return k < 0 ? k : (int)n;
    }
    if (strchr(addr, '/')) {
        struct sockaddr_un *un = (struct sockaddr_un *)&out[0].ss;
        memset(&out[0], 0, sizeof out[0]);
        if (strlen(addr) >= sizeof(un->sun_path))
            return -EINVAL;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, addr);
        out[0].len = sizeof(*un);
        return 1;
    }
    return elig_addr_resolve_all(addr, false, out, max); /* a server has a port */
}

/* A non-blocking connect to one address, bounded by timeout_ms; the socket or -errno. */
static int connect_one(const struct elig_addr *a, int timeout_ms)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) && errno != EINPROGRESS)
        rc = -errno;
    if (rc == 0)
        rc = wait_fd(fd, POLLOUT, timeout_ms);
    int err = 0;
    socklen_t elen = sizeof(err);
    if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err)
        rc = -err;
    if (rc) {
        close(fd);
        return rc;
    }
    if (a->ss.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

int elig_client_servers(const char *list, char (*out)[256], size_t max)
{
    return elig_addr_list(list, out, max);
}

int elig_client_connect(const char *addr, int timeout_ms, struct elig_client **out)
{
    struct elig_addr as[8];
    int n = make_addrs(addr, as, 8), fd = n;
    for (int i = 0; i < n; i++) /* each address of a name in turn, until one answers */
        if ((fd = connect_one(&as[i], timeout_ms)) >= 0)
            break;
    if (fd < 0)
        return fd;
    struct elig_client *c = calloc(1, sizeof(*c));
    if (c == NULL || elig_cconn_new(&c->cc)) {
        free(c);
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    *out = c;
    return 0;
}

int elig_client_connect_tls(const char *addr, int timeout_ms, struct elig_tls_ctx *tls,
                            struct elig_client **out)
{
    struct elig_client *c;
    int rc = elig_client_connect(addr, timeout_ms, &c);
    if (rc)
        return rc;
    if ((rc = elig_cconn_start_tls(c->cc, tls)) == 0 && (rc = elig_client_flush(c)) == 0) {
        *out = c; /* the ClientHello is out; the handshake ends with the first answer read */
        return 0;
    }
    elig_client_close(c);
    return rc;
}

int elig_client_tls_context(const char *addr, const char *cert, const char *key, const char *ca,
                            struct elig_tls_ctx **out, char *err, size_t err_size)
{
    char host[256], first[300]; /* of a list: the first server's name (the nodes' certificates
                                   name the service) */
    snprintf(first, sizeof first, "%.*s", (int)strcspn(addr, ","), addr);
    int rc = elig_addr_host(first, host);
    if (rc) {
        snprintf(err, err_size, "%s: %s", addr, elig_net_strerror(rc));
        return rc;
    }
    struct elig_tls_params p = {
        .role = ELIG_TLS_CLIENT, .cert = cert, .key = key, .ca = ca, .server_name = host
    };
    return elig_tls_ctx_new(&p, out, err, err_size);
}

const char *elig_client_tls_error(const struct elig_client *c)
{
    return elig_cconn_tls_error(c->cc);
}

int elig_client_dial(const char *addr)
{
    return elig_addr_connect(addr);
}

/* Free the client, handing its socket (made blocking) and core to the caller. */
static int client_release(struct elig_client *c, struct elig_cconn **cc)
{
    int fd = c->fd;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK))
        return -errno;
    *cc = c->cc;
    free(c);
    return fd;
}

int elig_client_open_core(const struct elig_client_open *o, struct elig_cconn **cc, uint8_t *status)
{
    struct elig_client *c;
    *status = ELIG_PS_OK;
    int rc = o->tls ? elig_client_connect_tls(o->addr, o->timeout_ms, o->tls, &c)
                    : elig_client_connect(o->addr, o->timeout_ms, &c);
    if (rc)
        return rc;
    if (o->code)
        rc = elig_client_hello(c, o->code, o->key, status);
    int fd = rc ? rc : client_release(c, cc);
    if (fd < 0)
        elig_client_close(c);
    return fd;
}

void elig_client_close(struct elig_client *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    elig_cconn_free(c->cc);
    free(c);
}

struct elig_pbuf *elig_client_begin(struct elig_client *c, uint8_t opcode, uint32_t *id)
{
    return elig_cconn_begin(c->cc, opcode, id);
}

void elig_client_end(struct elig_client *c)
{
    elig_cconn_end(c->cc);
}

int elig_client_raw(struct elig_client *c, const void *bytes, size_t len)
{
    struct elig_pbuf *b = elig_cconn_queue(c->cc);
    if (b == NULL || elig_pbuf_reserve(b, len))
        return -ENOMEM;
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return 0;
}

int elig_client_queue_append(struct elig_client *c, const uint8_t *chunk_id,
                             const struct elig_event *evs, size_t n)
{
    return elig_client_queue_append_at(c, chunk_id, 0, evs, n);
}

int elig_client_queue_append_at(struct elig_client *c, const uint8_t *chunk_id, int64_t entered,
                                const struct elig_event *evs, size_t n)
{
    if (n == 0 || n > ELIG_PROTO_APPEND_MAX || entered < 0 || (entered && !chunk_id))
        return -EINVAL;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_ADMIN_APPEND, NULL);
    int rc = b == NULL || elig_pbuf_reserve(b, 4) ? -ENOMEM : 0;
    if (rc == 0) {
        elig_le32(b->data + b->len, (uint32_t)n);
        b->len += 4;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int len = elig_pbuf_reserve(b, 2 + ELIG_EVENT_WIRE_MAX)
                      ? -ENOMEM
                      : elig_event_encode(&evs[i], b->data + b->len + 2, ELIG_EVENT_WIRE_MAX);
        if (len < 0) {
            rc = len;
            break;
        }
        elig_le16(b->data + b->len, (uint16_t)len);
        b->len += 2 + (size_t)len;
    }
    if (rc == 0 && chunk_id) {
        if (elig_pbuf_reserve(b, ELIG_PROTO_CHUNK_ID_LEN + ELIG_PROTO_ENTERED_LEN)) {
            rc = -ENOMEM;
        } else {
            memcpy(b->data + b->len, chunk_id, ELIG_PROTO_CHUNK_ID_LEN);
            b->len += ELIG_PROTO_CHUNK_ID_LEN;
            if (entered) {
                elig_le64(b->data + b->len, (uint64_t)entered);
                b->len += ELIG_PROTO_ENTERED_LEN;
            }
        }
    }
    if (rc) {
        elig_cconn_cancel(c->cc); /* nothing of the frame is queued */
        return rc;
    }
    elig_client_end(c);
    return 0;
}

int elig_client_append(struct elig_client *c, const uint8_t *chunk_id, int64_t entered,
                       const struct elig_event *evs, size_t n, uint64_t *first, int *status,
                       uint8_t *pstatus, int *code)
{
    struct elig_proto_header h;
    const uint8_t *body;
    *pstatus = ELIG_PS_OK;
    *code = 0;
    int rc = elig_client_queue_append_at(c, chunk_id, entered, evs, n);
    if (rc == 0)
        rc = elig_client_flush(c);
    if (rc == 0)
        rc = elig_client_recv(c, &h, &body);
    if (rc)
        return rc;
    if (h.status != ELIG_PS_OK) {
        *pstatus = h.status;
        *code = h.body_len == 4 ? (int32_t)elig_rd32(body) : 0;
        return -ELIG_EREFUSED;
    }
    if (h.body_len != 12 + 4 * n || elig_rd32(body + 8) != n)
        return -ELIG_EPROTO;
    *first = elig_rd64(body);
    for (size_t i = 0; i < n; i++)
        status[i] = (int32_t)elig_rd32(body + 12 + 4 * i);
    return 0;
}

int elig_client_flush(struct elig_client *c)
{
    for (;;) {
        size_t len;
        const uint8_t *p = elig_cconn_send_view(c->cc, &len);
        if (len == 0)
            return 0;
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            elig_cconn_sent(c->cc, (size_t)n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(c->fd, POLLOUT, c->timeout_ms);
        if (rc)
            return rc;
    }
}

/* Read more bytes into the core's input. */
static int fill(struct elig_client *c)
{
    size_t room;
    uint8_t *p = elig_cconn_recv_space(c->cc, &room);
    if (p == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t n = recv(c->fd, p, room, 0);
        if (n > 0) {
            elig_cconn_received(c->cc, (size_t)n);
            return 0;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(c->fd, POLLIN, c->timeout_ms);
        if (rc)
            return rc;
    }
}

int elig_client_recv(struct elig_client *c, struct elig_proto_header *h, const uint8_t **body)
{
    for (;;) {
        int rc = elig_cconn_answer(c->cc, h, body);
        if (rc == 1)
            return 0;
        if (rc == 0 && (rc = elig_client_flush(c)) == 0) /* the handshake may have queued AUTH */
            rc = fill(c);
        if (rc)
            return rc;
    }
}

/*
 * The answer to the frame just queued with request id: sent, received, its
 * id checked (refusals of a whole connection carry id 0), its status (and a
 * refusal's i32 error code when it carries one) into *status and *code.
 * @return 0 (status OK); -ELIG_EREFUSED; -ELIG_EPROTO; the transport's errors.
 */
static int answer_of(struct elig_client *c, uint32_t id, struct elig_proto_header *h,
                     const uint8_t **body, uint8_t *status, int *code)
{
    int rc = elig_client_flush(c);
    if (rc == 0)
        rc = elig_client_recv(c, h, body);
    if (rc == 0 && h->request_id != id && h->status == ELIG_PS_OK)
        rc = -ELIG_EPROTO;
    if (rc)
        return rc;
    if (status)
        *status = h->status;
    if (code)
        *code = h->status != ELIG_PS_OK && h->body_len == 4 ? (int32_t)elig_rd32(*body) : 0;
    return h->status == ELIG_PS_OK ? 0 : -ELIG_EREFUSED;
}

int elig_client_call(struct elig_client *c, uint8_t opcode, const void *body, size_t len,
                     struct elig_proto_header *h, const uint8_t **answer)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, opcode, &id);
    if (b == NULL || elig_pbuf_reserve(b, len)) {
        elig_cconn_cancel(c->cc);
        return -ENOMEM;
    }
    if (len)
        memcpy(b->data + b->len, body, len);
    b->len += len;
    elig_client_end(c);
    int rc = answer_of(c, id, h, answer, NULL, NULL);
    return rc == -ELIG_EREFUSED ? 0 : rc; /* the caller reads the status */
}

/* Send the lookup frame just queued (request id), decode its single answer. */
static int lookup(struct elig_client *c, uint32_t id, struct elig_proto_answer *a, uint8_t *status)
{
    struct elig_proto_header h;
    const uint8_t *body;
    int rc = answer_of(c, id, &h, &body, status, NULL);
    if (rc)
        return rc;
    size_t off = 0;
    rc = elig_proto_answer_decode(body, h.body_len, &off, a);
    return rc ? rc : off == h.body_len ? 0 : -ELIG_EPROTO;
}

int elig_client_lookup_number(struct elig_client *c, const struct elig_proto_number *q,
                              struct elig_proto_answer *a, uint8_t *status)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_LOOKUP_NUMBER, &id);
    int rc = b ? elig_proto_number_encode(b, q, false) : -ENOMEM;
    if (rc) {
        elig_cconn_cancel(c->cc); /* nothing of the frame stays queued */
        return rc;
    }
    elig_client_end(c);
    return lookup(c, id, a, status);
}

int elig_client_lookup_card(struct elig_client *c, const struct elig_proto_card *q,
                            struct elig_proto_answer *a, uint8_t *status)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_LOOKUP_CARD, &id);
    int rc = b ? elig_proto_card_encode(b, q) : -ENOMEM;
    if (rc) {
        elig_cconn_cancel(c->cc);
        return rc;
    }
    elig_client_end(c);
    return lookup(c, id, a, status);
}
int elig_client_list_submit(struct elig_client *c, const char *facility,
                            const struct elig_proto_number *qs, size_t n,
                            struct elig_proto_list_state *st, uint8_t *status, int *code)
{
    *status = ELIG_PS_OK;
    *code = 0;
    if (n == 0 || n > ELIG_PROTO_LIST_MAX)
        return -EINVAL;
    uint64_t reception = 0;
    for (size_t at = 0; at < n; at += ELIG_PROTO_BATCH_MAX) {
        size_t k = n - at < ELIG_PROTO_BATCH_MAX ? n - at : ELIG_PROTO_BATCH_MAX;
        uint8_t flags = at + k == n ? ELIG_PROTO_LIST_PART_LAST : 0;
        uint32_t id;
        struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_LIST_SUBMIT, &id);
        int rc = b ? elig_proto_list_part_head_encode(b, facility, flags, reception, (uint16_t)k)
                   : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < k; i++)
            rc = elig_proto_number_encode(b, &qs[at + i], true);
        if (rc) {
            elig_cconn_cancel(c->cc);
            return rc;
        }
        elig_client_end(c);
        struct elig_proto_header h;
        const uint8_t *body;
        if ((rc = answer_of(c, id, &h, &body, status, code)))
            return rc;
        if (h.body_len != ELIG_PROTO_LIST_STATE_BODY || elig_proto_list_state_decode(body, st))
            return -ELIG_EPROTO;
        reception = st->reception;
    }
    return 0;
}

int elig_client_list_fetch(struct elig_client *c, const char *facility, uint64_t reception,
                           uint32_t first, uint16_t max, struct elig_proto_list_state *st,
                           elig_client_answer_fn fn, void *ctx, uint16_t *count, uint8_t *status)
{
    *count = 0;
    struct elig_proto_list_fetch f = {
        .facility = facility, .reception = reception, .first = first, .max = max
    };
    uint8_t req[ELIG_PROTO_LIST_FETCH_BODY];
    elig_proto_list_fetch_encode(req, &f);
    struct elig_proto_header h;
    const uint8_t *body;
    int rc = elig_client_call(c, ELIG_OP_LIST_FETCH, req, sizeof req, &h, &body);
    if (rc)
        return rc;
    *status = h.status;
    if (h.status != ELIG_PS_OK)
        return -ELIG_EREFUSED;
    if (h.body_len < ELIG_PROTO_LIST_ANSWER_HEAD || body[0] > ELIG_LIST_FAILED)
        return -ELIG_EPROTO;
    *st = (struct elig_proto_list_state){ .reception = reception,
                                          .state = body[0],
                                          .entries = elig_rd32(body + 4),
                                          .done = elig_rd32(body + 8) };
    uint16_t n = elig_rd16(body + 16);
    if (elig_rd32(body + 12) != first || n > max)
        return -ELIG_EPROTO;
    struct elig_proto_answer *a = malloc(sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    size_t off = ELIG_PROTO_LIST_ANSWER_HEAD;
    for (uint16_t i = 0; rc == 0 && i < n; i++) {
        rc = elig_proto_answer_decode(body, h.body_len, &off, a);
        if (rc == 0 && fn && (rc = fn(ctx, first + i, a)) > 0)
            rc = 0; /* the caller stops reading: what was read is counted */
    }
    free(a);
    if (rc == 0 && off != h.body_len)
        rc = -ELIG_EPROTO;
    *count = rc ? 0 : n;
    return rc;
}

int elig_client_lookup_person(struct elig_client *c, const struct elig_proto_person *q,
                              struct elig_client_persons *out, uint8_t *status)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_LOOKUP_PERSON, &id);
    int rc = b ? elig_proto_person_encode(b, q) : -ENOMEM;
    if (rc) {
        elig_cconn_cancel(c->cc);
        return rc;
    }
    elig_client_end(c);
    struct elig_proto_header h;
    const uint8_t *body;
    if ((rc = answer_of(c, id, &h, &body, status, NULL)))
        return rc;
    if (h.body_len < 16 || body[0] > ELIG_PERSON_TOO_MANY || body[1] > ELIG_PERSON_MAX ||
        (body[0] != ELIG_PERSON_FOUND) != (body[1] == 0))
        return -ELIG_EPROTO;
    out->result = body[0];
    out->count = body[1];
    out->reference = elig_rd64(body + 8);
    size_t off = 16;
    for (unsigned i = 0; i < out->count; i++)
        if ((rc = elig_proto_answer_decode(body, h.body_len, &off, &out->ans[i])))
            return rc;
    return off == h.body_len ? 0 : -ELIG_EPROTO;
}

int elig_client_stats(struct elig_client *c, uint8_t opcode, elig_client_stat_fn fn, void *ctx,
                      uint8_t *status)
{
    struct elig_proto_header h;
    const uint8_t *body;
    int rc = elig_client_call(c, opcode, NULL, 0, &h, &body);
    if (rc)
        return rc;
    *status = h.status;
    if (h.status != ELIG_PS_OK)
        return -ELIG_EREFUSED;
    if (h.body_len < 2)
        return -ELIG_EPROTO;
    uint16_t n = elig_rd16(body);
    size_t off = 2;
    for (uint16_t i = 0; i < n; i++) {
        char name[64];
        uint64_t v;
        if ((rc = elig_proto_stat_decode(body, h.body_len, &off, name, &v)))
            return rc;
        fn(ctx, name, v);
    }
    return off == h.body_len ? 0 : -ELIG_EPROTO;
}

int elig_client_hello(struct elig_client *c, const char *code, const uint8_t key[32],
                      uint8_t *status)
{
    *status = ELIG_PS_OK;
    int rc = elig_cconn_hello(c->cc, code, key);
    if (rc == 0)
        rc = elig_client_flush(c);
    for (;;) { /* the core answers the challenge itself; the loop moves the bytes */
        enum elig_cconn_state st = elig_cconn_state(c->cc, NULL);
        if (rc || st == ELIG_CCONN_READY)
            break;
        struct elig_proto_header h;
        const uint8_t *body;
        rc = elig_cconn_answer(c->cc, &h, &body);
        if (rc == 1) /* an answer that is not the handshake's cannot come first */
            rc = -ELIG_EPROTO;
        else if (rc == 0 && elig_cconn_state(c->cc, NULL) != ELIG_CCONN_READY &&
                 (rc = elig_client_flush(c)) == 0)
            rc = fill(c);
    }
    if (rc == -ELIG_EREFUSED)
        elig_cconn_state(c->cc, status);
    return rc;
}
