/* SPDX-License-Identifier: MIT */
#ifndef ELIG_OPT_H
#define ELIG_OPT_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * Command-line options from a table: what every program (eligd, eligctl,
 * elig-loadgen, elig-bench) parses its options with.
 *
 * A program describes each option once, as a row: its name, its type, where
 * its value goes in the program's options struct (offsetof), and the range or
 * the choices a value must be in. elig_opt_parse() reads "--NAME VALUE",
 * "--NAME=VALUE" and "--FLAG", checks each value against its row, stores it,
 * and leaves the other arguments (operands) in order at the end of argv.
 * Whatever it refuses it names in one line on stderr, "PROG: --NAME VALUE:
 * what a value must be". Values a row parses with a function of its own (dates, birth
 * dates) are not echoed: they may be personal data.
 *
 * Names are matched whole (no abbreviations: a script that works today
 * keeps working when an option is added). "--" ends the options. No global
 * state; getopt's is not used.
 */

/** How an option's value is read and stored. */
enum elig_opt_type {
    ELIG_OPT_FLAG, /**< no value: the bool field is set to true */
    ELIG_OPT_STR,  /**< the value as given: a const char * field */
    ELIG_OPT_UINT, /**< a whole decimal number from min to max, into an unsigned field of size bytes
                    */
    ELIG_OPT_DOUBLE, /**< a decimal number from dmin to dmax, into a double field */
    ELIG_OPT_CHOICE, /**< one of choices: its index, into an int field */
    ELIG_OPT_FUNC,   /**< parse(value, field) decides; refused values are described by what */
};

/** One option: a row of a program's table, which ends with a row of NULL name. */
struct elig_opt {
    const char *name;           /**< without the leading "--" */
    enum elig_opt_type type;    /**< how the value is read */
    size_t offset;              /**< of the field in the caller's struct (offsetof) */
    size_t size;                /**< ELIG_OPT_UINT: of the field, 1, 2, 4 or 8 bytes */
    uint64_t min, max;          /**< ELIG_OPT_UINT: the range, inclusive */
    double dmin, dmax;          /**< ELIG_OPT_DOUBLE: the range, inclusive */
    const char *const *choices; /**< ELIG_OPT_CHOICE: the values, NULL-terminated */
    int (*parse)(const char *value, void *field); /**< ELIG_OPT_FUNC: 0, or refused */
    const char *what;                             /**< ELIG_OPT_FUNC: what a value must be */
};

/* Rows, in the shape a table wants them (S is the options struct, F the field). */
#define ELIG_OPT_F(name, S, F)                                                                     \
    {                                                                                              \
        name, ELIG_OPT_FLAG, offsetof(S, F), 0, 0, 0, 0, 0, NULL, NULL, NULL                       \
    }
#define ELIG_OPT_S(name, S, F)                                                                     \
    {                                                                                              \
        name, ELIG_OPT_STR, offsetof(S, F), 0, 0, 0, 0, 0, NULL, NULL, NULL                        \
    }
#define ELIG_OPT_U(name, S, F, lo, hi)                                                             \
    {                                                                                              \
        name, ELIG_OPT_UINT, offsetof(S, F), sizeof(((S *)0)->F), lo, hi, 0, 0, NULL, NULL, NULL   \
    }
#define ELIG_OPT_D(name, S, F, lo, hi)                                                             \
    {                                                                                              \
        name, ELIG_OPT_DOUBLE, offsetof(S, F), 0, 0, 0, lo, hi, NULL, NULL, NULL                   \
    }
#define ELIG_OPT_C(name, S, F, list)                                                               \
    {                                                                                              \
        name, ELIG_OPT_CHOICE, offsetof(S, F), 0, 0, 0, 0, 0, list, NULL, NULL                     \
    }
#define ELIG_OPT_P(name, S, F, fn, text)                                                           \
    {                                                                                              \
        name, ELIG_OPT_FUNC, offsetof(S, F), 0, 0, 0, 0, 0, NULL, fn, text                         \
    }
#define ELIG_OPT_END                                                                               \
    {                                                                                              \
        NULL, ELIG_OPT_FLAG, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL                                    \
    }

/** elig_opt_parse()'s answer when --help or -h was among the options. */
#define ELIG_OPT_HELP 1

/**
 * Parse the options of argv[1..argc) into dst.
 *
 * @param prog  how messages name the program or command ("eligctl append")
 * @param opts  the table, ended by ELIG_OPT_END
 * @param dst   the options struct the rows' offsets are of
 * @param first set to the index of the first operand; operands are moved
 *              to argv[*first..argc) in their order
 * @return 0; ELIG_OPT_HELP (--help or -h given: print the usage, exit 0);
 *         -EINVAL (an unknown option, a missing or refused value, a value
 *         given to a flag: named on stderr). Not thread-safe on the same argv.
 */
int elig_opt_parse(const char *prog, const struct elig_opt *opts, int argc, char **argv, void *dst,
                   int *first);

/**
 * The row of opts named name (without "--"), or NULL.
 */
const struct elig_opt *elig_opt_find(const struct elig_opt *opts, const char *name);

/**
 * Set one option from a name and a value given elsewhere than on the
 * command line (a configuration file): checked as elig_opt_parse() checks
 * it. A flag takes true, yes, on or 1 (set) and false, no, off or 0
 * (cleared); a string must not be empty. The value is stored as given: a
 * string field points at value, which must outlive dst.
 *
 * @param why  on a refusal, what a value must be (never the value itself)
 * @return 0; -ENOENT (no row of that name); -EINVAL (the value is refused).
 *         Thread-safe for distinct dst.
 */
int elig_opt_set(const struct elig_opt *opts, const char *name, const char *value, void *dst,
                 char *why, size_t why_size);

/**
 * The value of row o in src as a configuration file would give it (a flag
 * as true or false, a choice by its name). Values parsed by a function of
 * their own (ELIG_OPT_FUNC: dates, perhaps personal) are not shown.
 * @return 0; 1 when the option is unset (a NULL string, a number below its
 *         range: the program's default applies) or not shown.
 */
int elig_opt_format(const struct elig_opt *o, const void *src, char *buf, size_t size);

#endif
