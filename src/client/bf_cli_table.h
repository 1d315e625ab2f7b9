/*  bf_cli_table - the CLI's two tables, its options and its commands
    (after git's cmd_struct in git.c and redis's command table): one place
    that names every option and every command with its handler, the options
    it takes and its help.  main.c parses and prints help from them, and
    cmd_man.c the man pages.  Not a public interface: only src/client/main.c,
    bf_cli_table.c and cmd_man.c include it. */
#ifndef BF_CLI_TABLE_H_INCLUDED
#define BF_CLI_TABLE_H_INCLUDED

#include "bf_cli.h"

#include <stdint.h>
#include <stdio.h>

#define S_VERSION "bitfarm 0.1.0"

typedef struct {
    const char *name;    /* long name without "--", or NULL */
    char shortc;         /* short option, or 0 */
    const char *arg;     /* the value's name, or NULL: a flag */
    const char *help;    /* the meaning every command gives it, unless its own docs say */
} s_option_t;

/*  Options every command takes; those of the commands that ask a broker. */
#define S_ALWAYS (BF_O (BF_O_HELP) | BF_O (BF_O_VERSION))
#define S_BROKER (BF_O (BF_O_BROKER) | BF_O (BF_O_REQUEST_TIMEOUT) | BF_O (BF_O_CERT) \
                  | BF_O (BF_O_BROKER_KEY) | BF_O (BF_O_JSON))
#define S_DESIGN (BF_O (BF_O_TOP) | BF_O (BF_O_DEVICE) | BF_O (BF_O_PACKAGE) | BF_O (BF_O_PCF) \
                  | BF_O (BF_O_REGIO) \
                  | BF_O (BF_O_FREQ) | BF_O (BF_O_SEED) | BF_O (BF_O_DEFINE)                \
                  | BF_O (BF_O_INCLUDE) | BF_O (BF_O_PARAM) | BF_O (BF_O_SYNTH_OPT)         \
                  | BF_O (BF_O_PNR_OPT) | BF_O (BF_O_FLOW) | BF_O (BF_O_DELAY)             \
                  | BF_O (BF_O_ROOT))
#define S_GIT (BF_O (BF_O_REV) | BF_O (BF_O_GIT_DIR))   /* submit from git (issue 16) */
#define S_RUN (BF_O (BF_O_TOOLCHAIN) | BF_O (BF_O_PRIORITY) | BF_O (BF_O_TIMEOUT)          \
               | BF_O (BF_O_TAG) | BF_O (BF_O_PROGRAM) | BF_O (BF_O_TOKEN) | BF_O (BF_O_WAIT) \
               | BF_O (BF_O_OUTPUT))
#define S_PROJECT (BF_O (BF_O_TARGET) | BF_O (BF_O_ALL) | BF_O (BF_O_JUNIT) \
                   | BF_O (BF_O_ARTIFACTS))
#define S_CACHE (BF_O (BF_O_CACHE_DIR) | BF_O (BF_O_JSON))
/*  submit's options: the table's, and the lean `submit`'s parser
    (src/submit/main.c), which must read a command line as main.c does. */
#define S_SUBMIT_OPTS (S_BROKER | S_DESIGN | S_RUN | BF_O (BF_O_DRY_RUN) | S_GIT | S_PROJECT)

/*  A command's own meaning of an option, for its help. */
typedef struct {
    int opt;             /* BF_O_*; -1 ends a list */
    const char *help;
} s_optdoc_t;

/*  Option o's help: a command's own (docs, may be NULL), else the
    table's.  Static.  bf_cli_opts.c. */
const char *bf_cli_option_help (int o, const s_optdoc_t *docs);

#define S_DOCS(...) ((const s_optdoc_t[]) { __VA_ARGS__, { -1, NULL } })

typedef struct s_cmd {
    const char *name;
    int (*fn) (bf_cli_args_t *a);   /* a group: called when no subcommand matches */
    uint64_t opts;                  /* the options it takes (BF_O bits), besides S_ALWAYS */
    const char *synopsis;           /* its operands and main options */
    const char *summary;            /* one line, for `bitfarm --help` */
    const char *help;               /* more, for `bitfarm help NAME`; or NULL */
    const s_optdoc_t *docs;         /* its own meaning of some options; or NULL */
    const struct s_cmd *subs;       /* a group's subcommands, ended by a NULL name; or NULL */
    unsigned flags;                 /* S_NOZSYS */
} s_cmd_t;

#define S_NOZSYS 1u   /* runs without the CZMQ runtime (zsys_init) */

/*  Every option, indexed by bf_cli_opt_t. */
extern const s_option_t bf_cli_options[BF_O_COUNT];

/*  The commands, ended by a NULL name. */
extern const s_cmd_t bf_cli_commands[];

/*  The exit-status paragraph of `bitfarm --help`. */
extern const char bf_cli_exit_status[];

/*  Writes the man page (man(7) markup) of command to f: bitfarm-COMMAND(1),
    or bitfarm(1) when command is NULL.  Returns BFX_OK, or BFX_USAGE (said)
    for a command not in the table.  `bitfarm help --man [COMMAND]`. */
int bf_cli_man (FILE *f, const char *command);

/*  Writes the commands' names to f, one a line: the pages bf_cli_man has
    besides bitfarm(1).  `bitfarm help --commands`. */
void bf_cli_list_commands (FILE *f);

#endif
