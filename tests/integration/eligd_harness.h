/* SPDX-License-Identifier: MIT */
#ifndef ELIGD_HARNESS_H
#define ELIGD_HARNESS_H

/*
 * eligd as a real process for integration tests: start it on a fresh store
 * (synchronised on its ready line, its exit on a pidfd), load the sample
 * feed through the admin socket, stop it and check its log holds no
 * personal data; and the sample feed's checks with the answers they must
 * get. Shared by the TCP and the DPDK integration tests.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elig_client.h"
#include "elig_feed.h"
#include "elig_proto.h"
#include "elig_update.h"
#include "test_support.h"

#define TIMEOUT_MS 20000
#define FACILITY   "1310000001"
#define PHARMACY   "1340000001"

struct server {
    pid_t pid;
    int pidfd;
    char dir[256], data[300], seg[300], sock[320], log[320];
    char addr[64];
    char ready[256];                   /* eligd's ready line */
    char registry[320];                /* DATA/facilities: FACILITY and PHARMACY */
    uint8_t key[32], pharmacy_key[32]; /* their keys */
};

/* The running test's server, for teardown (the one global: see eligd_harness.c). */
extern struct server running;

/* poll() one fd for input; returns poll's result. */
int wait_readable(int fd, int timeout_ms);
/* Run eligd on the store of s (made by server_start) with extra options; reads its ready line. */
void server_exec(struct server *s, const char *const *extra);
/* Start eligd on a fresh store with extra options (NULL-terminated); fills s. Skips without $ELIGD.
 */
void server_start(struct server *s, const char *const *extra);
/* SIGTERM, then wait (bounded) for the exit; returns the exit status. */
int server_stop(struct server *s);
/* Send sig, then wait (bounded) for the exit; returns the exit status (128 + signal if killed). */
int server_signal(struct server *s, int sig);
/* The log must not hold personal data of the sample feed. */
void assert_log_clean(const struct server *s);
/* Fail if DATA/audit holds personal data in clear; returns the audit files seen. */
size_t assert_audit_clean(const struct server *s);
/* Remove the store and files of a stopped server. */
void server_remove(struct server *s);
/* Stop (exit 0 required), check the log, remove. */
void server_finish(struct server *s);
struct elig_client *connect_to(const char *addr);
/* Connect to s's facility port and authenticate as FACILITY. */
struct elig_client *connect_fac(const struct server *s);
/* Write s's registry (FACILITY, PHARMACY) before eligd starts; server_start does it. */
void registry_make(struct server *s);
/* ADMIN_APPEND of evs; returns the frame status, statuses into st. */
uint8_t admin_append(struct elig_client *c, const struct elig_event *evs, size_t n, int32_t *st);
/* Load docs/examples/sample.feed through the admin socket. */
void load_sample(const struct server *s);
void start_loaded(struct server *s, const char *const *extra);

/* The date of service the sample feed's checks use. */
#define SAMPLE_DATE 20250301

/* A number check of FACILITY. */
struct elig_proto_number number(const char *insurer, const char *symbol, const char *num,
                                const char *branch, uint32_t birth, uint32_t date);

struct expect {
    const char *name;
    bool card;
    struct elig_proto_number q;
    uint64_t card_id;
    uint32_t date;
    uint8_t validity, refusal, flags, count;
};

/* The sample feed's checks: every validity code and card refusal. */
#define NEXPECT 12
extern const struct expect expects[NEXPECT];

/* Queue the request of expects[i] on c. */
void queue_expect(struct elig_client *c, size_t i, uint32_t *id);
/* Encode the request body of expects[i] into b (its opcode into *op). */
void encode_expect(struct elig_pbuf *b, size_t i, uint8_t *op);
/* Fail unless a is the answer expects[i] must get. */
void assert_expected(size_t i, const struct elig_proto_answer *a);
/* Receive one answer of request id on c. */
void recv_answer(struct elig_client *c, uint32_t id, struct elig_proto_answer *a);
/* ACQUIRE events of numbers first..first+n-1 (insurer 01130012, symbol 88); 0 or -1. */
int make_acquires(struct elig_event *evs, int first, int n);
/* One counter of a STATS (or ADMIN_STATS) answer on c. */
uint64_t server_stat(struct elig_client *c, uint8_t opcode, const char *name);
/* Teardown: kill and remove a server an assertion left behind. */
int teardown(void **state);

#endif
