/*  Unit tests for bf_spawn's long-lived children (bf_spawn_start,
    bf_spawn_alive, bf_spawn_stop) and for bf_spawn_run's capped log, with
    real processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/common/bf_error.h"
#include "../../src/common/bf_spawn.h"
#include "../../src/common/bf_util.h"

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000 };
    nanosleep (&ts, NULL);
}

/*  Waits up to 5 s for path to contain `text`. */
static bool
s_wait_for (const char *path, const char *text)
{
    for (int i = 0; i < 500; i++) {
        char *data = NULL;
        bool found = bf_file_read (&data, NULL, path, 4096) == BF_OK && strstr (data, text);
        free (data);
        if (found)
            return true;
        s_sleep_ms (10);
    }
    return false;
}

static void
spawn_stop__a_sleeping_child_stops_on_sigterm_within_the_limit (void **state)
{
    (void) state;
    const char *argv[] = { "sleep", "30", NULL };
    bf_spawn_start_opts_t opts = { .argv = argv, .pdeath_signal = SIGTERM };
    bf_spawn_child_t child;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_OK);
    assert_true (child.pid > 0);
    assert_int_equal (getpgid (child.pid), child.pid);   /* its own process group */
    assert_true (bf_spawn_alive (&child));
    int64_t t0 = bf_mono_ms ();
    assert_int_equal (bf_spawn_stop (&child, 5000), BF_OK);
    assert_true (bf_mono_ms () - t0 < 2000);
    assert_true (child.reaped);
    assert_true (WIFSIGNALED (child.status));
    assert_int_equal (WTERMSIG (child.status), SIGTERM);
    assert_int_equal (child.pid, 0);
    assert_false (bf_spawn_alive (&child));
    assert_int_equal (bf_spawn_stop (&child, 5000), BF_OK);   /* idempotent */
}

static void
spawn_stop__a_child_ignoring_sigterm_is_killed_after_the_limit (void **state)
{
    (void) state;
    char log[] = "/tmp/bf-test-spawn-XXXXXX";
    int fd = mkstemp (log);
    assert_true (fd >= 0);
    close (fd);
    /* The shell and its sleep (same group) both ignore SIGTERM. */
    const char *argv[] = { "sh", "-c", "trap '' TERM; echo ready; sleep 30; echo woke", NULL };
    bf_spawn_start_opts_t opts = { .argv = argv, .log_path = log };
    bf_spawn_child_t child;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_OK);
    assert_true (s_wait_for (log, "ready"));   /* the trap is set */
    int64_t t0 = bf_mono_ms ();
    assert_int_equal (bf_spawn_stop (&child, 300), BF_ETIMEDOUT);
    int64_t took = bf_mono_ms () - t0;
    assert_true (took >= 300);
    assert_true (took < 3000);
    assert_true (WIFSIGNALED (child.status));
    assert_int_equal (WTERMSIG (child.status), SIGKILL);
    unlink (log);
}

static void
spawn_start__reports_a_missing_program_and_an_exited_child_is_not_alive (void **state)
{
    (void) state;
    const char *missing[] = { "/nonexistent/bitfarm-nothing", NULL };
    bf_spawn_start_opts_t opts = { .argv = missing };
    bf_spawn_child_t child;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_ERROR);
    assert_non_null (strstr (bf_error_last (), "cannot run '/nonexistent/bitfarm-nothing'"));
    assert_int_equal (child.pid, 0);
    const char *quick[] = { "sh", "-c", "exit 3", NULL };
    opts.argv = quick;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_OK);
    for (int i = 0; i < 500 && bf_spawn_alive (&child); i++)
        s_sleep_ms (10);
    assert_false (bf_spawn_alive (&child));
    assert_int_equal (bf_spawn_stop (&child, 1000), BF_OK);   /* reaps it */
    assert_true (WIFEXITED (child.status));
    assert_int_equal (WEXITSTATUS (child.status), 3);
    /* a detached child may not have a parent-death signal */
    opts.detach = true;
    opts.pdeath_signal = SIGTERM;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_EINVAL);
}

