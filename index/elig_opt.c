/* SPDX-License-Identifier: MIT */
/*
 * elig_opt: command-line options from a table.
 *
 * Design: one pass over argv. An argument starting with "--" is looked up by
 * its whole name in the caller's table (a linear scan: tables hold a few
 * dozen rows and a command line is read once); its value is the text after
 * '=' or the next argument; the row's type says how the value is checked
 * and stored at dst + offset. Every other argument is an operand, kept in a
 * scratch array and written back to the end of argv in order, so options
 * and operands may come in any order, as with GNU getopt. A refusal prints
 * one line and stops the pass. No state beyond the call.
 */
#include "elig_opt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_text.h"

static const struct elig_opt *find(const struct elig_opt *opts, const char *name, size_t len)
{
    for (const struct elig_opt *o = opts; o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static void store_uint(void *field, size_t size, uint64_t v)
{
    switch (size) {
    case 1: {
        uint8_t x = (uint8_t)v;
        memcpy(field, &x, 1);
        break;
    }
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(field, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
        break;
    }
    default:
        memcpy(field, &v, 8);
    }
}

/* A decimal number, all of s, from lo to hi. */
static int text_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (*s == '\0' || *s == ' ' || *s == '+' || *s == '-')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !(v >= lo && v <= hi))
        return -EINVAL;
    *out = v;
    return 0;
}

/*
 * Check and store the value of o. A refused value leaves *why saying what a
 * value must be (never the value: it may be personal).
 */
static int store(const struct elig_opt *o, const char *value, void *dst, char *why, size_t size)
{
    void *field = (char *)dst + o->offset;
    uint64_t u;
    double d;
    switch (o->type) {
    case ELIG_OPT_FLAG:
        if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
            strcmp(value, "on") == 0 || strcmp(value, "1") == 0) {
            *(bool *)field = true;
            return 0;
        }
        if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "off") == 0 ||
            strcmp(value, "0") == 0) {
            *(bool *)field = false;
            return 0;
        }
        snprintf(why, size, "not true or false");
        return -EINVAL;
    case ELIG_OPT_STR:
        if (*value == '\0') {
            snprintf(why, size, "needs a value");
            return -EINVAL;
        }
        *(const char **)field = value;
        return 0;
    case ELIG_OPT_UINT:
        if (elig_text_uint(value, o->min, o->max, &u) == 0) {
            store_uint(field, o->size, u);
            return 0;
        }
        snprintf(why, size, "not a whole number from %llu to %llu", (unsigned long long)o->min,
                 (unsigned long long)o->max);
        return -EINVAL;
    case ELIG_OPT_DOUBLE:
        if (text_double(value, o->dmin, o->dmax, &d) == 0) {
            *(double *)field = d;
            return 0;
        }
        snprintf(why, size, "not a number from %g to %g", o->dmin, o->dmax);
        return -EINVAL;
    case ELIG_OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(value, o->choices[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        size_t n = (size_t)snprintf(why, size, "not one of");
        for (int i = 0; o->choices[i] && n < size; i++)
            n += (size_t)snprintf(why + n, size - n, "%s %s", i ? "," : "", o->choices[i]);
        return -EINVAL;
    case ELIG_OPT_FUNC:
        if (o->parse(value, field) == 0)
            return 0;
        snprintf(why, size, "not %s", o->what);
        return -EINVAL;
    }
    snprintf(why, size, "of no known type");
    return -EINVAL;
}

/* Check and store the value of o; one line on stderr if it is refused. */
static int take(const char *prog, const struct elig_opt *o, const char *value, void *dst)
{
    char why[256];
    int rc = store(o, value, dst, why, sizeof why);
    if (rc == 0)
        return 0;
    bool echo =
        o->type == ELIG_OPT_UINT || o->type == ELIG_OPT_DOUBLE || o->type == ELIG_OPT_CHOICE;
    fprintf(stderr, "%s: --%s%s%s: %s\n", prog, o->name, echo ? " " : "", echo ? value : "", why);
    return rc;
}

