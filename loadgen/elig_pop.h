/* SPDX-License-Identifier: MIT */
#ifndef ELIG_POP_H
#define ELIG_POP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"

/**
 * @file
 * A synthetic nation, person by person, as insurer feed lines
 * (docs/feed-format.md). Person i's lines are a pure function of (seed, N,
 * i): the population streams in any order, in parallel, and never has to
 * be held in memory; the same seed always gives the same bytes.
 *
 * What is drawn from the published tables (elig_tables.h): age band and sex
 * (population), holding a card by band and sex (held / population), the
 * share registered for insurance use (82% of holders), the prefecture
 * (online checks by prefecture), the card certificate's expiry fiscal year
 * (renewals due per fiscal year). What is assumed, and documented in
 * docs/loadgen.md: shares of insurance kinds under 75, dependents, insurer
 * counts per prefecture, names.
 */

/** Generation parameters. */
struct elig_pop_params {
    uint64_t records;  /**< qualification records, 3 current : 1 past (default 160,000,000) */
    uint64_t seed;     /**< any value; the same seed gives the same population */
    elig_date_t today; /**< the reference date ages and validity are drawn around */
};

/** A prepared generator (opaque): cumulative weights, insurer names. */
struct elig_pop;

/** Largest output of one person (elig_pop_person()), bytes. */
#define ELIG_POP_PERSON_MAX 2048

/** @return 0; -EINVAL (records 0 or over 2^31); -ENOMEM. */
int elig_pop_create(const struct elig_pop_params *p, struct elig_pop **out);
void elig_pop_destroy(struct elig_pop *pop);

/** The reference date (the one the population is "as of"). */
elig_date_t elig_pop_today(const struct elig_pop *pop);

/** Persons in the population (each has one current record; some a past one too). */
uint64_t elig_pop_persons(const struct elig_pop *pop);

/** Insurers in the population (their INSURER lines come first in a feed). */
size_t elig_pop_insurers(const struct elig_pop *pop);

/** The INSURER line of insurer i into buf (with its newline). @return bytes. */
size_t elig_pop_insurer_line(const struct elig_pop *pop, size_t i, char *buf, size_t cap);

/**
 * Person i's lines into buf (at least ELIG_POP_PERSON_MAX): a past
 * qualification and its loss (for one person in three), the current
 * qualification, and the card registration (for those registered).
 * Thread-safe on a shared pop. @return bytes written.
 */
size_t elig_pop_person(const struct elig_pop *pop, uint64_t i, char *buf, size_t cap);

/** What a facility would type or read for person i, as of the reference date. */
struct elig_pop_person_keys {
    char insurer[9], symbol[64], number[24], branch[3]; /**< the current qualification */
    uint32_t birth;                                     /**< YYYYMMDD */
    bool has_past;                                      /**< a lost earlier qualification */
    char past_insurer[9], past_symbol[64], past_number[24];
    uint64_t card;        /**< the card's id (whether registered or not) */
    bool holds;           /**< holds a card */
    bool registered;      /**< registered for insurance use */
    uint32_t cert_expiry; /**< YYYYMMDD, when registered */
};

/** The keys of person i (a pure function, as elig_pop_person()). */
void elig_pop_keys(const struct elig_pop *pop, uint64_t i, struct elig_pop_person_keys *k);

/** Whether insurer number (as written in feeds) registers in monthly batches. */
bool elig_pop_batch_insurer(const struct elig_pop *pop, const char *number);

/** Days of the month of updates: the month that starts at the reference date. */
unsigned elig_pop_month_days(const struct elig_pop *pop);

/**
 * Receives one update line (with its newline) and the day of the month it
 * arrives (0-based): its effective day plus the insurer's registration lag
 * for acquisitions, losses and changes, its effective day for card events.
 */
typedef void (*elig_pop_emit_fn)(void *ctx, unsigned day, const char *line, size_t len);

/**
 * Person i's updates in the month that starts at the reference date, at
 * the rates of docs/loadgen.md: a death, turning 75 (a move to the
 * late-stage elderly union), a change of insurer, a statutory co-payment
 * change, a limit category change, a child born, and card events
 * (registration, certificate renewal, de-registration, return). Every event
 * applies to the population as generated (each is valid against it),
 * whatever the order of arrival. Acquisitions, losses and changes arrive
 * with a registration lag (docs/loadgen.md): 88% within the 5 days allowed
 * (10 for changes), the rest up to 30 days, and 15-60 days from the one
 * insurer in ten that registers in monthly batches; no later than the
 * month's last day. Thread-safe on a shared pop.
 */
void elig_pop_updates(const struct elig_pop *pop, uint64_t i, elig_pop_emit_fn emit, void *ctx);

#endif
