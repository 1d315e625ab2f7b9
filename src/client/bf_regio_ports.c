/*  bf_regio_ports - see bf_regio_ports.h.  A small Verilog tokenizer that
    reads only what a module's port declarations need. */
#include "bf_regio_ports.h"
#include "bf_design_scan.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
    char tok[128];
} s_lex_t;

/*  The next token into lx->tok: an identifier or number (letters, digits,
    _, $, ', .), or one punctuation character; "" at the end.  Comments,
    attributes (* ... *) and strings are skipped. */
static const char *
s_next (s_lex_t *lx)
{
    for (;;) {
        lx->p = bf_verilog_skip (lx->p, lx->end, true);
        if (lx->p < lx->end && *lx->p == '"') {
            for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++)
                if (*lx->p == '\\')
                    lx->p++;
            lx->p++;
            continue;
        }
        break;
    }
    size_t n = 0;
    if (lx->p >= lx->end)
        lx->tok[0] = '\0';
    else if (isalnum ((unsigned char) *lx->p) || strchr ("_$'`", *lx->p)) {
        while (lx->p < lx->end && (isalnum ((unsigned char) *lx->p) || strchr ("_$'.", *lx->p)
                                   || (n == 0 && *lx->p == '`'))) {
            if (n + 1 < sizeof lx->tok)
                lx->tok[n++] = *lx->p;
            lx->p++;
        }
        lx->tok[n] = '\0';
    }
    else {
        lx->tok[0] = *lx->p++;
        lx->tok[1] = '\0';
    }
    return lx->tok;
}

static bool
s_is (const s_lex_t *lx, const char *w)
{
    return strcmp (lx->tok, w) == 0;
}

static bool
s_ident (const char *t)
{
    return (isalpha ((unsigned char) t[0]) || t[0] == '_') && !strchr (t, '\'');
}

static int
s_number (const char *t)
{
    char *e;
    long v = strtol (t, &e, 10);
    return *t && !*e && v >= 0 && v < 4096 ? (int) v : -1;
}

int
bf_regio_ports_read (bf_regio_port_t *ports, int *n, const char *text, size_t len,
                     const char *top)
{
    s_lex_t lx = { text, text + len, "" };
    *n = 0;
    bool found = false;
    while (!found && *s_next (&lx))
        if (s_is (&lx, "module") && strcmp (s_next (&lx), top) == 0)
            found = true;
    if (!found)
        return bf_error_set (BF_ENOTFOUND, "no module '%s'", top);
    char dir = 0;
    int msb = 0, lsb = 0, skip = 0;
    while (*s_next (&lx) && !s_is (&lx, "endmodule")) {
        if (s_is (&lx, "function") || s_is (&lx, "task"))
            skip++;
        else if (s_is (&lx, "endfunction") || s_is (&lx, "endtask"))
            skip -= skip > 0;
        if (skip)
            continue;
        if (s_is (&lx, "input") || s_is (&lx, "output") || s_is (&lx, "inout")) {
            dir = s_is (&lx, "input") ? 'i' : s_is (&lx, "output") ? 'o' : 'b';
            msb = lsb = 0;
            continue;
        }
        if (!dir)
            continue;
        if (s_is (&lx, "wire") || s_is (&lx, "reg") || s_is (&lx, "logic") || s_is (&lx, "signed")
            || s_is (&lx, "unsigned") || s_is (&lx, "var") || s_is (&lx, "tri"))
            continue;
        if (s_is (&lx, "[")) {   /* [msb:lsb]: numbers, else unknown */
            char a[128] = "", b[128] = "";
            int part = 0, depth = 1, toks[2] = { 0, 0 };
            while (depth > 0 && *s_next (&lx)) {
                if (s_is (&lx, "["))
                    depth++;
                else if (s_is (&lx, "]") && --depth == 0)
                    break;
                else if (s_is (&lx, ":") && depth == 1)
                    part = 1;
                else {
                    snprintf (part ? b : a, 128, "%s", lx.tok);
                    toks[part]++;
                }
            }
            msb = toks[0] == 1 ? s_number (a) : -1;
            lsb = toks[1] == 1 ? s_number (b) : -1;
            if (msb < 0 || lsb < 0)
                msb = lsb = -1;
            continue;
        }
        if (s_is (&lx, ";") || s_is (&lx, ")")) {
            dir = 0;
            continue;
        }
        if (s_is (&lx, ","))
            continue;
        size_t tl = strlen (lx.tok);
        if (s_ident (lx.tok) && tl < sizeof ports[0].name && *n < BF_REGIO_PORTS_MAX) {
            bf_regio_port_t *p = &ports[(*n)++];
            memcpy (p->name, lx.tok, tl + 1);
            p->dir = dir;
            p->msb = msb;
            p->lsb = lsb;
        }
    }
    return BF_OK;
}

