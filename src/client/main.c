/*  bitfarm - the bitfarm command-line client (also installed as `submit`).

    One table of commands (after git's cmd_struct in git.c): each names its
    handler (cmd_*.c), the options it takes, a one-line summary and its
    help.  The usage (`bitfarm --help`), each command's help (`bitfarm help
    COMMAND`, `bitfarm COMMAND --help`) and the refusal of an option a
    command does not take all come from it, and from the one table of
    options below. */
#include "bf_cli.h"
#include "bf_cli_table.h"
#include "../common/bf_error.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const s_cmd_t *
s_find (const s_cmd_t *table, const char *name)
{
    for (const s_cmd_t *c = table; name && c->name; c++)
        if (strcmp (c->name, name) == 0)
            return c;
    return NULL;
}

/*  The options a command takes; a group's: those of any of its subcommands. */
static uint64_t
s_opts_of (const s_cmd_t *cmd)
{
    uint64_t opts = cmd->opts | S_ALWAYS;
    for (const s_cmd_t *s = cmd->subs; s && s->name; s++)
        opts |= s->opts;
    return opts;
}

/* ---------------------------------------------------------------------- */
/*  Help, generated from the tables                                         */

#define S_WIDTH 80

/*  Prints text at column indent (on the next line when the cursor, at
    column col, is past indent - 2), wrapped at S_WIDTH; ends the line. */
static void
s_wrap (FILE *f, int col, int indent, const char *text)
{
    if (col > 0 && col + 2 > indent) {
        fprintf (f, "\n%*s", indent, "");
        col = indent;
    }
    else
        col += fprintf (f, "%*s", indent - col, "");
    bool first = true;
    for (const char *p = text; *p;) {
        int w = (int) strcspn (p, " ");
        if (!first && col + 1 + w > S_WIDTH) {
            fprintf (f, "\n%*s", indent, "");
            col = indent;
        }
        else if (!first)
            col += fprintf (f, " ");
        col += fprintf (f, "%.*s", w, p);
        first = false;
        p += w;
        p += strspn (p, " ");
    }
    fputc ('\n', f);
}

static void
s_help_option (FILE *f, int o, const s_optdoc_t *docs)
{
    const s_option_t *opt = &bf_cli_options[o];
    const char *help = bf_cli_option_help (o, docs);
    int col = fprintf (f, "  ");
    if (opt->shortc)
        col += fprintf (f, "-%c%s", opt->shortc, opt->name ? ", " : "");
    if (opt->name)
        col += fprintf (f, "--%s", opt->name);
    if (opt->arg)
        col += fprintf (f, " %s", opt->arg);
    s_wrap (f, col, 22, help);
}

/*  One line of a command list: "  NAME SYNOPSIS  summary". */
static void
s_help_line (FILE *f, const char *group, const s_cmd_t *c)
{
    int col = fprintf (f, "  %s%s%s%s%s", group ? group : "", group ? " " : "", c->name,
                       *c->synopsis ? " " : "", c->synopsis);
    s_wrap (f, col, 29, c->summary);
}

/*  `bitfarm --help` */
static void
s_usage (FILE *f)
{
    fputs ("usage: bitfarm COMMAND [options]      (`submit ...` = `bitfarm submit ...`)\n\n"
           "Commands:\n", f);
    for (const s_cmd_t *c = bf_cli_commands; c->name; c++) {
        if (!c->subs)
            s_help_line (f, NULL, c);
        for (const s_cmd_t *s = c->subs; s && s->name; s++)
            s_help_line (f, c->name, s);
    }
    fputs ("\nCommon options (of every command that asks a broker):\n", f);
    for (int o = 0; o < BF_O_COUNT; o++)
        if (S_BROKER & BF_O (o))
            s_help_option (f, o, NULL);
    fprintf (f, "\n%s\n"
             "`bitfarm help COMMAND` or `bitfarm COMMAND --help`: the command's options;\n"
             "`bitfarm help --man [COMMAND]`: its man page (`man bitfarm-COMMAND`).\n",
             bf_cli_exit_status);
}

