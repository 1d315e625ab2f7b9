/*  bench_alt - times whole processes at the millisecond scale, two
    commands run alternately (make bench, tests/bench/20-submit-hit).

    usage: bench_alt N LABEL_A [LABEL_B] -- ARGV_A... [-- ARGV_B...]

    Runs ARGV_A and ARGV_B (fork, execvp, waitpid; stdout and stderr to
    /dev/null) alternately N times after 3 unmeasured warm-up pairs, so
    that both see the same machine, and prints for each its median and
    90th percentile wall time, and with two commands the ratio of the
    medians, B over A:
        LABEL_A                                  4.01 ms  (p90 4.40)
        LABEL_B                                  3.20 ms  (p90 3.51)   x0.80 of LABEL_A
    Exits 1 when a run fails (a non-zero exit status), naming it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_RUNS 100000

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/*  One run of argv: its wall time in ms, or -1 when it failed. */
static double
s_run (char **argv)
{
    double t0 = s_now_ms ();
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, 1);
        dup2 (null, 2);
        execvp (argv[0], argv);
        _exit (127);
    }
    int status = 0;
    if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
        return -1;
    return s_now_ms () - t0;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/*  Sorts v and gives its median and 90th percentile. */
static void
s_stats (double *v, int n, double *median, double *p90)
{
    qsort (v, (size_t) n, sizeof *v, s_cmp);
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    int i = (int) (0.9 * (n - 1) + 0.5);
    *p90 = v[i];
}

int
main (int argc, char **argv)
{
    if (argc < 4)
        goto usage;
    int n = atoi (argv[1]);
    if (n < 1 || n > S_MAX_RUNS)
        goto usage;
    const char *label_a = argv[2], *label_b = NULL;
    int i = 3;
    if (strcmp (argv[i], "--") != 0)
        label_b = argv[i++];
    if (i >= argc || strcmp (argv[i], "--") != 0)
        goto usage;
    char **cmd_a = argv + i + 1, **cmd_b = NULL;
    for (int j = i + 1; j < argc; j++)
        if (strcmp (argv[j], "--") == 0) {
            argv[j] = NULL;
            cmd_b = argv + j + 1;
            break;
        }
    if (!cmd_a[0] || (label_b != NULL) != (cmd_b != NULL) || (cmd_b && !cmd_b[0]))
        goto usage;
    double *ta = calloc ((size_t) n, sizeof *ta), *tb = calloc ((size_t) n, sizeof *tb);
    if (!ta || !tb)
        return 1;
    for (int r = -3; r < n; r++) {
        double a = s_run (cmd_a), b = cmd_b ? s_run (cmd_b) : 0;
        if (a < 0 || b < 0) {
            fprintf (stderr, "bench_alt: '%s' failed\n", a < 0 ? cmd_a[0] : cmd_b[0]);
            return 1;
        }
        if (r >= 0) {
            ta[r] = a;
            tb[r] = b;
        }
    }
    double ma, pa, mb, pb;
    s_stats (ta, n, &ma, &pa);
    printf ("%-44s %8.2f ms  (p90 %.2f)\n", label_a, ma, pa);
    if (cmd_b) {
        s_stats (tb, n, &mb, &pb);
        printf ("%-44s %8.2f ms  (p90 %.2f)   x%.2f of %s\n", label_b, mb, pb, mb / ma,
                label_a + strspn (label_a, " "));
    }
    free (ta);
    free (tb);
    return 0;
usage:
    fprintf (stderr, "usage: bench_alt N LABEL_A [LABEL_B] -- ARGV_A... [-- ARGV_B...]\n");
    return 2;
}
