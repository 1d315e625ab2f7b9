/*  bf_design_scan - see bf_design_scan.h. */
#include "bf_design_scan.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef enum { S_END, S_IDENT, S_SYS, S_DIRECTIVE, S_STRING, S_PUNCT } s_type_t;

typedef struct {
    s_type_t type;
    char text[BF_SCAN_NAME_MAX + 1];   /* identifier or string contents; "" if unusable */
    char punct;
} s_tok_t;

typedef struct {
    const char *p, *end;
} s_lex_t;

static bool
s_ident_char (char c)
{
    return isalnum ((unsigned char) c) || c == '_' || c == '$';
}

const char *
bf_verilog_skip (const char *p, const char *end, bool attributes)
{
    for (;;) {
        while (p < end && isspace ((unsigned char) *p))
            p++;
        if (p + 1 < end && p[0] == '/' && p[1] == '/') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        bool comment = p + 1 < end && p[0] == '/' && p[1] == '*';
        bool attribute = attributes && p + 2 < end && p[0] == '(' && p[1] == '*' && p[2] != ')';
        if (comment || attribute) {
            char close = comment ? '/' : ')';
            p += 2;
            while (p + 1 < end && !(p[0] == '*' && p[1] == close))
                p++;
            p = p + 1 < end ? p + 2 : end;
            continue;
        }
        return p;
    }
}

/*  The next token, comments and white space skipped. */
static void
s_next (s_lex_t *lx, s_tok_t *t)
{
    t->text[0] = '\0';
    t->punct = 0;
    lx->p = bf_verilog_skip (lx->p, lx->end, false);
    if (lx->p >= lx->end) {
        t->type = S_END;
        return;
    }
    char c = *lx->p;
    if (c == '"') {
        /* A string literal; usable as a file name only when plain. */
        t->type = S_STRING;
        const char *s = ++lx->p;
        bool plain = true;
        while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
            if (*lx->p == '\\') {
                plain = false;
                if (lx->p + 1 < lx->end)
                    lx->p++;
            }
            lx->p++;
        }
        size_t n = (size_t) (lx->p - s);
        if (lx->p < lx->end && *lx->p == '"')
            lx->p++;
        else
            plain = false;   /* unterminated on its line */
        if (plain && n > 0 && n <= BF_SCAN_NAME_MAX) {
            memcpy (t->text, s, n);
            t->text[n] = '\0';
        }
        return;
    }
    if (c == '`' || c == '$' || isalpha ((unsigned char) c) || c == '_') {
        t->type = c == '`' ? S_DIRECTIVE : c == '$' ? S_SYS : S_IDENT;
        const char *s = lx->p++;
        while (lx->p < lx->end && s_ident_char (*lx->p))
            lx->p++;
        size_t n = (size_t) (lx->p - s);
        if (n <= BF_SCAN_NAME_MAX) {
            memcpy (t->text, s, n);
            t->text[n] = '\0';
        }
        return;
    }
    if (c == '\\') {   /* an escaped identifier: up to white space */
        t->type = S_IDENT;
        while (lx->p < lx->end && !isspace ((unsigned char) *lx->p))
            lx->p++;
        return;
    }
    if (isdigit ((unsigned char) c)) {
        t->type = S_IDENT;   /* a number: never matches a pattern below */
        while (lx->p < lx->end && (s_ident_char (*lx->p)))
            lx->p++;
        t->text[0] = '\0';
        return;
    }
    t->type = S_PUNCT;
    t->punct = c;
    lx->p++;
}

static bool
s_is (const s_tok_t *t, s_type_t type, const char *text)
{
    return t->type == type && strcmp (t->text, text) == 0;
}

static bool
s_punct (const s_tok_t *t, char c)
{
    return t->type == S_PUNCT && t->punct == c;
}

void
bf_design_scan (const char *text, size_t len, bf_scan_fn *fn, void *arg)
{
    s_lex_t lx = { text, text + len };
    /* A window of the last four tokens: w[3] is the newest. */
    s_tok_t w[4];
    memset (w, 0, sizeof w);
    for (int i = 0; i < 4; i++)
        w[i].type = S_PUNCT;
    for (;;) {
        memmove (&w[0], &w[1], 3 * sizeof w[0]);
        s_next (&lx, &w[3]);
        if (w[3].type == S_END)
            break;
        const s_tok_t *a = &w[0], *b = &w[1], *c = &w[2], *d = &w[3];
        if (d->type == S_STRING && d->text[0]) {
            if (s_is (c, S_DIRECTIVE, "`include"))
                fn (arg, BF_SCAN_INCLUDE, NULL, d->text);
            else if (s_punct (c, '(') && (s_is (b, S_SYS, "$readmemh") || s_is (b, S_SYS, "$readmemb")))
                fn (arg, BF_SCAN_READMEM, NULL, d->text);
            else if (s_punct (c, '=') && b->type == S_IDENT && b->text[0] && !s_punct (a, '=')
                     && !s_punct (a, '!') && !s_punct (a, '<') && !s_punct (a, '>'))
                fn (arg, BF_SCAN_ASSIGN, b->text, d->text);
            else if (s_punct (c, '(') && b->type == S_IDENT && b->text[0] && s_punct (a, '.'))
                fn (arg, BF_SCAN_ASSIGN, b->text, d->text);
            else if (b->type == S_DIRECTIVE && strcmp (b->text, "`define") == 0 && c->type == S_IDENT
                     && c->text[0])
                fn (arg, BF_SCAN_ASSIGN, c->text, d->text);
        }
        else if ((d->type == S_IDENT || d->type == S_DIRECTIVE) && d->text[0] && s_punct (c, '(')
                 && (s_is (b, S_SYS, "$readmemh") || s_is (b, S_SYS, "$readmemb")))
            fn (arg, BF_SCAN_USE, d->text + (d->type == S_DIRECTIVE), NULL);
    }
}

bool
bf_design_scan_file_name (const char *ident)
{
    return strcasestr (ident, "file") != NULL;
}
