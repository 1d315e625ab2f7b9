/*  bf_log - see bf_log.h. */
#include "bf_log.h"
#include "bf_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

bf_log_level_t bf_log_level = BF_LOG_INFO;
static const char *s_component = "bitfarm";
static int s_fd = STDERR_FILENO;

void
bf_log_init (const char *component, bf_log_level_t level)
{
    s_component = component;
    bf_log_level = level;
}

int
bf_log_parse_level (const char *name, bf_log_level_t *out)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp (name, names[i]) == 0) {
            *out = (bf_log_level_t) i;
            return BF_OK;
        }
    return bf_error_set (BF_EINVAL, "unknown log level '%s'", name);
}

int
bf_log_open (const char *path)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return bf_error_set (BF_EIO, "cannot open log '%s': %s", path, strerror (errno));
    s_fd = fd;
    return BF_OK;
}

void
bf_log_write (bf_log_level_t level, const char *file, int line, const char *fmt, ...)
{
    static const char tag[] = "DIWE";
    char buf[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday (&tv, NULL);
    gmtime_r (&tv.tv_sec, &tm);
    int n = snprintf (buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %c ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000), s_component,
                      tag[level]);
    if (file && n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, "%s:%d ", file, line);
    if (n < (int) sizeof buf) {
        va_list ap;
        va_start (ap, fmt);
        n += vsnprintf (buf + n, sizeof buf - n, fmt, ap);
        va_end (ap);
    }
    if (n >= (int) sizeof buf - 1)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t rc;
    do
        rc = write (s_fd, buf, (size_t) n);
    while (rc < 0 && errno == EINTR);
}

char *
bf_log_escape (char *dst, size_t dstlen, const char *src)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *) src; *p && o + 5 < dstlen; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            dst[o++] = (char) *p;
        else
            o += (size_t) snprintf (dst + o, dstlen - o, "\\x%02x", *p);
    }
    if (dstlen)
        dst[o < dstlen ? o : dstlen - 1] = '\0';
    return dst;
}