static void
spawn_start__a_detached_child_is_not_ours_but_can_be_stopped (void **state)
{
    (void) state;
    const char *argv[] = { "sleep", "30", NULL };
    bf_spawn_start_opts_t opts = { .argv = argv, .detach = true };
    bf_spawn_child_t child;
    assert_int_equal (bf_spawn_start (&child, &opts), BF_OK);
    assert_true (child.pid > 0);
    assert_true (child.detached);
    assert_int_equal (waitpid (child.pid, NULL, WNOHANG), -1);   /* not our child */
    assert_int_equal (errno, ECHILD);
    assert_int_not_equal (getsid (child.pid), getsid (0));      /* its own session */
    assert_true (bf_spawn_alive (&child));
    int64_t t0 = bf_mono_ms ();
    assert_int_equal (bf_spawn_stop (&child, 5000), BF_OK);
    assert_true (bf_mono_ms () - t0 < 3000);
    assert_false (child.reaped);
}

static int s_lines;

static void
s_count_line (void *arg, const char *line)
{
    (void) arg;
    (void) line;
    s_lines++;
}

static void
spawn_run__the_log_stops_at_its_cap_with_one_marker_across_runs (void **state)
{
    (void) state;
    char dir[] = "/tmp/bf-test-spawnlog-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char *log = xasprintf ("%s/build.log", dir);
    /* 20000 lines of 10 bytes: 200000 bytes, over a cap of 4096 */
    const char *argv[] = { "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo 123456789; "
                           "i=$((i+1)); done", NULL };
    bf_spawn_opts_t opts = { .argv = argv, .log_path = log, .log_max = 4096,
                             .on_line = s_count_line };
    bf_spawn_result_t r;
    assert_int_equal (bf_spawn_run (&r, &opts), BF_OK);
    assert_true (r.exited && r.exit_code == 0);
    assert_int_equal (s_lines, 20000);         /* the callback still sees every line */
    char marker[BF_LOG_MARKER_MAX];
    size_t mlen = bf_log_marker (marker, 4096);
    assert_string_equal (marker, "\n[bitfarm: log truncated at 4096 bytes]\n");
    char *data = NULL;
    size_t len = 0;
    assert_int_equal (bf_file_read (&data, &len, log, 1 << 20), BF_OK);
    assert_int_equal (len, 4096 + mlen);
    assert_memory_equal (data + 4096, marker, mlen);
    assert_memory_equal (data, "123456789\n123456789\n", 20);
    free (data);
    /* the next tool of the same build adds nothing, not a second marker */
    assert_int_equal (bf_spawn_run (&r, &opts), BF_OK);
    assert_int_equal (bf_file_read (&data, &len, log, 1 << 20), BF_OK);
    assert_int_equal (len, 4096 + mlen);
    free (data);
    struct stat st;
    assert_int_equal (stat (log, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    /* within the cap, output is kept whole and unmarked */
    char *small = xasprintf ("%s/small.log", dir);
    const char *echo[] = { "echo", "hello", NULL };
    bf_spawn_opts_t o2 = { .argv = echo, .log_path = small, .log_max = 4096 };
    assert_int_equal (bf_spawn_run (&r, &o2), BF_OK);
    assert_int_equal (bf_file_read (&data, &len, small, 1 << 20), BF_OK);
    assert_string_equal (data, "hello\n");
    free (data);
    free (small);
    free (log);
    bf_remove_tree (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (spawn_stop__a_sleeping_child_stops_on_sigterm_within_the_limit),
        cmocka_unit_test (spawn_stop__a_child_ignoring_sigterm_is_killed_after_the_limit),
        cmocka_unit_test (spawn_start__reports_a_missing_program_and_an_exited_child_is_not_alive),
        cmocka_unit_test (spawn_start__a_detached_child_is_not_ours_but_can_be_stopped),
        cmocka_unit_test (spawn_run__the_log_stops_at_its_cap_with_one_marker_across_runs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
