/* SPDX-License-Identifier: MIT */
/*
 * elig_stream: the replicated log on NATS JetStream.
 *
 * Design: a thin layer over nats.c so that the rest of eligd sees four
 * operations (publish with an id, read in order from a sequence, the
 * stream's bounds, open/close) and errno values, not the client's types.
 * The connection reconnects by itself (any server of the list, without
 * limit; a server silent for two pings a second apart counts as lost): a publish or a read during
 * an election or a server's restart fails with -ETIMEDOUT and is simply tried again by the caller.
 * A reader is an ordered push consumer (no acknowledgements, no durable state on the servers: the
 * reader's position is the node's own, kept with its store), which nats.c restarts from the last
 * sequence it delivered if the consumer is lost, so a reader never skips or repeats a message.
 */
#include "elig_stream.h"

#include <ctype.h>
#include <errno.h>
#include <nats/nats.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVERS_MAX 16
#define DUP_WINDOW  (10LL * 60 * 1000000000) /* ns: a chunk sent again within it is stored once */

struct elig_stream {
    natsConnection *nc;
    jsCtx *js;
    char name[64], subject[80];
    int timeout_ms;
};

struct elig_stream_reader {
    natsSubscription *sub;
    natsMsg *msg; /* the last one handed out */
};

static int err_of(natsStatus s)
{
    switch (s) {
    case NATS_OK:
        return 0;
    case NATS_TIMEOUT:
        return -ETIMEDOUT;
    case NATS_NO_SERVER:
        return -ECONNREFUSED;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
        return -ENOTCONN;
    case NATS_NOT_FOUND:
        return -ENOENT;
    case NATS_NO_RESPONDERS: /* the stream has no leader for a moment (an election) */
        return -EAGAIN;
    case NATS_NO_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static int fail(natsStatus s, const char *what, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: %s", what, natsStatus_GetText(s));
    return err_of(s);
}

/* The stream, made if missing. */
static natsStatus ensure_stream(struct elig_stream *s, int replicas, uint64_t max_msgs)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetStreamInfo(&si, s->js, s->name, NULL, &jerr);
    if (st == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return NATS_OK;
    }
    if (st != NATS_NOT_FOUND)
        return st;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[1] = { s->subject };
    cfg.Name = s->name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    cfg.Duplicates = DUP_WINDOW;
    cfg.MaxMsgs = max_msgs > 0 && max_msgs < INT64_MAX ? (int64_t)max_msgs : -1;
    st = js_AddStream(&si, s->js, &cfg, NULL, &jerr);
    if (st == NATS_OK)
        jsStreamInfo_Destroy(si);
    return st;
}

int elig_stream_open(const struct elig_stream_params *p, struct elig_stream **out, char *err,
                     size_t err_size)
{
    *out = NULL;
    struct elig_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    snprintf(s->name, sizeof s->name, "%s", p->name ? p->name : "ELIGD");
    size_t n = strlen(s->name);
    for (size_t i = 0; i < n && i + 8 < sizeof s->subject; i++)
        s->subject[i] = (char)tolower((unsigned char)s->name[i]);
    strcat(s->subject, ".updates");
    s->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 5000;

    char urls[2048];
    const char *list[SERVERS_MAX];
    int nurls = 0;
    snprintf(urls, sizeof urls, "%s", p->servers ? p->servers : "");
    for (char *save = NULL, *u = strtok_r(urls, ",", &save); u && nurls < SERVERS_MAX;
         u = strtok_r(NULL, ",", &save))
        list[nurls++] = u;
    if (nurls == 0) {
        free(s);
        snprintf(err, err_size, "no NATS server given");
        return -EINVAL;
    }
    natsOptions *o = NULL;
    natsStatus st = natsOptions_Create(&o);
    if (st == NATS_OK)
        st = natsOptions_SetServers(o, list, nurls);
    if (st == NATS_OK)
        st = natsOptions_SetTimeout(o, s->timeout_ms);
    if (st == NATS_OK)
        st = natsOptions_SetMaxReconnect(o, -1); /* a cluster's servers come and go */
    if (st == NATS_OK)
        st = natsOptions_SetReconnectWait(o, 100);
    /* a server that stops answering without closing (paused, cut off by the network) is left
     * after two unanswered pings a second apart, not nats.c's default of two minutes each */
    if (st == NATS_OK)
        st = natsOptions_SetPingInterval(o, 1000);
    if (st == NATS_OK)
        st = natsOptions_SetMaxPingsOut(o, 2);
    if (st == NATS_OK)
        st = natsConnection_Connect(&s->nc, o);
    natsOptions_Destroy(o);
    int rc = 0;
    if (st != NATS_OK) {
        rc = fail(st, "connecting to NATS", err, err_size);
    } else {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = s->timeout_ms;
        st = natsConnection_JetStream(&s->js, s->nc, &jo);
        if (st == NATS_OK)
            st = ensure_stream(s, p->replicas > 0 ? p->replicas : 3, p->max_msgs);
        if (st != NATS_OK)
            rc = fail(st, "the JetStream stream", err, err_size);
    }
    if (rc) {
        elig_stream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void elig_stream_close(struct elig_stream *s)
{
    if (s == NULL)
        return;
    jsCtx_Destroy(s->js);
    if (s->nc) {
        natsConnection_Close(s->nc);
        natsConnection_Destroy(s->nc);
    }
    free(s);
}

int elig_stream_publish(struct elig_stream *s, const char *msg_id, const void *data, size_t len,
                        uint64_t *seq, bool *duplicate)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = s->timeout_ms;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_Publish(&pa, s->js, s->subject, data, (int)len, &po, &jerr);
    if (st != NATS_OK)
        return err_of(st);
    *seq = pa->Sequence;
    *duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
    return 0;
}

int elig_stream_bounds(struct elig_stream *s, uint64_t *first, uint64_t *last)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetStreamInfo(&si, s->js, s->name, NULL, &jerr);
    if (st != NATS_OK)
        return err_of(st);
    *first = si->State.Msgs ? si->State.FirstSeq : 0;
    *last = si->State.Msgs ? si->State.LastSeq : 0;
    jsStreamInfo_Destroy(si);
    return 0;
}

int elig_stream_reader_open(struct elig_stream *s, uint64_t from, struct elig_stream_reader **out)
{
    struct elig_stream_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = s->name;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = from ? from : 1;
    jsErrCode jerr = 0;
    natsStatus st = js_SubscribeSync(&r->sub, s->js, s->subject, NULL, &so, &jerr);
    if (st != NATS_OK) {
        free(r);
        return err_of(st);
    }
    *out = r;
    return 0;
}

int elig_stream_next(struct elig_stream_reader *r, int timeout_ms, uint64_t *seq, uint64_t *pending,
                     int64_t *stored, const void **data, size_t *len)
{
    natsMsg_Destroy(r->msg);
    r->msg = NULL;
    natsStatus st = natsSubscription_NextMsg(&r->msg, r->sub, timeout_ms);
    if (st != NATS_OK)
        return err_of(st);
    jsMsgMetaData *meta = NULL;
    if ((st = natsMsg_GetMetaData(&meta, r->msg)) != NATS_OK)
        return err_of(st);
    *seq = meta->Sequence.Stream;
    *pending = meta->NumPending;
    *stored = meta->Timestamp / 1000000000; /* nanoseconds */
    jsMsgMetaData_Destroy(meta);
    *data = natsMsg_GetData(r->msg);
    *len = (size_t)natsMsg_GetDataLength(r->msg);
    return 0;
}

void elig_stream_reader_close(struct elig_stream_reader *r)
{
    if (r == NULL)
        return;
    natsMsg_Destroy(r->msg);
    /* no Unsubscribe: it asks the servers to delete the consumer and waits for their answer,
     * which a node stopping while the servers are away would wait for in vain; an ordered
     * consumer is ephemeral and the servers drop it once its connection is gone */
    natsSubscription_Destroy(r->sub);
    free(r);
}
