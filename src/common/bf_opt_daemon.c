/*  bf_opt_daemon - bf_opt_daemon_init (bf_opt.h), apart from bf_opt.c so
    that the option parsers link without CZMQ (the lean `submit`). */
#include "bf_opt.h"
#include "bf_error.h"
#include "bf_log.h"

#include <czmq.h>

int
bf_opt_daemon_init (const char *component, int level, const char *log_file)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    bf_log_init (component, (bf_log_level_t) level);
    return log_file ? bf_log_open (log_file) : BF_OK;
}
