/*  cmd_man - the CLI's man pages, generated from its tables (bf_cli_table.c):
    `bitfarm help --man` is bitfarm(1), `bitfarm help --man COMMAND` is
    bitfarm-COMMAND(1), `bitfarm help --commands` lists the commands that
    have one.  `make` writes them all into BUILD/man, `make install` puts
    them under MANDIR/man1.  The text is the --help text (the same synopsis,
    summary, help paragraph and option lines), in man(7) markup. */
#include "bf_cli.h"
#include "bf_cli_table.h"
#include "../common/bf_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Writes text with roff's special characters escaped: a backslash, a
    minus (so an option's dashes stay dashes), and a '.' or '\'' that
    would start a request at the start of a line.  Leading blanks of each
    line are dropped (they would break the filling). */
static void
s_roff (FILE *f, const char *text)
{
    bf_roff_write (f, text, strlen (text));
}

/*  The date on the title line: $SOURCE_DATE_EPOCH's (reproducible builds)
    or today's, as YYYY-MM-DD. */
static void
s_date (char *out, size_t size)
{
    const char *epoch = getenv ("SOURCE_DATE_EPOCH");
    time_t t = epoch && *epoch ? (time_t) strtoll (epoch, NULL, 10) : time (NULL);
    struct tm tm;
    if (!gmtime_r (&t, &tm) || !strftime (out, size, "%Y-%m-%d", &tm))
        snprintf (out, size, "1970-01-01");
}

/*  The options a command takes; a group's: those of any of its subcommands
    (as main.c's s_opts_of). */
static uint64_t
s_opts_of (const s_cmd_t *cmd)
{
    uint64_t opts = cmd->opts | S_ALWAYS;
    for (const s_cmd_t *s = cmd->subs; s && s->name; s++)
        opts |= s->opts;
    return opts;
}

static void
s_title (FILE *f, const char *name)
{
    char date[16], upper[64];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof upper; i++)
        upper[i] = (char) toupper ((unsigned char) name[i]);
    upper[i] = '\0';
    s_date (date, sizeof date);
    fprintf (f, ".TH ");
    s_roff (f, upper);
    fprintf (f, " 1 %s \"%s\" \"bitfarm manual\"\n", date, S_VERSION);
}

static void
s_option (FILE *f, int o, const s_optdoc_t *docs)
{
    const s_option_t *opt = &bf_cli_options[o];
    const char *help = bf_cli_option_help (o, docs);
    fputs (".TP\n", f);
    if (opt->shortc)
        fprintf (f, "\\fB\\-%c\\fR%s", opt->shortc, opt->name ? ", " : "");
    if (opt->name) {
        fputs ("\\fB\\-\\-", f);
        s_roff (f, opt->name);
        fputs ("\\fR", f);
    }
    if (opt->arg) {
        fputs (" \\fI", f);
        s_roff (f, opt->arg);
        fputs ("\\fR", f);
    }
    fputc ('\n', f);
    s_roff (f, help);
    fputc ('\n', f);
}

/*  The options of set, in table order, under the heading head. */
static void
s_options (FILE *f, const char *head, uint64_t set, const s_optdoc_t *docs)
{
    if (!set)
        return;
    fprintf (f, ".SH %s\n", head);
    for (int o = 0; o < BF_O_COUNT; o++)
        if (set & BF_O (o))
            s_option (f, o, docs);
}

/*  bf_cli_exit_status ("Exit status:\n  0  success\n  1  design ...\n
    continued\n") as a tagged list. */
static void
s_exit_status (FILE *f)
{
    fputs (".SH EXIT STATUS\n", f);
    const char *p = strchr (bf_cli_exit_status, '\n');
    while (p && *++p) {
        const char *end = strchr (p, '\n');
        size_t len = end ? (size_t) (end - p) : strlen (p);
        char line[160];
        snprintf (line, sizeof line, "%.*s", (int) (len < sizeof line ? len : sizeof line - 1),
                  p);
        const char *q = line + strspn (line, " ");
        if (isdigit ((unsigned char) *q) && q[1] == ' ') {
            fprintf (f, ".TP\n.B %c\n", *q);
            q += 1 + strspn (q + 1, " ");
        }
        s_roff (f, q);
        fputc ('\n', f);
        p = end;
    }
}

static void
s_see_also (FILE *f, const char *self)
{
    static const char *const pages[] = { "bitfarm(1)", "bitfarm-submit(1)",
                                         "bitfarm-broker(8)", "bitfarm-worker(8)", NULL };
    fputs (".SH SEE ALSO\n", f);
    bool first = true;
    for (int i = 0; pages[i]; i++) {
        size_t n = strcspn (pages[i], "(");
        if (strlen (self) == n && strncmp (self, pages[i], n) == 0)
            continue;
        fprintf (f, "%s\\fB%.*s\\fR%s", first ? "" : ",\n", (int) n, pages[i], pages[i] + n);
        first = false;
    }
    fputs ("\n.PP\nThe guides: README.md and docs/ of the bitfarm sources.\n", f);
}

