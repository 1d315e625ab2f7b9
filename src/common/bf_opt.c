/*  bf_opt - see bf_opt.h. */
#include "bf_opt.h"
#include "bf_error.h"
#include "bf_log.h"
#include "bf_proto.h"
#include "bf_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
bf_opt_int (int64_t *out, const char *option, const char *value, int64_t min, int64_t max)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll (value, &end, 10);
    if (errno || end == value || *end || v < min || v > max)
        return bf_error_set (BF_EINVAL, "invalid value '%.64s' for %s (want an integer %lld..%lld)",
                             value, option, (long long) min, (long long) max);
    *out = v;
    return BF_OK;
}

int
bf_opt_tag (const char **tags, int *ntags, const char *value)
{
    if (!bf_tag_valid (value))
        return bf_error_set (BF_EINVAL, "invalid value '%.80s' for --tag (1 to %d characters "
                             "of a-z 0-9 _ . -)", value, BF_TAG_MAX);
    if (*ntags >= BF_TAGS_MAX)
        return bf_error_set (BF_EINVAL, "too many --tag options (at most %d)", BF_TAGS_MAX);
    tags[(*ntags)++] = value;
    return BF_OK;
}

int
bf_opt_duration_ms (int64_t *out, const char *option, const char *value, int64_t min_ms,
                    int64_t max_ms)
{
    char *end = NULL;
    errno = 0;
    double v = strtod (value, &end);
    double mult = 1000;
    if (!errno && end != value) {
        if (strcmp (end, "ms") == 0)
            mult = 1;
        else if (strcmp (end, "s") == 0 || *end == '\0')
            mult = 1000;
        else if (strcmp (end, "m") == 0)
            mult = 60000;
        else if (strcmp (end, "h") == 0)
            mult = 3600000;
        else if (strcmp (end, "d") == 0)
            mult = 86400000;
        else
            end = (char *) value;
    }
    double ms = v * mult;
    if (errno || end == value || !(ms >= (double) min_ms) || !(ms <= (double) max_ms))
        return bf_error_set (BF_EINVAL, "invalid value '%.64s' for %s (want a duration such as "
                             "500ms, 30s, 5m; from %lld ms to %lld ms)", value, option,
                             (long long) min_ms, (long long) max_ms);
    *out = (int64_t) ms;
    return BF_OK;
}

int
bf_opt_size (int64_t *out, const char *option, const char *value, int64_t min, int64_t max)
{
    char *end = NULL;
    errno = 0;
    double v = strtod (value, &end);
    double mult = 1;
    if (!errno && end != value && *value != '-') {
        static const char units[] = "kmgt";
        const char *u = *end ? strchr (units, end[0] | 0x20) : NULL;
        if (u && *end) {
            for (const char *k = units; k <= u; k++)
                mult *= 1024;
            end++;
        }
        if (strcmp (end, "iB") == 0 && u)
            end += 2;
        else if (strcmp (end, "B") == 0)
            end += 1;
        if (*end)
            end = (char *) value;
    }
    else
        end = (char *) value;
    double bytes = v * mult;
    if (errno || end == value || !(bytes >= (double) min) || !(bytes <= (double) max))
        return bf_error_set (BF_EINVAL, "invalid value '%.64s' for %s (want a size such as "
                             "512M, 10G; from %lld to %lld bytes)", value, option,
                             (long long) min, (long long) max);
    *out = (int64_t) bytes;
    return BF_OK;
}

int
bf_opt_write_pidfile (const char *path)
{
    char buf[32];
    int n = snprintf (buf, sizeof buf, "%ld\n", (long) getpid ());
    return bf_file_write_atomic (path, buf, (size_t) n, 0644);
}
