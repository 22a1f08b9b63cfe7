/* SPDX-License-Identifier: MIT */
/*
 * elig_redis: the population as redis hashes.
 *
 * Design: the loader reads the population the way eligd does, as feed
 * lines (elig_pop_person) parsed by the feed parser, so redis and eligd
 * hold the very same records. Per person it keeps the records just read
 * (at most a past and a current one), marks the past one lost when its
 * LOSS arrives, and writes one HSET per record and per registered card.
 * Commands are pipelined 1,024 at a time over one blocking connection, and
 * each batch's replies are drained before the next batch is written, so
 * neither side's buffers grow without bound.
 *
 * Card hashes hold "until", the last day a card check is answered: the
 * certificate's expiry plus the 3-month grace (elig_rules), so the client's
 * rule is one comparison.
 */
#include "elig_redis.h"
#include "elig_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_client.h"
#include "elig_net_error.h"
#include "elig_feed.h"
#include "elig_proto.h"
#include "elig_resp.h"
#include "elig_rules.h"

#define PIPELINE 1024

size_t elig_redis_qkey(const struct elig_key *k, char out[ELIG_REDIS_KEY_MAX])
{
    out[0] = 'q';
    out[1] = ':';
    return 2 + elig_key_encode(k, (uint8_t *)out + 2);
}

size_t elig_redis_ckey(uint64_t card_id, char out[ELIG_REDIS_KEY_MAX])
{
    return (size_t)snprintf(out, ELIG_REDIS_KEY_MAX, "c:%016llx", (unsigned long long)card_id);
}

struct insurer {
    char number[ELIG_INSURER_LEN];
    char name[ELIG_INSURER_NAME_MAX + 1];
};

struct loader {
    int fd;
    struct elig_pbuf out;
    uint64_t pending, commands;
    struct insurer *ins;
    size_t n_ins;
};

static int cmp_insurer(const void *a, const void *b)
{
    return memcmp(a, b, ELIG_INSURER_LEN);
}

static int flush(struct loader *l)
{
    if (l->pending == 0)
        return 0;
    int rc = elig_io_write_all(l->fd, l->out.data, l->out.len);
    long errors = rc ? rc : elig_resp_drain(l->fd, l->pending);
    l->out.len = 0;
    l->pending = 0;
    return errors < 0 ? (int)errors : errors > 0 ? -EIO : 0;
}

/* Field-value pairs of one HSET. */
struct hset {
    unsigned n;
    const char *arg[40];
    size_t len[40];
    char num[8][16]; /* formatted numbers */
    unsigned nums;
};

static void put(struct hset *h, const char *field, const char *v, size_t len)
{
    h->arg[h->n] = field;
    h->len[h->n++] = strlen(field);
    h->arg[h->n] = v;
    h->len[h->n++] = len;
}

static void put_num(struct hset *h, const char *field, unsigned long v)
{
    char *s = h->num[h->nums++];
    put(h, field, s, (size_t)snprintf(s, 16, "%lu", v));
}

/* What an answer carries about record r. */
static void put_record(struct loader *l, struct hset *h, const struct elig_record *r)
{
    const struct insurer *in =
        bsearch(r->key.insurer, l->ins, l->n_ins, sizeof *l->ins, cmp_insurer);
    put(h, "ins", r->key.insurer, ELIG_INSURER_LEN);
    put(h, "iname", in ? in->name : "", in ? strlen(in->name) : 0);
    put(h, "sym", r->key.symbol, r->key.symbol_len);
    put(h, "num", r->key.number, r->key.number_len);
    put(h, "br", r->key.branch, ELIG_BRANCH_LEN);
    put(h, "fam", r->family_kanji, strlen(r->family_kanji));
    put(h, "giv", r->given_kanji, strlen(r->given_kanji));
    put(h, "famk", r->family_kana, strlen(r->family_kana));
    put(h, "givk", r->given_kana, strlen(r->given_kana));
    put_num(h, "birth", elig_proto_date_out(r->birth_date));
    put_num(h, "sex", r->sex);
    put_num(h, "copay", r->copay_pct);
    put_num(h, "from", elig_proto_date_out(r->valid_from));
}

