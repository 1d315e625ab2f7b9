/*  bf_project - bitfarm.ini (see bf_project.h). */
#include "bf_project.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const bf_project_key_t bf_project_keys[] = {
    { "sources", true },
    { "top", false }, { "device", false }, { "package", false }, { "pcf", false },
    { "freq", false }, { "seed", false }, { "define", true }, { "include", true },
    { "param", true }, { "synth-opt", true }, { "pnr-opt", true }, { "flow", false },
    { "delay", false }, { "root", false }, { "regio", false },
    { "toolchain", false }, { "priority", false }, { "timeout", false }, { "tag", true },
    { "program", false }, { "wait", false }, { "output", false },
    { NULL, false }
};

struct _bf_project_t {
    char *path, *dir, *shown;
    char *default_name;
    int default_line;
    bf_project_target_t *targets;
    size_t ntargets;
};

/*  The parse: the line being read, and the first error. */
typedef struct {
    bf_project_t *p;
    FILE *f;
    int line;
    int err_line;           /* 0: none */
    char err[512];
} s_parse_t;

static int
s_fail (s_parse_t *ps, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (s_parse_t *ps, const char *fmt, ...)
{
    if (ps->err_line == 0) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (ps->err, sizeof ps->err, fmt, ap);
        va_end (ap);
        ps->err_line = ps->line;
    }
    return 0;
}

/*  inih's reader: fgets, counting lines; a line longer than inih's buffer
    is an error of its own. */
static char *
s_reader (char *str, int num, void *stream)
{
    s_parse_t *ps = stream;
    char *r = fgets (str, num, ps->f);
    if (!r)
        return NULL;
    ps->line++;
    size_t n = strlen (r);
    if (n == (size_t) num - 1 && r[n - 1] != '\n' && !feof (ps->f)) {
        s_fail (ps, "line too long (at most %d characters; give a list key once per line)",
                num - 2);
        int c;
        while ((c = fgetc (ps->f)) != EOF && c != '\n')
            ;
    }
    return r;
}