/*  bitfarm(1): the commands, the common options, the environment. */
static void
s_man_bitfarm (FILE *f)
{
    s_title (f, "bitfarm");
    fputs (".SH NAME\nbitfarm, submit \\- build farm and bitstream cache for FPGAs\n"
           ".SH SYNOPSIS\n.B bitfarm\n\\fICOMMAND\\fR [\\fIoptions\\fR]\n.br\n"
           ".B submit\n[\\fIoptions\\fR] \\fIFILES\\fR...\n"
           ".SH DESCRIPTION\n"
           "bitfarm sends FPGA designs to a build farm (a broker and its workers, which\n"
           "run yosys, nextpnr\\-ice40 and icepack) and gets jobs, logs and bitstreams\n"
           "back; every result lands in a content\\-addressed cache the whole farm\n"
           "shares.  With no broker configured, it starts a per\\-user local farm.\n"
           ".B submit\nis\n.BR \"bitfarm submit\" .\n"
           "Each command has its own page, \\fBbitfarm\\-\\fR\\fICOMMAND\\fR(1), and its\n"
           "help: \\fBbitfarm help\\fR \\fICOMMAND\\fR.\n"
           ".SH COMMANDS\n", f);
    for (const s_cmd_t *c = bf_cli_commands; c->name; c++) {
        fputs (".TP\n\\fBbitfarm ", f);
        s_roff (f, c->name);
        fputs ("\\fR", f);
        if (*c->synopsis) {
            fputc (' ', f);
            s_roff (f, c->synopsis);
        }
        fputc ('\n', f);
        s_roff (f, c->summary);
        fputs (" (\\fBbitfarm\\-", f);
        s_roff (f, c->name);
        fputs ("\\fR(1))\n", f);
    }
    s_options (f, "COMMON OPTIONS", S_BROKER, NULL);
    s_exit_status (f);
    fputs (".SH ENVIRONMENT\n"
           ".TP\n.B BITFARM_BROKER\nthe broker's endpoint, when \\fB\\-\\-broker\\fR is not given\n"
           ".TP\n.BR BITFARM_CERT \", \" BITFARM_BROKER_KEY\n"
           "this client's secret key and the broker's public key (CURVE), when\n"
           "\\fB\\-\\-cert\\fR and \\fB\\-\\-broker\\-key\\fR are not given\n"
           ".TP\n.B BITFARM_TOKEN\na reservation's token, when \\fB\\-\\-token\\fR is not given\n"
           ".TP\n.B BITFARM_NO_GIT\n1: plain directories even inside a git work tree\n"
           ".TP\n.B BITFARM_NO_SANDBOX\n"
           "1: the local farm's worker builds without bubblewrap, where it cannot run\n"
           ".TP\n.B XDG_CACHE_HOME\nthe local farm's state is under \\fI$XDG_CACHE_HOME/bitfarm\\fR\n",
           f);
    s_see_also (f, "bitfarm");
}

/*  bitfarm-COMMAND(1). */
static void
s_man_command (FILE *f, const s_cmd_t *cmd)
{
    char page[64];
    snprintf (page, sizeof page, "bitfarm-%s", cmd->name);
    s_title (f, page);
    fputs (".SH NAME\n", f);
    s_roff (f, page);
    fputs (" \\- ", f);
    s_roff (f, cmd->summary);
    fputs ("\n.SH SYNOPSIS\n.B bitfarm ", f);
    s_roff (f, cmd->name);
    fputc ('\n', f);
    if (*cmd->synopsis) {
        s_roff (f, cmd->synopsis);
        fputc ('\n', f);
    }
    if (strcmp (cmd->name, "submit") == 0)
        fputs (".br\n.B submit\n[\\fIoptions\\fR] \\fIFILES\\fR...\n", f);
    fputs (".SH DESCRIPTION\n", f);
    char summary[256];
    snprintf (summary, sizeof summary, "%s", cmd->summary);
    summary[0] = (char) toupper ((unsigned char) summary[0]);
    s_roff (f, summary);
    fputs (".\n", f);
    if (cmd->help) {
        fputs (".PP\n", f);
        s_roff (f, cmd->help);
    }
    if (cmd->subs) {
        fputs (".SH SUBCOMMANDS\n", f);
        for (const s_cmd_t *s = cmd->subs; s->name; s++) {
            fputs (".TP\n\\fBbitfarm ", f);
            s_roff (f, cmd->name);
            fputc (' ', f);
            s_roff (f, s->name);
            fputs ("\\fR", f);
            if (*s->synopsis) {
                fputc (' ', f);
                s_roff (f, s->synopsis);
            }
            fputc ('\n', f);
            s_roff (f, s->summary);
            fputc ('\n', f);
        }
    }
    uint64_t opts = s_opts_of (cmd) & ~S_ALWAYS;
    s_options (f, "OPTIONS", opts & ~S_BROKER, cmd->docs);
    s_options (f, "COMMON OPTIONS", opts & S_BROKER, cmd->docs);
    s_exit_status (f);
    s_see_also (f, page);
}

int
bf_cli_man (FILE *f, const char *command)
{
    if (!command) {
        s_man_bitfarm (f);
        return BFX_OK;
    }
    for (const s_cmd_t *c = bf_cli_commands; c->name; c++)
        if (strcmp (c->name, command) == 0) {
            s_man_command (f, c);
            return BFX_OK;
        }
    return bf_cli_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", command);
}

void
bf_cli_list_commands (FILE *f)
{
    for (const s_cmd_t *c = bf_cli_commands; c->name; c++)
        fprintf (f, "%s\n", c->name);
}
