/* SPDX-License-Identifier: MIT */
/*
 * elig_ca: the clearinghouse's certificate authority.
 *
 * Design: every certificate is built the same way (build()): a v3
 * certificate with a random 128-bit serial, valid from five minutes ago
 * (clock skew between machines) for the given days, issued by the CA's
 * subject, with the extensions of its kind, signed with the CA key and
 * SHA-256. Keys are made with EVP_EC_gen("P-256"). PEM is produced in a
 * memory BIO and written to a new file (O_EXCL; keys 0600, certificates
 * 0644) with one write and an fsync, so a file is either whole or not
 * there; the BIO holding a key is wiped before it is freed.
 */
#include "elig_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_io.h"
#include "elig_proto.h"

struct elig_ca {
    EVP_PKEY *key;
    X509 *cert;
};

enum kind { K_CA, K_SERVER, K_CLIENT };

/* ---- files -------------------------------------------------------------------- */

/* Write the PEM in b to a new file at path with mode, synced. */
static int write_new(const char *path, BIO *b, mode_t mode)
{
    char *data;
    long len = BIO_get_mem_data(b, &data);
    if (len <= 0)
        return -ENOMEM;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = elig_io_write_all(fd, data, (size_t)len);
    if (rc == 0 && fsync(fd))
        rc = -errno;
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

static int write_key(const char *path, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1
                 ? write_new(path, b, 0600)
                 : -ENOMEM;
    if (b) {
        char *data;
        long len = BIO_get_mem_data(b, &data);
        if (len > 0)
            OPENSSL_cleanse(data, (size_t)len);
        BIO_free(b);
    }
    return rc;
}

static int write_cert(const char *path, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = b && PEM_write_bio_X509(b, x) == 1 ? write_new(path, b, 0644) : -ENOMEM;
    BIO_free(b);
    return rc;
}

/* ---- certificates --------------------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -EINVAL;
}

/* A certificate of kind for pub with common name cn, signed by the CA (itself for K_CA). */
static int build(const struct elig_ca *ca, enum kind kind, const char *cn, const char *san,
                 EVP_PKEY *pub, unsigned days, X509 **out)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    int rc = x && serial ? 0 : -ENOMEM;
    if (rc == 0 && (X509_set_version(x, X509_VERSION_3) != 1 ||
                    BN_rand(serial, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
                    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
                    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
                    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
                    X509_set_pubkey(x, pub) != 1))
        rc = -ENOMEM;
    X509_NAME *name = rc == 0 ? X509_get_subject_name(x) : NULL;
    if (rc == 0 && (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                               (const unsigned char *)"eligd", -1, -1, 0) != 1 ||
                    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                               -1, -1, 0) != 1))
        rc = -EINVAL;
    X509 *issuer = kind == K_CA ? x : ca->cert;
    if (rc == 0 && X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1)
        rc = -ENOMEM;
    if (rc == 0)
        rc = add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (rc == 0 && kind != K_CA)
        rc = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (rc == 0 && kind == K_CA) {
        rc = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        if (rc == 0)
            rc = add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else if (rc == 0) {
        rc = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        if (rc == 0)
            rc = add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        if (rc == 0)
            rc = add_ext(x, issuer, NID_ext_key_usage,
                         kind == K_SERVER ? "serverAuth" : "clientAuth");
        if (rc == 0 && san)
            rc = add_ext(x, issuer, NID_subject_alt_name, san);
    }
    if (rc == 0 && X509_sign(x, kind == K_CA ? pub : ca->key, EVP_sha256()) <= 0)
        rc = -EINVAL;
    BN_free(serial);
    if (rc) {
        X509_free(x);
        ERR_clear_error();
        return rc;
    }
    *out = x;
    return 0;
}

