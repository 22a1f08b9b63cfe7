/* SPDX-License-Identifier: MIT */
/*
 * elig_tls: TLS 1.3 sessions over memory BIOs (OpenSSL 3).
 *
 * Design: each session is an SSL object between two memory BIOs: rbio holds
 * ciphertext fed from the network until SSL_read consumes it, wbio collects
 * what SSL produces (handshake messages, records, alerts) until the caller
 * takes it. No socket is ever handed to OpenSSL, so the caller's rings and
 * loops stay as they are and a session costs no thread or fd.
 *
 * Plaintext written before the handshake ends is kept in `early` and
 * written once it has (OpenSSL's SSL_write wants the same buffer retried
 * after WANT_READ, which a caller that frees its buffers cannot promise).
 * A context's SSL_CTX is swapped by a reload under its lock; each session
 * takes its own reference to the one current when it was made, so a reload
 * never pulls a context from under a live connection.
 *
 * A failure of the handshake or of a record makes the session dead: every
 * later call fails, and the reason kept is OpenSSL's constant reason string
 * or the certificate verification's, never bytes of the peer.
 *
 * OpenSSL's error queue is per thread: it is cleared before each call whose
 * result is read with SSL_get_error(), as OpenSSL asks.
 *
 * Contexts: TLS 1.3 only, ALPN "eligd/1" required both ways, peer
 * certificates verified against the given CA (a client certificate is
 * required by servers), buffers released while a connection is idle
 * (SSL_MODE_RELEASE_BUFFERS) so an idle session costs a few KiB.
 *
 * Resumption: servers issue TLS 1.3 tickets under a session id context
 * (OpenSSL resumes a client-verified session only with one); a client keeps
 * the session of its last connection (elig_tls_resume_get) and offers it
 * with the next. A session freed after normal use is marked shut down
 * first, since OpenSSL makes a session freed without a close_notify
 * unresumable.
 */
#include "elig_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_proto.h"

static const unsigned char alpn_wire[] = "\x07" ELIG_TLS_ALPN;
#define ALPN_WIRE_LEN (sizeof alpn_wire - 1)

struct elig_tls_ctx {
    pthread_mutex_t lock; /* guards ssl while a reload swaps it */
    SSL_CTX *ssl;         /* a session takes its own reference */
    enum elig_tls_role role;
    char *server_name;
};

struct elig_tls {
    SSL *ssl;               /* holds a reference to its SSL_CTX */
    BIO *rbio, *wbio;       /* owned by ssl */
    struct elig_pbuf early; /* plaintext written before the handshake ended */
    bool ready, dead;
    const char *why; /* a constant string */
};

/* ---- contexts ----------------------------------------------------------------- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, alpn_wire, ALPN_WIRE_LEN, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* no eligd/1 offered: not one of our clients */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* One line naming the file and why (the system's error, else OpenSSL's first reason); the code. */
static int ctx_fail(char *err, size_t size, const char *what, const char *path, int rc)
{
    const char *reason = NULL;
    for (unsigned long e; (e = ERR_get_error()) != 0;) {
        if (ERR_SYSTEM_ERROR(e) && ERR_GET_REASON(e) > 0) {
            rc = -ERR_GET_REASON(e);
            reason = strerror(ERR_GET_REASON(e));
            break;
        }
        if (reason == NULL)
            reason = ERR_reason_error_string(e);
    }
    snprintf(err, size, "%s %s: %s", what, path, reason ? reason : "not usable");
    ERR_clear_error();
    return rc;
}

/* An SSL_CTX made from the files of p, or NULL with the reason in err and *rc. */
static SSL_CTX *make_ssl(const struct elig_tls_params *p, char *err, size_t err_size, int *rc)
{
    ERR_clear_error();
    *rc = 0;
    if (!p->cert || !p->key || !p->ca) {
        snprintf(err, err_size, "a certificate, its key and a CA file are all needed");
        *rc = -EINVAL;
        return NULL;
    }
    SSL_CTX *ssl =
        SSL_CTX_new(p->role == ELIG_TLS_SERVER ? TLS_server_method() : TLS_client_method());
    if (ssl == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ssl, p->cert) != 1)
        *rc = ctx_fail(err, err_size, "certificate", p->cert, -EINVAL);
    else if (SSL_CTX_use_PrivateKey_file(ssl, p->key, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ssl) != 1)
        *rc = ctx_fail(err, err_size, "key", p->key, -EINVAL);
    else if (SSL_CTX_load_verify_locations(ssl, p->ca, NULL) != 1)
        *rc = ctx_fail(err, err_size, "CA", p->ca, -EINVAL);
    if (*rc == 0 && p->role == ELIG_TLS_SERVER) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(p->ca);
        if (names == NULL)
            *rc = ctx_fail(err, err_size, "CA", p->ca, -EINVAL);
        else
            SSL_CTX_set_client_CA_list(ssl, names);
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_alpn_select_cb(ssl, alpn_select, NULL);
        /* a resumed session keeps the client certificate verified at first; OpenSSL resumes
         * sessions of a context with a session id context only */
        SSL_CTX_set_session_id_context(ssl, (const unsigned char *)ELIG_TLS_ALPN,
                                       sizeof ELIG_TLS_ALPN - 1);
        /* one ticket a connection, not OpenSSL's two: a client offers only its last, and each
         * ticket costs both ends an encoding of the session with its certificate */
        SSL_CTX_set_num_tickets(ssl, 1);
    } else if (*rc == 0) {
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_set_alpn_protos(ssl, alpn_wire, ALPN_WIRE_LEN) != 0)
            *rc = -ENOMEM;
    }
    if (*rc) {
        SSL_CTX_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    return ssl;
}

