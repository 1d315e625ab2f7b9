/*  bf_config_man - a daemon's --help as a man page (see bf_config.h):
    `bitfarm-broker --man` is bitfarm-broker(8), from the same table, head
    and tail as its --help, so the page cannot miss an option. */
#include "bf_config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Writes len bytes of text with roff's special characters escaped (a
    backslash; a minus, so that dashes stay dashes; a '.' or '\'' at the
    start of a line), dropping each line's leading blanks. */
void
bf_roff_write (FILE *f, const char *text, size_t len)
{
    bool bol = true;
    for (const char *p = text; p < text + len && *p; p++) {
        if (bol && (*p == ' ' || *p == '\t'))
            continue;
        if (bol && (*p == '.' || *p == '\''))
            fputs ("\\&", f);
        bol = *p == '\n';
        if (*p == '\\')
            fputs ("\\e", f);
        else if (*p == '-')
            fputs ("\\-", f);
        else
            fputc (*p, f);
    }
}

static void
s_roffs (FILE *f, const char *text)
{
    bf_roff_write (f, text, strlen (text));
}

/*  Writes text's paragraphs (separated by blank lines), .PP between them. */
static void
s_paragraphs (FILE *f, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    bool first = true;
    while (p < end) {
        while (p < end && *p == '\n')
            p++;
        if (p >= end)
            break;
        const char *q = strstr (p, "\n\n");
        size_t n = q && q < end ? (size_t) (q - p) : (size_t) (end - p);
        while (n > 0 && p[n - 1] == '\n')
            n--;
        if (!first)
            fputs (".PP\n", f);
        bf_roff_write (f, p, n);
        fputc ('\n', f);
        first = false;
        p += n;
    }
}

static void
s_tag (FILE *f, const char *spelling, const char *arg)
{
    fputs (".TP\n\\fB", f);
    s_roffs (f, spelling);
    fputs ("\\fR", f);
    if (arg) {
        fputs (" \\fI", f);
        s_roffs (f, arg);
        fputs ("\\fR", f);
    }
    fputc ('\n', f);
}

void
bf_config_man (FILE *f, const bf_config_table_t *tables, int ntables, const char *prog,
               const char *section, const char *version, const char *head, const char *tail)
{
    /* the title line: PROG SECTION DATE SOURCE MANUAL */
    char date[16] = "1970-01-01", upper[64];
    const char *epoch = getenv ("SOURCE_DATE_EPOCH");
    time_t t = epoch && *epoch ? (time_t) strtoll (epoch, NULL, 10) : time (NULL);
    struct tm tm;
    if (gmtime_r (&t, &tm))
        strftime (date, sizeof date, "%Y-%m-%d", &tm);
    size_t i = 0;
    for (; prog[i] && i + 1 < sizeof upper; i++)
        upper[i] = (char) toupper ((unsigned char) prog[i]);
    upper[i] = '\0';
    fputs (".TH ", f);
    s_roffs (f, upper);
    fprintf (f, " %s %s \"", section, date);
    s_roffs (f, version);
    fputs ("\" \"bitfarm manual\"\n", f);

    /* head: "usage: PROG SYNOPSIS\n\nDESCRIPTION..." */
    const char *usage = strncmp (head, "usage: ", 7) == 0 ? head + 7 : head;
    size_t plen = strlen (prog);
    const char *synopsis = strncmp (usage, prog, plen) == 0 ? usage + plen : usage;
    size_t slen = strcspn (synopsis, "\n");
    const char *desc = synopsis + slen;
    desc += strspn (desc, "\n");
    size_t nlen = strcspn (desc, ":\n");   /* NAME: the description up to its ':' */
    fputs (".SH NAME\n", f);
    s_roffs (f, prog);
    fputs (" \\- ", f);
    char name[128];
    snprintf (name, sizeof name, "%.*s", (int) (nlen < sizeof name ? nlen : sizeof name - 1),
              desc);
    name[0] = (char) tolower ((unsigned char) name[0]);
    s_roffs (f, name);
    fputs ("\n.SH SYNOPSIS\n.B ", f);
    s_roffs (f, prog);
    fputc ('\n', f);
    bf_roff_write (f, synopsis, slen);
    fputs ("\n.SH DESCRIPTION\n", f);
    s_paragraphs (f, desc, strlen (desc));

    fputs (".SH OPTIONS\n", f);
    for (int k = 0; k < ntables; k++)
        for (const bf_config_opt_t *o = tables[k].opts; o->name; o++) {
            char spelling[72];
            snprintf (spelling, sizeof spelling, "--%s", o->name);
            s_tag (f, spelling, o->arg);
            s_roffs (f, o->help);
            fputc ('\n', f);
        }
    s_tag (f, "--version", NULL);
    fputs ("print the version and exit\n", f);
    s_tag (f, "-h, --help", NULL);
    fputs ("print the help and exit\n", f);
    s_tag (f, "--man", NULL);
    fputs ("print this manual page (man(7) markup) and exit\n", f);

    /* tail: paragraphs; "Exit status: ..." is its own section */
    for (const char *p = tail; *p;) {
        p += strspn (p, "\n");
        if (!*p)
            break;
        const char *q = strstr (p, "\n\n");
        size_t n = q ? (size_t) (q - p) : strlen (p);
        if (strncmp (p, "Exit status:", 12) == 0) {
            fputs (".SH EXIT STATUS\n", f);
            s_paragraphs (f, p + 12, n - 12);
        }
        else {
            fprintf (f, ".SH %s\n", strncmp (p, "SIG", 3) == 0 ? "SIGNALS" : "NOTES");
            s_paragraphs (f, p, n);
        }
        p += n;
    }

    fputs (".SH SEE ALSO\n", f);
    static const char *const pages[] = { "bitfarm", "bitfarm-broker", "bitfarm-worker", NULL };
    bool first = true;
    for (int k = 0; pages[k]; k++)
        if (strcmp (pages[k], prog) != 0) {
            fprintf (f, "%s\\fB", first ? "" : ",\n");
            s_roffs (f, pages[k]);
            fprintf (f, "\\fR(%s)", k == 0 ? "1" : "8");
            first = false;
        }
    fputs ("\n.PP\nRunning it as a systemd service (the bitfarm\\-broker.service and\n"
           "bitfarm\\-worker@.service units, /etc/bitfarm): docs/operating.md of the\n"
           "bitfarm sources.\n", f);
}