/* ---------------------------------------------------------------------- */
/*  Roles                                                                   */

typedef enum { R_CLK, R_RST, R_ADR, R_DATI, R_DATO, R_WE, R_SEL, R_STB, R_CYC, R_ACK, R_ERR,
               R_N } s_role_t;

/*  A port's role, or -1. */
static int
s_role (const bf_regio_port_t *p, bool *active_low)
{
    char s[64];
    size_t n = strlen (p->name);
    for (size_t i = 0; i <= n; i++)
        s[i] = (char) tolower ((unsigned char) p->name[i]);
    char *t = s;
    if (n > 2 && (strncmp (t, "i_", 2) == 0 || strncmp (t, "o_", 2) == 0))
        t += 2, n -= 2;
    if (n > 2 && (strcmp (t + n - 2, "_i") == 0 || strcmp (t + n - 2, "_o") == 0))
        t[n -= 2] = '\0';
    *active_low = false;
    bool low = n > 2 && strcmp (t + n - 2, "_n") == 0;
    if (low)
        t[n -= 2] = '\0';
    const char *last = strrchr (t, '_') ? strrchr (t, '_') + 1 : t;
    struct { const char *w; int role; } words[] = {
        { "clk", R_CLK }, { "clock", R_CLK }, { "rst", R_RST }, { "reset", R_RST },
        { "rstn", R_RST }, { "resetn", R_RST }, { "adr", R_ADR }, { "addr", R_ADR },
        { "address", R_ADR }, { "dat", R_DATI }, { "data", R_DATI }, { "we", R_WE },
        { "sel", R_SEL }, { "stb", R_STB }, { "cyc", R_CYC }, { "ack", R_ACK },
        { "err", R_ERR } };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp (last, words[i].w) == 0) {
            int r = words[i].role;
            if (r == R_RST)
                *active_low = low || strcmp (last, "rstn") == 0 || strcmp (last, "resetn") == 0;
            if (r == R_DATI && p->dir == 'o')
                r = R_DATO;
            return r;
        }
    return -1;
}

static int
s_width (const bf_regio_port_t *p)
{
    return p->msb < 0 ? -1 : abs (p->msb - p->lsb) + 1;
}