int elig_tls_ctx_new(const struct elig_tls_params *p, struct elig_tls_ctx **out, char *err,
                     size_t err_size)
{
    struct elig_tls_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    int rc;
    c->role = p->role;
    pthread_mutex_init(&c->lock, NULL);
    if ((c->ssl = make_ssl(p, err, err_size, &rc)) == NULL ||
        (p->server_name && (c->server_name = strdup(p->server_name)) == NULL)) {
        elig_tls_ctx_free(c);
        return rc ? rc : -ENOMEM;
    }
    *out = c;
    return 0;
}

int elig_tls_ctx_reload(struct elig_tls_ctx *ctx, const struct elig_tls_params *p, char *err,
                        size_t err_size)
{
    if (p->role != ctx->role)
        return -EINVAL;
    int rc;
    SSL_CTX *fresh = make_ssl(p, err, err_size, &rc);
    if (fresh == NULL)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    SSL_CTX *old = ctx->ssl;
    ctx->ssl = fresh;
    pthread_mutex_unlock(&ctx->lock);
    SSL_CTX_free(old); /* sessions made from it hold their own references */
    return 0;
}

void elig_tls_ctx_free(struct elig_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx->server_name);
    free(ctx);
}

/* ---- sessions ------------------------------------------------------------------ */

static long die(struct elig_tls *t, const char *why)
{
    t->dead = true;
    t->why = why;
    ERR_clear_error();
    return -EPROTO;
}

/* Why the last call failed: the certificate's verdict, else OpenSSL's reason. */
static long fail(struct elig_tls *t)
{
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK)
        return die(t, X509_verify_cert_error_string(v));
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return die(t, r ? r : "TLS failure");
}

static int session_new(struct elig_tls_ctx *ctx, const struct elig_tls_resume *r,
                       struct elig_tls **out);

int elig_tls_new(struct elig_tls_ctx *ctx, struct elig_tls **out)
{
    return session_new(ctx, NULL, out);
}

int elig_tls_new_resuming(struct elig_tls_ctx *ctx, const struct elig_tls_resume *r,
                          struct elig_tls **out)
{
    return session_new(ctx, r, out);
}

struct elig_tls_resume *elig_tls_resume_get(const struct elig_tls *t)
{
    SSL_SESSION *s = t->ready ? SSL_get1_session(t->ssl) : NULL;
    if (s && !SSL_SESSION_is_resumable(s)) { /* no ticket yet */
        SSL_SESSION_free(s);
        s = NULL;
    }
    return (struct elig_tls_resume *)s;
}

void elig_tls_resume_free(struct elig_tls_resume *r)
{
    SSL_SESSION_free((SSL_SESSION *)r);
}

bool elig_tls_resumed(const struct elig_tls *t)
{
    return t->ready && SSL_session_reused(t->ssl);
}

