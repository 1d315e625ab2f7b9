/*  bf_config - the daemons' options as one table (redis's config.c): name,
    type, where the value goes, bounds, and the help line.  The same table
    parses the command line (getopt_long, built from it), prints --help,
    and logs the effective configuration at start-up, so an option cannot
    be accepted by one and missing from another.

    Values are checked against the entry's bounds before they are stored;
    an error is one line naming the option and the value ("invalid value
    'x' for --slots (want 1..64)").  The shared options of both daemons
    (heartbeat, liveness, pid and log files, log level) are the entries of
    BF_CONFIG_DAEMON_COMMON over a bf_daemon_opts_t.
    Thread-safety: parse once, at start-up, on the main thread.
*/
#ifndef BF_CONFIG_H_INCLUDED
#define BF_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    BF_CFG_STR,                 /* const char * (the argv string, borrowed) */
    BF_CFG_FLAG,                /* bool, set to true; takes no value */
    BF_CFG_INT,                 /* int in [min, max] */
    BF_CFG_INT64,               /* int64_t in [min, max] */
    BF_CFG_MS,                  /* int ms: a duration (bf_opt_duration_ms) in [min, max] ms */
    BF_CFG_MS64,                /* int64_t ms, likewise */
    BF_CFG_SECONDS,             /* int64_t s: a duration given in any unit, stored in seconds */
    BF_CFG_SIZE,                /* int64_t bytes: a size (bf_opt_size) in [min, max] */
    BF_CFG_LEVEL,               /* int: a log level (bf_log_parse_level) */
    BF_CFG_CHECK,               /* const char *, checked by the entry's check function */
    BF_CFG_TAG                  /* repeatable: appended to a const char *[BF_TAGS_MAX + 1]
                                   array (bf_opt_tag) */
} bf_config_type_t;

typedef struct {
    const char *name;           /* the long option without "--" */
    bf_config_type_t type;
    size_t offset;              /* where the value goes in the config struct (offsetof) */
    int64_t min, max;           /* bounds of numeric types */
    const char *arg;            /* the value's name in --help ("DURATION"), NULL for flags */
    const char *help;           /* its help text; lines after the first are indented */
    int (*check) (const char *option, const char *value);  /* BF_CFG_CHECK: BF_OK or an error */
} bf_config_opt_t;

/*  One table over one config struct: the entries end with a NULL name. */
typedef struct {
    const bf_config_opt_t *opts;
    void *base;                 /* the struct the offsets are into */
} bf_config_table_t;

/*  What both daemons share. */
typedef struct {
    int heartbeat_ms;           /* default 1000 */
    int liveness;               /* default 3 */
    const char *pid_file;
    const char *log_file;
    int log_level;              /* bf_log_level_t */
    int64_t job_log_max;        /* bytes of a job's log kept (worker and broker each
                                   enforce it); default BF_JOB_LOG_MAX_DEFAULT */
} bf_daemon_opts_t;

#define BF_JOB_LOG_MAX_DEFAULT (16LL << 20)

extern const bf_config_opt_t bf_config_daemon_common[];

/*  Parses argv against the tables (ntables of them; the last table's
    options come last in --help).  Returns BF_OK with *optind_out the index
    of the first non-option argument; BF_EINVAL with a detail for an
    unknown option, a missing value or a value out of its bounds; 1 when
    --help, --version or --man was given (the caller prints and exits 0;
    which one in *help_out: 'h', 'V' or 'M'). */
int bf_config_parse (const bf_config_table_t *tables, int ntables, int argc, char **argv,
                     int *optind_out, int *help_out);

/*  A daemon's usual start over bf_config_parse: on --help prints head,
    the options and tail to stdout; on --version prints version; on --man
    the same help as a man page (bf_config_man, section 8); on an
    error prints "PROG: detail" to stderr.  Returns -1 when the daemon
    should go on (*optind_out set), else its exit status: 0 after help or
    version, 2 after a usage error. */
int bf_config_main (const bf_config_table_t *tables, int ntables, int argc, char **argv,
                    const char *prog, const char *version, const char *head, const char *tail,
                    int *optind_out);

/*  Writes the options of the tables as --help lines to f. */
void bf_config_usage (FILE *f, const bf_config_table_t *tables, int ntables);

/*  Writes len bytes of text (up to a NUL) to f as man(7) text: leading
    blanks of a line dropped, a line starting with '.' or '\'' escaped,
    '\' as \e and '-' as \-.  Shared by the daemons' pages and the CLI's
    (cmd_man.c). */
void bf_roff_write (FILE *f, const char *text, size_t len);

/*  Writes the help as a man page in man(7) markup to f: NAME from prog and
    the text of head's description before its first ':', SYNOPSIS from
    head's "usage: " line, DESCRIPTION from the rest of head, OPTIONS from
    the tables, then tail's paragraphs (one starting "Exit status:" becomes
    EXIT STATUS).  section is the manual's ("8" for the daemons); the date
    is $SOURCE_DATE_EPOCH's, else today's.  `bitfarm-broker --man`. */
void bf_config_man (FILE *f, const bf_config_table_t *tables, int ntables, const char *prog,
                    const char *section, const char *version, const char *head,
                    const char *tail);

/*  Logs every option's effective value at info level ("config: --heartbeat
    1000 ms"), strings escaped. */
void bf_config_log (const bf_config_table_t *tables, int ntables);

#endif
