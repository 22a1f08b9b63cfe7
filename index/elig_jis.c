/* SPDX-License-Identifier: MIT */
/*
 * elig_jis: JIS X 0208 membership through iconv.
 *
 * Design: the text is converted to EUC-JP in pieces of up to 256 output bytes
 * and the output is read byte by byte: ASCII (< 0x80) and a pair of bytes
 * 0xA1-0xFE (JIS X 0208) pass; SS2 (0x8E, a half-width katakana) and SS3
 * (0x8F, JIS X 0212) fail, as does EILSEQ (a character EUC-JP does not have).
 * EUC-JP is stateless, so no shift sequence ends the output.
 *
 * An iconv descriptor carries conversion state and must not be used by two
 * threads at once, and opening one costs far more than converting a name.
 * So each thread keeps one, found through a pthread key whose destructor
 * closes it when the thread ends: the one piece of per-thread state here.
 */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>

#include "elig_error.h"
#include "elig_jis.h"
#include "elig_text.h"

static pthread_key_t jis_key;
static pthread_once_t jis_once = PTHREAD_ONCE_INIT;
static int jis_key_rc;

static void jis_close(void *cd)
{
    iconv_close((iconv_t)cd);
}

static void jis_key_make(void)
{
    jis_key_rc = -pthread_key_create(&jis_key, jis_close);
}

static int jis_cd(iconv_t *out)
{
    pthread_once(&jis_once, jis_key_make);
    if (jis_key_rc)
        return jis_key_rc;
    iconv_t cd = (iconv_t)pthread_getspecific(jis_key);
    if (cd == NULL) {
        cd = iconv_open("EUC-JP", "UTF-8");
        if (cd == (iconv_t)-1)
            return errno == EINVAL ? -ENOSYS : -errno;
        int rc = pthread_setspecific(jis_key, cd);
        if (rc) {
            iconv_close(cd);
            return -rc;
        }
    }
    *out = cd;
    return 0;
}

/* 1 if out[0..n) holds only ASCII and JIS X 0208 pairs, else 0. */
static int euc_x0208_only(const unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 0x80 && (out[i] < 0xa1 || out[i] == 0xff))
            return 0; /* SS2, SS3, or not a JIS X 0208 lead byte */
    return 1;
}

int elig_jis_x0208(const char *s, size_t len)
{
    int rc = elig_utf8_check(s, len);
    if (rc == -ELIG_EUTF8)
        return rc;
    iconv_t cd = (iconv_t)-1;
    if ((rc = jis_cd(&cd)) < 0)
        return rc;
    iconv(cd, NULL, NULL, NULL, NULL); /* initial state */
    char *in = (char *)(uintptr_t)s;
    size_t left = len;
    int ok = 1;
    while (left > 0 && ok) {
        unsigned char buf[256];
        char *o = (char *)buf;
        size_t room = sizeof buf;
        size_t r = iconv(cd, &in, &left, &o, &room);
        int err = r == (size_t)-1 ? errno : 0;
        ok = euc_x0208_only(buf, sizeof buf - room);
        if (err == EILSEQ || err == EINVAL)
            return 0; /* not in EUC-JP at all (valid UTF-8 was checked) */
        if (err && err != E2BIG)
            return -err;
    }
    return ok;
}