static bool
s_target_name_ok (const char *s)
{
    if (!*s || strlen (s) > 64 || !strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789", *s))
        return false;
    return strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
           == strlen (s);
}

static bf_project_target_t *
s_target_get (bf_project_t *p, const char *name)
{
    for (size_t i = 0; i < p->ntargets; i++)
        if (strcmp (p->targets[i].name, name) == 0)
            return &p->targets[i];
    return NULL;
}

static int
s_handler (void *user, const char *section, const char *name, const char *value)
{
    s_parse_t *ps = user;
    bf_project_t *p = ps->p;
    if (ps->err_line)
        return 1;   /* only the first error is told */
    if (!*section)
        return s_fail (ps, "key '%.64s' outside a section (start with [TARGET])", name);
    if (strcmp (section, BF_PROJECT_SETTINGS) == 0) {
        if (strcmp (name, "default") != 0)
            return s_fail (ps, "unknown key '%.64s' in [%s] (known: default)", name, section);
        if (p->default_name)
            return s_fail (ps, "'default' given twice in [%s]", section);
        if (!*value)
            return s_fail (ps, "empty value for 'default' in [%s]", section);
        p->default_name = xstrdup (value);
        p->default_line = ps->line;
        return 1;
    }
    if (!s_target_name_ok (section))
        return s_fail (ps, "unknown section '[%.64s]' (a target's name is letters, digits, "
                       "'_', '.' and '-'; settings go in [%s])", section, BF_PROJECT_SETTINGS);
    const bf_project_key_t *k = bf_project_keys;
    while (k->name && strcmp (k->name, name) != 0)
        k++;
    if (!k->name)
        return s_fail (ps, "unknown key '%.64s' in [%s]", name, section);
    if (!*value)
        return s_fail (ps, "empty value for '%s' in [%s]", name, section);
    bf_project_target_t *t = s_target_get (p, section);
    if (!t) {
        if (p->ntargets >= BF_PROJECT_TARGETS_MAX)
            return s_fail (ps, "too many targets (at most %d)", BF_PROJECT_TARGETS_MAX);
        p->targets = xrealloc (p->targets, (p->ntargets + 1) * sizeof *p->targets);
        t = &p->targets[p->ntargets++];
        *t = (bf_project_target_t) { .name = xstrdup (section), .line = ps->line };
    }
    if (!k->multi)
        for (size_t i = 0; i < t->nentries; i++)
            if (t->entries[i].key == k->name)
                return s_fail (ps, "'%s' given twice in [%s] (first at line %d)", name, section,
                               t->entries[i].line);
    if (t->nentries >= BF_PROJECT_ENTRIES_MAX)
        return s_fail (ps, "too many keys in [%s] (at most %d)", section, BF_PROJECT_ENTRIES_MAX);
    t->entries = xrealloc (t->entries, (t->nentries + 1) * sizeof *t->entries);
    t->entries[t->nentries++] = (bf_project_entry_t) { k->name, xstrdup (value), ps->line };
    return 1;
}

int
bf_project_find (char **out, const char *dir)
{
    char *d = realpath (dir, NULL);
    if (!d)
        return bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", dir, strerror (errno));
    for (;;) {
        char *path = xasprintf ("%s%s%s", d, strcmp (d, "/") == 0 ? "" : "/", BF_PROJECT_FILE);
        if (access (path, F_OK) == 0) {
            free (d);
            *out = path;   /* transferred */
            return BF_OK;
        }
        free (path);
        char *slash = strrchr (d, '/');
        if (!slash || strcmp (d, "/") == 0)
            break;
        slash[slash == d ? 1 : 0] = '\0';
    }
    free (d);
    return bf_error_set (BF_ENOTFOUND, "no %s in '%s' or any directory above it",
                         BF_PROJECT_FILE, dir);
}

int
bf_project_load (bf_project_t **out, const char *path, const char *shown)
{
    return bf_project_load_text (out, path, shown, NULL, 0);
}

int
bf_project_load_text (bf_project_t **out, const char *path, const char *shown,
                      const char *text, size_t len)
{
    s_parse_t ps = { 0 };
    ps.f = text && len ? fmemopen ((void *) text, len, "r")
         : fopen (text ? "/dev/null" : path, "re");   /* fmemopen refuses size 0 */
    if (!ps.f)
        return bf_error_set (BF_EIO, "cannot open '%s': %s", shown, strerror (errno));
    bf_project_t *p = xcalloc (1, sizeof *p);
    ps.p = p;
    char *abs = realpath (path, NULL);
    p->path = abs ? abs : xstrdup (path);
    p->dir = xstrdup (p->path);
    char *slash = strrchr (p->dir, '/');
    if (slash)
        slash[slash == p->dir ? 1 : 0] = '\0';
    else {
        free (p->dir);
        p->dir = xstrdup (".");
    }
    p->shown = xstrdup (shown);
    int line = ini_parse_stream (s_reader, &ps, s_handler, &ps);
    int rc = BF_OK;
    if (ferror (ps.f))
        rc = bf_error_set (BF_EIO, "cannot read '%s': %s", shown, strerror (errno));
    else if (line > 0 && (ps.err_line == 0 || line < ps.err_line))
        rc = bf_error_set (BF_EINVAL, "%s:%d: syntax error (want [TARGET], KEY = VALUE or a "
                           "; comment)", shown, line);
    else if (ps.err_line)
        rc = bf_error_set (BF_EINVAL, "%s:%d: %s", shown, ps.err_line, ps.err);
    else if (line < 0)
        rc = bf_error_set (BF_ENOMEM, "out of memory reading '%s'", shown);
    else if (p->default_name && !s_target_get (p, p->default_name))
        rc = bf_error_set (BF_EINVAL, "%s:%d: default target '%.64s' is not defined", shown,
                           p->default_line, p->default_name);
    fclose (ps.f);
    if (rc != BF_OK) {
        bf_project_destroy (&p);
        return rc;
    }
    *out = p;   /* transferred */
    return BF_OK;
}

void
bf_project_destroy (bf_project_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_project_t *p = *self_p;
    for (size_t i = 0; i < p->ntargets; i++) {
        for (size_t j = 0; j < p->targets[i].nentries; j++)
            free (p->targets[i].entries[j].value);
        free (p->targets[i].entries);
        free (p->targets[i].name);
    }
    free (p->targets);
    free (p->default_name);
    free (p->path);
    free (p->dir);
    free (p->shown);
    free (p);
    *self_p = NULL;
}

const char *
bf_project_dir (const bf_project_t *self)
{
    return self->dir;
}

const char *
bf_project_shown (const bf_project_t *self)
{
    return self->shown;
}

size_t
bf_project_ntargets (const bf_project_t *self)
{
    return self->ntargets;
}

const bf_project_target_t *
bf_project_target_at (const bf_project_t *self, size_t i)
{
    return i < self->ntargets ? &self->targets[i] : NULL;
}

const bf_project_target_t *
bf_project_target (const bf_project_t *self, const char *name)
{
    return s_target_get ((bf_project_t *) self, name);
}

const bf_project_target_t *
bf_project_default (const bf_project_t *self)
{
    if (self->default_name)
        return s_target_get ((bf_project_t *) self, self->default_name);
    return self->ntargets ? &self->targets[0] : NULL;
}
