/*  bf_config - see bf_config.h. */
#include "bf_config.h"
#include "bf_error.h"
#include "bf_log.h"
#include "bf_opt.h"
#include "bf_proto.h"
#include "bf_util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_OPTS 96

const bf_config_opt_t bf_config_daemon_common[] = {
    { "heartbeat", BF_CFG_MS, offsetof (bf_daemon_opts_t, heartbeat_ms), 10, 60000, "DURATION",
      "heartbeat interval (default 1s; 10ms..60s)", NULL },
    { "liveness", BF_CFG_INT, offsetof (bf_daemon_opts_t, liveness), 1, 100, "N",
      "heartbeats missed before the peer is presumed lost\n(default 3; 1..100)", NULL },
    { "pid-file", BF_CFG_STR, offsetof (bf_daemon_opts_t, pid_file), 0, 0, "PATH",
      "write the process id here", NULL },
    { "log-file", BF_CFG_STR, offsetof (bf_daemon_opts_t, log_file), 0, 0, "PATH",
      "append the log here instead of stderr", NULL },
    { "log-level", BF_CFG_LEVEL, offsetof (bf_daemon_opts_t, log_level), 0, 0, "LEVEL",
      "debug, info (default), warn or error", NULL },
    { "job-log-max", BF_CFG_SIZE, offsetof (bf_daemon_opts_t, job_log_max), 4096, 64LL << 20,
      "SIZE", "cap on one job's log, e.g. 1M; output past it is dropped\n"
      "and the log ends with \"[bitfarm: log truncated at N bytes]\"\n"
      "(default 16M; 4K..64M)", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

/*  The entry behind getopt's val (table << 8 | index, offset by 256). */
static const bf_config_opt_t *
s_entry (const bf_config_table_t *tables, int val, void **base)
{
    int t = (val - 256) >> 8, i = (val - 256) & 0xff;
    *base = tables[t].base;
    return &tables[t].opts[i];
}

static int
s_store (const bf_config_opt_t *o, void *base, const char *value)
{
    char *field = (char *) base + o->offset;
    char option[72];
    snprintf (option, sizeof option, "--%s", o->name);
    int64_t n = 0;
    int rc = BF_OK;
    switch (o->type) {
        case BF_CFG_STR:
            *(const char **) field = value;
            break;
        case BF_CFG_FLAG:
            *(bool *) field = true;
            break;
        case BF_CFG_INT:
        case BF_CFG_INT64:
            if ((rc = bf_opt_int (&n, option, value, o->min, o->max)) != BF_OK)
                return rc;
            if (o->type == BF_CFG_INT)
                *(int *) field = (int) n;
            else
                *(int64_t *) field = n;
            break;
        case BF_CFG_MS:
        case BF_CFG_MS64:
        case BF_CFG_SECONDS:
            if ((rc = bf_opt_duration_ms (&n, option, value, o->min, o->max)) != BF_OK)
                return rc;
            if (o->type == BF_CFG_MS)
                *(int *) field = (int) n;
            else if (o->type == BF_CFG_MS64)
                *(int64_t *) field = n;
            else
                *(int64_t *) field = n / 1000;
            break;
        case BF_CFG_SIZE:
            if ((rc = bf_opt_size (&n, option, value, o->min, o->max)) != BF_OK)
                return rc;
            *(int64_t *) field = n;
            break;
        case BF_CFG_LEVEL: {
            bf_log_level_t level;
            if ((rc = bf_log_parse_level (value, &level)) != BF_OK)
                return rc;
            *(int *) field = (int) level;
            break;
        }
        case BF_CFG_CHECK:
            if (o->check && (rc = o->check (option, value)) != BF_OK)
                return rc;
            *(const char **) field = value;
            break;
        case BF_CFG_TAG: {
            const char **tags = (const char **) field;
            int ntags = 0;
            while (tags[ntags])
                ntags++;
            return bf_opt_tag (tags, &ntags, value);
        }
    }
    return BF_OK;
}

int
bf_config_parse (const bf_config_table_t *tables, int ntables, int argc, char **argv,
                 int *optind_out, int *help_out)
{
    struct option longs[S_MAX_OPTS + 4];
    int n = 0;
    for (int t = 0; t < ntables; t++)
        for (int i = 0; tables[t].opts[i].name; i++) {
            if (n >= S_MAX_OPTS || i > 0xff)
                abort ();   /* a table of this program: a programming error */
            const bf_config_opt_t *o = &tables[t].opts[i];
            longs[n++] = (struct option) { o->name, o->type == BF_CFG_FLAG ? no_argument
                                                                          : required_argument,
                                           NULL, 256 + (t << 8 | i) };
        }
    longs[n++] = (struct option) { "help", no_argument, NULL, 'h' };
    longs[n++] = (struct option) { "version", no_argument, NULL, 'V' };
    longs[n++] = (struct option) { "man", no_argument, NULL, 'M' };
    longs[n] = (struct option) { NULL, 0, NULL, 0 };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h' || c == 'V' || c == 'M') {
            *help_out = c;
            return 1;
        }
        if (c < 256) {
            char shown[80];
            bf_log_escape (shown, sizeof shown, argv[optind - 1]);
            return bf_error_set (BF_EINVAL, "unknown option or missing value '%s' (see --help)",
                                 shown);
        }
        void *base;
        const bf_config_opt_t *o = s_entry (tables, c, &base);
        int rc = s_store (o, base, optarg);
        if (rc != BF_OK)
            return rc;
    }
    *optind_out = optind;
    return BF_OK;
}

