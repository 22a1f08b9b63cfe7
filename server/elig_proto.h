/* SPDX-License-Identifier: MIT */
#ifndef ELIG_PROTO_H
#define ELIG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"
#include "elig_record.h"
#include "elig_rules.h"

/**
 * @file
 * The eligd wire protocol (docs/protocol.md is the normative text): frames
 * of a 16-byte little-endian header and a typed body, the same on the
 * facility port, the admin socket and (later) inside UDP datagrams.
 *
 *   offset size field
 *        0    2 magic       'E' 'L'
 *        2    1 version     1
 *        3    1 opcode      enum elig_op
 *        4    1 flags       ELIG_PROTO_F_RESPONSE on answers, 0 on requests
 *        5    1 status      0 on requests; enum elig_pstatus on answers
 *        6    2 reserved    0
 *        8    4 request id  chosen by the client, echoed in the answer
 *       12    4 body length bytes after the header, <= the port's limit
 *
 * Everything here is pure: no I/O, no allocation except in struct elig_pbuf
 * (a growing output buffer reused across frames), no global state; every
 * function is thread-safe on distinct arguments. Decoders never read past
 * the length they are given and reject trailing bytes.
 */

#define ELIG_PROTO_MAGIC0       'E'
#define ELIG_PROTO_MAGIC1       'L'
#define ELIG_PROTO_VERSION      1
#define ELIG_PROTO_HEADER       16
#define ELIG_PROTO_F_RESPONSE   0x01
#define ELIG_PROTO_MAX_BODY     (256u * 1024)       /**< facility port: largest request body */
#define ELIG_PROTO_ADMIN_BODY   (16u * 1024 * 1024) /**< admin socket: largest request body */
#define ELIG_PROTO_BATCH_MAX    1000                /**< entries in one BATCH */
#define ELIG_PROTO_PING_MAX     1024                /**< bytes a PING may carry (echoed) */
#define ELIG_PROTO_FACILITY_LEN 10                  /**< facility code: 10 ASCII digits */
#define ELIG_PROTO_INSURER_MAX  24                  /**< raw field limits of a number lookup */
#define ELIG_PROTO_SYMBOL_MAX   120
#define ELIG_PROTO_NUMBER_MAX   60
#define ELIG_PROTO_BRANCH_MAX   6
#define ELIG_PROTO_APPEND_MAX   4096 /**< events in one ADMIN_APPEND */
#define ELIG_PROTO_CHUNK_ID_LEN 16   /**< the optional chunk id closing an ADMIN_APPEND body */
#define ELIG_PROTO_GROW_BODY    32   /**< ADMIN_GROW request body */
#define ELIG_PROTO_GROWN_BODY   56   /**< ADMIN_GROW answer body */

/** Opcodes. Admin opcodes are served only on the admin socket. */
enum elig_op {
    ELIG_OP_PING = 0x01,           /**< echo the body */
    ELIG_OP_LOOKUP_NUMBER = 0x02,  /**< check by insurance-card number */
    ELIG_OP_LOOKUP_CARD = 0x03,    /**< check by My Number card */
    ELIG_OP_BATCH = 0x04,          /**< up to ELIG_PROTO_BATCH_MAX number checks */
    ELIG_OP_STATS = 0x05,          /**< counters a client may see */
    ELIG_OP_HELLO = 0x06,          /**< name the facility; answered with a challenge */
    ELIG_OP_AUTH = 0x07,           /**< prove the facility's key over the challenge */
    ELIG_OP_POSTHOC = 0x08,        /**< read the answer of an earlier check by its reference */
    ELIG_OP_LIST_SUBMIT = 0x09,    /**< hand in (a part of) an appointment list: a reception */
    ELIG_OP_LIST_FETCH = 0x0a,     /**< the answers of a list, by its reception number */
    ELIG_OP_LOOKUP_PERSON = 0x0b,  /**< disaster mode: a person by kana name, birth date, sex */
    ELIG_OP_ADMIN_APPEND = 0x40,   /**< append update events (durable before the answer) */
    ELIG_OP_ADMIN_SNAPSHOT = 0x41, /**< write a snapshot */
    ELIG_OP_ADMIN_STATS = 0x42,    /**< the operator's counters */
    ELIG_OP_ADMIN_RELOAD = 0x43,   /**< read the facility registry again */
    ELIG_OP_ADMIN_GROW = 0x44,     /**< rebuild the index larger and move to it */
};

