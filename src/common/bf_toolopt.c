/*  bf_toolopt - see bf_toolopt.h. */
#include "bf_toolopt.h"
#include "bf_error.h"
#include "bf_proto.h"
#include "bf_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    S_FLAG,                     /* no value */
    S_INT,                      /* a decimal integer in [min, max] */
    S_REAL,                     /* a decimal number in [min, max], at most `decimals` places */
    S_CHOICE                    /* one of choices ("a|b|c") */
} s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    double min, max;
    int decimals;               /* S_REAL: most digits after the point; 0 = any */
    const char *choices;        /* S_CHOICE */
    const char *refused;        /* NULL: allowed; else why not */
} s_opt_t;

#define S_WRITES   "reads or writes files of its own; the farm names every file"
#define S_NOBITS   "stops before there is a bitstream"
#define S_NOEFFECT "changes nothing in the bitstream"
#define S_SCRIPT   "runs a Python script, which the farm does not run for anyone"

/*  yosys 0.23 `help synth_ice40`. */
static const s_opt_t s_synth[] = {
    { "-device", S_CHOICE, 0, 0, 0, "hx|lp|u", NULL },
    { "-noflatten", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-dff", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-retime", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-nocarry", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-nodffe", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-dffe_min_ce_use", S_INT, 0, 1000000, 0, NULL, NULL },
    { "-nobram", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-spram", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-dsp", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-noabc", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-abc2", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-abc9", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-flowmap", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-no-rw-check", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-top", S_FLAG, 0, 0, 0, NULL, "is set from --top" },
    { "-json", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "-blif", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "-edif", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "-vpr", S_FLAG, 0, 0, 0, NULL, "writes BLIF for VPR, which the farm does not run" },
    { "-run", S_FLAG, 0, 0, 0, NULL, "runs only part of the script, so no netlist may come out" },
};

/*  nextpnr-ice40 0.4 `--help`. */
static const s_opt_t s_pnr[] = {
    { "--seed", S_INT, 0, 2147483647, 0, NULL, NULL },
    { "--freq", S_REAL, 0.001, 1000, 3, NULL, NULL },
    { "--placer", S_CHOICE, 0, 0, 0, "sa|heap", NULL },
    { "--router", S_CHOICE, 0, 0, 0, "router1|router2", NULL },
    { "--threads", S_INT, 1, 256, 0, NULL, NULL },
    { "--slack_redist_iter", S_INT, 0, 1000000, 0, NULL, NULL },
    { "--cstrweight", S_REAL, 0, 1e6, 0, NULL, NULL },
    { "--starttemp", S_REAL, 0, 1e6, 0, NULL, NULL },
    { "--placer-budgets", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--ignore-loops", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--timing-allow-fail", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--no-tmdriv", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--placer-heap-alpha", S_REAL, 0, 1e6, 0, NULL, NULL },
    { "--placer-heap-beta", S_REAL, 0, 1e6, 0, NULL, NULL },
    { "--placer-heap-critexp", S_INT, 0, 1000, 0, NULL, NULL },
    { "--placer-heap-timingweight", S_INT, 0, 1000000, 0, NULL, NULL },
    { "--parallel-refine", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--tmg-ripup", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--router2-tmg-ripup", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--promote-logic", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--no-promote-globals", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--opt-timing", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--pcf-allow-unconstrained", S_FLAG, 0, 0, 0, NULL, NULL },
    { "--run", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--pre-pack", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--pre-place", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--pre-route", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--post-route", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--on-failure", S_FLAG, 0, 0, 0, NULL, S_SCRIPT },
    { "--json", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--write", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--asc", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--read", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--report", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--sdf", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--placed-svg", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--routed-svg", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--router2-heatmap", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--log", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "-l", S_FLAG, 0, 0, 0, NULL, S_WRITES },
    { "--pcf", S_FLAG, 0, 0, 0, NULL, "is set from submit --pcf" },
    { "--package", S_FLAG, 0, 0, 0, NULL, "is set from --package" },
    { "--top", S_FLAG, 0, 0, 0, NULL, "is set from --top" },
    { "--pack-only", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--no-route", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--no-place", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--no-pack", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--test", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--tmfuzz", S_FLAG, 0, 0, 0, NULL, S_NOBITS },
    { "--randomize-seed", S_FLAG, 0, 0, 0, NULL, "makes the build unrepeatable (give --seed N)" },
    { "-r", S_FLAG, 0, 0, 0, NULL, "makes the build unrepeatable (give --seed N)" },
    { "--force", S_FLAG, 0, 0, 0, NULL, NULL },
    { "-f", S_FLAG, 0, 0, 0, NULL, "is --force spelled short (write --force)" },
    { "--verbose", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "-v", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--quiet", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "-q", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--debug", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--debug-placer", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--debug-router", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--detailed-timing-report", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--sdf-cvc", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
    { "--no-print-critical-path-source", S_FLAG, 0, 0, 0, NULL, S_NOEFFECT },
};

typedef struct {
    const s_opt_t *opts;
    size_t n;
    const char *what;           /* the submit option, for messages */
} s_table_t;

static const s_table_t s_tables[] = {
    [BF_TOOL_SYNTH] = { s_synth, sizeof s_synth / sizeof s_synth[0], "--synth-opt" },
    [BF_TOOL_PNR] = { s_pnr, sizeof s_pnr / sizeof s_pnr[0], "--pnr-opt" },
};

const char *
bf_toolopt_tool_name (bf_tool_t tool)
{
    return tool == BF_TOOL_SYNTH ? "synth_ice40" : "nextpnr-ice40";
}

static const s_opt_t *
s_find (bf_tool_t tool, const char *name)
{
    const s_table_t *t = &s_tables[tool];
    for (size_t i = 0; i < t->n; i++)
        if (strcmp (t->opts[i].name, name) == 0)
            return &t->opts[i];
    return NULL;
}

/*  "-dsp -abc9 ..." : the allowed options, for messages. */
static void
s_allowed (char *buf, size_t size, bf_tool_t tool)
{
    const s_table_t *t = &s_tables[tool];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n && len + 1 < size; i++)
        if (!t->opts[i].refused) {
            int n = snprintf (buf + len, size - len, "%s%s", len ? " " : "", t->opts[i].name);
            if (n < 0)
                break;
            len += (size_t) n;
        }
}

static int
s_refuse_unknown (bf_tool_t tool, const char *name)
{
    char list[1024];
    s_allowed (list, sizeof list, tool);
    return bf_error_set (BF_EINVAL, "unknown %s option '%.64s' for %s (allowed: %s; see "
                         "docs/flows.md)", bf_toolopt_tool_name (tool), name,
                         s_tables[tool].what, list);
}

/*  Checks value against o; writes its canonical text into canon. */
static int
s_check_value (char canon[BF_TOOLOPT_VALUE_MAX + 1], bf_tool_t tool, const s_opt_t *o,
               const char *value)
{
    const char *tn = bf_toolopt_tool_name (tool);
    if (o->kind == S_FLAG) {
        if (value)
            return bf_error_set (BF_EINVAL, "%s option '%s' takes no value (got '%.32s')", tn,
                                 o->name, value);
        canon[0] = '\0';
        return BF_OK;
    }
    if (!value || !*value)
        return bf_error_set (BF_EINVAL, "%s option '%s' needs a value (%s %s%s)", tn, o->name,
                             s_tables[tool].what, o->name,
                             o->kind == S_CHOICE ? " with one of the values in the list" : " N");
    if (strlen (value) > BF_TOOLOPT_VALUE_MAX)
        return bf_error_set (BF_EINVAL, "%s option '%s': value '%.32s...' is too long (at most "
                             "%d bytes)", tn, o->name, value, BF_TOOLOPT_VALUE_MAX);
    if (o->kind == S_CHOICE) {
        size_t vl = strlen (value);
        for (const char *c = o->choices; *c;) {
            const char *bar = strchr (c, '|');
            size_t cl = bar ? (size_t) (bar - c) : strlen (c);
            if (cl == vl && strncmp (c, value, vl) == 0) {
                snprintf (canon, BF_TOOLOPT_VALUE_MAX + 1, "%s", value);
                return BF_OK;
            }
            c += cl + (bar ? 1 : 0);
        }
        return bf_error_set (BF_EINVAL, "bad value '%s' for %s option '%s' (allowed: %s)", value,
                             tn, o->name, o->choices);
    }
    /* A plain decimal: digits, and for reals one point between digits. */
    const char *p = value;
    int before = 0, after = -1;
    for (; *p; p++) {
        if (isdigit ((unsigned char) *p)) {
            if (after < 0)
                before++;
            else
                after++;
        }
        else if (*p == '.' && o->kind == S_REAL && after < 0)
            after = 0;
        else
            break;
    }
    char range[96];
    if (o->kind == S_INT)
        snprintf (range, sizeof range, "a whole number from %.0f to %.0f", o->min, o->max);
    else
        snprintf (range, sizeof range, "a decimal number from %g to %g%s", o->min, o->max,
                  o->decimals == 3 ? ", at most 3 decimals" : "");
    if (*p || before == 0 || after == 0 || (o->decimals && after > o->decimals))
        return bf_error_set (BF_EINVAL, "bad value '%s' for %s option '%s' (want %s)", value, tn,
                             o->name, range);
    errno = 0;
    double v = strtod (value, NULL);
    if (errno || v < o->min || v > o->max)
        return bf_error_set (BF_EINVAL, "value '%s' for %s option '%s' is out of range (want %s)",
                             value, tn, o->name, range);
    if (o->kind == S_INT)
        snprintf (canon, BF_TOOLOPT_VALUE_MAX + 1, "%lld", (long long) strtoll (value, NULL, 10));
    else
        snprintf (canon, BF_TOOLOPT_VALUE_MAX + 1, "%s", value);
    return BF_OK;
}

static int
s_put (json_t *opts, bf_tool_t tool, const char *name, const char *value)
{
    const s_opt_t *o = s_find (tool, name);
    if (!o)
        return s_refuse_unknown (tool, name);
    if (o->refused)
        return bf_error_set (BF_EINVAL, "%s option '%s' is not allowed: it %s (see the allowed "
                             "options in docs/flows.md)", bf_toolopt_tool_name (tool), name,
                             o->refused);
    char canon[BF_TOOLOPT_VALUE_MAX + 1];
    int rc = s_check_value (canon, tool, o, value);
    if (rc != BF_OK)
        return rc;
    if (json_object_get (opts, name))
        return bf_error_set (BF_EINVAL, "%s option '%s' is given twice", bf_toolopt_tool_name (tool),
                             name);
    if (json_object_size (opts) >= BF_TOOLOPT_MAX)
        return bf_error_set (BF_ETOOBIG, "too many %s options (limit %d)",
                             bf_toolopt_tool_name (tool), BF_TOOLOPT_MAX);
    json_object_set_new (opts, name, json_string (canon));
    return BF_OK;
}

int
bf_toolopt_add (json_t *opts, bf_tool_t tool, const char *spec, const char *value)
{
    char name[64];
    const char *sep = spec + strcspn (spec, "= \t");
    size_t nl = (size_t) (sep - spec);
    if (nl == 0 || nl >= sizeof name || spec[0] != '-')
        return bf_error_set (BF_EINVAL, "bad %s '%.64s' (want an option of %s such as %s)",
                             s_tables[tool].what, spec, bf_toolopt_tool_name (tool),
                             tool == BF_TOOL_SYNTH ? "-dsp" : "--placer heap");
    memcpy (name, spec, nl);
    name[nl] = '\0';
    const char *inline_value = *sep ? sep + 1 : NULL;
    if (inline_value)
        while (*inline_value == ' ' || *inline_value == '\t')
            inline_value++;
    if (inline_value && value)
        return bf_error_set (BF_EINVAL, "%s option '%s' has two values", bf_toolopt_tool_name (tool),
                             name);
    return s_put (opts, tool, name, inline_value ? inline_value : value);
}

int
bf_toolopt_normalize (json_t **out, bf_tool_t tool, json_t *in)
{
    *out = NULL;
    json_t *opts = json_object ();
    if (in && !json_is_object (in)) {
        json_decref (opts);
        return bf_error_set (BF_EINVAL, "%s options must be an object of OPTION: VALUE",
                             bf_toolopt_tool_name (tool));
    }
    if (in && json_object_size (in) > BF_TOOLOPT_MAX) {
        json_decref (opts);
        return bf_error_set (BF_ETOOBIG, "too many %s options (limit %d)",
                             bf_toolopt_tool_name (tool), BF_TOOLOPT_MAX);
    }
    const char *name;
    json_t *v;
    json_object_foreach (in, name, v) {
        if (!json_is_string (v)) {
            json_decref (opts);
            return bf_error_set (BF_EINVAL, "%s option '%.64s': the value must be a string",
                                 bf_toolopt_tool_name (tool), name);
        }
        const char *value = json_string_value (v);
        int rc = s_put (opts, tool, name, *value ? value : NULL);
        if (rc != BF_OK) {
            json_decref (opts);
            return rc;
        }
    }
    *out = opts;
    return BF_OK;
}
