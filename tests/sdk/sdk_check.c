/*  sdk_check - libbitfarm's public API against a real farm, as a user
    program: built by t0035 with `pkg-config bitfarm` against an installed
    copy, run in a copy of tests/fixtures/blinky.  Prints TAP lines.
    Usage: sdk_check BADDESIGN.v PROJECTDIR
           sdk_check --curve ENDPOINT SECRET_KEY BROKER_KEY: lists jobs
               over CURVE, printing "CLASS: MESSAGE" (exit 0 either way)
           sdk_check --rev REV: builds blinky's top.v at git revision REV of
               the work tree here, printing "KEY CACHE_KEY" */
#include <bitfarm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_failed;

static void
s_check (int ok, const char *what)
{
    printf ("%sok - %s\n", ok ? "" : "not ", what);
    if (!ok) {
        printf ("#   last error: %s (%s)\n", bitfarm_error_last ()->message,
                bitfarm_error_name (bitfarm_error_last ()->code));
        s_failed++;
    }
}

/*  rc is code, and the last error's message holds text. */
static void
s_fails (int rc, int code, const char *text, const char *what)
{
    int ok = rc == code && bitfarm_error_last ()->code == code
             && strstr (bitfarm_error_last ()->message, text) != NULL;
    s_check (ok, what);
    if (!ok)
        printf ("#   got %d (%s), want %d (%s) with '%s'\n", rc, bitfarm_error_name (rc), code,
                bitfarm_error_name (code), text);
}

static int
s_blinky (bitfarm_design **d)
{
    int rc = bitfarm_design_new (d, "top", "hx1k", "tq144");
    if (rc == BITFARM_OK)
        rc = bitfarm_design_set (*d, "pcf", "icestick.pcf");
    if (rc == BITFARM_OK)
        rc = bitfarm_design_add_file (*d, "top.v");
    return rc;
}

static int
s_log_bytes (const char *data, size_t len, void *payload)
{
    (void) data;
    *(size_t *) payload += len;
    return 0;
}

static int s_progress_calls;

static int
s_progress (bitfarm_job *job, void *payload)
{
    (void) payload;
    if (bitfarm_job_id (job))
        s_progress_calls++;
    return 0;
}

/*  Stops the wait at the first report. */
static int
s_stop (bitfarm_job *job, void *payload)
{
    (void) job;
    (void) payload;
    return 1;
}

/*  --curve: one listing over CURVE; prints its class and message. */
static int
s_curve (char **argv)
{
    bitfarm_farm *farm = NULL;
    char *json = NULL;
    int rc = bitfarm_farm_open_curve (&farm, argv[2], argv[3], argv[4]);
    if (rc == BITFARM_OK)
        rc = bitfarm_jobs (farm, 5, NULL, &json);
    printf ("%s: %s\n", bitfarm_error_name (rc), rc ? bitfarm_error_last ()->message : json);
    bitfarm_free (json);
    bitfarm_farm_close (&farm);
    return 0;
}

/*  --rev: a design from a git revision; prints its cache key. */
static int
s_rev (const char *rev)
{
    bitfarm_farm *farm = NULL;
    bitfarm_design *d = NULL;
    bitfarm_job *job = NULL;
    int rc = bitfarm_farm_open (&farm, NULL);
    if (rc == BITFARM_OK)
        rc = s_blinky (&d);
    if (rc == BITFARM_OK)
        rc = bitfarm_design_set (d, "rev", rev);
    if (rc == BITFARM_OK)
        rc = bitfarm_submit (farm, d, NULL, &job);
    if (rc == BITFARM_OK)
        rc = bitfarm_job_wait (job, 0, NULL, NULL);
    if (rc == BITFARM_OK)
        printf ("KEY %s\n", bitfarm_job_get (job, "cache_key"));
    else
        printf ("%s: %s\n", bitfarm_error_name (rc), bitfarm_error_last ()->message);
    bitfarm_job_free (&job);
    bitfarm_design_free (&d);
    bitfarm_farm_close (&farm);
    return rc == BITFARM_OK ? 0 : 1;
}