int
bf_config_main (const bf_config_table_t *tables, int ntables, int argc, char **argv,
                const char *prog, const char *version, const char *head, const char *tail,
                int *optind_out)
{
    int help = 0;
    int rc = bf_config_parse (tables, ntables, argc, argv, optind_out, &help);
    if (rc == 1 && help == 'V') {
        puts (version);
        return 0;
    }
    if (rc == 1 && help == 'M') {
        bf_config_man (stdout, tables, ntables, prog, "8", version, head, tail);
        return 0;
    }
    if (rc == 1) {
        fputs (head, stdout);
        bf_config_usage (stdout, tables, ntables);
        fputs (tail, stdout);
        return 0;
    }
    if (rc != BF_OK) {
        fprintf (stderr, "%s: %s\n", prog, bf_error_last ());
        return 2;
    }
    return -1;
}

void
bf_config_usage (FILE *f, const bf_config_table_t *tables, int ntables)
{
    for (int t = 0; t < ntables; t++)
        for (const bf_config_opt_t *o = tables[t].opts; o->name; o++) {
            char head[64];
            snprintf (head, sizeof head, "--%s%s%s", o->name, o->arg ? " " : "",
                      o->arg ? o->arg : "");
            if (strlen (head) > 20)
                fprintf (f, "  %s\n  %-20s ", head, "");
            else
                fprintf (f, "  %-20s ", head);
            for (const char *p = o->help; *p; p++) {
                fputc (*p, f);
                if (*p == '\n' && p[1])
                    fprintf (f, "  %-20s ", "");
            }
            fputc ('\n', f);
        }
    fprintf (f, "  %-20s print the version and exit\n", "--version");
    fprintf (f, "  %-20s print this help and exit\n", "-h, --help");
    fprintf (f, "  %-20s print it as a man page and exit\n", "--man");
}

void
bf_config_log (const bf_config_table_t *tables, int ntables)
{
    for (int t = 0; t < ntables; t++)
        for (const bf_config_opt_t *o = tables[t].opts; o->name; o++) {
            const char *field = (const char *) tables[t].base + o->offset;
            char shown[160] = "";
            switch (o->type) {
                case BF_CFG_STR:
                case BF_CFG_CHECK: {
                    const char *v = *(const char *const *) field;
                    if (!v)
                        continue;
                    bf_log_escape (shown, sizeof shown, v);
                    break;
                }
                case BF_CFG_FLAG:
                    if (!*(const bool *) field)
                        continue;
                    snprintf (shown, sizeof shown, "on");
                    break;
                case BF_CFG_INT:
                case BF_CFG_LEVEL:
                    snprintf (shown, sizeof shown, "%d", *(const int *) field);
                    break;
                case BF_CFG_MS:
                    snprintf (shown, sizeof shown, "%d ms", *(const int *) field);
                    break;
                case BF_CFG_INT64:
                case BF_CFG_MS64:
                case BF_CFG_SECONDS:
                case BF_CFG_SIZE:
                    snprintf (shown, sizeof shown, "%lld%s", (long long) *(const int64_t *) field,
                              o->type == BF_CFG_MS64 ? " ms" : o->type == BF_CFG_SECONDS ? " s"
                              : o->type == BF_CFG_SIZE ? " bytes" : "");
                    break;
                case BF_CFG_TAG: {
                    const char *const *tags = (const char *const *) field;
                    size_t len = 0;
                    for (int i = 0; tags[i] && len + 1 < sizeof shown; i++) {
                        int k = snprintf (shown + len, sizeof shown - len, "%s%s", i ? " " : "",
                                          tags[i]);
                        len += k > 0 ? (size_t) k : 0;
                    }
                    if (!len)
                        continue;
                    break;
                }
            }
            bf_info ("config: --%s %s", o->name, shown);
        }
}
