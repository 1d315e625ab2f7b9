/*  Unit tests for the durable job table (src/broker/bf_jobs.c) on a real
    SQLite file: coalescing, retries and back-off, one result per job,
    promotion of followers, recovery, and the event history. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "../../src/broker/bf_boards.h"
#include "../../src/broker/bf_jobs.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"

typedef struct {
    char dir[64];
    char path[96];
    bf_jobs_t *jobs;
} s_fix_t;

static int
s_setup (void **state)
{
    s_fix_t *f = calloc (1, sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/bf-test-jobs-XXXXXX");
    if (!mkdtemp (f->dir))
        return -1;
    snprintf (f->path, sizeof f->path, "%s/jobs.db", f->dir);
    if (bf_jobs_open (&f->jobs, f->path) != BF_OK)
        return -1;
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fix_t *f = *state;
    bf_jobs_destroy (&f->jobs);
    bf_remove_tree (f->dir);
    free (f);
    return 0;
}

/*  Creates a job for a manifest whose only distinguishing field is `top`
    (the action digest here is simply that name), needing the worker tag
    `tag` (or none), submitted by `owner` (or none). */
static void
s_create_as (s_fix_t *f, char *id, char *leader, const char *action, int priority,
             const char *tag, const char *owner)
{
    json_t *m = json_pack ("{s:s}", "top", action);
    json_t *tags = tag ? json_pack ("[s]", tag) : NULL;
    bf_job_spec_t spec = { .manifest = m, .action = action, .priority = priority,
                           .timeout_ms = 60000, .max_attempts = 3, .tags = tags,
                           .owner = owner, .owner_name = owner };
    assert_int_equal (bf_jobs_create (f->jobs, id, leader, &spec), BF_OK);
    json_decref (m);
    json_decref (tags);
}

static void
s_create (s_fix_t *f, char *id, char *leader, const char *action, int priority, int attempts)
{
    json_t *m = json_pack ("{s:s}", "top", action);
    bf_job_spec_t spec = { .manifest = m, .action = action, .priority = priority,
                           .timeout_ms = 60000, .max_attempts = attempts };
    assert_int_equal (bf_jobs_create (f->jobs, id, leader, &spec), BF_OK);
    json_decref (m);
}

/*  Starts attempt `attempt` of job id on worker (no CURVE key), for key. */
static int
s_start (s_fix_t *f, const char *id, const char *worker, const char *key, int64_t attempt,
         int64_t deadline)
{
    bf_attempt_t a = { .attempt = attempt };
    snprintf (a.worker, sizeof a.worker, "%s", worker);
    snprintf (a.toolchain, sizeof a.toolchain, "tc-%s", worker);
    snprintf (a.cache_key, sizeof a.cache_key, "%s", key);
    return bf_jobs_start (f->jobs, id, &a, deadline);
}

/*  The ids of bf_jobs_ready_fair over every class ready now, joined by
    spaces into buf (at least 34 bytes per job). */
static const char *
s_fair (s_fix_t *f, char *buf, size_t size, json_t *only)
{
    json_t *classes = json_array ();
    json_t *all = bf_jobs_ready_classes (f->jobs, bf_now_ms ());
    size_t i;
    json_t *c;
    json_array_foreach (all, i, c) {
        const char *tc = json_string_value (json_object_get (c, "class"));
        bool keep = !only;
        for (size_t k = 0; only && k < json_array_size (only); k++)
            keep |= strcmp (json_string_value (json_array_get (only, k)), tc) == 0;
        if (keep)
            json_array_append (classes, json_object_get (c, "class"));
    }
    json_decref (all);
    json_t *ready = bf_jobs_ready_fair (f->jobs, bf_now_ms (), classes, 100);
    json_decref (classes);
    buf[0] = '\0';
    json_array_foreach (ready, i, c) {
        size_t len = strlen (buf);
        snprintf (buf + len, size - len, "%s%s", len ? " " : "",
                  json_string_value (json_object_get (c, "id")));
    }
    json_decref (ready);
    return buf;
}

static const char *
s_field (s_fix_t *f, const char *id, const char *key, char *buf)
{
    bf_job_t *job = NULL;
    assert_int_equal (bf_jobs_get (f->jobs, &job, id, false), BF_OK);
    json_t *j = bf_job_to_json (job);   /* the record, through its wire codec */
    bf_job_free (job);
    json_t *v = json_object_get (j, key);
    if (json_is_string (v))
        snprintf (buf, 128, "%s", json_string_value (v));
    else if (json_is_integer (v))
        snprintf (buf, 128, "%lld", (long long) json_integer_value (v));
    else
        snprintf (buf, 128, "null");
    json_decref (j);
    return buf;
}