const struct elig_opt *elig_opt_find(const struct elig_opt *opts, const char *name)
{
    return find(opts, name, strlen(name));
}

int elig_opt_set(const struct elig_opt *opts, const char *name, const char *value, void *dst,
                 char *why, size_t why_size)
{
    const struct elig_opt *o = find(opts, name, strlen(name));
    if (o == NULL) {
        snprintf(why, why_size, "unknown");
        return -ENOENT;
    }
    return store(o, value, dst, why, why_size);
}

static uint64_t load_uint(const void *field, size_t size)
{
    uint8_t b1;
    uint16_t b2;
    uint32_t b4;
    uint64_t b8;
    switch (size) {
    case 1:
        memcpy(&b1, field, 1);
        return b1;
    case 2:
        memcpy(&b2, field, 2);
        return b2;
    case 4:
        memcpy(&b4, field, 4);
        return b4;
    default:
        memcpy(&b8, field, 8);
        return b8;
    }
}

int elig_opt_format(const struct elig_opt *o, const void *src, char *buf, size_t size)
{
    const void *field = (const char *)src + o->offset;
    const char *s;
    switch (o->type) {
    case ELIG_OPT_FLAG:
        snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
        return 0;
    case ELIG_OPT_STR:
        s = *(const char *const *)field;
        snprintf(buf, size, "%s", s ? s : "");
        return s ? 0 : 1;
    case ELIG_OPT_UINT: /* below the range: not given (the program's default applies) */
        snprintf(buf, size, "%llu", (unsigned long long)load_uint(field, o->size));
        return load_uint(field, o->size) < o->min;
    case ELIG_OPT_DOUBLE:
        snprintf(buf, size, "%g", *(const double *)field);
        return !(*(const double *)field >= o->dmin);
    case ELIG_OPT_CHOICE:
        snprintf(buf, size, "%s", o->choices[*(const int *)field]);
        return 0;
    case ELIG_OPT_FUNC:
        break;
    }
    snprintf(buf, size, "(not shown)");
    return 1;
}

int elig_opt_parse(const char *prog, const struct elig_opt *opts, int argc, char **argv, void *dst,
                   int *first)
{
    char **operands = calloc((size_t)(argc > 0 ? argc : 1), sizeof *operands);
    if (operands == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -ENOMEM;
    }
    int n = 0, rc = 0, i = 1;
    bool help = false;
    for (; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = true;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') { /* "-" is an operand (standard input) */
            operands[n++] = argv[i];
            continue;
        }
        if (a[1] != '-') {
            fprintf(stderr, "%s: unknown option %s (options are --NAME; --help lists them)\n", prog,
                    a);
            rc = -EINVAL;
            break;
        }
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const struct elig_opt *o = find(opts, a + 2, len);
        if (o == NULL) {
            fprintf(stderr, "%s: unknown option --%.*s (--help lists them)\n", prog, (int)len,
                    a + 2);
            rc = -EINVAL;
        } else if (o->type == ELIG_OPT_FLAG && eq) {
            fprintf(stderr, "%s: --%s takes no value\n", prog, o->name);
            rc = -EINVAL;
        } else if (o->type == ELIG_OPT_FLAG) {
            rc = take(prog, o, NULL, dst);
        } else if (eq) {
            rc = take(prog, o, eq + 1, dst);
        } else if (i + 1 < argc) {
            rc = take(prog, o, argv[++i], dst);
        } else {
            fprintf(stderr, "%s: --%s needs a value\n", prog, o->name);
            rc = -EINVAL;
        }
    }
    for (; i < argc && rc == 0; i++) /* after "--": operands, whatever they look like */
        operands[n++] = argv[i];
    if (rc == 0) {
        memcpy(argv + argc - n, operands, (size_t)n * sizeof *operands);
        *first = argc - n;
    }
    free(operands);
    return rc ? rc : help ? ELIG_OPT_HELP : 0;
}
