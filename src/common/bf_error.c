/*  bf_error - error codes and per-thread detail.  See bf_error.h. */
#include "bf_error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char s_detail[1024];
static _Thread_local int s_code;

const char *
bf_strerror (int code)
{
    switch (code) {
        case BF_OK:         return "success";
        case BF_ERROR:      return "error";
        case BF_ENOTFOUND:  return "not found";
        case BF_EBUSY:      return "busy";
        case BF_ETOOBIG:    return "too big";
        case BF_EINVAL:     return "invalid argument";
        case BF_ETIMEDOUT:  return "timed out";
        case BF_EIO:        return "input/output error";
        case BF_EPROTO:     return "protocol error";
        case BF_ECORRUPT:   return "data corrupted";
        case BF_EAMBIGUOUS: return "ambiguous";
        case BF_ENOMEM:     return "out of memory";
        case BF_EACCES:     return "permission denied";
        default:            return "unknown error";
    }
}

int
bf_error_set (int code, const char *fmt, ...)
{
    /* Format into a scratch buffer first: the arguments may include
       bf_error_last () itself ("%s: %s", what, bf_error_last ()). */
    char buf[sizeof s_detail];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    memcpy (s_detail, buf, sizeof s_detail);
    s_code = code;
    return code;
}

const char *
bf_error_last (void)
{
    if (s_detail[0])
        return s_detail;
    return bf_strerror (s_code);
}

void
bf_error_clear (void)
{
    s_detail[0] = '\0';
    s_code = BF_OK;
}
