/* SPDX-License-Identifier: MIT */
/*
 * elig_client: a blocking protocol client.
 *
 * Design: one socket, an output elig_pbuf that frames are encoded into and
 * flushed from, and an input buffer that holds at least one whole answer
 * (grown to the largest answer seen). Every wait goes through poll() with
 * the connect-time timeout, so a silent server cannot hang a caller.
 * Request ids count up from 1; elig_client_call() checks the echo.
 */
#include "elig_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "elig_addr.h"
#include "elig_codec.h"
#include "elig_error.h"
#include "elig_fac.h"
#include "elig_le.h"

struct elig_client {
    int fd;
    int timeout_ms;
    uint32_t next_id;
    long frame_at; /* offset of the frame being encoded */
    struct elig_pbuf out;
    size_t out_sent;
    struct elig_pbuf in;
    size_t in_off;   /* start of unread bytes */
    size_t consumed; /* bytes of the last answer returned, dropped at the next recv */
};

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0)
        return -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}

/* The addresses to try: a Unix socket path, or every address a TCP name resolves to. */
static int make_addrs(const char *addr, struct elig_addr *out, size_t max)
{
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
    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    *out = c;
    return 0;
}

int elig_client_dial(const char *addr)
{
    return elig_addr_connect(addr);
}

int elig_client_detach(struct elig_client *c)
{
    if (c->in.len > c->in_off + c->consumed || c->out.len > c->out_sent)
        return -EBUSY;
    int fd = c->fd;
    elig_pbuf_free(&c->out);
    elig_pbuf_free(&c->in);
    free(c);
    return fd;
}

void elig_client_close(struct elig_client *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    elig_pbuf_free(&c->out);
    elig_pbuf_free(&c->in);
    free(c);
}

struct elig_pbuf *elig_client_begin(struct elig_client *c, uint8_t opcode, uint32_t *id)
{
    uint32_t rid = c->next_id++;
    c->frame_at = elig_proto_frame_begin(&c->out, opcode, 0, 0, rid);
    if (c->frame_at < 0)
        return NULL;
    if (id)
        *id = rid;
    return &c->out;
}

void elig_client_end(struct elig_client *c)
{
    elig_proto_frame_end(&c->out, c->frame_at);
}

int elig_client_raw(struct elig_client *c, const void *bytes, size_t len)
{
    if (elig_pbuf_reserve(&c->out, len))
        return -ENOMEM;
    memcpy(c->out.data + c->out.len, bytes, len);
    c->out.len += len;
    return 0;
}

int elig_client_queue_append(struct elig_client *c, const uint8_t *chunk_id,
                             const struct elig_event *evs, size_t n)
{
    if (n == 0 || n > ELIG_PROTO_APPEND_MAX)
        return -EINVAL;
    size_t start = c->out.len;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_ADMIN_APPEND, NULL);
    if (b == NULL || elig_pbuf_reserve(b, 4))
        return -ENOMEM;
    elig_le32(b->data + b->len, (uint32_t)n);
    b->len += 4;
    for (size_t i = 0; i < n; i++) {
        int len = elig_pbuf_reserve(b, 2 + ELIG_EVENT_WIRE_MAX)
                      ? -ENOMEM
                      : elig_event_encode(&evs[i], b->data + b->len + 2, ELIG_EVENT_WIRE_MAX);
        if (len < 0) {
            b->len = start; /* nothing of the frame is queued */
            return len;
        }
        elig_le16(b->data + b->len, (uint16_t)len);
        b->len += 2 + (size_t)len;
    }
    if (chunk_id) {
        if (elig_pbuf_reserve(b, ELIG_PROTO_CHUNK_ID_LEN)) {
            b->len = start;
            return -ENOMEM;
        }
        memcpy(b->data + b->len, chunk_id, ELIG_PROTO_CHUNK_ID_LEN);
        b->len += ELIG_PROTO_CHUNK_ID_LEN;
    }
    elig_client_end(c);
    return 0;
}

int elig_client_flush(struct elig_client *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(c->fd, POLLOUT, c->timeout_ms);
        if (rc)
            return rc;
    }
    c->out.len = c->out_sent = 0;
    return 0;
}

