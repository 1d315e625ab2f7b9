/*  bf_junit - a JUnit XML report of builds, as CI systems read it (the
    Jenkins/Ant schema GitHub, GitLab and Jenkins show natively).

        <testsuites name="bitfarm" tests="3" failures="1" errors="0" time="12.345">
          <testsuite name="SUITE" tests="3" failures="1" errors="0" skipped="0" time="..."
                     timestamp="2026-12-01T14:00:00">
            <testcase name="TARGET" classname="bitfarm.TARGET" time="1.234">
              <properties>
                <property name="job" value="ID"/>            and state, cache_hit,
                                   cache_key, toolchain, bitstream_sha256, worker,
                <property name="clock.NET.achieved_mhz" value="143.31"/>
                <property name="clock.NET.target_mhz" value="12.00"/>
                <property name="clock.NET.met" value="true"/>
                <property name="utilization.logic_cells" value="11/5280"/>
              </properties>
              <failure type="design" message="FIRST LINE">ERROR</failure>
            </testcase>
    A design failure (exit status 1) is a <failure>; a time-out, a
    cancellation, a farm failure or an error before the job ran is an
    <error>.  Text from the tools is escaped (bf_cli_escape's rules, then
    XML's), so the file is well-formed whatever a design prints.
    Thread-safety: no shared state.
*/
#ifndef BF_JUNIT_H_INCLUDED
#define BF_JUNIT_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

typedef struct {
    const char *name;     /* the target */
    json_t *job;          /* the final job (status --json), or NULL: it never ran */
    int exit_status;      /* the CLI's exit status for it (0 = passed) */
    const char *error;    /* why it failed when job has no "error", or NULL */
    double seconds;       /* its duration */
} bf_junit_case_t;

/*  Writes the report to path atomically (temp file + fsync + rename).
    BF_OK, or BF_EIO with a detail. */
int bf_junit_write (const char *path, const char *suite, const bf_junit_case_t *cases,
                    size_t n);

/*  A job's duration in seconds: finished_at - submitted_at (the broker's
    clock, ISO 8601 UTC with milliseconds), or -1 when either is missing. */
double bf_junit_job_seconds (json_t *job);

#endif
