/* SPDX-License-Identifier: MIT */
#ifndef ELIG_BENCH_H
#define ELIG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elig_date.h"
#include "elig_key.h"
#include "elig_record.h"
#include "elig_seg.h"

/* What elig-bench was asked; each benchmark reads the options it uses. */
struct bench_opts {
    uint64_t records;          /* records to build (index) or append (log) */
    const char *dir;           /* where the files go */
    const char *segment_dir;   /* store: where the index segment goes */
    enum elig_seg_pages pages; /* index: page policy */
    unsigned batch;            /* index: keys per batched call */
    double seconds;            /* index: length of a timed run */
    unsigned runs;             /* timed runs per measurement; medians are reported */
    unsigned threads;          /* log: concurrent appenders */
    unsigned window_us;        /* log: commit window */
    bool json;                 /* one JSON object instead of the table */
    bool keep;                 /* index: keep the segment file */
    int only;                  /* index: a phase to run alone, or -1 for all */
    const char *only_name;     /* --only as given (server: a workload's short name) */
    unsigned connections;      /* server: client connections */
    unsigned workers;          /* server: eligd worker threads */
    const char *eligd;         /* server: the eligd binary */
    const char *depths;        /* server: pipeline depths, comma-separated (default "1,16") */
    const char *peers;         /* server: redis, memcached, none (default "redis") */
    uint64_t peer_records;     /* server: records the peers hold (default: all) */
    bool secure;               /* server: also eligd with HELLO/AUTH and the audit log */
    bool tls;                  /* server: also eligd with TLS 1.3 (client certificates) */
    const char *audit_dir;     /* server: where --secure's audit log goes (a disk) */
    const char *frames;        /* dpdk: frames per datagram, comma-separated (default "1,8") */
    unsigned in_flight;        /* dpdk: datagrams in flight (default 64) */
    const char *servers;       /* cluster: every node's facility port, comma-separated */
    const char *admin;         /* cluster: the admin socket of the node appended through */
    unsigned rate;             /* cluster: events a second (default 10000) */
    uint64_t first;            /* cluster: the first synthetic record appended */
    uint64_t backlog;          /* lists: entries handed in as appointment lists */
};

#define INSURERS 4000

/* The synthetic population (elig_bench.c): record i is a function of i. */
struct bench_pop {
    uint64_t n;
    unsigned ninsurers;
    char insurers[INSURERS][ELIG_INSURER_LEN + 1];
};

void bench_insurers(struct bench_pop *pop);
elig_date_t bench_ymd(int y, int m, int d);
uint64_t bench_person(uint64_t i);
void bench_record(const struct bench_pop *pop, uint64_t i, elig_date_t today,
                  struct elig_record *r);
/* The card registered with record i (r), if i is its person's first record and the person
 * holds one. */
bool bench_card(uint64_t i, const struct elig_record *r, elig_date_t today, struct elig_card *c);

/* Monotonic seconds. */
double bench_now(void);

/* Sort n values ascending. */
void bench_sort(double *v, size_t n);

/* Remove a directory the benchmark made, and everything in it. */
void bench_rm_tree(const char *dir);

/* Median of n values (n <= 64). */
double bench_median(const double *v, unsigned n);

/* Peak resident set of this process, bytes. */
uint64_t bench_rss(void);

struct elig_index;
/* Create the segment at path and build o->records synthetic records into it (writer view). */
int bench_index_make(const struct bench_opts *o, struct bench_pop *pop, const char *path,
                     struct elig_index **ix, double *build);

/* The facility code every benchmark query carries. */
#define BENCH_FACILITY "1310000001"

struct elig_proto_number;
/* The number check of record i as of 2025-02-01 (r holds the strings q points into). */
void bench_number_query(const struct bench_pop *pop, uint64_t i, struct elig_record *r,
                        struct elig_proto_number *q);

/*
 * Run argv with its stdout on a pipe until a line containing ready (copied
 * into line); the child goes on. @return its pid; -1 (it ended first).
 */
pid_t bench_spawn_until(char *const argv[], const char *ready, char *line, size_t size);
/* SIGTERM and reap (pid <= 0: nothing). */
/** Run argv[0] (stdout to /dev/null) and wait. @return its exit status; 128+signal; -1. */
int bench_run(char *const argv[]);
void bench_stop(pid_t pid);

int bench_index(const struct bench_opts *o);
int bench_server(const struct bench_opts *o);
int bench_dpdk(const struct bench_opts *o);
int bench_log(const struct bench_opts *o);
int bench_store(const struct bench_opts *o);
int bench_tls(const struct bench_opts *o);
int bench_cluster(const struct bench_opts *o);
int bench_lists(const struct bench_opts *o);
/** eligctl's path: beside the eligd of o. */
void bench_eligctl(const struct bench_opts *o, char *out, size_t size);
/**
 * In a new directory dir, made with eligctl: ca/ (a CA), server.key and
 * server.crt (for 127.0.0.1), facilities (BENCH_FACILITY registered) and
 * certs/BENCH_FACILITY.key and .crt. @return 0; -errno; -EIO (eligctl failed, said why).
 */
int bench_tls_make(const struct bench_opts *o, const char *dir);

#endif