int
main (int argc, char **argv)
{
    if (argc == 5 && strcmp (argv[1], "--curve") == 0)
        return s_curve (argv);
    if (argc == 3 && strcmp (argv[1], "--rev") == 0)
        return s_rev (argv[2]);
    if (argc != 3)
        return 2;
    int major = 0;
    s_check (strcmp (bitfarm_version (&major, NULL, NULL), BITFARM_VERSION) == 0
             && major == BITFARM_VERSION_MAJOR, "bitfarm_version matches the header");
    s_check (bitfarm_error_last ()->code == BITFARM_OK, "no error before any call");
    bitfarm_farm *farm = NULL;
    s_check (bitfarm_farm_open (&farm, NULL) == BITFARM_OK, "opens the local farm");
    if (!farm)
        return 1;

    bitfarm_design *d = NULL, *bad = NULL, *missing = NULL;
    s_check (s_blinky (&d) == BITFARM_OK, "a design from files and options");
    s_fails (bitfarm_design_set (d, "sede", "3"), BITFARM_EUSAGE,
             "unknown design option 'sede'", "an unknown option is a usage error naming it");
    s_fails (bitfarm_design_set (d, "seed", "x1"), BITFARM_EUSAGE, "--seed",
             "a bad seed is refused as the CLI refuses it");
    s_fails (bitfarm_design_new (&missing, "", "hx1k", NULL), BITFARM_EUSAGE, "top module",
             "a design without a top is refused");
    bitfarm_design_new (&missing, "top", "hx1k", "tq144");
    bitfarm_design_add_file (missing, "no_such_file.v");
    bitfarm_job *job = NULL;
    s_fails (bitfarm_submit (farm, missing, NULL, &job), BITFARM_EUSAGE, "no_such_file.v",
             "a missing file is a usage error naming it, and nothing is submitted");
    s_check (job == NULL, "  ... with no job");

    s_check (bitfarm_submit (farm, d, NULL, &job) == BITFARM_OK && job
             && strlen (bitfarm_job_id (job)) == 32, "submit returns a job with a full id");
    s_check (bitfarm_job_wait (job, 0, s_progress, NULL) == BITFARM_OK
             && bitfarm_job_state (job) == BITFARM_SUCCEEDED, "the build succeeds");
    s_check (s_progress_calls >= 1, "  ... and the progress callback saw it");
    void *bits = NULL;
    size_t len = 0;
    s_check (bitfarm_job_fetch (job, BITFARM_BITSTREAM, &bits, &len) == BITFARM_OK
             && len == 32220, "fetch gives the bitstream's 32220 bytes");
    bitfarm_free (bits);
    s_check (bitfarm_job_save (job, BITFARM_BITSTREAM, "lib.bin") == BITFARM_OK,
             "save writes it to a file");
    size_t logged = 0;
    s_check (bitfarm_job_logs (job, 0, s_log_bytes, &logged) == BITFARM_OK && logged > 100,
             "logs gives the tools' output");
    s_check (strstr (bitfarm_job_json (job), "\"state\":\"succeeded\"") != NULL,
             "the status as JSON");
    s_fails (bitfarm_job_cancel (job), BITFARM_EUSAGE, "", "cancel of a finished job is refused");
    printf ("# KEY %s\n# JOB %s\n", bitfarm_job_get (job, "cache_key"), bitfarm_job_id (job));

    bitfarm_job *again = NULL;
    char prefix[13];
    snprintf (prefix, sizeof prefix, "%s", bitfarm_job_id (job));
    s_check (bitfarm_job_open (farm, prefix, &again) == BITFARM_OK
             && strcmp (bitfarm_job_id (again), bitfarm_job_id (job)) == 0,
             "a job by a prefix of its id");
    bitfarm_job_free (&again);
    s_fails (bitfarm_job_open (farm, "0123456789ab", &again), BITFARM_EUSAGE, "no job",
             "an unknown job id is a usage error");
    char *json = NULL;
    s_check (bitfarm_jobs (farm, 10, NULL, &json) == BITFARM_OK
             && strstr (json, bitfarm_job_id (job)), "jobs lists it");
    bitfarm_free (json);
    s_check (bitfarm_boards (farm, &json) == BITFARM_OK && strstr (json, "\"vboard0\""),
             "boards lists the local farm's vboard0");
    bitfarm_free (json);

    /* a design the tools reject */
    bitfarm_design_new (&bad, "top", "hx1k", "tq144");
    bitfarm_design_add_file (bad, argv[1]);
    bitfarm_job *failed = NULL;
    s_check (bitfarm_submit (farm, bad, NULL, &failed) == BITFARM_OK, "a broken design is "
             "accepted");
    s_fails (bitfarm_job_wait (failed, 0, NULL, NULL), BITFARM_EDESIGN, "failed",
             "  ... and its wait is a design error");
    s_check (bitfarm_job_get (failed, "failure_class")
             && strcmp (bitfarm_job_get (failed, "failure_class"), "design") == 0,
             "  ... of failure class design");
    s_fails (bitfarm_job_fetch (failed, BITFARM_BITSTREAM, &bits, &len), BITFARM_EUSAGE, "",
             "  ... with no bitstream to fetch");

    /* waiting with a limit, and cancel */
    bitfarm_design *slow = NULL;
    bitfarm_job *sj = NULL;
    bitfarm_design_new (&slow, "top", "hx1k", "tq144");
    bitfarm_design_add_file (slow, "top.v");
    bitfarm_design_set (slow, "flow", "noop");
    bitfarm_design_set (slow, "delay", "20s");
    bitfarm_design_set (slow, "define", "SLOW_RUN");
    s_check (bitfarm_submit (farm, slow, NULL, &sj) == BITFARM_OK, "a 20 s noop job");
    s_fails (bitfarm_job_wait (sj, 300, NULL, NULL), BITFARM_ETIMEOUT, "still",
             "  ... a 300 ms wait ends with a timeout");
    s_check (!bitfarm_state_is_final (bitfarm_job_state (sj)), "  ... while the job goes on");
    s_fails (bitfarm_job_wait (sj, 0, s_stop, NULL), BITFARM_ETIMEOUT, "stopped by its progress",
             "  ... a progress callback that returns nonzero stops a wait");
    s_check (bitfarm_job_cancel (sj) == BITFARM_OK, "  ... cancel");
    s_fails (bitfarm_job_wait (sj, 0, NULL, NULL), BITFARM_ECANCELLED, "cancelled",
             "  ... then its wait says cancelled");

    /* a project file's target */
    bitfarm_design *pd = NULL;
    bitfarm_job *pj = NULL;
    s_check (bitfarm_design_from_project (&pd, argv[2], "blinky") == BITFARM_OK,
             "a design from a project file's target");
    s_check (pd && bitfarm_submit (farm, pd, NULL, &pj) == BITFARM_OK
             && bitfarm_job_wait (pj, 0, NULL, NULL) == BITFARM_OK
             && bitfarm_job_get_int (pj, "cache_hit", 0) == 1
             && strcmp (bitfarm_job_get (pj, "cache_key"), bitfarm_job_get (job, "cache_key"))
                == 0, "  ... is the same build: a cache hit on the same key");
    bitfarm_design *nt = NULL;
    s_fails (bitfarm_design_from_project (&nt, argv[2], "nosuch"), BITFARM_EUSAGE,
             "no target 'nosuch'", "an unknown target is refused, naming the targets");

    /* boards */
    bitfarm_session *s1 = NULL, *s2 = NULL;
    s_fails (bitfarm_session_open (farm, "nosuchboard", NULL, 0, NULL, &s1), BITFARM_EUSAGE,
             "no board named 'nosuchboard'", "a session on an unknown board is refused");
    s_check (bitfarm_session_open (farm, "vboard0", NULL, 60000, "sdk_check", &s1)
             == BITFARM_OK && strlen (bitfarm_session_token (s1)) == 32,
             "a session reserves vboard0");
    s_fails (bitfarm_session_open (farm, NULL, "hx1k", 0, NULL, &s2), BITFARM_EUSAGE,
             "no board holds an hx1k", "no board of a device is a usage error");
    s_fails (bitfarm_session_open (farm, "vboard0", NULL, 0, NULL, &s2), BITFARM_EBUSY,
             "reserved", "a second session on it is refused as busy");
    uint32_t w = 0;
    s_fails (bitfarm_session_read (s1, 0x2, &w, 1, 0), BITFARM_EUSAGE, "0x2",
             "an unaligned address is refused, naming it");
    s_fails (bitfarm_session_read (s1, 0x0, &w, 0, 0), BITFARM_EUSAGE, "count",
             "a count of 0 is refused");
    s_check (bitfarm_session_close (&s1) == BITFARM_OK && s1 == NULL, "close releases it");
    s_check (bitfarm_boards (farm, &json) == BITFARM_OK && !strstr (json, "sdk_check"),
             "  ... and boards shows no reservation");
    bitfarm_free (json);
    bitfarm_session *att = NULL;
    s_check (bitfarm_session_attach (farm, "vboard0", "0123456789abcdef0123456789abcdef", &att)
             == BITFARM_OK, "attach to a token takes it as given");
    s_fails (bitfarm_session_read (att, 0x0, &w, 1, 0), BITFARM_EUSAGE, "holds no reservation",
             "  ... and a read with a token that holds nothing is refused");
    bitfarm_session_close (&att);

    bitfarm_job_free (&pj);
    bitfarm_design_free (&pd);
    bitfarm_job_free (&sj);
    bitfarm_design_free (&slow);
    bitfarm_job_free (&failed);
    bitfarm_design_free (&bad);
    bitfarm_job_free (&job);
    bitfarm_design_free (&missing);
    bitfarm_design_free (&d);
    bitfarm_farm_close (&farm);
    bitfarm_farm_close (&farm);   /* twice: NULL is fine */
    return s_failed ? 1 : 0;
}