/* A new key and its certificate of kind, written to key_out and cert_out. */
static int issue(const struct elig_ca *ca, enum kind kind, const char *cn, const char *san,
                 unsigned days, const char *key_out, const char *cert_out)
{
    if (access(key_out, F_OK) == 0 || access(cert_out, F_OK) == 0)
        return -EEXIST; /* before a key is made for nothing */
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = NULL;
    int rc = key ? build(ca, kind, cn, san, key, days, &x) : -ENOMEM;
    if (rc == 0 && (rc = write_key(key_out, key)) == 0 && (rc = write_cert(cert_out, x)) != 0)
        unlink(key_out); /* both or neither */
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* ---- the CA --------------------------------------------------------------------- */

static void paths(const char *dir, char *key, char *cert, size_t size)
{
    snprintf(key, size, "%s/ca.key", dir);
    snprintf(cert, size, "%s/ca.crt", dir);
}

int elig_ca_init(const char *dir, const char *name, unsigned days)
{
    char key[4096], cert[4096];
    paths(dir, key, cert, sizeof key);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return -errno;
    struct elig_ca self = { 0 };
    self.key = EVP_EC_gen("P-256");
    int rc = self.key ? 0 : -ENOMEM;
    X509 *x = NULL;
    if (rc == 0 && (access(key, F_OK) == 0 || access(cert, F_OK) == 0))
        rc = -EEXIST;
    if (rc == 0)
        rc = build(&self, K_CA, name, NULL, self.key, days, &x);
    if (rc == 0 && (rc = write_key(key, self.key)) == 0 && (rc = write_cert(cert, x)) != 0)
        unlink(key);
    if (rc == 0)
        rc = elig_io_sync_dir(dir);
    X509_free(x);
    EVP_PKEY_free(self.key);
    ERR_clear_error();
    return rc;
}

int elig_ca_open(const char *dir, struct elig_ca **out)
{
    char key[4096], cert[4096];
    paths(dir, key, cert, sizeof key);
    struct elig_ca *ca = calloc(1, sizeof *ca);
    if (ca == NULL)
        return -ENOMEM;
    int rc = 0;
    FILE *f = fopen(cert, "r");
    if (f == NULL)
        rc = -errno;
    else if ((ca->cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
        rc = -EINVAL;
    if (f)
        fclose(f);
    if (rc == 0 && (f = fopen(key, "r")) == NULL)
        rc = -errno;
    else if (rc == 0) {
        if ((ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL ||
            X509_check_private_key(ca->cert, ca->key) != 1)
            rc = -EINVAL;
        fclose(f);
    }
    ERR_clear_error();
    if (rc) {
        elig_ca_close(ca);
        return rc;
    }
    *out = ca;
    return 0;
}

void elig_ca_close(struct elig_ca *ca)
{
    if (ca == NULL)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

int elig_ca_issue_server(struct elig_ca *ca, const char *name, unsigned days, const char *key_out,
                         const char *cert_out)
{
    size_t len = strlen(name);
    if (len == 0 || len > 253 || strpbrk(name, ", \t\n"))
        return -EINVAL;
    char san[300];
    bool ip = strspn(name, "0123456789.") == len || strchr(name, ':');
    snprintf(san, sizeof san, "%s:%s", ip ? "IP" : "DNS", name);
    return issue(ca, K_SERVER, name, san, days, key_out, cert_out);
}

int elig_ca_issue_facility(struct elig_ca *ca, const char *code, unsigned days, const char *key_out,
                           const char *cert_out)
{
    if (strlen(code) != ELIG_PROTO_FACILITY_LEN || !elig_proto_facility_valid(code))
        return -EINVAL;
    return issue(ca, K_CLIENT, code, NULL, days, key_out, cert_out);
}

int elig_ca_sign_request(struct elig_ca *ca, const char *code, const char *csr_path, unsigned days,
                         const char *cert_out)
{
    if (strlen(code) != ELIG_PROTO_FACILITY_LEN || !elig_proto_facility_valid(code))
        return -EINVAL;
    if (access(cert_out, F_OK) == 0)
        return -EEXIST;
    FILE *f = fopen(csr_path, "r");
    if (f == NULL)
        return -errno;
    X509_REQ *req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
    fclose(f);
    EVP_PKEY *pub = req ? X509_REQ_get0_pubkey(req) : NULL;
    int rc = pub && X509_REQ_verify(req, pub) == 1 ? 0 : -EINVAL;
    char cn[64] = "";
    if (rc == 0 && (X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn,
                                              sizeof cn) != ELIG_PROTO_FACILITY_LEN ||
                    strcmp(cn, code) != 0))
        rc = -EINVAL; /* a request for another facility, or none */
    X509 *x = NULL;
    if (rc == 0)
        rc = build(ca, K_CLIENT, code, NULL, pub, days, &x);
    if (rc == 0)
        rc = write_cert(cert_out, x);
    X509_free(x);
    X509_REQ_free(req);
    ERR_clear_error();
    return rc;
}