int
bf_regio_ports_instance (char **out, const bf_regio_port_t *ports, int n, const char *top)
{
    *out = NULL;
    const bf_regio_port_t *by[R_N] = { 0 };
    bool rst_low = false;
    for (int i = 0; i < n; i++) {
        bool low;
        int r = s_role (&ports[i], &low);
        if (r < 0 || by[r])
            continue;
        bool want_out = r == R_DATO || r == R_ACK || r == R_ERR;
        if ((ports[i].dir == 'o') != want_out)
            continue;
        by[r] = &ports[i];
        if (r == R_RST)
            rst_low = low;
    }
    static const char *const needed[R_N][2] = {
        [R_CLK] = { "clock input", "wb_clk_i, clk, clk_i" },
        [R_ADR] = { "address input", "wb_adr_i, wbs_adr_i, i_wb_addr" },
        [R_DATO] = { "read data output", "wb_dat_o, wbs_dat_o, o_wb_data" },
        [R_WE] = { "write enable input", "wb_we_i, wbs_we_i" },
        [R_STB] = { "strobe input", "wb_stb_i, wbs_stb_i" },
        [R_ACK] = { "acknowledge output", "wb_ack_o, wbs_ack_o" } };
    for (int r = 0; r < R_N; r++)
        if (needed[r][0] && !by[r])
            return bf_error_set (BF_EINVAL, "--regio: the top '%s' has no Wishbone %s (a port "
                                 "named like %s)", top, needed[r][0], needed[r][1]);
    const bf_regio_port_t *a = by[R_ADR];
    for (int r = R_DATI; r <= R_DATO; r++)
        if (by[r] && s_width (by[r]) != 32)
            return bf_error_set (BF_EINVAL, "--regio: the top '%s' has %s '%s' of %d bits, not 32 "
                                 "(the bridge moves 32-bit words)", top,
                                 r == R_DATI ? "write data" : "read data", by[r]->name,
                                 s_width (by[r]));
    char adr[64];
    int aw = s_width (a);
    if (aw < 0)
        return bf_error_set (BF_EINVAL, "--regio: cannot tell the width of the address '%s' "
                             "(give its range in numbers)", a->name);
    if (a->lsb == 2 && a->msb > 2)   /* byte-address bits msb..2 */
        snprintf (adr, sizeof adr, "adr[%d:0]", a->msb - 2 > 29 ? 29 : a->msb - 2);
    else if (aw == 32)               /* a byte address */
        snprintf (adr, sizeof adr, "{adr, 2'b00}");
    else if (aw <= 30 && a->lsb == 0)
        snprintf (adr, sizeof adr, aw == 1 ? "adr[0]" : "adr[%d:0]", aw - 1);
    else
        return bf_error_set (BF_EINVAL, "--regio: cannot connect the address '%s' [%d:%d] "
                             "(want [29:0] or less for a word address, [31:0] or [N:2] for a "
                             "byte address)", a->name, a->msb, a->lsb);
    if (by[R_SEL] && s_width (by[R_SEL]) != 4)
        return bf_error_set (BF_EINVAL, "--regio: the byte select '%s' is not 4 bits",
                             by[R_SEL]->name);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream (&buf, &blen);
    fprintf (f, "// Written by submit --regio: the ports of '%s', by their Wishbone roles\n"
                "// (src/client/bf_regio_ports.h), on the bridge's nets.\n", top);
    fprintf (f, "%s user (\n", top);
    struct { int role; const char *net; } conn[] = {
        { R_CLK, "clk" }, { R_RST, rst_low ? "!rst" : "rst" }, { R_ADR, adr },
        { R_DATI, "dat_w" }, { R_DATO, "dat_r" }, { R_WE, "we" }, { R_SEL, "sel" },
        { R_STB, "stb" }, { R_CYC, "cyc" }, { R_ACK, "ack" }, { R_ERR, "err" } };
    bool first = true;
    for (size_t i = 0; i < sizeof conn / sizeof *conn; i++)
        if (by[conn[i].role]) {
            fprintf (f, "%s    .%s(%s)", first ? "" : ",\n", by[conn[i].role]->name, conn[i].net);
            first = false;
        }
    for (int i = 0; i < n; i++) {   /* the top's other inputs: tied low, not left floating */
        bool low, used = false;
        int r = s_role (&ports[i], &low);
        for (int k = 0; k < R_N; k++)
            used |= by[k] == &ports[i];
        if (!used && ports[i].dir == 'i' && (r < 0 || by[r] != &ports[i])) {
            fprintf (f, "%s    .%s(0)", first ? "" : ",\n", ports[i].name);
            first = false;
        }
    }
    fprintf (f, "\n);\n");
    if (!by[R_ERR])
        fprintf (f, "assign err = 1'b0;   // '%s' has no err output\n", top);
    fclose (f);
    *out = buf;
    return BF_OK;
}
