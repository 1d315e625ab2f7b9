/*  bf_localfarm - the per-user local farm: one broker and one worker on an
    ipc:// endpoint, started on first use and reused after that, so one
    person on one machine needs no set-up.

    Everything lives under $XDG_CACHE_HOME/bitfarm (default
    ~/.cache/bitfarm):
        broker.sock            the broker's ipc endpoint
        broker.pid worker.pid  the daemons' process ids
        broker.log worker.log  their logs
        state/                 the broker's state directory (jobs, cache)
        work/                  the worker's work directory
        worker.json            the worker's config: one virtual board,
                               vboard0 (up5k-sg48, a bitfarm-vboard; its
                               record is work/boards/vboard0.json)
        farm.lock              taken while starting, so two clients
                               starting at once start one farm
        no-sandbox             present after `farm start --no-sandbox`,
                               until `farm stop`: the worker is started
                               with --no-sandbox (as with the environment
                               variable BITFARM_NO_SANDBOX=1)
    The daemons are found beside the running program (/proc/self/exe),
    else in PATH.
*/
#ifndef BF_LOCALFARM_H_INCLUDED
#define BF_LOCALFARM_H_INCLUDED

#include <stdbool.h>

/*  The local farm's directory into a new heap string (caller frees). */
char *bf_localfarm_dir (void);

/*  Makes sure the local farm runs and writes its endpoint into a new heap
    string *endpoint (caller frees).  *started (may be NULL) tells whether
    this call started a daemon.  A daemon that exits before writing its pid
    file is reported at once (not after the 10 s / 60 s start-up bounds),
    with the last line of its log; when that line says the worker cannot
    sandbox builds, the detail says how to run unconfined.  A worker started
    unsandboxed (bf_localfarm_unsandboxed) is announced once on stderr.
    BF_OK or BF_EIO with a one-line detail. */
int bf_localfarm_ensure (char **endpoint, bool *started);

/*  True when the local farm's worker is to build without bubblewrap: the
    environment variable BITFARM_NO_SANDBOX is set (and not "0"), or
    `farm start --no-sandbox` left its mark.  Only the local farm reads
    these; bitfarm-worker itself needs its own --no-sandbox. */
bool bf_localfarm_unsandboxed (void);

/*  Records `farm start --no-sandbox` (the file no-sandbox, until
    bf_localfarm_stop).  BF_OK or BF_EIO. */
int bf_localfarm_set_unsandboxed (void);

/*  Stops the local farm's daemons (SIGTERM, then waits up to 10 s).
    Removes the no-sandbox mark.  BF_OK, or BF_ENOTFOUND when nothing was
    running. */
int bf_localfarm_stop (void);

/*  True when both daemons are alive. */
bool bf_localfarm_running (void);

/*  The URL of the local farm's HTTP API (DIR/http.url, which its broker
    writes: http://127.0.0.1:8080 when that port was free, else another;
    BITFARM_LOCAL_HTTP=ADDR:PORT|off when it started), a new string; NULL
    when it serves none. */
char *bf_localfarm_http_url (void);

#endif
