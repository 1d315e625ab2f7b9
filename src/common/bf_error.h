/*  bf_error - the project's error codes and the last error's detail.

    Every fallible function returns an int: BF_OK (0) on success, or one of
    the negative codes below.  A human-readable detail (git style: lowercase,
    no full stop, subject quoted) is kept per thread beside the code, like
    libgit2's git_error_last(); callers that print an error use
    bf_error_last().
*/
#ifndef BF_ERROR_H_INCLUDED
#define BF_ERROR_H_INCLUDED

#include <stdarg.h>

typedef enum {
    BF_OK        =  0,
    BF_ERROR     = -1,   /* generic failure */
    BF_ENOTFOUND = -2,   /* no such job, object or entry (a cache miss) */
    BF_EBUSY     = -3,   /* resource in use; try again */
    BF_ETOOBIG   = -4,   /* a size limit was exceeded */
    BF_EINVAL    = -5,   /* invalid input from outside */
    BF_ETIMEDOUT = -6,   /* a peer or a tool did not answer in time */
    BF_EIO       = -7,   /* file system or database failure */
    BF_EPROTO    = -8,   /* malformed or unexpected protocol message */
    BF_ECORRUPT  = -9,   /* stored data failed verification */
    BF_EAMBIGUOUS = -10, /* a job id prefix matches more than one job */
    BF_ENOMEM    = -11,
    BF_EACCES    = -12,  /* refused: an unknown key, a wrong role, not the job's owner */
} bf_err_t;

/*  Returns a static, never-NULL name for a code ("not found", ...). */
const char *bf_strerror (int code);

/*  Records a formatted detail for the calling thread and returns code, so a
    failure can be reported in one statement:
        return bf_error_set (BF_EINVAL, "bad device '%s'", dev);
    The arguments may include bf_error_last () (to add context to the
    previous detail).  Thread-safe (the detail is thread-local). */
int bf_error_set (int code, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  The calling thread's last detail, or bf_strerror of the last code if no
    detail was recorded.  The string is owned by the thread-local slot and
    valid until the next bf_error_set on this thread. */
const char *bf_error_last (void);

/*  Forgets the calling thread's last error. */
void bf_error_clear (void);

#endif