/*
 * What each opcode is, in one table (elig_proto.c) that the decoder, both
 * datapaths, the allowance and the names follow; docs/protocol.md's opcode
 * table is checked against it by a unit test. Adding an opcode: a row there,
 * its handler (a check: elig_round.c; the session: elig_srv.c's gate; an
 * admin opcode: elig_srv.c's loop_plain), and its section in the document.
 */
#define ELIG_OPF_CHECK    0x01 /**< carries checks: decoded by the round, spends the allowance */
#define ELIG_OPF_FACILITY 0x02 /**< served on the facility port (TCP) */
#define ELIG_OPF_UDP      0x04 /**< served on the UDP datapath too */
#define ELIG_OPF_ADMIN    0x08 /**< served on the admin socket (SESSION ones: its TCP port) */
#define ELIG_OPF_SESSION                                                                           \
    0x10                       /**< answered by the connection (HELLO, AUTH, POSTHOC), not a round \
                                */
#define ELIG_OPF_PRE_AUTH 0x20 /**< answered before AUTH */
#define ELIG_OPF_EMPTY    0x40 /**< the request body must be empty (else ELIG_PS_BODY) */

/** Opcodes in all: the dense slots of per-opcode counters. */
#define ELIG_OP_SLOTS 16

/** One opcode. */
struct elig_op_info {
    uint8_t opcode;   /**< enum elig_op */
    uint8_t flags;    /**< ELIG_OPF_* */
    const char *name; /**< "PING", ... as docs/protocol.md names it */
    uint8_t slot;     /**< 0 .. ELIG_OP_SLOTS - 1, one per opcode: per-opcode counters */
};

/** The row of opcode, or NULL if it is not one. One load: called for every frame. */
const struct elig_op_info *elig_op_info(uint8_t opcode);

/** The table in opcode order: the row after prev (NULL: the first); NULL after the last. */
const struct elig_op_info *elig_op_next(const struct elig_op_info *prev);

/** Whether opcode is known and has every flag of flags. */
bool elig_op_has(uint8_t opcode, uint8_t flags);

/** Status of a whole frame, in the answer header. */
enum elig_pstatus {
    ELIG_PS_OK = 0,
    ELIG_PS_VERSION = 1,      /**< unknown protocol version; the connection goes on */
    ELIG_PS_OPCODE = 2,       /**< unknown opcode, or not served on this port; goes on */
    ELIG_PS_BODY = 3,         /**< body malformed for its opcode; goes on */
    ELIG_PS_FACILITY = 4,     /**< facility code is not a valid code; goes on */
    ELIG_PS_TOO_LARGE = 5,    /**< body length over the port's limit; then closed */
    ELIG_PS_HEADER = 6,       /**< bad magic, reserved bits set, or flags of an answer; closed */
    ELIG_PS_BUSY = 7,         /**< connection limit reached; closed */
    ELIG_PS_TIMEOUT = 8,      /**< a frame was not completed in time; closed */
    ELIG_PS_SHUTDOWN = 9,     /**< server is stopping; closed */
    ELIG_PS_UNAVAILABLE = 10, /**< the store cannot take updates (log failed, index full) */
    ELIG_PS_INTERNAL = 11,    /**< an unexpected server-side error; goes on */
    ELIG_PS_UNAUTHENTICATED = 12, /**< no successful HELLO/AUTH yet, or a failed AUTH; closed */
    ELIG_PS_RATE_LIMITED = 13,    /**< the facility's check rate is spent; goes on */
    ELIG_PS_FACILITY_CONNS = 14,  /**< the facility holds its maximum of connections; closed */
    ELIG_PS_NOT_FOUND = 15,       /**< POSTHOC: no such check of this facility (or pruned) */
    ELIG_PS_BEHIND = 16, /**< a cluster node behind the cluster's updates: ask another; goes on */
    ELIG_PS_NO_DISASTER = 17, /**< LOOKUP_PERSON outside a declared disaster (off, over, or not
                                   the facility's prefecture); goes on */
    ELIG_PS_COUNT
};

