/*  bf_junit - a JUnit XML report (see bf_junit.h). */
#include "bf_junit.h"
#include "../common/bf_error.h"
#include "../common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Appends s to the stream, escaped for XML (attribute-safe), with bytes
    XML 1.0 cannot hold and bytes that are not UTF-8 as \xNN. */
static void
s_xml (FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    while (*p) {
        unsigned char c = *p;
        size_t len = 1;
        if (c >= 0x80) {
            len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            for (size_t i = 1; i < len; i++)
                if ((p[i] & 0xc0) != 0x80)
                    len = 0;
            if (len < 2 || (len == 2 && c < 0xc2)) {
                fprintf (f, "\\x%02x", c);
                p++;
                continue;
            }
            fwrite (p, 1, len, f);
            p += len;
            continue;
        }
        switch (c) {
            case '&': fputs ("&amp;", f); break;
            case '<': fputs ("&lt;", f); break;
            case '>': fputs ("&gt;", f); break;
            case '"': fputs ("&quot;", f); break;
            case '\'': fputs ("&apos;", f); break;
            case '\n': fputs ("&#10;", f); break;
            case '\t': fputs ("&#9;", f); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    fprintf (f, "\\x%02x", c);
                else
                    fputc (c, f);
        }
        p++;
    }
}

static void
s_prop (FILE *f, const char *name, const char *value)
{
    fputs ("        <property name=\"", f);
    s_xml (f, name);
    fputs ("\" value=\"", f);
    s_xml (f, value);
    fputs ("\"/>\n", f);
}

static int64_t
s_iso_ms (json_t *v)
{
    const char *s = json_string_value (v);
    struct tm tm = { 0 };
    int ms = 0;
    if (!s || sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t) timegm (&tm) * 1000 + ms;
}

double
bf_junit_job_seconds (json_t *job)
{
    int64_t a = s_iso_ms (json_object_get (job, "submitted_at"));
    int64_t b = s_iso_ms (json_object_get (job, "finished_at"));
    return a < 0 || b < a ? -1 : (double) (b - a) / 1000.0;
}

static void
s_case (FILE *f, const bf_junit_case_t *c)
{
    fputs ("    <testcase name=\"", f);
    s_xml (f, c->name);
    fputs ("\" classname=\"bitfarm.", f);
    s_xml (f, c->name);
    fprintf (f, "\" time=\"%.3f\">\n", c->seconds > 0 ? c->seconds : 0.0);
    fputs ("      <properties>\n", f);
    static const char *fields[] = { "id", "state", "failure_class", "cache_key", "toolchain",
                                    "bitstream_sha256", "worker" };
    for (size_t i = 0; c->job && i < sizeof fields / sizeof *fields; i++)
        if (json_is_string (json_object_get (c->job, fields[i])))
            s_prop (f, strcmp (fields[i], "id") == 0 ? "job" : fields[i],
                    json_string_value (json_object_get (c->job, fields[i])));
    if (c->job)
        s_prop (f, "cache_hit", json_is_true (json_object_get (c->job, "cache_hit")) ? "true"
                                                                                   : "false");
    char name[160], value[64];
    json_t *report = c->job ? json_object_get (c->job, "report") : NULL;
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get (report, "clocks"), i, v) {
        const char *net = json_string_value (json_object_get (v, "net"));
        double got = json_number_value (json_object_get (v, "achieved_mhz"));
        double want = json_number_value (json_object_get (v, "target_mhz"));
        snprintf (name, sizeof name, "clock.%.64s.achieved_mhz", net ? net : "?");
        snprintf (value, sizeof value, "%.2f", got);
        s_prop (f, name, value);
        snprintf (name, sizeof name, "clock.%.64s.target_mhz", net ? net : "?");
        snprintf (value, sizeof value, "%.2f", want);
        s_prop (f, name, value);
        snprintf (name, sizeof name, "clock.%.64s.met", net ? net : "?");
        s_prop (f, name, got >= want ? "true" : "false");
    }
    const char *k;
    json_object_foreach (json_object_get (report, "utilization"), k, v) {
        snprintf (name, sizeof name, "utilization.%.64s", k);
        snprintf (value, sizeof value, "%lld/%lld",
                  (long long) json_integer_value (json_object_get (v, "used")),
                  (long long) json_integer_value (json_object_get (v, "available")));
        s_prop (f, name, value);
    }
    fputs ("      </properties>\n", f);
    if (c->exit_status != 0) {
        const char *err = c->job ? json_string_value (json_object_get (c->job, "error")) : NULL;
        if (!err)
            err = c->error ? c->error : "failed";
        const char *state = c->job ? json_string_value (json_object_get (c->job, "state")) : NULL;
        const char *type = c->exit_status == 1 ? "design" : c->exit_status == 4 ? "timeout"
                         : c->exit_status == 5 ? "cancelled" : c->exit_status == 2 ? "usage"
                         : "infrastructure";
        const char *elem = c->exit_status == 1 ? "failure" : "error";
        char first[256];
        snprintf (first, sizeof first, "%.*s", (int) strcspn (err, "\n"), err);
        fprintf (f, "      <%s type=\"%s\" message=\"", elem, type);
        s_xml (f, first);
        fputs ("\">", f);
        if (state) {
            s_xml (f, state);
            fputs (": ", f);
        }
        s_xml (f, err);
        fprintf (f, "</%s>\n", elem);
    }
    fputs ("    </testcase>\n", f);
}

int
bf_junit_write (const char *path, const char *suite, const bf_junit_case_t *cases, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    if (!f)
        return bf_error_set (BF_ENOMEM, "out of memory writing '%s'", path);
    int failures = 0, errors = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        failures += cases[i].exit_status == 1;
        errors += cases[i].exit_status != 0 && cases[i].exit_status != 1;
        total += cases[i].seconds > 0 ? cases[i].seconds : 0;
    }
    char now[40];
    time_t t = time (NULL);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf (f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<testsuites name=\"bitfarm\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" "
             "time=\"%.3f\">\n  <testsuite name=\"", n, failures, errors, total);
    s_xml (f, suite);
    fprintf (f, "\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"0\" time=\"%.3f\" "
             "timestamp=\"%s\">\n", n, failures, errors, total, now);
    for (size_t i = 0; i < n; i++)
        s_case (f, &cases[i]);
    fputs ("  </testsuite>\n</testsuites>\n", f);
    fclose (f);
    int rc = bf_file_write_atomic (path, buf, len, 0644);
    free (buf);
    return rc;
}
