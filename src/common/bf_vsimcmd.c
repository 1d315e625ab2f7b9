/*  bf_vsimcmd - see bf_vsimcmd.h. */
#include "bf_vsimcmd.h"
#include "bf_error.h"
#include "bf_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- profiles ---- */

static void
s_trim (char *s)
{
    char *e = s + strlen (s);
    while (e > s && isspace ((unsigned char) e[-1]))
        *--e = '\0';
    char *b = s;
    while (isspace ((unsigned char) *b))
        b++;
    memmove (s, b, strlen (b) + 1);
}

static int
s_int (long *out, const char *v, long min, long max, const char *name, int lineno)
{
    char *end = NULL;
    errno = 0;
    long x = strtol (v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        return bf_error_set (BF_EINVAL, "%s:%d: invalid number '%.40s' (want %ld..%ld)",
                             name, lineno, v, min, max);
    *out = x;
    return BF_OK;
}

static int
s_str (char *dst, size_t cap, const char *v, const char *name, int lineno)
{
    size_t n = strlen (v);
    if (n == 0 || n >= cap)
        return bf_error_set (BF_EINVAL, "%s:%d: value '%.40s' empty or too long (at most %zu)",
                             name, lineno, v, cap - 1);
    for (size_t i = 0; i < n; i++)
        if (!isalnum ((unsigned char) v[i]) && v[i] != '_' && v[i] != '-' && v[i] != ':')
            return bf_error_set (BF_EINVAL, "%s:%d: invalid character in '%.40s'", name, lineno, v);
    memcpy (dst, v, n + 1);
    return BF_OK;
}

enum { K_NAME = 1, K_DEVICE = 2, K_PACKAGE = 4, K_CLKPIN = 8, K_HZ = 16,
       K_RX = 32, K_TX = 64, K_BAUD = 128, K_ALL = 255 };

int
bf_regio_profile_parse (bf_regio_profile_t *out, const char *text, size_t len, const char *name)
{
    bf_regio_profile_t p;
    memset (&p, 0, sizeof p);
    if (len > BF_PROFILE_FILE_MAX)
        return bf_error_set (BF_ETOOBIG, "profile '%s' over %d bytes", name, BF_PROFILE_FILE_MAX);
    char section[16] = "";
    unsigned seen = 0;
    int rc = BF_OK;
    int lineno = 0;
    size_t pos = 0;
    while (pos < len && rc == BF_OK) {
        lineno++;
        const char *nl = memchr (text + pos, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
        char line[256];
        if (n >= sizeof line) {
            rc = bf_error_set (BF_EINVAL, "%s:%d: line too long", name, lineno);
            break;
        }
        memcpy (line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        char *hash = strchr (line, '#');
        if (hash)
            *hash = '\0';
        s_trim (line);
        if (!line[0])
            continue;
        if (line[0] == '[') {
            size_t l = strlen (line);
            if (line[l - 1] != ']' || l - 2 >= sizeof section) {
                rc = bf_error_set (BF_EINVAL, "%s:%d: bad section '%.40s'", name, lineno, line);
                break;
            }
            memcpy (section, line + 1, l - 2);
            section[l - 2] = '\0';
            if (strcmp (section, "board") && strcmp (section, "clock")
                && strcmp (section, "uart") && strcmp (section, "pcf"))
                rc = bf_error_set (BF_EINVAL, "%s:%d: unknown section '%s'", name, lineno, section);
            continue;
        }
        char *eq = strchr (line, '=');
        if (!eq) {
            rc = bf_error_set (BF_EINVAL, "%s:%d: want key = value", name, lineno);
            break;
        }
        *eq = '\0';
        char *key = line, *val = eq + 1;
        s_trim (key);
        s_trim (val);
        long x = 0;
#define IS(sec, k) (strcmp (section, sec) == 0 && strcmp (key, k) == 0)
        if (IS ("board", "name")) {
            rc = s_str (p.name, sizeof p.name, val, name, lineno); seen |= K_NAME;
        } else if (IS ("board", "device")) {
            rc = s_str (p.device, sizeof p.device, val, name, lineno); seen |= K_DEVICE;
        } else if (IS ("board", "package")) {
            rc = s_str (p.package, sizeof p.package, val, name, lineno); seen |= K_PACKAGE;
        } else if (IS ("clock", "pin")) {
            rc = s_int (&x, val, 0, 999, name, lineno); p.clk_pin = (int) x; seen |= K_CLKPIN;
        } else if (IS ("clock", "hz")) {
            rc = s_int (&x, val, 1000, 1000000000, name, lineno); p.clk_hz = (uint32_t) x;
            seen |= K_HZ;
        } else if (IS ("uart", "rx_pin")) {
            rc = s_int (&x, val, 0, 999, name, lineno); p.rx_pin = (int) x; seen |= K_RX;
        } else if (IS ("uart", "tx_pin")) {
            rc = s_int (&x, val, 0, 999, name, lineno); p.tx_pin = (int) x; seen |= K_TX;
        } else if (IS ("uart", "baud")) {
            rc = s_int (&x, val, 300, 12000000, name, lineno); p.baud = (uint32_t) x;
            seen |= K_BAUD;
        } else if (IS ("pcf", "line")) {
            if (p.npcf >= BF_PROFILE_PCF_MAX || strlen (val) > 120
                || strncmp (val, "set_io ", 7) != 0)
                rc = bf_error_set (BF_EINVAL, "%s:%d: bad pcf line (want at most %d "
                                   "'set_io ...' lines of 120 bytes)", name, lineno,
                                   BF_PROFILE_PCF_MAX);
            else
                strcpy (p.pcf[p.npcf++], val);
        } else {
            rc = bf_error_set (BF_EINVAL, "%s:%d: unknown key '%.40s' in [%s]", name, lineno,
                               key, section);
        }
#undef IS
    }
    if (rc == BF_OK && seen != K_ALL)
        rc = bf_error_set (BF_EINVAL, "profile '%s' lacks a key (want board name, device, "
                           "package, clock pin, hz, uart rx_pin, tx_pin, baud)", name);
    if (rc == BF_OK && p.clk_hz / p.baud < 4)
        rc = bf_error_set (BF_EINVAL, "profile '%s': baud %u too high for a %u Hz clock",
                           name, p.baud, p.clk_hz);
    if (rc == BF_OK)
        *out = p;
    return rc;
}

int
bf_regio_profile_load (bf_regio_profile_t *out, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = bf_file_read (&text, &len, path, BF_PROFILE_FILE_MAX);
    if (rc == BF_OK)
        rc = bf_regio_profile_parse (out, text, len, path);
    free (text);
    return rc;
}

uint32_t
bf_regio_divisor (uint32_t clk_hz, uint32_t baud)
{
    return baud ? (uint32_t) (((uint64_t) clk_hz + baud / 2) / baud) : 0;
}

/* ---- the Verilator command ---- */

static bool
s_ident (const char *s, size_t n)
{
    if (n == 0 || !(isalpha ((unsigned char) s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '$')
            return false;
    return true;
}

/*  "NAME" or "NAME=VALUE" with an identifier NAME. */
static bool
s_assign (const char *s, bool need_value)
{
    const char *eq = strchr (s, '=');
    if (!eq)
        return !need_value && s_ident (s, strlen (s));
    return s_ident (s, (size_t) (eq - s)) && strchr (eq + 1, '\n') == NULL;
}

typedef struct {
    char **v;
    size_t n, cap;
} s_vec_t;

static void
s_push (s_vec_t *a, char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->v = xrealloc (a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static bool
s_path_ok (const char *p)
{
    return p && p[0] && p[0] != '-' && !strchr (p, '\n');
}

int
bf_vsimcmd_argv (char ***out, const bf_vsimcmd_t *spec)
{
    s_vec_t a = { NULL, 0, 0 };
    int rc = BF_OK;
    const char *clk = spec->clk_port ? spec->clk_port : "clk";
    const char *rx = spec->rx_port ? spec->rx_port : "uart_rx";
    const char *tx = spec->tx_port ? spec->tx_port : "uart_tx";
    if (!s_path_ok (spec->mdir) || !s_path_ok (spec->model) || !s_path_ok (spec->harness)
        || !spec->top || !s_ident (spec->top, strlen (spec->top))) {
        rc = bf_error_set (BF_EINVAL, "verilator build needs mdir, model, harness and a top "
                           "module name");
        goto out;
    }
    if (spec->harness[0] != '/') {
        rc = bf_error_set (BF_EINVAL, "harness path '%.80s' is not absolute (make runs in "
                           "mdir)", spec->harness);
        goto out;
    }
    if (!s_ident (clk, strlen (clk)) || !s_ident (rx, strlen (rx)) || !s_ident (tx, strlen (tx))) {
        rc = bf_error_set (BF_EINVAL, "invalid port name among '%.40s', '%.40s', '%.40s'",
                           clk, rx, tx);
        goto out;
    }
    if (spec->nsources < 1 || spec->nsources > BF_VSIMCMD_LIST_MAX
        || spec->ndefines > BF_VSIMCMD_LIST_MAX || spec->nparams > BF_VSIMCMD_LIST_MAX
        || spec->nlibdirs > BF_VSIMCMD_LIST_MAX || spec->nincludes > BF_VSIMCMD_LIST_MAX) {
        rc = bf_error_set (BF_EINVAL, "verilator build: want 1..%d sources and at most %d "
                           "defines, params and library directories", BF_VSIMCMD_LIST_MAX,
                           BF_VSIMCMD_LIST_MAX);
        goto out;
    }
    s_push (&a, xstrdup (spec->verilator ? spec->verilator : "verilator"));
    static const char *const fixed[] = {
        "--cc", "--exe", "--build", "--build-jobs", "1", "-O2", "-Wno-fatal", "-Wno-lint",
        "-Wno-style", "-Wno-TIMESCALEMOD", "-Wno-ASSIGNIN", "--x-assign", "0", "--x-initial", "0",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        s_push (&a, xstrdup (fixed[i]));
    s_push (&a, xstrdup ("--top-module"));
    s_push (&a, xstrdup (spec->top));
    s_push (&a, xstrdup ("--prefix"));
    s_push (&a, xstrdup ("Vbfsim"));
    s_push (&a, xstrdup ("-Mdir"));
    s_push (&a, xstrdup (spec->mdir));
    s_push (&a, xstrdup ("-o"));
    s_push (&a, xstrdup (spec->model));
    for (size_t i = 0; i < spec->ndefines; i++) {
        if (!s_assign (spec->defines[i], false)) {
            rc = bf_error_set (BF_EINVAL, "invalid define '%.60s'", spec->defines[i]);
            goto out;
        }
        s_push (&a, xasprintf ("-D%s", spec->defines[i]));
    }
    if (spec->profile) {
        s_push (&a, xasprintf ("-GCLK_HZ=%u", (unsigned) spec->profile->clk_hz));
        s_push (&a, xasprintf ("-GBAUD=%u", (unsigned) spec->profile->baud));
    }
    for (size_t i = 0; i < spec->nparams; i++) {
        if (!s_assign (spec->params[i], true)) {
            rc = bf_error_set (BF_EINVAL, "invalid parameter '%.60s' (want NAME=VALUE)",
                               spec->params[i]);
            goto out;
        }
        s_push (&a, xasprintf ("-G%s", spec->params[i]));
    }
    for (size_t i = 0; i < spec->nlibdirs; i++) {
        if (!s_path_ok (spec->libdirs[i])) {
            rc = bf_error_set (BF_EINVAL, "invalid library directory '%.60s'", spec->libdirs[i]);
            goto out;
        }
        s_push (&a, xstrdup ("-y"));
        s_push (&a, xstrdup (spec->libdirs[i]));
    }
    for (size_t i = 0; i < spec->nincludes; i++) {
        if (!s_path_ok (spec->includes[i])) {
            rc = bf_error_set (BF_EINVAL, "invalid include directory '%.60s'", spec->includes[i]);
            goto out;
        }
        s_push (&a, xasprintf ("-I%s", spec->includes[i]));
    }
    s_push (&a, xstrdup ("-CFLAGS"));
    s_push (&a, xasprintf ("-DBF_VSIM_CLK=%s", clk));
    s_push (&a, xstrdup ("-CFLAGS"));
    s_push (&a, xasprintf ("-DBF_VSIM_RX=%s", rx));
    s_push (&a, xstrdup ("-CFLAGS"));
    s_push (&a, xasprintf ("-DBF_VSIM_TX=%s", tx));
    s_push (&a, xstrdup ("-CFLAGS"));
    s_push (&a, xstrdup ("-O1"));
    for (size_t i = 0; i < spec->nsources; i++) {
        if (!s_path_ok (spec->sources[i])) {
            rc = bf_error_set (BF_EINVAL, "invalid source path '%.60s'", spec->sources[i]);
            goto out;
        }
        s_push (&a, xstrdup (spec->sources[i]));
    }
    s_push (&a, xstrdup (spec->harness));
    *out = a.v;
    a.v = NULL;     /* transferred */
out:
    if (a.v)
        bf_vsimcmd_free (&a.v);
    return rc;
}

void
bf_vsimcmd_free (char ***argv_p)
{
    if (!argv_p || !*argv_p)
        return;
    for (char **p = *argv_p; *p; p++)
        free (*p);
    free (*argv_p);
    *argv_p = NULL;
}

/* ---- models taken from yosys's cells_sim.v ---- */

int
bf_vsim_extract_module (char **out, const char *text, size_t len, const char *name)
{
    size_t nl = strlen (name);
    if (!s_ident (name, nl) || nl > 64)
        return bf_error_set (BF_EINVAL, "invalid module name '%.64s'", name);
    for (size_t i = 0; i + 7 + nl < len; i++) {
        if ((i > 0 && text[i - 1] != '\n') || strncmp (text + i, "module ", 7) != 0
            || strncmp (text + i + 7, name, nl) != 0)
            continue;
        char c = text[i + 7 + nl];
        if (c != ' ' && c != '(' && c != '\t' && c != '\n' && c != '#')
            continue;
        for (size_t j = i + 7 + nl; j + 9 <= len; j++) {
            if (strncmp (text + j, "endmodule", 9) == 0 && text[j - 1] == '\n') {
                size_t n = j + 9 - i;
                if (n > BF_VSIM_MODULE_MAX)
                    return bf_error_set (BF_ETOOBIG, "module '%s' over %d bytes", name,
                                         BF_VSIM_MODULE_MAX);
                char *buf = xmalloc (n + 2);
                memcpy (buf, text + i, n);
                buf[n] = '\n';
                buf[n + 1] = '\0';
                *out = buf;     /* transferred */
                return BF_OK;
            }
        }
        break;
    }
    return bf_error_set (BF_ENOTFOUND, "no module '%s' in the library", name);
}