/** Status of one check inside an answer. */
enum elig_astatus {
    ELIG_AS_OK = 0,       /**< answered: see validity */
    ELIG_AS_BAD_KEY = 1,  /**< insurer, symbol, number or branch is not valid */
    ELIG_AS_BAD_DATE = 2, /**< query or birth date is not a date eligd can hold */
    ELIG_AS_BAD_CARD = 3, /**< card id is zero */
    ELIG_AS_RETRY = 4,    /**< the record changed under every attempt: ask again */
    ELIG_AS_TOO_MANY = 5, /**< the person has more records than one answer can hold */
    ELIG_AS_COUNT
};

/** Request flags of a check. */
#define ELIG_PROTO_CONSENT 0x01 /**< the patient consents to disclose the limit category */

/** A decoded frame header. */
struct elig_proto_header {
    uint8_t version;     /**< protocol version */
    uint8_t opcode;      /**< enum elig_op */
    uint8_t flags;       /**< ELIG_PROTO_F_* */
    uint8_t status;      /**< enum elig_pstatus (answers) */
    uint32_t request_id; /**< echoed */
    uint32_t body_len;   /**< bytes of body */
};

/** A check by number as it arrives: raw fields pointing into the frame. */
struct elig_proto_number {
    const char *facility; /**< ELIG_PROTO_FACILITY_LEN digits (absent in BATCH entries) */
    uint8_t flags;        /**< ELIG_PROTO_CONSENT */
    uint32_t date;        /**< YYYYMMDD of the date of service; 0 = today (server's day) */
    uint32_t birth;       /**< YYYYMMDD */
    const char *insurer;  /**< raw bytes as typed: digits, full-width allowed */
    const char *symbol;
    const char *number;
    const char *branch;
    uint8_t insurer_len, symbol_len, number_len, branch_len;
};

/** A check by card as it arrives. */
struct elig_proto_card {
    const char *facility; /**< ELIG_PROTO_FACILITY_LEN digits */
    uint8_t flags;        /**< ELIG_PROTO_CONSENT */
    uint32_t date;        /**< YYYYMMDD; 0 = today */
    uint64_t card_id;     /**< the certificate's serial */
};

/** Head of a BATCH body; entries follow (elig_proto_batch_next()). */
struct elig_proto_batch {
    const char *facility; /**< one facility for every entry */
    uint16_t count;       /**< entries, 1..ELIG_PROTO_BATCH_MAX */
    size_t offset;        /**< decoder position in the body (first entry after decode) */
};

/** One answered check, as encoded (server) or decoded (client). */
struct elig_proto_answer {
    uint8_t status;                          /**< enum elig_astatus */
    uint8_t validity;                        /**< enum elig_validity */
    uint8_t refusal;                         /**< enum elig_refusal */
    uint8_t flags;                           /**< ELIG_FLAG_* of elig_rules.h */
    uint8_t count;                           /**< records, 0..ELIG_ANSWER_MAX */
    uint64_t reference;                      /**< the check's reference number */
    uint32_t cert_expiry;                    /**< card checks: YYYYMMDD; 0 otherwise */
    struct elig_record rec[ELIG_ANSWER_MAX]; /**< records answered (names; limit withheld
                                                 unless disclosed) */
    char insurer_name[ELIG_ANSWER_MAX]
                     [ELIG_INSURER_NAME_MAX + 1]; /**< name of rec[i]'s insurer ("" unknown) */
};

