/*  bf_opt - parsing of numeric and size option values from outside
    (command line, environment), with explicit bounds.  Errors name the
    option and the value: "invalid value 'abc' for --slots (want 1..256)".
    Thread-safety: no shared state.
*/
#ifndef BF_OPT_H_INCLUDED
#define BF_OPT_H_INCLUDED

#include <stdint.h>

/*  Parses a decimal integer within [min, max] into *out.
    BF_OK or BF_EINVAL with a detail naming `option`. */
int bf_opt_int (int64_t *out, const char *option, const char *value, int64_t min, int64_t max);

/*  Appends a --tag value to tags[*ntags] (an array of BF_TAGS_MAX + 1
    entries) after checking it with bf_tag_valid and the count against
    BF_TAGS_MAX.  BF_OK, or BF_EINVAL naming the value. */
int bf_opt_tag (const char **tags, int *ntags, const char *value);

/*  Parses a duration: a number with an optional unit ms, s (default), m, h
    or d, into milliseconds within [min_ms, max_ms]. */
int bf_opt_duration_ms (int64_t *out, const char *option, const char *value, int64_t min_ms,
                        int64_t max_ms);

/*  Parses a size: a number with an optional unit k, M, G or T (powers of
    1024; "G", "GB" and "GiB" mean the same), into bytes within [min, max].
    BF_OK or BF_EINVAL naming the option and the value. */
int bf_opt_size (int64_t *out, const char *option, const char *value, int64_t min, int64_t max);

/*  Writes the PID of this process to path atomically.  BF_OK or BF_EIO. */
int bf_opt_write_pidfile (const char *path);

/*  The daemons' common start-up: initializes CZMQ (its SIGINT/SIGTERM
    handler sets zsys_interrupted) with its own logging off, and bitfarm's
    logging for `component` at `level`, to log_file when not NULL.
    BF_OK, or BF_EIO when the log file cannot be opened. */
int bf_opt_daemon_init (const char *component, int level, const char *log_file);

#endif
