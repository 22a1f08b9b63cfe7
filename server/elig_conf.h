/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CONF_H
#define ELIG_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "elig_opt.h"

/**
 * @file
 * A program's configuration file: the same options as its command line, one
 * "key = value" line each, read into the same options struct through the
 * same table (elig_opt), so a key means exactly what its flag means and is
 * checked the same way.
 *
 * The file is INI as libinih reads it, with eligd's rules on top: keys are
 * the flags' names without "--"; no sections; a flag's value is true or
 * false; one line per value (INI's indented continuation lines are refused);
 * a key given twice, an unknown key, a refused value, a line over 198
 * characters or a file that cannot be read is refused as "FILE:LINE: what".
 * Lines starting with '#' or ';' are comments, as is the rest of a line
 * after " ;".
 *
 * A command line given after the file overrides it (the caller parses argv
 * into the same struct after elig_conf_load()).
 */

/** The strings read from a file (opaque): string options point into it until freed. */
struct elig_conf;

/**
 * Read path into dst through opts.
 *
 * @param refuse  names that are valid on the command line only (NULL-ended;
 *                NULL for none): given in the file, they are refused
 * @param err     on failure, one line: "PATH:LINE: key: what is wrong" or
 *                "PATH: why it cannot be read" (values are not echoed)
 * @return 0 and *out (free with elig_conf_free once dst is no longer used);
 *         -errno (unreadable: -ENOENT, -EACCES, -EISDIR, ...); -EINVAL (a
 *         line refused); -ENOMEM. Thread-safe for distinct dst.
 */
int elig_conf_load(const char *path, const struct elig_opt *opts, const char *const *refuse,
                   void *dst, struct elig_conf **out, char *err, size_t err_size);

/** Free what elig_conf_load() kept; NULL is a no-op. */
void elig_conf_free(struct elig_conf *c);

/**
 * Write src as a configuration file: every row of opts not in hide, as
 * "key = value", an unset one as "# key =" (elig_opt_format says how).
 * @return 0; -EIO (a write failed).
 */
int elig_conf_print(FILE *out, const struct elig_opt *opts, const char *const *hide,
                    const void *src);

#endif