/** A growing byte buffer for encoding (allocation amortised over its life). */
struct elig_pbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

/* ---- buffers ---------------------------------------------------------- */

/** Make room for n more bytes. @return 0; -ENOMEM. */
int elig_pbuf_reserve(struct elig_pbuf *b, size_t n);
/** Release the buffer's memory; it may be reused afterwards. */
void elig_pbuf_free(struct elig_pbuf *b);

/* ---- frames ----------------------------------------------------------- */

/**
 * Decode a header from the first ELIG_PROTO_HEADER bytes of buf.
 *
 * Checks magic, reserved bytes and (for requests, @p response false) that
 * the answer flag is clear. The version and opcode are returned as they are:
 * the caller answers ELIG_PS_VERSION / ELIG_PS_OPCODE and goes on.
 *
 * @return 0; -EAGAIN if len < ELIG_PROTO_HEADER; -ELIG_EPROTO for a
 *         malformed header (answer ELIG_PS_HEADER, then close).
 */
int elig_proto_header_decode(const uint8_t *buf, size_t len, bool response,
                             struct elig_proto_header *h);

/**
 * The next whole frame at buf: its header decoded into *h, and whether all
 * of its body is there too. What every reader of a stream of frames (the
 * client, the load generator, the benchmarks) does before it looks at a body.
 *
 * @return the frame's length (header and body); 0 when more bytes are
 *         needed (*h is set once the header is there); -ELIG_EPROTO for a
 *         malformed header.
 */
long elig_proto_frame_next(const uint8_t *buf, size_t len, bool response,
                           struct elig_proto_header *h);

/** Write a header into out[0..ELIG_PROTO_HEADER). */
void elig_proto_header_encode(uint8_t *out, const struct elig_proto_header *h);

/**
 * Start a frame in b: a header with body length 0, to be fixed by
 * elig_proto_frame_end(). @return the frame's offset in b; -ENOMEM.
 */
long elig_proto_frame_begin(struct elig_pbuf *b, uint8_t opcode, uint8_t flags, uint8_t status,
                            uint32_t request_id);
/** Set the body length of the frame begun at offset. */
void elig_proto_frame_end(struct elig_pbuf *b, long offset);

/* ---- requests --------------------------------------------------------- */

/**
 * Decode a LOOKUP_NUMBER body (with facility) or, with @p in_batch, one BATCH
 * entry (without) starting at *off; *off moves past it.
 * @return 0; -ELIG_EPROTO (short, over a field limit, or trailing bytes when
 *         not in a batch).
 */
int elig_proto_number_decode(const uint8_t *body, size_t len, size_t *off, bool in_batch,
                             struct elig_proto_number *q);
/** Decode a LOOKUP_CARD body. @return 0; -ELIG_EPROTO. */
int elig_proto_card_decode(const uint8_t *body, size_t len, struct elig_proto_card *q);
/**
 * Decode a BATCH head and check that exactly b->count well-formed entries
 * follow, with nothing after them. @return 0; -ELIG_EPROTO.
 */
int elig_proto_batch_decode(const uint8_t *body, size_t len, struct elig_proto_batch *b);
/** Next entry of a batch that elig_proto_batch_decode() accepted. */
void elig_proto_batch_next(const uint8_t *body, size_t len, struct elig_proto_batch *b,
                           struct elig_proto_number *q);

/** Append a LOOKUP_NUMBER body (in_batch false) or a BATCH entry. @return 0; -ENOMEM; -EINVAL
 * (a field over its limit, or no facility outside a batch). */
int elig_proto_number_encode(struct elig_pbuf *b, const struct elig_proto_number *q, bool in_batch);
/** Append a LOOKUP_CARD body. @return 0; -ENOMEM; -EINVAL. */
int elig_proto_card_encode(struct elig_pbuf *b, const struct elig_proto_card *q);
/** Append a BATCH head (entries follow with elig_proto_number_encode(.., true)). */
int elig_proto_batch_head_encode(struct elig_pbuf *b, const char *facility, uint16_t count);

