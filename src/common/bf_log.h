/*  bf_log - one logging layer for the daemons (after redis' serverLog).

    Lines go to stderr (or the file given to bf_log_open) as
        2026-11-21T03:51:53.123Z broker I message
    The level is checked before the arguments are formatted.  Debug lines
    carry file:line.  Text that came from outside (tool output, file names,
    peer data) must go through bf_log_escape first.
    Thread-safety: each line is written with one write(2) call, so lines
    from threads do not interleave.
*/
#ifndef BF_LOG_H_INCLUDED
#define BF_LOG_H_INCLUDED

#include <stddef.h>

typedef enum { BF_LOG_DEBUG = 0, BF_LOG_INFO, BF_LOG_WARN, BF_LOG_ERROR } bf_log_level_t;

extern bf_log_level_t bf_log_level;

/*  Sets the component name printed on each line (a static string). */
void bf_log_init (const char *component, bf_log_level_t level);

/*  Parses "debug", "info", "warn" or "error"; returns BF_EINVAL otherwise. */
int bf_log_parse_level (const char *name, bf_log_level_t *out);

/*  Appends log lines to path (created 0600) instead of stderr.
    Returns BF_OK or BF_EIO. */
int bf_log_open (const char *path);

void bf_log_write (bf_log_level_t level, const char *file, int line,
                   const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/*  Copies at most dstlen-1 bytes of src into dst, replacing control and
    non-ASCII bytes by \xNN escapes; always NUL-terminates.  Returns dst. */
char *bf_log_escape (char *dst, size_t dstlen, const char *src);

#define bf_debug(...) do { if (bf_log_level <= BF_LOG_DEBUG) \
    bf_log_write (BF_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define bf_info(...) do { if (bf_log_level <= BF_LOG_INFO) \
    bf_log_write (BF_LOG_INFO, NULL, 0, __VA_ARGS__); } while (0)
#define bf_warn(...) do { if (bf_log_level <= BF_LOG_WARN) \
    bf_log_write (BF_LOG_WARN, NULL, 0, __VA_ARGS__); } while (0)
#define bf_err(...) do { \
    bf_log_write (BF_LOG_ERROR, NULL, 0, __VA_ARGS__); } while (0)

#endif