/*  `bitfarm help COMMAND` */
static void
s_help (FILE *f, const s_cmd_t *cmd)
{
    fprintf (f, "usage: bitfarm %s%s%s\n\n", cmd->name, *cmd->synopsis ? " " : "",
             cmd->synopsis);
    s_wrap (f, 0, 0, cmd->summary);
    if (cmd->subs) {
        fputs ("\nSubcommands:\n", f);
        for (const s_cmd_t *s = cmd->subs; s->name; s++)
            s_help_line (f, cmd->name, s);
    }
    uint64_t opts = s_opts_of (cmd) & ~S_ALWAYS;
    static const char *heads[] = { "\nOptions:\n", "\nCommon options:\n" };
    const uint64_t sets[] = { opts & ~S_BROKER, opts & S_BROKER };
    for (int i = 0; i < 2; i++) {
        if (sets[i])
            fputs (heads[i], f);
        for (int o = 0; o < BF_O_COUNT; o++)
            if (sets[i] & BF_O (o))
                s_help_option (f, o, cmd->docs);
    }
    if (cmd->help)
        fprintf (f, "\n%s", cmd->help);
}

/* ---------------------------------------------------------------------- */
/*  Parsing                                                                 */

/*  Reads the options from argv[optind] on (getopt_long, GNU permutation:
    the operands end up from the new optind on) into given[].  --help and
    --version print what they ask for and give -2.  Returns the number of
    options, or -1 for an unknown one or a missing value, said. */
/*  The option that the short letter c means for a command taking opts:
    one it takes, else the first with that letter (-n is submit's
    --dry-run but the -n N of jobs and cache ls).  -1 for none. */
static int
s_short (char c, uint64_t opts)
{
    int first = -1;
    for (int o = 0; o < BF_O_COUNT; o++)
        if (bf_cli_options[o].shortc == c) {
            if (opts & BF_O (o))
                return o;
            if (first < 0)
                first = o;
        }
    return first;
}

static int
s_getopt (bf_cli_given_t *given, int argc, char **argv, const s_cmd_t *cmd)
{
    struct option longs[BF_O_COUNT + 1];
    char shorts[2 * BF_O_COUNT + 1];
    int nl = 0, ns = 0;
    uint64_t takes = s_opts_of (cmd);
    for (int o = 0; o < BF_O_COUNT; o++) {
        const s_option_t *opt = &bf_cli_options[o];
        if (opt->name)
            longs[nl++] = (struct option) { opt->name, opt->arg ? required_argument : no_argument,
                                            NULL, 256 + o };
        if (opt->shortc && s_short (opt->shortc, takes) == o) {
            shorts[ns++] = opt->shortc;
            if (opt->arg)
                shorts[ns++] = ':';
        }
    }
    longs[nl] = (struct option) { 0, 0, 0, 0 };
    shorts[ns] = '\0';
    int c, n = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        int o = c >= 256 ? c - 256 : c != '?' ? s_short ((char) c, takes) : -1;
        if (o < 0) {
            bf_cli_fail (BFX_USAGE, "unknown option or missing value '%s' for '%s' (see "
                         "bitfarm --help)", argv[optind - 1], cmd->name);
            return -1;
        }
        if (o == BF_O_HELP || o == BF_O_VERSION) {
            if (o == BF_O_HELP)
                s_help (stdout, cmd);
            else
                puts (S_VERSION);
            return -2;
        }
        given[n].opt = o;
        given[n].value = optarg;
        if (c >= 256)
            snprintf (given[n].spelling, sizeof given[n].spelling, "--%s", bf_cli_options[o].name);
        else
            snprintf (given[n].spelling, sizeof given[n].spelling, "-%c", c);
        n++;
    }
    return n;
}

/*  Parses and checks the command line of cmd into a (its operands from
    argv[first + 1] on): BFX_OK or BFX_USAGE, said.  *run is the command
    or subcommand to run, or NULL when the help or version was asked for
    (and printed). */