/**
 * True when code is a facility code: 10 digits, prefecture 01-47, fee-table
 * code 1 (medical), 3 (dental) or 4 (pharmacy).
 */
bool elig_proto_facility_valid(const char *code);

/* ---- answers ---------------------------------------------------------- */

/**
 * Append one answer. rec[i] and insurer_name[i] of the answer are read for
 * i < count; the caller has already withheld what the rules withhold.
 * @return 0; -ENOMEM.
 */
int elig_proto_answer_encode(struct elig_pbuf *b, const struct elig_proto_answer *a);

/**
 * Decode one answer starting at *off (client side). Names come back
 * NUL-terminated.
 * @return 0; -ELIG_EPROTO.
 */
int elig_proto_answer_decode(const uint8_t *body, size_t len, size_t *off,
                             struct elig_proto_answer *a);

/** Answer body of a BATCH: the count, then that many answers. */
int elig_proto_batch_answer_head(struct elig_pbuf *b, uint16_t count);
/** Decode the count of a BATCH answer body. @return 0; -ELIG_EPROTO. */
int elig_proto_batch_answer_count(const uint8_t *body, size_t len, size_t *off, uint16_t *count);

/* ---- statistics ------------------------------------------------------- */

/** Append one named counter of a STATS answer (the count is written first by the caller). */
int elig_proto_stat_encode(struct elig_pbuf *b, const char *name, uint64_t value);

/** One named counter. */
struct elig_proto_stat {
    const char *name; /**< at most 63 bytes */
    uint64_t value;
};

/** Append a whole STATS answer body: the count, then the n counters. @return 0; -ENOMEM; -EINVAL.
 */
int elig_proto_stats_encode(struct elig_pbuf *b, const struct elig_proto_stat *items, size_t n);
/**
 * Decode the next counter at *off into name (NUL-terminated, 64 bytes) and value.
 * @return 0; -ELIG_EPROTO.
 */
int elig_proto_stat_decode(const uint8_t *body, size_t len, size_t *off, char name[64],
                           uint64_t *value);

/* ---- LIST_SUBMIT and LIST_FETCH: appointment lists checked later ------- */

#define ELIG_PROTO_LIST_MAX         10000 /**< entries of one list (all its parts) */
#define ELIG_PROTO_LIST_PART_HEAD   22    /**< facility, flags, reserved, reception, count */
#define ELIG_PROTO_LIST_STATE_BODY  20    /**< LIST_SUBMIT's answer */
#define ELIG_PROTO_LIST_FETCH_BODY  28    /**< LIST_FETCH's request */
#define ELIG_PROTO_LIST_ANSWER_HEAD 20    /**< LIST_FETCH's answer, before the answers */
#define ELIG_PROTO_LIST_PART_LAST   0x01  /**< LIST_SUBMIT flag: this part ends the list */

/** Where a list is. */
enum elig_list_state {
    ELIG_LIST_OPEN = 0,    /**< parts are being handed in */
    ELIG_LIST_QUEUED = 1,  /**< complete, durable, waiting to be checked */
    ELIG_LIST_RUNNING = 2, /**< being checked */
    ELIG_LIST_DONE = 3,    /**< every entry answered: fetch them */
    ELIG_LIST_FAILED = 4,  /**< its file was found damaged: hand it in again */
};

/** A LIST_SUBMIT body as it arrives: the entries are BATCH entries. */
struct elig_proto_list_part {
    const char *facility;   /**< ELIG_PROTO_FACILITY_LEN digits */
    uint8_t flags;          /**< ELIG_PROTO_LIST_PART_LAST */
    uint64_t reception;     /**< 0: a new list; else the list this part adds to */
    uint16_t count;         /**< entries in this part, 1..ELIG_PROTO_BATCH_MAX */
    const uint8_t *entries; /**< their bytes in the body */
    size_t entries_len;
};