static void
jobs_identical_submits__follow_one_leader_and_share_its_result (void **state)
{
    s_fix_t *f = *state;
    char a[33], b[33], c[33], lead[33], buf[128];
    s_create (f, a, lead, "design-1", 0, 3);
    assert_string_equal (lead, "");
    assert_int_equal (s_start (f, a, "w1", "key-1", 1, bf_now_ms () + 1000), BF_OK);
    s_create (f, b, lead, "design-1", 7, 3);
    assert_string_equal (lead, a);
    s_create (f, c, lead, "design-2", 0, 3);
    assert_string_equal (lead, "");
    /* Only leaders are ready; the leader took its follower's priority. */
    json_t *ready = bf_jobs_ready (f->jobs, bf_now_ms (), 10);
    assert_int_equal (json_array_size (ready), 1);
    assert_string_equal (json_string_value (json_array_get (ready, 0)), c);
    json_decref (ready);
    assert_string_equal (s_field (f, a, "priority", buf), "7");
    assert_string_equal (s_field (f, b, "state", buf), "running");   /* mirrors its leader */
    bf_result_t res = { .state = BF_JOB_SUCCEEDED, .bitstream = "beef" };
    int n = -1;
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, NULL, &n), BF_OK);
    assert_int_equal (n, 1);
    assert_string_equal (s_field (f, b, "state", buf), "succeeded");
    assert_string_equal (s_field (f, b, "bitstream_sha256", buf), "beef");
    /* A job never records two results. */
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, NULL, NULL), BF_EBUSY);
    assert_int_equal (bf_jobs_finish (f->jobs, b, &res, NULL, NULL), BF_EBUSY);
}