static int hset(struct loader *l, const char *key, size_t key_len, struct hset *h)
{
    const char *argv[42] = { "HSET", key };
    size_t lens[42] = { 4, key_len };
    memcpy(argv + 2, h->arg, h->n * sizeof *argv);
    memcpy(lens + 2, h->len, h->n * sizeof *lens);
    if (elig_resp_command(&l->out, h->n + 2, argv, lens))
        return -ENOMEM;
    l->commands++;
    return ++l->pending == PIPELINE ? flush(l) : 0;
}

/* One person's records and card, from their feed lines. */
static int load_person(struct loader *l, const char *text, size_t len, struct elig_event *ev)
{
    struct elig_record rec[4];
    elig_date_t lost[4] = { 0 };
    unsigned n = 0;
    int rc = 0;
    for (const char *p = text, *end = text + len; rc == 0 && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct elig_feed_error err;
        int got = elig_feed_parse_line(p, ll, ev, &err);
        p += ll + 1;
        if (got < 0)
            return -ELIG_EPROTO;
        if (got == 0)
            continue;
        if (ev->kind == ELIG_EV_ACQUIRE && n < 4) {
            rec[n++] = ev->u.acquire;
        } else if (ev->kind == ELIG_EV_LOSS) {
            for (unsigned i = 0; i < n; i++)
                if (elig_key_equal(&rec[i].key, &ev->u.loss.key))
                    lost[i] = ev->effective;
        } else if (ev->kind == ELIG_EV_CARD_REGISTER && n > 0) {
            const struct elig_record *cur = &rec[n - 1];
            struct hset h = { 0 };
            char key[ELIG_REDIS_KEY_MAX];
            elig_date_t until;
            if (elig_date_add_months(ev->u.card.cert_expiry, ELIG_CERT_WINDOW_MONTHS, &until))
                until = ELIG_DATE_MAX;
            put_record(l, &h, cur);
            put_num(&h, "until", elig_proto_date_out(until));
            rc = hset(l, key, elig_redis_ckey(ev->u.card.card_id, key), &h);
        }
    }
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        struct hset h = { 0 };
        char key[ELIG_REDIS_KEY_MAX];
        put_record(l, &h, &rec[i]);
        if (lost[i]) {
            put_num(&h, "lost", elig_proto_date_out(lost[i]));
            put_num(&h, "newer", i + 1 < n); /* a later qualification of the same person */
        }
        rc = hset(l, key, elig_redis_qkey(&rec[i].key, key), &h);
    }
    return rc;
}

int elig_redis_load(const char *addr, const struct elig_pop *pop, uint64_t *commands)
{
    struct loader l = { .fd = elig_client_dial(addr) };
    *commands = 0;
    if (l.fd < 0)
        return l.fd;
    int rc = 0;
    struct elig_event *ev = malloc(sizeof *ev);
    char *buf = malloc(ELIG_POP_PERSON_MAX);
    l.n_ins = elig_pop_insurers(pop);
    l.ins = calloc(l.n_ins, sizeof *l.ins);
    if (ev == NULL || buf == NULL || l.ins == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n_ins; i++) {
        size_t len = elig_pop_insurer_line(pop, i, buf, ELIG_POP_PERSON_MAX);
        struct elig_feed_error err;
        if (elig_feed_parse_line(buf, len - 1, ev, &err) != 1 || ev->kind != ELIG_EV_INSURER) {
            rc = -ELIG_EPROTO;
            break;
        }
        memcpy(l.ins[i].number, ev->source, ELIG_INSURER_LEN);
        snprintf(l.ins[i].name, sizeof l.ins[i].name, "%s", ev->u.insurer.name);
    }
    if (rc == 0)
        qsort(l.ins, l.n_ins, sizeof *l.ins, cmp_insurer);
    for (uint64_t i = 0; rc == 0 && i < elig_pop_persons(pop); i++)
        rc = load_person(&l, buf, elig_pop_person(pop, i, buf, ELIG_POP_PERSON_MAX), ev);
    if (rc == 0)
        rc = flush(&l);
    *commands = l.commands;
    close(l.fd);
    elig_pbuf_free(&l.out);
    free(l.ins);
    free(buf);
    free(ev);
    return rc;
}