/** A list's state: LIST_SUBMIT's answer, and the head of LIST_FETCH's. */
struct elig_proto_list_state {
    uint64_t reception; /**< the reception number */
    uint8_t state;      /**< enum elig_list_state */
    uint32_t entries;   /**< entries handed in */
    uint32_t done;      /**< entries answered */
};

/** A LIST_FETCH request. */
struct elig_proto_list_fetch {
    const char *facility; /**< ELIG_PROTO_FACILITY_LEN digits: the list's facility */
    uint64_t reception;
    uint32_t first; /**< the first entry wanted (0-based) */
    uint16_t max;   /**< at most this many answers (1..ELIG_PROTO_BATCH_MAX) */
};

/**
 * Decode a LIST_SUBMIT body: the head, and exactly count well-formed BATCH
 * entries after it. @return 0; -ELIG_EPROTO (short, a count of 0 or over
 * ELIG_PROTO_BATCH_MAX, reserved bits set, a bad entry, trailing bytes).
 */
int elig_proto_list_part_decode(const uint8_t *body, size_t len, struct elig_proto_list_part *p);
/** Append a LIST_SUBMIT head; count entries follow (elig_proto_number_encode(.., true)). */
int elig_proto_list_part_head_encode(struct elig_pbuf *b, const char *facility, uint8_t flags,
                                     uint64_t reception, uint16_t count);
/** ELIG_PROTO_LIST_STATE_BODY bytes: u64 reception, u8 state, 3 zero, u32 entries, u32 done. */
void elig_proto_list_state_encode(uint8_t *out, const struct elig_proto_list_state *s);
/** @return 0; -ELIG_EPROTO (reserved bytes set, or a state out of range). */
int elig_proto_list_state_decode(const uint8_t *in, struct elig_proto_list_state *s);
/** ELIG_PROTO_LIST_FETCH_BODY bytes: facility, 2 zero, u64 reception, u32 first, u16 max,
 * 2 zero. */
void elig_proto_list_fetch_encode(uint8_t *out, const struct elig_proto_list_fetch *f);
/** @return 0; -ELIG_EPROTO (max 0 or over ELIG_PROTO_BATCH_MAX, reserved bytes set). */
int elig_proto_list_fetch_decode(const uint8_t *in, struct elig_proto_list_fetch *f);

/* ---- LOOKUP_PERSON: disaster mode ------------------------------------- */

#define ELIG_PROTO_PERSON_HEAD 22 /**< the fixed part before the two kana names */
#define ELIG_PERSON_MAX        3  /**< persons one answer may name; more: "narrow it" */

/** Why a facility looks a patient up by person (audited with the lookup). */
enum elig_person_reason {
    ELIG_REASON_NO_CARD = 1,     /**< evacuated without card or certificate */
    ELIG_REASON_LOST = 2,        /**< card and certificate lost in the disaster */
    ELIG_REASON_CANNOT_TELL = 3, /**< the patient cannot give them (unconscious, ...) */
};

/** What a LOOKUP_PERSON found. */
enum elig_person_result {
    ELIG_PERSON_FOUND = 0, /**< 1..ELIG_PERSON_MAX persons: one answer each */
    ELIG_PERSON_NONE = 1,  /**< nobody */
    ELIG_PERSON_TOO_MANY =
        2, /**< more than ELIG_PERSON_MAX: narrow it (prefecture); nothing told */
};

/** A LOOKUP_PERSON request. */
struct elig_proto_person {
    const char *facility; /**< ELIG_PROTO_FACILITY_LEN digits */
    uint8_t flags;        /**< ELIG_PROTO_CONSENT */
    uint8_t reason;       /**< enum elig_person_reason */
    uint32_t date;        /**< YYYYMMDD; 0 = today */
    uint32_t birth;       /**< YYYYMMDD */
    uint8_t sex;          /**< enum elig_sex */
    uint8_t prefecture;   /**< 1..47: only qualifications of insurers of it; 0: any */
    const char *family_kana, *given_kana;
    uint8_t family_len, given_len; /**< at most ELIG_NAME_MAX each; the family name not empty */
};

