/* SPDX-License-Identifier: MIT */
/*
 * test_tls: the certificate authority and TLS sessions over memory, with no
 * socket: the test carries the bytes between a client and a server session.
 *
 * A CA makes a server certificate and facility certificates (and signs a
 * facility's own request); a facility's session and eligd's handshake with
 * ALPN eligd/1, the server learns the facility code from the certificate,
 * plaintext written before the handshake ends arrives after it, both ways.
 * Refused: a certificate of another CA, an expired one, a server
 * certificate for another name, plaintext bytes where a ClientHello is due;
 * each session dies with a reason and never hands out plaintext. Files:
 * existing ones are never overwritten; a request for another code or with a
 * bad signature is not signed.
 */
#include <errno.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_ca.h"
#include "elig_cconn.h"
#include "elig_net_error.h"
#include "elig_proto.h"
#include "elig_tls.h"
#include "test_support.h"

#define CODE "1310000001"

static char dir[256];

static void path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", dir, name);
}

/* A CA in DIR/name, with a server certificate for 127.0.0.1 and one for CODE valid days. */
static void make_ca(const char *name, unsigned facility_days)
{
    char ca_dir[512], k[600], c[600];
    path(ca_dir, name);
    assert_int_equal(elig_ca_init(ca_dir, "test CA", ELIG_CA_DAYS), 0);
    struct elig_ca *ca;
    assert_int_equal(elig_ca_open(ca_dir, &ca), 0);
    snprintf(k, sizeof k, "%s/server.key", ca_dir);
    snprintf(c, sizeof c, "%s/server.crt", ca_dir);
    assert_int_equal(elig_ca_issue_server(ca, "127.0.0.1", 30, k, c), 0);
    snprintf(k, sizeof k, "%s/fac.key", ca_dir);
    snprintf(c, sizeof c, "%s/fac.crt", ca_dir);
    assert_int_equal(elig_ca_issue_facility(ca, CODE, facility_days, k, c), 0);
    elig_ca_close(ca);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    make_ca("ca", 30);
    make_ca("other", 30);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static struct elig_tls_ctx *ctx_of(enum elig_tls_role role, const char *cert_ca, const char *who,
                                   const char *trust_ca, const char *server_name)
{
    char cert[512], key[512], ca[512], err[256] = "";
    snprintf(cert, sizeof cert, "%s/%s/%s.crt", dir, cert_ca, who);
    snprintf(key, sizeof key, "%s/%s/%s.key", dir, cert_ca, who);
    snprintf(ca, sizeof ca, "%s/%s/ca.crt", dir, trust_ca);
    struct elig_tls_params p = {
        .role = role, .cert = cert, .key = key, .ca = ca, .server_name = server_name
    };
    struct elig_tls_ctx *ctx;
    int rc = elig_tls_ctx_new(&p, &ctx, err, sizeof err);
    if (rc)
        fail_msg("context: %d %s", rc, err);
    return ctx;
}

/* Move ciphertext both ways until neither side has any; plaintext the server reads into got. */
static void pump(struct elig_tls *cl, struct elig_tls *sv, char *got, size_t cap, long *srv_rc,
                 long *cl_rc)
{
    uint8_t buf[65536];
    size_t have = 0;
    *srv_rc = *cl_rc = 0;
    for (int round = 0; round < 20; round++) {
        size_t n = elig_tls_take(cl, buf, sizeof buf), m;
        if (n)
            assert_int_equal(elig_tls_feed(sv, buf, n), 0);
        long r = elig_tls_read(sv, (uint8_t *)got + have, cap - 1 - have);
        if (r > 0)
            have += (size_t)r;
        else if (r < 0 && *srv_rc == 0)
            *srv_rc = r;
        m = elig_tls_take(sv, buf, sizeof buf);
        if (m)
            assert_int_equal(elig_tls_feed(cl, buf, m), 0);
        uint8_t sink[256];
        long c = elig_tls_read(cl, sink, sizeof sink);
        if (c < 0 && *cl_rc == 0)
            *cl_rc = c;
        if (n == 0 && m == 0 && round > 2)
            break;
    }
    got[have] = '\0';
}

static void test_handshake_and_identity(void **state)
{
    (void)state;
    struct elig_tls_ctx *sc = ctx_of(ELIG_TLS_SERVER, "ca", "server", "ca", NULL);
    struct elig_tls_ctx *cc = ctx_of(ELIG_TLS_CLIENT, "ca", "fac", "ca", "127.0.0.1");
    struct elig_tls *cl, *sv;
    assert_int_equal(elig_tls_new(cc, &cl), 0);
    assert_int_equal(elig_tls_new(sc, &sv), 0);
    assert_true(elig_tls_pending(cl) > 0); /* the ClientHello */
    assert_int_equal(elig_tls_write(cl, (const uint8_t *)"frames before", 13), 0);
    char got[256];
    long srv_rc, cl_rc;
    pump(cl, sv, got, sizeof got, &srv_rc, &cl_rc);
    assert_int_equal(srv_rc, 0);
    assert_int_equal(cl_rc, 0);
    assert_true(elig_tls_ready(sv));
    assert_true(elig_tls_ready(cl));
    assert_string_equal(got, "frames before");
    char name[32];
    assert_int_equal(elig_tls_peer_name(sv, name, sizeof name), 0);
    assert_string_equal(name, CODE);
    assert_int_equal(elig_tls_peer_name(sv, name, 5), -ENAMETOOLONG);
    /* the other way: an answer */
    assert_int_equal(elig_tls_write(sv, (const uint8_t *)"answer", 6), 0);
    uint8_t buf[4096], plain[64];
    size_t n = elig_tls_take(sv, buf, sizeof buf);
    assert_true(n > 6);
    assert_null(memmem(buf, n, "answer", 6)); /* not in clear on the wire */
    assert_int_equal(elig_tls_feed(cl, buf, n), 0);
    long r = 0;
    for (int i = 0; i < 4 && r == 0; i++) /* session tickets may come first */
        r = elig_tls_read(cl, plain, sizeof plain);
    assert_int_equal(r, 6);
    assert_memory_equal(plain, "answer", 6);
    /* close_notify ends the peer's reading */
    elig_tls_close(cl);
    n = elig_tls_take(cl, buf, sizeof buf);
    assert_int_equal(elig_tls_feed(sv, buf, n), 0);
    assert_int_equal(elig_tls_read(sv, plain, sizeof plain), -ECONNRESET);
    elig_tls_free(cl);
    elig_tls_free(sv);
    elig_tls_ctx_free(cc);
    elig_tls_ctx_free(sc);
}

/* A handshake that must fail on the server's side (or the client's). */
static void refused(const char *cert_ca, const char *trust_ca, const char *server_name,
                    bool server_fails, const char *reason)
{
    struct elig_tls_ctx *sc = ctx_of(ELIG_TLS_SERVER, "ca", "server", "ca", NULL);
    struct elig_tls_ctx *cc = ctx_of(ELIG_TLS_CLIENT, cert_ca, "fac", trust_ca, server_name);
    struct elig_tls *cl, *sv;
    assert_int_equal(elig_tls_new(cc, &cl), 0);
    assert_int_equal(elig_tls_new(sc, &sv), 0);
    assert_int_equal(elig_tls_write(cl, (const uint8_t *)"secret", 6), 0);
    char got[256];
    long srv_rc, cl_rc;
    pump(cl, sv, got, sizeof got, &srv_rc, &cl_rc);
    assert_string_equal(got, ""); /* nothing reached the server's plaintext */
    assert_false(elig_tls_ready(sv));
    if (server_fails) {
        assert_int_equal(srv_rc, -EPROTO);
        if (!strstr(elig_tls_error(sv), reason))
            fail_msg("server's reason: %s", elig_tls_error(sv));
    } else {
        assert_int_equal(cl_rc, -EPROTO);
        if (!strstr(elig_tls_error(cl), reason))
            fail_msg("client's reason: %s", elig_tls_error(cl));
    }
    elig_tls_free(cl);
    elig_tls_free(sv);
    elig_tls_ctx_free(cc);
    elig_tls_ctx_free(sc);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("other", "ca", "127.0.0.1", true, "certificate");      /* another CA's */
    refused("ca", "ca", "10.0.0.9", false, "IP address mismatch"); /* not the server's name */
    refused("ca", "other", "127.0.0.1", false, "certificate");     /* server of another CA */
}

static void *read_pem(const char *file, bool key)
{
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    void *v = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                  : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(v);
    return v;
}

/*
 * CODE's certificate from the server's own CA, valid from `from` to `until` seconds from now, in
 * DIR/name (with its key and the CA's certificate): made here with the CA's key, as the CA never
 * issues one outside its validity.
 */
static void make_dated(const char *name, long from, long until)
{
    char file[600];
    snprintf(file, sizeof file, "%s/ca/ca.key", dir);
    EVP_PKEY *ca_key = read_pem(file, true);
    snprintf(file, sizeof file, "%s/ca/ca.crt", dir);
    X509 *ca_cert = read_pem(file, false);
    snprintf(file, sizeof file, "%s/ca/fac.key", dir);
    EVP_PKEY *key = read_pem(file, true);
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), until);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)CODE, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    snprintf(file, sizeof file, "%s/%s", dir, name);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/%s/fac.crt", dir, name);
    FILE *f = fopen(file, "w");
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(file, sizeof file, "%s/%s/fac.key", dir, name);
    f = fopen(file, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    char cp[700];
    snprintf(cp, sizeof cp, "cp %s/ca/ca.crt %s/%s/ca.crt", dir, dir, name);
    assert_int_equal(system(cp), 0);
    X509_free(x);
    X509_free(ca_cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}

static void test_expired(void **state)
{
    (void)state;
    make_dated("old", -2 * 86400, -86400); /* expired yesterday */
    refused("old", "ca", "127.0.0.1", true, "expired");
    make_dated("early", 86400, 2 * 86400); /* valid from tomorrow */
    refused("early", "ca", "127.0.0.1", true, "not yet valid");
}

/* A client that kept its ticket resumes: no certificates the second time, the same facility. */
static void test_resumption(void **state)
{
    (void)state;
    struct elig_tls_ctx *sc = ctx_of(ELIG_TLS_SERVER, "ca", "server", "ca", NULL);
    struct elig_tls_ctx *cc = ctx_of(ELIG_TLS_CLIENT, "ca", "fac", "ca", "127.0.0.1");
    struct elig_tls_resume *r = NULL;
    for (int i = 0; i < 3; i++) {
        struct elig_tls *cl, *sv;
        assert_int_equal(r ? elig_tls_new_resuming(cc, r, &cl) : elig_tls_new(cc, &cl), 0);
        assert_int_equal(elig_tls_new(sc, &sv), 0);
        char got[64];
        long srv_rc, cl_rc;
        pump(cl, sv, got, sizeof got, &srv_rc, &cl_rc);
        assert_int_equal(srv_rc, 0);
        assert_int_equal(cl_rc, 0);
        assert_true(elig_tls_ready(sv));
        if (elig_tls_resumed(sv) != (i > 0))
            fail_msg("handshake %d: resumed %d", i, elig_tls_resumed(sv));
        char name[32]; /* a resumed session is still the facility its certificate named */
        assert_int_equal(elig_tls_peer_name(sv, name, sizeof name), 0);
        assert_string_equal(name, CODE);
        elig_tls_resume_free(r);
        r = elig_tls_resume_get(cl);
        assert_non_null(r);
        elig_tls_free(cl);
        elig_tls_free(sv);
    }
    elig_tls_resume_free(r);
    elig_tls_ctx_free(cc);
    elig_tls_ctx_free(sc);
}

/* The client core over TLS: frames queued before the handshake, answers read as plaintext. */
static void test_client_core(void **state)
{
    (void)state;
    struct elig_tls_ctx *sc = ctx_of(ELIG_TLS_SERVER, "ca", "server", "ca", NULL);
    struct elig_tls_ctx *cc = ctx_of(ELIG_TLS_CLIENT, "ca", "fac", "ca", "127.0.0.1");
    struct elig_cconn *core;
    struct elig_tls *sv;
    assert_int_equal(elig_cconn_new(&core), 0);
    assert_int_equal(elig_tls_new(sc, &sv), 0);
    assert_int_equal(elig_cconn_start_tls(core, cc), 0);
    assert_int_equal(elig_cconn_start_tls(core, cc), -EBUSY);
    uint32_t id;
    struct elig_pbuf *b = elig_cconn_begin(core, ELIG_OP_PING, &id);
    assert_int_equal(elig_pbuf_reserve(b, 4), 0);
    memcpy(b->data + b->len, "ping", 4);
    b->len += 4;
    elig_cconn_end(core);
    uint8_t plain[256];
    size_t got = 0;
    struct elig_proto_header h;
    const uint8_t *body;
    int answers = 0;
    for (int round = 0; round < 20 && answers == 0; round++) {
        size_t len, room;
        const uint8_t *p;
        while ((p = elig_cconn_send_view(core, &len)) && len) { /* ciphertext only */
            assert_null(memmem(p, len, "ping", 4));
            assert_int_equal(elig_tls_feed(sv, p, len), 0);
            elig_cconn_sent(core, len);
        }
        long r = elig_tls_read(sv, plain + got, sizeof plain - got);
        assert_true(r >= 0);
        got += (size_t)r;
        if (got == ELIG_PROTO_HEADER + 4) { /* the frame: answer it */
            assert_int_equal(elig_proto_frame_next(plain, got, false, &h), (long)got);
            h.flags = ELIG_PROTO_F_RESPONSE;
            elig_proto_header_encode(plain, &h);
            assert_int_equal(elig_tls_write(sv, plain, got), 0);
            got = 0;
        }
        uint8_t cipher[65536];
        size_t n = elig_tls_take(sv, cipher, sizeof cipher);
        uint8_t *in = elig_cconn_recv_space(core, &room);
        assert_true(room >= n);
        memcpy(in, cipher, n);
        elig_cconn_received(core, n);
        int rc;
        while ((rc = elig_cconn_answer(core, &h, &body)) == 1) {
            assert_int_equal(h.request_id, id);
            assert_memory_equal(body, "ping", 4);
            answers++;
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(answers, 1);
    /* a dead session shows as -ELIG_ETLS once the answers before it were taken */
    size_t room;
    uint8_t *in = elig_cconn_recv_space(core, &room);
    memcpy(in, "garbage-garbage-", 16);
    elig_cconn_received(core, 16);
    assert_int_equal(elig_cconn_answer(core, &h, &body), -ELIG_ETLS);
    assert_string_not_equal(elig_cconn_tls_error(core), "no error");
    elig_cconn_free(core);
    elig_tls_free(sv);
    elig_tls_ctx_free(cc);
    elig_tls_ctx_free(sc);
}

static void test_plaintext_peer(void **state)
{
    (void)state;
    struct elig_tls_ctx *sc = ctx_of(ELIG_TLS_SERVER, "ca", "server", "ca", NULL);
    struct elig_tls *sv;
    assert_int_equal(elig_tls_new(sc, &sv), 0);
    static const uint8_t ping[16] = { 'E', 'L', 1, 0x7f, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(elig_tls_feed(sv, ping, sizeof ping), 0);
    uint8_t out[64];
    assert_int_equal(elig_tls_read(sv, out, sizeof out), -EPROTO);
    assert_int_equal(elig_tls_read(sv, out, sizeof out), -EPROTO); /* dead stays dead */
    assert_int_equal(elig_tls_write(sv, out, 1), -EPROTO);
    elig_tls_free(sv);
    elig_tls_ctx_free(sc);
}

static void test_ca_files(void **state)
{
    (void)state;
    char ca_dir[512], k[600], c[600], csr[600];
    path(ca_dir, "ca");
    assert_int_equal(elig_ca_init(ca_dir, "again", ELIG_CA_DAYS), -EEXIST);
    struct elig_ca *ca;
    assert_int_equal(elig_ca_open(ca_dir, &ca), 0);
    snprintf(k, sizeof k, "%s/fac.key", ca_dir);
    snprintf(c, sizeof c, "%s/new.crt", ca_dir);
    assert_int_equal(elig_ca_issue_facility(ca, CODE, 30, k, c), -EEXIST); /* the key exists */
    assert_int_equal(access(c, F_OK), -1);                                 /* nothing made */
    snprintf(k, sizeof k, "%s/x.key", ca_dir);
    assert_int_equal(elig_ca_issue_facility(ca, "1234", 30, k, c), -EINVAL);
    assert_int_equal(elig_ca_issue_facility(ca, "9910000001", 30, k, c), -EINVAL);
    struct stat st;
    snprintf(k, sizeof k, "%s/fac.key", ca_dir);
    assert_int_equal(stat(k, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* a facility's own request: signed for its code only */
    for (int variant = 0; variant < 2; variant++) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509_REQ *req = X509_REQ_new();
        X509_REQ_set_pubkey(req, key);
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                                   (const unsigned char *)(variant ? "1310000002" : CODE), -1, -1,
                                   0);
        X509_REQ_sign(req, key, EVP_sha256());
        snprintf(csr, sizeof csr, "%s/req%d.csr", ca_dir, variant);
        FILE *f = fopen(csr, "w");
        PEM_write_X509_REQ(f, req);
        fclose(f);
        snprintf(c, sizeof c, "%s/req%d.crt", ca_dir, variant);
        assert_int_equal(elig_ca_sign_request(ca, CODE, csr, 30, c), variant ? -EINVAL : 0);
        assert_int_equal(access(c, F_OK), variant ? -1 : 0);
        X509_REQ_free(req);
        EVP_PKEY_free(key);
    }
    snprintf(c, sizeof c, "%s/req9.crt", ca_dir);
    assert_int_equal(elig_ca_sign_request(ca, CODE, k, 30, c), -EINVAL); /* a key, not a request */
    elig_ca_close(ca);
    path(ca_dir, "none");
    assert_int_equal(elig_ca_open(ca_dir, &ca), -ENOENT);

    /* a context names the file it cannot use */
    char err[256] = "", cert[512], key[512], cafile[512];
    snprintf(cert, sizeof cert, "%s/ca/server.crt", dir);
    snprintf(key, sizeof key, "%s/ca/fac.key", dir); /* not the certificate's key */
    snprintf(cafile, sizeof cafile, "%s/ca/ca.crt", dir);
    struct elig_tls_params p = { .role = ELIG_TLS_SERVER, .cert = cert, .key = key, .ca = cafile };
    struct elig_tls_ctx *ctx;
    assert_int_equal(elig_tls_ctx_new(&p, &ctx, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "fac.key"));
    snprintf(cafile, sizeof cafile, "%s/ca/none.crt", dir);
    snprintf(key, sizeof key, "%s/ca/server.key", dir);
    assert_true(elig_tls_ctx_new(&p, &ctx, err, sizeof err) < 0);
    assert_non_null(strstr(err, "none.crt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_identity),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_client_core),
        cmocka_unit_test(test_plaintext_peer),
        cmocka_unit_test(test_ca_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