static int
s_parse (bf_cli_args_t *a, const s_cmd_t **run, const s_cmd_t *cmd, int argc, char **argv,
         int first)
{
    bf_cli_given_t *given = xcalloc ((size_t) argc, sizeof *given);
    optind = first + 1;
    int n = s_getopt (given, argc, argv, cmd);
    int rc = n == -1 ? BFX_USAGE : BFX_OK;
    if (n == -2) {
        free (given);
        *run = NULL;
        return BFX_OK;
    }
    const s_cmd_t *sub = cmd->subs && optind < argc ? s_find (cmd->subs, argv[optind]) : NULL;
    uint64_t opts = sub ? sub->opts | S_ALWAYS : s_opts_of (cmd);
    for (int i = 0; rc == BFX_OK && i < n; i++)
        if (!(opts & BF_O (given[i].opt)))
            rc = bf_cli_fail (BFX_USAGE, "option '%s' does not apply to '%s%s%s' (see bitfarm "
                              "help %s)", given[i].spelling, cmd->name, sub ? " " : "",
                              sub ? sub->name : "", cmd->name);
    for (int i = 0; rc == BFX_OK && i < n; i++)
        if (bf_cli_apply (a, given[i].opt, given[i].value) != BF_OK)
            rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
    a->given = given;   /* main frees it */
    a->ngiven = n;
    if (rc != BFX_OK)
        return rc;
    a->cmd = cmd->name;
    a->sub = sub ? sub->name : NULL;
    a->args = argv + optind + (sub ? 1 : 0);
    a->nargs = argc - optind - (sub ? 1 : 0);
    *run = sub ? sub : cmd;
    if (a->design.delay_ms > 0 && !(a->design.flow && strcmp (a->design.flow, "noop") == 0))
        return bf_cli_fail (BFX_USAGE, "--delay needs --flow noop");
    if (!a->token)
        a->token = getenv ("BITFARM_TOKEN");
    if (a->token && !*a->token)
        a->token = NULL;
    a->submit.token = a->token;
    if (!a->cert)
        a->cert = getenv ("BITFARM_CERT");
    if (!a->broker_key)
        a->broker_key = getenv ("BITFARM_BROKER_KEY");
    if (a->cert && !*a->cert)
        a->cert = NULL;
    if (a->cert && (!a->broker_key || !*a->broker_key))
        return bf_cli_fail (BFX_USAGE, "--cert needs --broker-key (or $BITFARM_BROKER_KEY): "
                            "the broker's public key");
    return BFX_OK;
}

int
main (int argc, char **argv)
{
    const char *name;
    int first;
    if (strcmp (basename (argv[0]), "submit") == 0) {
        name = "submit";
        first = 0;
    }
    else {
        if (argc < 2)
            return s_usage (stderr), BFX_USAGE;
        name = argv[1];
        first = 1;
    }
    /* help's own operands, not options (the option set has no bits to spare) */
    if (first && strcmp (name, "help") == 0 && argc > 2 && strcmp (argv[2], "--man") == 0)
        return argc > 4 ? bf_cli_fail (BFX_USAGE, "usage: bitfarm help --man [COMMAND]")
                        : bf_cli_man (stdout, argc > 3 ? argv[3] : NULL);
    if (first && strcmp (name, "help") == 0 && argc == 3 && strcmp (argv[2], "--commands") == 0)
        return bf_cli_list_commands (stdout), BFX_OK;
    if (first && strcmp (name, "help") == 0 && argc > 2) {
        const s_cmd_t *cmd = s_find (bf_cli_commands, argv[2]);
        if (!cmd)
            return bf_cli_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", argv[2]);
        return s_help (stdout, cmd), BFX_OK;
    }
    if (strcmp (name, "-h") == 0 || strcmp (name, "--help") == 0 || strcmp (name, "help") == 0)
        return s_usage (stdout), BFX_OK;
    if (strcmp (name, "--version") == 0 || strcmp (name, "version") == 0)
        return puts (S_VERSION), BFX_OK;
    const s_cmd_t *cmd = s_find (bf_cli_commands, name);
    if (!cmd)
        return bf_cli_fail (BFX_USAGE, "unknown command '%s' (see bitfarm --help)", name);

    bf_cli_args_t a = { .timeout_ms = 5000, .limit = 20, .design = { .seed = -1 } };
    const s_cmd_t *run = NULL;
    int rc = s_parse (&a, &run, cmd, argc, argv, first);
    if (rc == BFX_OK && run) {
        if (!(cmd->flags & S_NOZSYS)) {
            zsys_init ();
            zsys_set_logstream (NULL);
        }
        rc = run->fn (&a);
    }
    bf_cli_args_release (&a);
    free ((void *) a.given);
    return rc;
}