/** @return 0; -ELIG_EPROTO (short, a field out of its set, a name over its limit, trailing bytes).
 */
int elig_proto_person_decode(const uint8_t *body, size_t len, struct elig_proto_person *q);
/** Append a LOOKUP_PERSON body. @return 0; -ENOMEM; -EINVAL (a name over its limit). */
int elig_proto_person_encode(struct elig_pbuf *b, const struct elig_proto_person *q);

/* ---- ADMIN_GROW ------------------------------------------------------- */

/** ADMIN_GROW's request: the sizes wanted; 0 in a field: grown in proportion (capacity: doubled).
 */
struct elig_proto_grow {
    uint64_t capacity;    /**< records */
    uint64_t persons;     /**< persons */
    uint64_t cards;       /**< card links */
    uint32_t names;       /**< name pairs */
    uint32_t key_strings; /**< key strings */
};

/** ADMIN_GROW's answer. */
struct elig_proto_grown {
    uint64_t capacity_before; /**< records the index held before */
    uint64_t capacity_after;  /**< records it holds now */
    uint64_t records;         /**< records in it */
    uint64_t lsn;             /**< applied LSN at the swap */
    uint64_t segment_bytes;   /**< size of the new segment */
    uint64_t ms;              /**< how long updates waited */
    uint32_t was_full;        /**< 1: the store was full; rebuilt from snapshot and log */
};

/** ELIG_PROTO_GROW_BODY bytes: u64 capacity, persons, cards; u32 names, key_strings. */
void elig_proto_grow_encode(uint8_t *out, const struct elig_proto_grow *g);
void elig_proto_grow_decode(const uint8_t *in, struct elig_proto_grow *g);
/** ELIG_PROTO_GROWN_BODY bytes: the six u64 fields in order, u32 was_full, u32 zero. */
void elig_proto_grown_encode(uint8_t *out, const struct elig_proto_grown *g);
void elig_proto_grown_decode(const uint8_t *in, struct elig_proto_grown *g);

/* ---- names ------------------------------------------------------------ */

/** "ok", "unknown-version", ... ; "?" for codes out of range. */
const char *elig_pstatus_name(uint8_t status);
/** "ok", "bad-key", ... */
const char *elig_astatus_name(uint8_t status);
/** "PING", "LOOKUP_NUMBER", ...; NULL if unknown. */
const char *elig_op_name(uint8_t opcode);

/** Wire date (YYYYMMDD, 0 = none) <-> elig_date_t. @return 0; -ELIG_EDATE. */
int elig_proto_date_in(uint32_t ymd, elig_date_t *out);
uint32_t elig_proto_date_out(elig_date_t d);

struct elig_event;

/** What closes an ADMIN_APPEND body after its events. */
struct elig_proto_append {
    uint32_t n;        /**< events decoded */
    const uint8_t *id; /**< the chunk id (ELIG_PROTO_CHUNK_ID_LEN bytes in the body), or NULL */
    int64_t entered;   /**< the entry time the sender gave (Unix seconds), or 0: none */
    size_t events_len; /**< bytes of the count and the events (where the id starts) */
};

/** Bytes of the entry time that may follow a chunk id. */
#define ELIG_PROTO_ENTERED_LEN 8

/**
 * Decode an ADMIN_APPEND body: its events into evs[0..a->n) (at most max),
 * its optional chunk id and, after the id, its optional entry time (a
 * back-fill of events received earlier: their registration lag counts from
 * it). The whole body is checked before anything is returned: the one
 * decoder of the admin socket and of the cluster's stream messages.
 * @return 0; -EINVAL (not such a body: a count of 0 or over max, a short or
 *         undecodable event, an entry time of 0 or below, bytes left over).
 *         Thread-safe.
 */
int elig_proto_append_decode(const uint8_t *body, size_t len, struct elig_event *evs, size_t max,
                             struct elig_proto_append *a);

#endif
