/* SPDX-License-Identifier: MIT */
/*
 * elig_conf: a configuration file read through a program's option table.
 *
 * Design: libinih splits the file into keys and values; our reader function
 * hands it one line at a time and counts them, so every refusal names its
 * line, and refuses what inih would otherwise take silently (a line longer
 * than its buffer would be split in two; an indented line would continue the
 * previous value). Each value goes through elig_opt_set(), the same check a
 * command-line value gets. The first refusal is kept and the rest of the
 * file ignored. Values are copied (inih's buffer is reused per line) into a
 * list the caller frees after it no longer needs the options struct. Keys
 * seen are remembered by their row, to refuse a second occurrence. No
 * global state.
 */
#include "elig_conf.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_LINE_MAX 200 /* inih's line buffer (INI_MAX_LINE), the newline included */

struct elig_conf {
    char **strings; /* values the options struct may point at */
    size_t n, cap;
};

struct conf_read {
    FILE *f;
    const char *path;
    const struct elig_opt *opts;
    const char *const *refuse;
    void *dst;
    struct elig_conf *conf;
    unsigned line;  /* of the line inih was last given */
    unsigned *seen; /* per row: the line it was given on, 0 if not yet */
    char *err;
    size_t err_size;
    int rc; /* the first refusal */
};

static void refuse(struct conf_read *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct conf_read *r, int rc, const char *fmt, ...)
{
    if (r->rc)
        return;
    int n = snprintf(r->err, r->err_size, "%s:%u: ", r->path, r->line);
    if (n >= 0 && (size_t)n < r->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->rc = rc;
}

/* inih's reader: one line, counted; refuses lines it would split or join. */
static char *read_line(char *str, int num, void *stream)
{
    struct conf_read *r = stream;
    if (r->rc || fgets(str, num, r->f) == NULL)
        return NULL;
    r->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(r->f)) {
        refuse(r, -EINVAL, "line longer than %d characters", CONF_LINE_MAX - 2);
        return NULL;
    }
    if ((str[0] == ' ' || str[0] == '\t') && str[strspn(str, " \t\r\n")] != '\0' &&
        !strchr("#;", str[strspn(str, " \t")])) {
        refuse(r, -EINVAL,
               "an indented line would continue the previous value: values are "
               "one line each, keys start their line");
        return NULL;
    }
    return str;
}

static bool listed(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

static char *keep(struct elig_conf *c, const char *value)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **s = realloc(c->strings, cap * sizeof *s);
        if (s == NULL)
            return NULL;
        c->strings = s;
        c->cap = cap;
    }
    char *copy = strdup(value);
    if (copy)
        c->strings[c->n++] = copy;
    return copy;
}

/* inih's handler: one key of the file. Returns 1 (go on) or 0 (refused). */
static int take_key(void *user, const char *section, const char *name, const char *value)
{
    struct conf_read *r = user;
    if (r->rc)
        return 0;
    if (section[0]) {
        refuse(r, -EINVAL, "[%s]: this file has no sections (keys stand alone, as %s)", section,
               "listen = 127.0.0.1:7700");
        return 0;
    }
    const struct elig_opt *o = elig_opt_find(r->opts, name);
    if (o == NULL || listed(r->refuse, name)) {
        if (o)
            refuse(r, -EINVAL, "%s: given on the command line only", name);
        else
            refuse(r, -EINVAL,
                   "%s: unknown key (the keys are the options' names without \"--\"; --help "
                   "lists them)",
                   name);
        return 0;
    }
    unsigned *seen = &r->seen[o - r->opts];
    if (*seen) {
        refuse(r, -EINVAL, "%s: given twice (first on line %u)", name, *seen);
        return 0;
    }
    *seen = r->line;
    char *copy = keep(r->conf, value);
    if (copy == NULL) {
        refuse(r, -ENOMEM, "%s: out of memory", name);
        return 0;
    }
    char why[256];
    if (elig_opt_set(r->opts, name, copy, r->dst, why, sizeof why)) {
        refuse(r, -EINVAL, "%s: %s", name, why);
        return 0;
    }
    return 1;
}

int elig_conf_load(const char *path, const struct elig_opt *opts, const char *const *refuse_names,
                   void *dst, struct elig_conf **out, char *err, size_t err_size)
{
    *out = NULL;
    size_t rows = 0;
    while (opts[rows].name)
        rows++;
    struct conf_read r = { .path = path,
                           .opts = opts,
                           .refuse = refuse_names,
                           .dst = dst,
                           .err = err,
                           .err_size = err_size };
    r.conf = calloc(1, sizeof *r.conf);
    r.seen = calloc(rows + 1, sizeof *r.seen);
    if (r.conf == NULL || r.seen == NULL) {
        free(r.conf);
        free(r.seen);
        snprintf(err, err_size, "%s: out of memory", path);
        return -ENOMEM;
    }
    r.f = fopen(path, "re");
    struct stat st;
    int rc = 0;
    if (r.f == NULL) {
        rc = -errno;
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
    } else if (fstat(fileno(r.f), &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = -EISDIR;
        snprintf(err, err_size, "%s: not a regular file", path);
        fclose(r.f);
    } else {
        int bad = ini_parse_stream(read_line, &r, take_key, &r);
        if (r.rc == 0 && ferror(r.f)) {
            snprintf(err, err_size, "%s: read error", path);
            r.rc = -EIO;
        } else if (r.rc == 0 && bad > 0) { /* inih's own refusal: not "key = value" */
            snprintf(err, err_size, "%s:%d: not \"key = value\", a comment or empty", path, bad);
            r.rc = -EINVAL;
        }
        rc = r.rc;
        fclose(r.f);
    }
    free(r.seen);
    if (rc) {
        elig_conf_free(r.conf);
        return rc;
    }
    *out = r.conf;
    return 0;
}

void elig_conf_free(struct elig_conf *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->strings[i]);
    free(c->strings);
    free(c);
}

int elig_conf_print(FILE *out, const struct elig_opt *opts, const char *const *hide,
                    const void *src)
{
    char value[4200];
    for (const struct elig_opt *o = opts; o->name; o++) {
        if (listed(hide, o->name))
            continue;
        if (elig_opt_format(o, src, value, sizeof value))
            fprintf(out, "# %s =\n", o->name);
        else
            fprintf(out, "%s = %s\n", o->name, value);
    }
    return fflush(out) || ferror(out) ? -EIO : 0;
}