/* Read more bytes into the input buffer. */
static int fill(struct elig_client *c)
{
    if (elig_pbuf_reserve(&c->in, 65536))
        return -ENOMEM;
    for (;;) {
        ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
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
    c->in_off += c->consumed;
    c->consumed = 0;
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > c->in.cap / 2) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    for (;;) {
        size_t have = c->in.len - c->in_off;
        long n = elig_proto_frame_next(c->in.data + c->in_off, have, true, h);
        if (n > 0) {
            *body = c->in.data + c->in_off + ELIG_PROTO_HEADER;
            c->consumed = (size_t)n;
            return 0;
        }
        if (n < 0)
            return (int)n;
        if (have >= ELIG_PROTO_HEADER &&
            elig_pbuf_reserve(&c->in, ELIG_PROTO_HEADER + (size_t)h->body_len))
            return -ENOMEM;
        int rc = fill(c);
        if (rc)
            return rc;
    }
}

int elig_client_call(struct elig_client *c, uint8_t opcode, const void *body, size_t len,
                     struct elig_proto_header *h, const uint8_t **answer)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, opcode, &id);
    if (b == NULL || elig_pbuf_reserve(b, len))
        return -ENOMEM;
    if (len)
        memcpy(b->data + b->len, body, len);
    b->len += len;
    elig_client_end(c);
    int rc = elig_client_flush(c);
    if (rc == 0)
        rc = elig_client_recv(c, h, answer);
    if (rc == 0 && h->request_id != id && h->status == ELIG_PS_OK)
        rc = -ELIG_EPROTO;
    return rc;
}

/* Send the lookup frame just queued (request id), decode its single answer. */
static int lookup(struct elig_client *c, uint32_t id, struct elig_proto_answer *a, uint8_t *status)
{
    struct elig_proto_header h;
    const uint8_t *body;
    int rc = elig_client_flush(c);
    if (rc == 0)
        rc = elig_client_recv(c, &h, &body);
    if (rc == 0 && h.request_id != id && h.status == ELIG_PS_OK)
        rc = -ELIG_EPROTO;
    if (rc)
        return rc;
    *status = h.status;
    if (h.status != ELIG_PS_OK)
        return -ELIG_EREFUSED;
    size_t off = 0;
    rc = elig_proto_answer_decode(body, h.body_len, &off, a);
    return rc ? rc : off == h.body_len ? 0 : -ELIG_EPROTO;
}

int elig_client_lookup_number(struct elig_client *c, const struct elig_proto_number *q,
                              struct elig_proto_answer *a, uint8_t *status)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_LOOKUP_NUMBER, &id);
    size_t start = b ? (size_t)c->frame_at : 0;
    int rc = b ? elig_proto_number_encode(b, q, false) : -ENOMEM;
    if (rc) {
        if (b)
            b->len = start; /* nothing of the frame stays queued */
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
    size_t start = b ? (size_t)c->frame_at : 0;
    int rc = b ? elig_proto_card_encode(b, q) : -ENOMEM;
    if (rc) {
        if (b)
            b->len = start;
        return rc;
    }
    elig_client_end(c);
    return lookup(c, id, a, status);
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
    struct elig_proto_header h;
    const uint8_t *body;
    *status = ELIG_PS_OK;
    if (!code || strlen(code) != ELIG_PROTO_FACILITY_LEN)
        return -EINVAL;
    int rc = elig_client_call(c, ELIG_OP_HELLO, code, ELIG_PROTO_FACILITY_LEN, &h, &body);
    if (rc == 0 && h.status == ELIG_PS_OK && h.body_len != ELIG_FAC_CHALLENGE_LEN)
        rc = -ELIG_EPROTO;
    if (rc == 0 && h.status == ELIG_PS_OK) {
        uint8_t mac[ELIG_FAC_MAC_LEN];
        elig_fac_proof(key, code, body, mac);
        rc = elig_client_call(c, ELIG_OP_AUTH, mac, sizeof mac, &h, &body);
    }
    if (rc == 0 && h.status != ELIG_PS_OK) {
        *status = h.status;
        rc = -ELIG_EREFUSED;
    }
    return rc;
}