static void
jobs_retry__backs_off_then_fails_when_attempts_are_used_up (void **state)
{
    s_fix_t *f = *state;
    char a[33], lead[33], buf[128];
    s_create (f, a, lead, "design-1", 0, 2);
    int64_t now = bf_now_ms ();
    assert_int_equal (s_start (f, a, "w1", "k", 1, now + 1000), BF_OK);
    bool final = true;
    assert_int_equal (bf_jobs_retry (f->jobs, a, "worker 'w1' lost", 5000, &final), BF_OK);
    assert_false (final);
    assert_string_equal (s_field (f, a, "state", buf), "queued");
    json_t *ready = bf_jobs_ready (f->jobs, bf_now_ms (), 10);
    assert_int_equal (json_array_size (ready), 0);          /* backing off */
    json_decref (ready);
    assert_true (bf_jobs_next_ready (f->jobs, bf_now_ms ()) >= now + 5000);
    ready = bf_jobs_ready (f->jobs, now + 6000, 10);
    assert_int_equal (json_array_size (ready), 1);
    json_decref (ready);
    assert_int_equal (s_start (f, a, "w2", "k2", 2, now + 1000), BF_OK);
    assert_string_equal (s_field (f, a, "attempt", buf), "2");
    assert_int_equal (bf_jobs_retry (f->jobs, a, "tool killed by signal 9", 5000, &final),
                      BF_OK);
    assert_true (final);
    assert_string_equal (s_field (f, a, "state", buf), "failed");
    assert_string_equal (s_field (f, a, "failure_class", buf), "infrastructure");
    assert_non_null (strstr (s_field (f, a, "error", buf), "tool killed by signal 9"));
    json_t *ev = bf_jobs_events (f->jobs, a);
    const char *want[] = { "queued", "running", "retry", "running", "failed" };
    assert_int_equal (json_array_size (ev), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal (json_string_value (json_object_get (json_array_get (ev, i), "event")),
                             want[i]);
    assert_string_equal (json_string_value (json_object_get (json_array_get (ev, 3), "worker")),
                         "w2");
    json_decref (ev);
}

static void
jobs_cancelled_leader__releases_its_followers_to_the_queue (void **state)
{
    s_fix_t *f = *state;
    char a[33], b[33], c[33], lead[33], buf[128];
    s_create (f, a, lead, "d", 0, 3);
    assert_int_equal (s_start (f, a, "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    s_create (f, b, lead, "d", 0, 3);
    s_create (f, c, lead, "d", 0, 3);
    assert_string_equal (s_field (f, c, "follows", buf), a);
    bf_result_t res = { .state = BF_JOB_CANCELLED, .failure = BF_FAILURE_CANCELLED };
    int n = 0;
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, "cancelled by user", &n), BF_OK);
    assert_int_equal (n, 2);
    assert_string_equal (s_field (f, b, "state", buf), "queued");
    assert_string_equal (s_field (f, b, "follows", buf), "null");
    assert_string_equal (s_field (f, c, "follows", buf), "null");
    json_t *ready = bf_jobs_ready (f->jobs, bf_now_ms (), 10);
    assert_int_equal (json_array_size (ready), 2);
    assert_string_equal (json_string_value (json_array_get (ready, 0)), b);
    json_decref (ready);
    json_t *ev = bf_jobs_events (f->jobs, c);
    json_t *last = json_array_get (ev, json_array_size (ev) - 1);
    assert_string_equal (json_string_value (json_object_get (last, "event")), "released");
    json_decref (ev);
    /* The first of them dispatched leads again: the other follows it then. */
    assert_int_equal (s_start (f, b, "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    assert_int_equal (bf_jobs_follow (f->jobs, lead, c), BF_OK);
    assert_string_equal (lead, b);
    assert_string_equal (s_field (f, c, "follows", buf), b);
}

static void
jobs_coalescing__never_follows_a_queued_leader_or_other_requirements (void **state)
{
    s_fix_t *f = *state;
    char decoy[33], a[33], b[33], c[33], d[33], lead[33], buf[128];
    /* A decoy no worker serves, queued: an identical untagged submit is
       not trapped behind it, nor is one with the same tag. */
    s_create_as (f, decoy, lead, "x", 0, "nobody", NULL);
    s_create_as (f, a, lead, "x", 0, NULL, NULL);
    assert_string_equal (lead, "");
    s_create_as (f, b, lead, "x", 0, "nobody", NULL);
    assert_string_equal (lead, "");
    /* Even running, a tagged leader is not followed by an untagged job. */
    assert_int_equal (s_start (f, decoy, "w9", "k", 1, bf_now_ms () + 1000), BF_OK);
    s_create_as (f, c, lead, "x", 0, NULL, NULL);
    assert_string_equal (lead, "");
    assert_int_equal (bf_jobs_follow (f->jobs, lead, a), BF_ENOTFOUND);
    /* ... while the same requirements follow, at submit and at dispatch. */
    s_create_as (f, d, lead, "x", 0, "nobody", NULL);
    assert_string_equal (lead, decoy);
    assert_int_equal (bf_jobs_follow (f->jobs, lead, b), BF_OK);
    assert_string_equal (lead, decoy);
    assert_string_equal (s_field (f, b, "follows", buf), decoy);
    /* an untagged one running: the queued untagged ones follow it */
    assert_int_equal (s_start (f, a, "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    assert_int_equal (bf_jobs_follow (f->jobs, lead, c), BF_OK);
    assert_string_equal (lead, a);
    assert_int_equal (bf_jobs_follow (f->jobs, lead, a), BF_ENOTFOUND);   /* running itself */
}

static void
jobs_ready_fair__round_robin_across_owners_counting_running_builds (void **state)
{
    s_fix_t *f = *state;
    char a[5][33], b1[33], b2[33], hi[33], lost[33], lead[33];
    char buf[1024], want[1024];
    for (int i = 0; i < 5; i++)
        s_create_as (f, a[i], lead, i == 0 ? "a0" : i == 1 ? "a1" : i == 2 ? "a2"
                     : i == 3 ? "a3" : "a4", 0, NULL, "alice");
    s_create_as (f, b1, lead, "b1", 0, NULL, "bob");
    s_create_as (f, b2, lead, "b2", 0, NULL, "bob");
    /* alice's flood came first, but bob's first job is second, not sixth */
    snprintf (want, sizeof want, "%s %s %s %s %s %s %s", a[0], b1, a[1], b2, a[2], a[3], a[4]);
    assert_string_equal (s_fair (f, buf, sizeof buf, NULL), want);
    /* alice has two builds running: bob's two go before her next */
    assert_int_equal (s_start (f, a[0], "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    assert_int_equal (s_start (f, a[1], "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    snprintf (want, sizeof want, "%s %s %s %s %s", b1, b2, a[2], a[3], a[4]);
    assert_string_equal (s_fair (f, buf, sizeof buf, NULL), want);
    /* both done: equal turns go to the owner served least recently (bob,
       never), so one free slot alternates between them */
    bf_result_t ok = { .state = BF_JOB_SUCCEEDED, .bitstream = "beef" };
    assert_int_equal (bf_jobs_finish (f->jobs, a[0], &ok, NULL, NULL), BF_OK);
    assert_int_equal (bf_jobs_finish (f->jobs, a[1], &ok, NULL, NULL), BF_OK);
    snprintf (want, sizeof want, "%s %s %s %s %s", b1, a[2], b2, a[3], a[4]);
    assert_string_equal (s_fair (f, buf, sizeof buf, NULL), want);
    /* priority still comes first */
    s_create_as (f, hi, lead, "hi", 5, NULL, "alice");
    snprintf (want, sizeof want, "%s %s %s %s %s %s", hi, b1, a[2], b2, a[3], a[4]);
    assert_string_equal (s_fair (f, buf, sizeof buf, NULL), want);
    /* jobs of a class left out (no worker can take them) are not listed
       and take no turn */
    for (int i = 0; i < 3; i++)
        s_create_as (f, lost, lead, i == 0 ? "l0" : i == 1 ? "l1" : "l2", 9, "nobody", "bob");
    json_t *only = json_pack ("[s]", "[]|");
    assert_string_equal (s_fair (f, buf, sizeof buf, only), want);
    json_decref (only);
}

static void
jobs_prune__removes_old_finished_jobs_but_not_those_still_referred_to (void **state)
{
    s_fix_t *f = *state;
    char a[33], b[33], c[33], lead[33], buf[128];
    s_create (f, a, lead, "a", 0, 3);
    s_create (f, b, lead, "b", 0, 3);
    assert_int_equal (s_start (f, b, "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    s_create (f, c, lead, "b", 0, 3);                 /* follows b */
    assert_string_equal (lead, b);
    bf_result_t res = { .state = BF_JOB_CANCELLED, .failure = BF_FAILURE_CANCELLED };
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, NULL, NULL), BF_OK);
    json_t *ids = NULL;
    assert_int_equal (bf_jobs_prune (f->jobs, &ids, bf_now_ms () - 60000, 10), BF_OK);
    assert_int_equal (json_array_size (ids), 0);     /* not old enough */
    json_decref (ids);
    assert_int_equal (bf_jobs_prune (f->jobs, &ids, bf_now_ms () + 1, 10), BF_OK);
    assert_int_equal (json_array_size (ids), 1);
    assert_string_equal (json_string_value (json_array_get (ids, 0)), a);
    json_decref (ids);
    bf_job_t *job = NULL;
    assert_int_equal (bf_jobs_get (f->jobs, &job, a, false), BF_ENOTFOUND);
    json_t *ev = bf_jobs_events (f->jobs, a);
    assert_int_equal (json_array_size (ev), 0);      /* its history went with it */
    json_decref (ev);
    /* b is running; once it succeeds c finishes with it and both may go */
    res.state = BF_JOB_SUCCEEDED;
    res.failure = BF_FAILURE_NONE;
    assert_int_equal (bf_jobs_finish (f->jobs, b, &res, NULL, NULL), BF_OK);
    assert_string_equal (s_field (f, c, "state", buf), "succeeded");
    assert_int_equal (bf_jobs_prune (f->jobs, &ids, bf_now_ms () + 1, 10), BF_OK);
    assert_int_equal (json_array_size (ids), 2);
    json_decref (ids);
}

static json_int_t
s_count (json_t *o, const char *key)
{
    return json_integer_value (json_object_get (o, key));
}

static void
jobs_retain__count_and_age_keep_the_newest_and_the_metrics_follow (void **state)
{
    s_fix_t *f = *state;
    char ids[6][33], lead[33];
    bf_result_t ok = { .state = BF_JOB_SUCCEEDED, .failure = BF_FAILURE_NONE };
    bf_result_t bad = { .state = BF_JOB_FAILED, .failure = BF_FAILURE_DESIGN };
    for (int i = 0; i < 6; i++) {
        char action[8];
        snprintf (action, sizeof action, "r%d", i);
        s_create_as (f, ids[i], lead, action, 0, NULL, i % 2 ? "alice" : NULL);
        if (i < 5) {
            assert_int_equal (s_start (f, ids[i], "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
            assert_int_equal (bf_jobs_stage (f->jobs, ids[i], "synth"), BF_OK);
            assert_int_equal (bf_jobs_finish (f->jobs, ids[i], i == 4 ? &bad : &ok, NULL, NULL),
                              BF_OK);
        }
    }
    /* The counts triggers keep, as the old full scans would count. */
    json_t *c = bf_jobs_count_states (f->jobs, NULL);
    assert_int_equal (s_count (c, "succeeded"), 4);
    assert_int_equal (s_count (c, "failed"), 1);
    assert_int_equal (s_count (c, "queued"), 1);
    json_decref (c);
    c = bf_jobs_count_states (f->jobs, "alice");
    assert_int_equal (s_count (c, "succeeded"), 2);
    assert_int_equal (s_count (c, "queued"), 1);
    json_decref (c);
    c = bf_jobs_count_live (f->jobs, NULL);
    assert_int_equal (s_count (c, "queued"), 1);
    assert_int_equal (s_count (c, "running"), 0);
    json_decref (c);
    c = bf_jobs_count_failures (f->jobs);
    assert_int_equal (s_count (c, "design"), 1);
    json_decref (c);
    static const double bounds[] = { 0.1, 3600 };
    json_t *h = bf_jobs_histograms (f->jobs, bounds, 2);
    assert_int_equal (s_count (json_object_get (h, "queue_wait"), "count"), 5);
    json_t *synth = json_object_get (json_object_get (h, "stages"), "synth");
    assert_int_equal (s_count (synth, "count"), 5);
    assert_int_equal (json_integer_value (json_array_get (json_object_get (synth, "buckets"),
                                                          1)), 5);
    json_decref (h);

    /* Keep the newest 2 finished: the 3 oldest go, the queued one stays. */
    bf_jobs_keep_t keep;
    assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", "2"), BF_OK);
    json_t *gone = NULL;
    assert_int_equal (bf_jobs_retain (f->jobs, &gone, &keep, bf_now_ms (), 10), BF_OK);
    assert_int_equal (json_array_size (gone), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal (json_string_value (json_array_get (gone, (size_t) i)), ids[i]);
    json_decref (gone);
    assert_int_equal (bf_jobs_retain (f->jobs, &gone, &keep, bf_now_ms (), 10), BF_OK);
    assert_int_equal (json_array_size (gone), 0);           /* nothing more to do */
    json_decref (gone);
    c = bf_jobs_count_states (f->jobs, NULL);
    assert_int_equal (s_count (c, "succeeded"), 1);
    assert_int_equal (s_count (c, "failed"), 1);
    assert_int_equal (s_count (c, "queued"), 1);
    json_decref (c);
    h = bf_jobs_histograms (f->jobs, bounds, 2);            /* histograms only grow */
    assert_int_equal (s_count (json_object_get (h, "queue_wait"), "count"), 5);
    json_decref (h);
    /* An age: nothing finished an hour ago; everything finished before now + 1 s. */
    assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", "1h"), BF_OK);
    assert_int_equal (keep.max_age_ms, 3600000);
    assert_int_equal (bf_jobs_retain (f->jobs, &gone, &keep, bf_now_ms (), 10), BF_OK);
    assert_int_equal (json_array_size (gone), 0);
    json_decref (gone);
    assert_int_equal (bf_jobs_retain (f->jobs, &gone, &keep, bf_now_ms () + 3601000, 10), BF_OK);
    assert_int_equal (json_array_size (gone), 2);
    json_decref (gone);
    bf_job_t *job = NULL;
    assert_int_equal (bf_jobs_get (f->jobs, &job, ids[5], false), BF_OK);   /* queued */
    bf_job_free (job);
    /* Strict values, each refused naming itself. */
    static const char *const badv[] = { "0", "1.5d", "-3", "30 d", "3d2h", "d", "", "12x",
                                        "99999999999999", "All" };
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
        assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", badv[i]), BF_EINVAL);
        char want[64];
        snprintf (want, sizeof want, "invalid value '%s' for --keep-jobs", badv[i]);
        assert_non_null (strstr (bf_error_last (), want));
    }
    assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", "all"), BF_OK);
    assert_int_equal (keep.max_age_ms + keep.max_count, 0);
    assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", "500ms"), BF_EINVAL); /* < 1 s */
    assert_int_equal (bf_jobs_keep_parse (&keep, "--keep-jobs", "100000"), BF_OK);
    assert_int_equal (keep.max_count, 100000);
}

static void
jobs_recover__keeps_the_attempt_and_survives_reopen (void **state)
{
    s_fix_t *f = *state;
    char a[33], lead[33], buf[128];
    s_create (f, a, lead, "d", 0, 3);
    assert_int_equal (s_start (f, a, "w1", "k", 1, bf_now_ms () + 1000), BF_OK);
    /* A restart: the database is all that is left. */
    bf_jobs_destroy (&f->jobs);
    assert_int_equal (bf_jobs_open (&f->jobs, f->path), BF_OK);
    json_t *running = bf_jobs_running (f->jobs);
    assert_int_equal (json_array_size (running), 1);
    json_decref (running);
    assert_int_equal (bf_jobs_recover (f->jobs, a, "w1", bf_now_ms () + 1000), BF_OK);
    assert_string_equal (s_field (f, a, "attempt", buf), "1");
    assert_string_equal (s_field (f, a, "state", buf), "running");
    json_t *overdue = bf_jobs_overdue (f->jobs, bf_now_ms () + 5000);
    assert_int_equal (json_array_size (overdue), 1);
    json_decref (overdue);
    bf_result_t res = { .state = BF_JOB_SUCCEEDED };
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, NULL, NULL), BF_OK);
    assert_int_equal (bf_jobs_recover (f->jobs, a, "w1", 0), BF_EBUSY);
}

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static void
boards_reservation__is_atomic_renewable_and_expires (void **state)
{
    s_fix_t *f = *state;
    bf_boards_t *b = NULL;
    assert_int_equal (bf_boards_open (&b, f->path), BF_OK);
    json_t *decl = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", "vb0", "family",
                              "ice40", "device", "hx1k", "package", "tq144", "cable", "-c x",
                              "virtual", 1);
    assert_int_equal (bf_boards_declare (b, "w1", decl), BF_OK);
    int64_t now = 1000000;
    bf_board_holder_t ci = { .by = "ci" }, other = { .by = "other" };
    assert_int_equal (bf_boards_reserve (b, "vb0", &ci, H1, 5000, now), BF_OK);
    assert_int_equal (bf_boards_reserve (b, "vb0", &other, H2, 5000, now + 1), BF_EBUSY);
    assert_non_null (strstr (bf_error_last (), "reserved by ci until"));
    /* renewing pushes the end to now + the lease's length, never back */
    assert_int_equal (bf_boards_renew (b, "vb0", H1, now + 4000), BF_OK);
    bf_board_row_t row;
    assert_int_equal (bf_boards_get (b, &row, "vb0"), BF_OK);
    assert_int_equal (row.reserved_until, now + 9000);
    assert_true (bf_boards_reserved (&row, now + 8999));
    assert_false (bf_boards_reserved (&row, now + 9000));
    bf_board_row_release (&row);
    assert_int_equal (bf_boards_renew (b, "vb0", H2, now), BF_ENOTFOUND);
    /* expiry frees it, whoever held it; then another may take it */
    json_t *ended = bf_boards_expire (b, now + 8999);
    assert_int_equal (json_array_size (ended), 0);
    json_decref (ended);
    ended = bf_boards_expire (b, now + 9000);
    assert_int_equal (json_array_size (ended), 1);
    json_decref (ended);
    assert_int_equal (bf_boards_reserve (b, "vb0", &other, H2, 5000, now + 9000), BF_OK);
    /* the declaring worker's READY again keeps the lease and health */
    assert_int_equal (bf_boards_declare (b, "w1", decl), BF_OK);
    assert_int_equal (bf_boards_get (b, &row, "vb0"), BF_OK);
    assert_string_equal (row.reserved_by, "other");
    bf_board_row_release (&row);
    json_decref (decl);
    bf_boards_destroy (&b);
}

static void
boards_health__error_after_repeated_infrastructure_failures (void **state)
{
    s_fix_t *f = *state;
    bf_boards_t *b = NULL;
    assert_int_equal (bf_boards_open (&b, f->path), BF_OK);
    json_t *decl = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", "usb0", "family",
                              "ice40", "device", "up5k", "package", "sg48", "cable", "-b g",
                              "virtual", 0);
    bf_boards_declare (b, "w1", decl);
    bool err = false;
    assert_int_equal (bf_boards_outcome (b, "usb0", "j1", true, "no cable", 3, &err), BF_OK);
    assert_false (err);
    bf_boards_outcome (b, "usb0", "j2", false, NULL, 3, &err);     /* resets the count */
    bf_boards_outcome (b, "usb0", "j3", true, "no cable", 3, &err);
    bf_boards_outcome (b, "usb0", "j4", true, "no cable", 3, &err);
    assert_false (err);
    bf_boards_outcome (b, "usb0", "j5", true, "no cable", 3, &err);
    assert_true (err);
    bf_board_row_t row;
    assert_int_equal (bf_boards_get (b, &row, "usb0"), BF_OK);
    assert_int_equal (row.health, BF_HEALTH_ERROR);
    assert_string_equal (row.last_job, "j5");
    bf_board_row_release (&row);
    bf_board_holder_t ci = { .by = "ci" };
    assert_int_equal (bf_boards_reserve (b, "usb0", &ci, H1, 5000, 1), BF_EBUSY);
    assert_non_null (strstr (bf_error_last (), "is in error"));
    assert_int_equal (bf_boards_set_health (b, "usb0", "ok", NULL), BF_OK);
    assert_int_equal (bf_boards_get (b, &row, "usb0"), BF_OK);
    assert_int_equal (row.failures, 0);
    bf_board_row_release (&row);
    assert_int_equal (bf_boards_set_health (b, "nosuch", "ok", NULL), BF_ENOTFOUND);
    json_decref (decl);
    bf_boards_destroy (&b);
}

/*  Each dispatch is an attempt row naming its worker, toolchain and the
    broker's key; a wrong attempt number does not start the job. */
static void
jobs_start__records_each_attempt_with_its_worker_and_key (void **state)
{
    s_fix_t *f = *state;
    char a[33], lead[33];
    s_create (f, a, lead, "attempts", 0, 3);
    int64_t now = bf_now_ms ();
    assert_int_equal (s_start (f, a, "w1", "k", 2, now + 1000), BF_EBUSY); /* not the next */
    assert_int_equal (s_start (f, a, "w1", "k1", 1, now + 1000), BF_OK);
    bool final = true;
    assert_int_equal (bf_jobs_retry (f->jobs, a, "lost", 0, &final), BF_OK);
    assert_int_equal (s_start (f, a, "w2", "k2", 2, now + 1000), BF_OK);
    bf_attempt_t got;
    assert_int_equal (bf_jobs_attempt_get (f->jobs, &got, a, 1), BF_OK);
    assert_string_equal (got.worker, "w1");
    assert_string_equal (got.cache_key, "k1");
    assert_string_equal (got.toolchain, "tc-w1");
    assert_int_equal (bf_jobs_attempt_get (f->jobs, &got, a, 2), BF_OK);
    assert_string_equal (got.worker, "w2");
    assert_string_equal (got.cache_key, "k2");
    assert_int_equal (bf_jobs_attempt_get (f->jobs, &got, a, 3), BF_ENOTFOUND);
}

/*  A worker name stays with the first key across a reopen, until released. */
static void
jobs_worker_bind__keeps_a_name_with_its_key_until_released (void **state)
{
    s_fix_t *f = *state;
    assert_int_equal (bf_jobs_worker_bind (f->jobs, "w1", "KEY-A"), BF_OK);
    assert_int_equal (bf_jobs_worker_bind (f->jobs, "w1", "KEY-A"), BF_OK);
    bf_jobs_destroy (&f->jobs);
    assert_int_equal (bf_jobs_open (&f->jobs, f->path), BF_OK);
    assert_int_equal (bf_jobs_worker_bind (f->jobs, "w1", "KEY-B"), BF_EACCES);
    assert_non_null (strstr (bf_error_last (), "worker name 'w1' belongs to another key"));
    assert_int_equal (bf_jobs_worker_release (f->jobs, "w1"), BF_OK);
    assert_int_equal (bf_jobs_worker_release (f->jobs, "w1"), BF_ENOTFOUND);
    assert_int_equal (bf_jobs_worker_bind (f->jobs, "w1", "KEY-B"), BF_OK);
}

/*  Settings persist; NULL deletes. */
static void
jobs_settings__persist_and_delete (void **state)
{
    s_fix_t *f = *state;
    char buf[65];
    assert_int_equal (bf_jobs_setting_get (f->jobs, buf, sizeof buf, "x"), BF_ENOTFOUND);
    assert_int_equal (bf_jobs_setting_set (f->jobs, "x", "abc"), BF_OK);
    assert_int_equal (bf_jobs_setting_set (f->jobs, "x", "abd"), BF_OK);
    assert_int_equal (bf_jobs_setting_get (f->jobs, buf, sizeof buf, "x"), BF_OK);
    assert_string_equal (buf, "abd");
    assert_int_equal (bf_jobs_setting_set (f->jobs, "x", NULL), BF_OK);
    assert_int_equal (bf_jobs_setting_get (f->jobs, buf, sizeof buf, "x"), BF_ENOTFOUND);
}

#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/*  A job with a preset id, owner and cache key. */
static void
s_create_owned (s_fix_t *f, const char *id, const char *owner, const char *key)
{
    json_t *m = json_pack ("{s:s}", "top", id);
    char out[BF_JOB_ID_LEN + 1], leader[BF_JOB_ID_LEN + 1];
    bf_job_spec_t spec = { .id = id, .manifest = m, .action = id, .cache_key = key,
                           .timeout_ms = 60000, .max_attempts = 1, .owner = owner,
                           .owner_name = owner };
    assert_int_equal (bf_jobs_create (f->jobs, out, leader, &spec), BF_OK);
    json_decref (m);
}

static void
jobs_owner_view__hides_other_owners_jobs_from_prefixes_lists_and_keys (void **state)
{
    s_fix_t *f = *state;
    const char *ja = "abcd0000000000000000000000000000", *jb = "abcd1111111111111111111111111111";
    s_create_owned (f, ja, KEY_A, H1);
    s_create_owned (f, jb, KEY_B, H2);
    char id[BF_JOB_ID_LEN + 1];
    /* every job: the prefix is ambiguous */
    assert_int_equal (bf_jobs_resolve (f->jobs, id, "abcd"), BF_EAMBIGUOUS);
    /* A's view: the prefix is A's job alone */
    assert_int_equal (bf_jobs_resolve_owned (f->jobs, id, "abcd", KEY_A), BF_OK);
    assert_string_equal (id, ja);
    /* B's job, even by its full id, is no job to A: the same words as for none */
    assert_int_equal (bf_jobs_resolve_owned (f->jobs, id, jb, KEY_A), BF_ENOTFOUND);
    assert_string_equal (bf_error_last (), "no job 'abcd1111111111111111111111111111'");
    assert_int_equal (bf_jobs_resolve_owned (f->jobs, id, "abcd2", KEY_A), BF_ENOTFOUND);
    assert_string_equal (bf_error_last (), "no job 'abcd2'");
    /* JOBS */
    json_t *all = bf_jobs_list (f->jobs, 10, NULL, NULL), *mine = bf_jobs_list (f->jobs, 10, KEY_A, NULL);
    assert_int_equal (json_array_size (all), 2);
    assert_int_equal (json_array_size (mine), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (mine, 0), "id")), ja);
    json_decref (all);
    json_decref (mine);
    /* cache keys of one's own jobs */
    char key[65];
    assert_int_equal (bf_jobs_owner_key (f->jobs, key, "1111", KEY_A), BF_OK);
    assert_string_equal (key, H1);
    assert_int_equal (bf_jobs_owner_key (f->jobs, key, "2222", KEY_A), BF_ENOTFOUND);
    assert_int_equal (bf_jobs_owner_key (f->jobs, key, "2222", KEY_B), BF_OK);
}

static void
boards_reservation__is_held_by_the_key_that_made_it (void **state)
{
    s_fix_t *f = *state;
    bf_boards_t *b = NULL;
    assert_int_equal (bf_boards_open (&b, f->path), BF_OK);
    json_t *decl = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", "vb0", "family",
                              "ice40", "device", "hx1k", "package", "tq144", "cable", "-c x",
                              "virtual", 1);
    assert_int_equal (bf_boards_declare (b, "w1", decl), BF_OK);
    int64_t now = bf_now_ms ();
    /* B labels its lease "alice": a label, not an identity */
    bf_board_holder_t hb = { .key = KEY_B, .key_name = "bob", .by = "alice" };
    assert_int_equal (bf_boards_reserve (b, "vb0", &hb, H1, 60000, now), BF_OK);
    bf_board_holder_t ha = { .key = KEY_A, .key_name = "alice", .by = "x" };
    assert_int_equal (bf_boards_reserve (b, "vb0", &ha, H2, 60000, now), BF_EBUSY);
    assert_non_null (strstr (bf_error_last (), "is reserved by key 'bob' (label 'alice') until"));
    /* the token with another key, or no key: not held */
    assert_int_equal (bf_boards_check_held (b, "vb0", H1, KEY_A), BF_ENOTFOUND);
    assert_non_null (strstr (bf_error_last (), "this token holds no reservation of board 'vb0' "
                                               "for this key"));
    assert_int_equal (bf_boards_check_held (b, "vb0", H1, NULL), BF_ENOTFOUND);
    assert_int_equal (bf_boards_check_held (b, "vb0", H2, KEY_B), BF_ENOTFOUND);
    assert_int_equal (bf_boards_release (b, "vb0", H1, KEY_A), BF_ENOTFOUND);
    bf_board_row_t row;
    assert_int_equal (bf_boards_get (b, &row, "vb0"), BF_OK);
    assert_true (bf_boards_reserved (&row, bf_now_ms ()));
    assert_string_equal (row.reserved_key_name, "bob");
    bf_board_row_release (&row);
    /* the holder, with its token */
    assert_int_equal (bf_boards_check_held (b, "vb0", H1, KEY_B), BF_OK);
    assert_int_equal (bf_boards_release (b, "vb0", H1, KEY_B), BF_OK);
    assert_int_equal (bf_boards_get (b, &row, "vb0"), BF_OK);
    assert_false (bf_boards_reserved (&row, bf_now_ms ()));
    assert_null (row.reserved_key);
    bf_board_row_release (&row);
    json_decref (decl);
    bf_boards_destroy (&b);
}

/*  Stats per repository: finished builds grouped by their provenance's
    remote, with the build time the hits saved; and jobs --rev. */
static void
jobs_cache_stats__groups_by_remote_and_sums_the_build_time_hits_saved (void **state)
{
    s_fix_t *f = *state;
    char a[BF_JOB_ID_LEN + 1], b[BF_JOB_ID_LEN + 1], c[BF_JOB_ID_LEN + 1], lead[BF_JOB_ID_LEN + 1];
    json_t *pa = json_pack ("{s:s, s:s, s:s}", "source", "rev", "commit",
                            "1111111111111111111111111111111111111111", "remote", "https://h/a.git");
    json_t *pb = json_pack ("{s:s, s:s}", "source", "worktree", "commit",
                            "2222222222222222222222222222222222222222");
    json_t *m = json_pack ("{s:s}", "top", "d1");
    bf_job_spec_t spec = { .manifest = m, .action = "d1", .timeout_ms = 60000,
                           .max_attempts = 3, .provenance = pa };
    assert_int_equal (bf_jobs_create (f->jobs, a, lead, &spec), BF_OK);
    assert_int_equal (s_start (f, a, "w1", "key-1", 1, bf_now_ms () + 100000), BF_OK);
    bf_result_t res = { .state = BF_JOB_SUCCEEDED, .bitstream = "beef" };
    assert_int_equal (bf_jobs_finish (f->jobs, a, &res, NULL, NULL), BF_OK);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (f->path, &db), SQLITE_OK);
    char *sql = xasprintf ("UPDATE jobs SET started_at = finished_at - 60000 WHERE id = '%s'", a);
    assert_int_equal (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
    free (sql);
    sqlite3_close (db);
    json_t *hit = json_pack ("{s:s, s:s}", "outcome", "succeeded", "bitstream", "beef");
    spec.hit = hit;
    spec.cache_key = "key-1";
    assert_int_equal (bf_jobs_create (f->jobs, b, lead, &spec), BF_OK);
    spec.hit = NULL;
    spec.cache_key = NULL;
    spec.provenance = pb;
    assert_int_equal (bf_jobs_create (f->jobs, c, lead, &spec), BF_OK);
    spec.provenance = NULL;
    assert_int_equal (bf_jobs_create (f->jobs, c, lead, &spec), BF_OK);
    assert_int_equal (bf_jobs_set_saved (f->jobs, b, 60000), BF_OK);
    json_t *stats = bf_jobs_cache_stats (f->jobs, 0, NULL);
    char *text = json_dumps (json_object_get (stats, "repositories"), JSON_COMPACT | JSON_SORT_KEYS);
    /* only the finished jobs count: a's build and b's hit, both from https://h/a.git */
    assert_string_equal (text, "[{\"build_ms\":60000,\"builds\":1,\"hit_rate\":0.5,\"hits\":1,"
                               "\"repository\":\"https://h/a.git\",\"saved_ms\":60000}]");
    free (text);
    json_decref (stats);
    json_t *list = bf_jobs_list (f->jobs, 10, NULL, "1111111111");
    assert_int_equal (json_array_size (list), 2);   /* jobs --rev: a commit's builds */
    json_decref (list);
    json_decref (hit);
    json_decref (m);
    json_decref (pa);
    json_decref (pb);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (jobs_identical_submits__follow_one_leader_and_share_its_result, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_retry__backs_off_then_fails_when_attempts_are_used_up, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_cancelled_leader__releases_its_followers_to_the_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_coalescing__never_follows_a_queued_leader_or_other_requirements, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_ready_fair__round_robin_across_owners_counting_running_builds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_prune__removes_old_finished_jobs_but_not_those_still_referred_to, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_recover__keeps_the_attempt_and_survives_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (boards_reservation__is_atomic_renewable_and_expires, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_start__records_each_attempt_with_its_worker_and_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_worker_bind__keeps_a_name_with_its_key_until_released, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_settings__persist_and_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (boards_health__error_after_repeated_infrastructure_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_owner_view__hides_other_owners_jobs_from_prefixes_lists_and_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (boards_reservation__is_held_by_the_key_that_made_it, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_cache_stats__groups_by_remote_and_sums_the_build_time_hits_saved, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (jobs_retain__count_and_age_keep_the_newest_and_the_metrics_follow, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
