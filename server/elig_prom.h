/* SPDX-License-Identifier: MIT */
#ifndef ELIG_PROM_H
#define ELIG_PROM_H

#include "elig_check.h"
#include "elig_proto.h"
#include "elig_srv.h"

/**
 * @file
 * What the metrics endpoint serves, made from a running server's counters:
 * /metrics in the Prometheus text format (version 0.0.4) and /healthz.
 * Names follow Prometheus conventions (eligd_ prefix, _total counters, base
 * units: _seconds, _bytes); labels never carry a facility code or personal
 * data. docs/operations.md, "Metrics", lists the families.
 */

/**
 * Append the metrics text to out (grown as needed).
 * Thread-safe: reads published counters only, while the server runs.
 * @return 0; -ENOMEM.
 */
int elig_srv_metrics(const struct elig_srv *s, struct elig_pbuf *out);

/**
 * Write one family's HELP and TYPE lines: for another source of series on
 * the same endpoint (the UDP datapath). @return 0; -ENOMEM.
 */
int elig_prom_family(struct elig_pbuf *out, const char *name, const char *type, const char *help);

/** Write one sample ("name{labels} value"; labels may be ""). @return 0; -ENOMEM. */
int elig_prom_sample(struct elig_pbuf *out, const char *name, const char *labels, uint64_t v);

/**
 * Write the checker's counters (elig_check_stats' series) of one datapath,
 * each family's name with prefix in place of "eligd_" ("eligd_udp_answers_total").
 * @return 0; -ENOMEM.
 */
int elig_prom_checks(struct elig_pbuf *out, const char *prefix,
                     const struct elig_check_counters *c);

/**
 * Append the health document (one line of JSON: status "ready" or
 * "stopping", applied and durable LSN, records, uptime) to out.
 * Thread-safe. @return 0 (ready); 1 (stopping); -ENOMEM.
 */
int elig_srv_health(const struct elig_srv *s, struct elig_pbuf *out);

#endif
