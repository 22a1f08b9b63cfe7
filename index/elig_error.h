/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ERROR_H
#define ELIG_ERROR_H

/**
 * @file
 * One error convention for the whole project.
 *
 * Every function that can fail returns a negative value: either a negated
 * system errno (-ENOMEM, -EIO, ...) as liburing does, or one of the negated
 * project codes below, which start at ELIG_ERRNO_BASE so that they never
 * collide with a system errno. elig_strerror() names both kinds; the
 * network layer's codes (from ELIG_ERRNO_NET_BASE) are in
 * server/elig_net_error.h, whose elig_net_strerror() names every code.
 *
 * Messages never contain the offending value: a value may be personal data
 * (a name, a birth date, an insurance number), and messages end up in logs.
 */

/** First project-specific code; everything below it is a system errno. */
#define ELIG_ERRNO_BASE 1000

/**
 * First code of the network layer (the protocol, the client library, the
 * server): server/elig_net_error.h defines them and elig_net_strerror()
 * names them with these. The codes below it are the store's and the data's.
 * A code's number never changes once released: some travel on the wire.
 */
#define ELIG_ERRNO_NET_BASE 1100

enum elig_errno {
    ELIG_ESYNTAX = ELIG_ERRNO_BASE, /**< field does not have the required form */
    ELIG_EDATE,                     /**< not a calendar date, or outside the supported range */
    ELIG_ECHECKDIGIT,               /**< insurer number check digit does not match */
    ELIG_ELAWCODE,                  /**< law code is not one of an insurer */
    ELIG_EPREFECTURE,               /**< prefecture code is not 01-47 */
    ELIG_EUTF8,                     /**< bytes are not valid UTF-8 */
    ELIG_ECONTROL,                  /**< a control character where text is expected */
    ELIG_ETOOLONG,                  /**< longer than the field or line limit */
    ELIG_EEMPTY,                    /**< a required field is empty */
    ELIG_EKIND,                     /**< unknown event kind */
    ELIG_EFIELDS,                   /**< wrong number of fields for the event kind */
    ELIG_ERANGE,                    /**< a number or code outside its allowed set */
    ELIG_EORDER,                    /**< dates in an impossible order */
    ELIG_EOWNER,                    /**< source insurer does not own the key */
    ELIG_ENOCURRENT,                /**< no current qualification to change or lose */
    ELIG_EOVERLAP,                  /**< would create two open qualifications for a key */
    ELIG_ECARDSTATE,                /**< card event not allowed in the card's state */
    ELIG_ECARDOWNER,                /**< card is linked to another person */
    ELIG_ENOCARD,                   /**< no such card link */
    ELIG_ESEGMAGIC,                 /**< file is not an eligd segment */
    ELIG_ESEGVERSION,               /**< segment has another layout version */
    ELIG_ESEGSIZE,                  /**< segment file is truncated or of the wrong size */
    ELIG_ESEGCHECKSUM,              /**< segment header checksum does not match */
    ELIG_ENOHUGEPAGES,              /**< huge pages were required but none could be had */
    ELIG_EFULL,                     /**< index capacity exhausted: rebuild it larger */
    ELIG_EINTERRUPTED,              /**< index was left mid-change by a writer that died */
    ELIG_ELOGTAIL,                  /**< log has a torn or corrupt tail (see the tail report) */
    ELIG_ESNAPSHOT,                 /**< snapshot file is damaged (checksum or structure) */
    ELIG_ELOGGAP,                   /**< log does not reach back to the snapshot or index */
    /* 1029-1032: retired (the network layer's codes moved to ELIG_ERRNO_NET_BASE) */
    ELIG_ESHORTWRITE = ELIG_ERRNO_BASE + 33, /**< the file system took only part of a write,
                                                naming no error (on the wire: ADMIN_APPEND) */
    ELIG_ECHUNKID, /**< an update chunk id was reused for other events (on the wire) */
    /* 1035: retired, as 1029-1032 */
    ELIG_ESEGAHEAD = ELIG_ERRNO_BASE + 36, /**< the segment holds updates the store's log does
                                              not have */
    ELIG_ESTOREFILE,                       /**< the store's parameter file is damaged */
    ELIG_ESTOREPARAM, /**< an option disagrees with the store's recorded parameters */
    ELIG_ESTOREID,    /**< a file belongs to another store */
    ELIG_EGROWSIZE,   /**< a grown index must be larger than the current one, up to 2^31 */
    ELIG_ELAGFILE,    /**< the registration-lag file (DATA/lag) is damaged */
    ELIG_EKANA,       /**< a kana name a receipt system cannot show, or missing where the
                           kanji name needs it as its fallback */
    ELIG_ERRNO_END
};

/**
 * Name an error code.
 *
 * @param err  a value returned by any elig function (negative), or its absolute value.
 * @return     a static, constant string; never NULL. Unknown codes give "unknown error".
 *             Thread-safe.
 */
const char *elig_strerror(int err);

#endif