static int session_new(struct elig_tls_ctx *ctx, const struct elig_tls_resume *r,
                       struct elig_tls **out)
{
    struct elig_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&ctx->lock); /* the context as it is now (a reload may swap it) */
    SSL_CTX *ssl = ctx->ssl;
    SSL_CTX_up_ref(ssl);
    pthread_mutex_unlock(&ctx->lock);
    t->ssl = SSL_new(ssl);
    SSL_CTX_free(ssl); /* the session holds its own reference */
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return -ENOMEM;
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty: "retry", not end of file */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    int rc = 0;
    if (ctx->role == ELIG_TLS_SERVER) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (r && SSL_set_session(t->ssl, (SSL_SESSION *)r) != 1)
            rc = -EINVAL;
        if (ctx->server_name) {
            struct in6_addr a;
            bool ip = inet_pton(AF_INET, ctx->server_name, &a) == 1 ||
                      inet_pton(AF_INET6, ctx->server_name, &a) == 1;
            if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), ctx->server_name) != 1
                   : SSL_set1_host(t->ssl, ctx->server_name) != 1 ||
                         SSL_set_tlsext_host_name(t->ssl, ctx->server_name) != 1)
                rc = -ENOMEM;
        }
        ERR_clear_error();
        if (rc == 0 && SSL_do_handshake(t->ssl) != 1 &&
            SSL_get_error(t->ssl, -1) != SSL_ERROR_WANT_READ)
            rc = (int)fail(t); /* the ClientHello is in wbio now */
    }
    if (rc) {
        elig_tls_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void elig_tls_free(struct elig_tls *t)
{
    if (t == NULL)
        return;
    /* freed without a close_notify, OpenSSL would mark the session unresumable (a connection
     * cut short); ours end when the caller is done, so the session stays good */
    if (t->ready && !t->dead)
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(t->ssl); /* and its BIOs */
    elig_pbuf_free(&t->early);
    free(t);
}

int elig_tls_feed(struct elig_tls *t, const uint8_t *p, size_t n)
{
    if (t->dead)
        return -EPROTO;
    size_t done = 0;
    while (done < n) {
        int chunk = n - done > (1u << 30) ? 1 << 30 : (int)(n - done);
        int w = BIO_write(t->rbio, p + done, chunk);
        if (w <= 0)
            return -ENOMEM;
        done += (size_t)w;
    }
    return 0;
}

/* The handshake has just ended: check what was agreed, then write what waited for it. */
static long on_ready(struct elig_tls *t)
{
    const unsigned char *proto;
    unsigned int len;
    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    if (len != ALPN_WIRE_LEN - 1 || memcmp(proto, alpn_wire + 1, len) != 0)
        return die(t, "the peer did not agree to ALPN eligd/1");
    t->ready = true;
    if (t->early.len) {
        size_t w;
        ERR_clear_error();
        if (SSL_write_ex(t->ssl, t->early.data, t->early.len, &w) != 1 || w != t->early.len)
            return fail(t);
        t->early.len = 0;
    }
    return 0;
}

long elig_tls_read(struct elig_tls *t, uint8_t *out, size_t cap)
{
    if (t->dead)
        return -EPROTO;
    if (!t->ready) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : fail(t);
        }
        long rc = on_ready(t);
        if (rc)
            return rc;
    }
    if (SSL_pending(t->ssl) == 0 && BIO_ctrl_pending(t->rbio) == 0)
        return 0; /* nothing to decrypt: spare OpenSSL a call that can only want more */
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, out, cap, &n) == 1)
        return (long)n;
    int e = SSL_get_error(t->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->dead = true;
        t->why = "the peer closed TLS";
        return -ECONNRESET;
    }
    return fail(t);
}

int elig_tls_write(struct elig_tls *t, const uint8_t *p, size_t n)
{
    if (t->dead)
        return -EPROTO;
    if (!t->ready) {
        if (elig_pbuf_reserve(&t->early, n))
            return -ENOMEM;
        memcpy(t->early.data + t->early.len, p, n);
        t->early.len += n;
        return 0;
    }
    size_t w = 0;
    ERR_clear_error();
    if (n && (SSL_write_ex(t->ssl, p, n, &w) != 1 || w != n))
        return (int)fail(t);
    return 0;
}

size_t elig_tls_take(struct elig_tls *t, uint8_t *out, size_t cap)
{
    int chunk = cap > (1u << 30) ? 1 << 30 : (int)cap;
    int r = chunk ? BIO_read(t->wbio, out, chunk) : 0;
    return r > 0 ? (size_t)r : 0;
}

size_t elig_tls_pending(const struct elig_tls *t)
{
    return BIO_ctrl_pending(t->wbio);
}

bool elig_tls_ready(const struct elig_tls *t)
{
    return t->ready && !t->dead;
}

int elig_tls_peer_name(const struct elig_tls *t, char *out, size_t size)
{
    X509 *x = t->ready ? SSL_get0_peer_certificate(t->ssl) : NULL;
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (i < 0)
        return -ENOENT;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    int len = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (len <= 0 || memchr(d, '\0', (size_t)len))
        return -ENOENT;
    if ((size_t)len >= size)
        return -ENAMETOOLONG;
    memcpy(out, d, (size_t)len);
    out[len] = '\0';
    return 0;
}

const char *elig_tls_error(const struct elig_tls *t)
{
    return t->why ? t->why : "no error";
}

void elig_tls_close(struct elig_tls *t)
{
    if (!t->dead && t->ready) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}
