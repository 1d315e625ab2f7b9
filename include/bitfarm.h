/*  bitfarm.h - the bitfarm client library (libbitfarm.so.1).

    Build a design on a bitfarm farm, fetch its bitstream, load it into a
    board and read and write the design's registers: the same farm the
    `bitfarm` command line talks to (docs/sdk.md is the guide; the wire
    protocol under it is docs/protocol.md).

        bitfarm_farm *farm;
        bitfarm_design *d;
        bitfarm_job *job;
        if (bitfarm_farm_open (&farm, NULL) != BITFARM_OK            // the local farm
            || bitfarm_design_new (&d, "top", "up5k", "sg48") != BITFARM_OK
            || bitfarm_design_add_file (d, "top.v") != BITFARM_OK
            || bitfarm_design_set (d, "pcf", "top.pcf") != BITFARM_OK
            || bitfarm_submit (farm, d, NULL, &job) != BITFARM_OK
            || bitfarm_job_wait (job, 0, NULL, NULL) != BITFARM_OK)
            fprintf (stderr, "%s\n", bitfarm_error_last ()->message);

    Conventions (after libgit2's):
    - Every fallible function returns an int: BITFARM_OK (0), or a
      negative bitfarm_error_code.  The calling thread's last error, with
      a one-line message naming the problem and the value, is
      bitfarm_error_last().
    - Handles are opaque.  A function that creates one takes `T **out`
      and sets *out only on success; each has a matching _free or _close,
      which accepts NULL and sets the pointer to NULL.
    - Strings returned as `const char *` are borrowed from the handle
      they come from and valid until the next call on that handle that
      says it replaces them (or its _free).  Buffers returned as `char **`
      or `void **` are the caller's; free them with bitfarm_free().
    - Units: times and durations in milliseconds (int64_t), sizes in
      bytes, register addresses in bytes (4-byte aligned, below 2^32),
      register data as 32-bit words in host order.
    - Thread-safety: the library may be used from several threads, but a
      handle (farm, design, job, session) belongs to one thread at a time.
      A job or session borrows its farm: the farm must outlive them.
    - Progress and logs come through callbacks.  The library prints only
      the two warnings `bitfarm submit` prints on stderr: a file the
      sources name that is not sent (it lies outside the design's root),
      and a local farm started without a sandbox (BITFARM_NO_SANDBOX=1).

    The link: `cc prog.c $(pkg-config --cflags --libs bitfarm)`.  Only
    the symbols declared here are exported (a linker version script); the
    soname, libbitfarm.so.1, changes when one of them changes
    incompatibly.
*/
#ifndef BITFARM_H_INCLUDED
#define BITFARM_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; bitfarm_version() gives the library's. */
#define BITFARM_VERSION_MAJOR 1
#define BITFARM_VERSION_MINOR 0
#define BITFARM_VERSION_PATCH 0
#define BITFARM_VERSION "1.0.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if */
#define BITFARM_VERSION_NUMBER 10000

/*  The library's version ("1.0.0"; static).  major, minor, patch may be
    NULL. */
const char *bitfarm_version (int *major, int *minor, int *patch);

/* ---------------------------------------------------------------------- */
/*  Errors                                                                  */

/*  The classes of failure; the command line's exit statuses are the same
    classes (BITFARM_EUSAGE is exit 2, EDESIGN 1, EINFRA 3, ETIMEOUT 4,
    ECANCELLED 5). */
typedef enum {
    BITFARM_OK         =  0,
    BITFARM_EUSAGE     = -1,  /* the request is wrong: an argument, an option, a file, no
                                 such job, board or cache entry */
    BITFARM_EDESIGN    = -2,  /* the design failed: the tools rejected it, a bad bitstream;
                                 on a register: a bus error, the bridge not answering */
    BITFARM_EINFRA     = -3,  /* the farm failed: broker unreachable, worker lost, board
                                 offline, a file that cannot be written */
    BITFARM_ETIMEOUT   = -4,  /* a time limit passed: the job's, a wait's, a poll's */
    BITFARM_EDENIED    = -5,  /* not allowed: a key the broker refuses, a role that may
                                 not, another key's reservation */
    BITFARM_ECANCELLED = -6,  /* the job was cancelled */
    BITFARM_EBUSY      = -7,  /* a board is held by another reservation, or programming */
} bitfarm_error_code;

typedef struct {
    int code;               /* a bitfarm_error_code */
    const char *message;    /* one line, never NULL */
} bitfarm_error;

/*  The calling thread's last error (never NULL; code BITFARM_OK and
    message "no error" when the last call succeeded or nothing failed
    yet).  Owned by the library; valid until the thread's next call. */
const bitfarm_error *bitfarm_error_last (void);

/*  A static name for a code: "usage", "design", "infrastructure",
    "timeout", "denied", "cancelled", "busy", "ok". */
const char *bitfarm_error_name (int code);

/*  Frees a buffer the library returned (NULL is fine). */
void bitfarm_free (void *ptr);

/* ---------------------------------------------------------------------- */
/*  The farm: a connection to a broker                                      */

typedef struct bitfarm_farm bitfarm_farm;

/*  Connects to the broker at endpoint ("tcp://host:7700", "ipc:///path");
    NULL or "" means $BITFARM_BROKER, else the local farm of this user
    (~/.cache/bitfarm: one broker, one worker and the simulated board
    vboard0 over ipc://, started on first use; its daemons are found
    beside libbitfarm.so, in ../bin, else in PATH).  When $BITFARM_CERT
    and $BITFARM_BROKER_KEY are set, talks CURVE with them, as
    bitfarm_farm_open_curve.  Nothing is sent yet: a broker that is not
    there shows at the first request (BITFARM_EINFRA).  Errors: EUSAGE (an
    endpoint ZeroMQ refuses, an unreadable key), EINFRA (the local farm
    would not start, with the last line of its log). */
int bitfarm_farm_open (bitfarm_farm **out, const char *endpoint);

/*  Connects with CURVE: secret_key_path is this client's secret key
    (NAME.key_secret from `bitfarm keygen --role client`), broker_key_path
    the broker's public key (its NAME.key).  A broker that refuses the key
    makes requests fail with BITFARM_EDENIED. */
int bitfarm_farm_open_curve (bitfarm_farm **out, const char *endpoint,
                             const char *secret_key_path, const char *broker_key_path);

void bitfarm_farm_close (bitfarm_farm **farm_p);

/*  The endpoint connected to (borrowed from farm). */
const char *bitfarm_farm_endpoint (const bitfarm_farm *farm);

/*  How long each request waits for the broker's answer (ms, 10 ..
    3600000; default 10000).  Returns BITFARM_OK or EUSAGE. */
int bitfarm_farm_set_timeout (bitfarm_farm *farm, int timeout_ms);

/*  Listings, as JSON text into *json (the caller's; bitfarm_free):
    - bitfarm_jobs: {"jobs": [job, ...]}, newest first, at most limit
      (1..10000; 0: 100); commit (4..64 hex characters, or NULL) keeps the
      jobs built from a commit beginning with it.  A job object is as
      bitfarm_job_json.  A non-admin key sees only its own jobs.
    - bitfarm_boards: {"boards": [board, ...]}: name, device, package,
      worker, state, reserved_by, reserved_until, ... (docs/protocol.md
      section 9).
    - bitfarm_workers: {"workers": [{name, slots, busy, toolchain, ...}]}. */
int bitfarm_jobs (bitfarm_farm *farm, int limit, const char *commit, char **json);
int bitfarm_boards (bitfarm_farm *farm, char **json);
int bitfarm_workers (bitfarm_farm *farm, char **json);

/* ---------------------------------------------------------------------- */
/*  Designs                                                                 */

typedef struct bitfarm_design bitfarm_design;

/*  A new design: its top module, its device (lp1k hx1k hx8k up5k ...,
    or NULL when the "regio" option will give it) and package (NULL: the
    device's default).  Files are read when it is submitted. */
int bitfarm_design_new (bitfarm_design **out, const char *top, const char *device,
                        const char *package);

/*  A design from a project file's target (docs/project.md): project is
    a bitfarm.ini, or a directory searched upward for one; target NULL
    means its default target.  Its globs are expanded now (in a git work
    tree: its tracked files).  Options set afterwards add to or replace
    the target's, as on the command line.  EUSAGE with "FILE:LINE: ..."
    for a mistake in the file. */
int bitfarm_design_from_project (bitfarm_design **out, const char *project, const char *target);

void bitfarm_design_free (bitfarm_design **design_p);

/*  Adds a source or data file (Verilog, SystemVerilog, a $readmemh
    file, ...), as a path relative to the current directory or absolute.
    Files the sources include or read are found and sent by themselves. */
int bitfarm_design_add_file (bitfarm_design *design, const char *path);

/*  Sets one option of the design, named as the command line's long
    option without "--" (bitfarm help submit), with the same meaning and
    checks:
        top device package pcf freq seed flow delay root regio rev git-dir
        define include param synth-opt pnr-opt     (these add each time)
    "rev" builds a git revision of the work tree holding the files (or of
    "git-dir"); "regio" wraps the top with the register bridge of a board
    profile (icebreaker, icestick: docs/regio.md).  The value is copied.
    EUSAGE for an unknown option or a value it refuses, naming both. */
int bitfarm_design_set (bitfarm_design *design, const char *option, const char *value);

/* ---------------------------------------------------------------------- */
/*  Jobs                                                                    */

typedef struct bitfarm_job bitfarm_job;

typedef enum {
    BITFARM_QUEUED = 0,
    BITFARM_RUNNING,
    BITFARM_SUCCEEDED,
    BITFARM_FAILED,
    BITFARM_TIMED_OUT,
    BITFARM_CANCELLED,
    BITFARM_STATE_UNKNOWN     /* a state this library does not know */
} bitfarm_state;

/*  "queued", "running", "succeeded", "failed", "timed_out", "cancelled",
    "unknown" (static). */
const char *bitfarm_state_name (bitfarm_state state);

/*  Whether a job in this state will not change any more. */
int bitfarm_state_is_final (bitfarm_state state);

/*  How a job is run; none of it changes the cache key.  Initialise with
    BITFARM_SUBMIT_OPTIONS_INIT, then set fields; `version` lets later
    libraries add fields. */
typedef struct {
    unsigned int version;           /* BITFARM_SUBMIT_OPTIONS_VERSION */
    int priority;                   /* -1000..1000, higher first; 0 */
    int64_t timeout_ms;             /* an attempt's wall-clock limit, 1000 ms .. 30 days;
                                       0: the broker's default */
    const char *const *tags;        /* worker tags required, NULL-terminated, or NULL */
    const char *program_board;      /* program this board after the build, or NULL */
    const char *token;              /* the reservation token for that board, or NULL */
    const char *toolchain;          /* build only on this toolchain id (prefix, 8..64 hex),
                                       or NULL */
} bitfarm_submit_options;

#define BITFARM_SUBMIT_OPTIONS_VERSION 1
#define BITFARM_SUBMIT_OPTIONS_INIT { BITFARM_SUBMIT_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL, NULL }

/*  Submits a design: hashes its inputs, sends the manifest, uploads only
    what the broker lacks, and returns at once with the job (queued, or
    already succeeded on a cache hit).  opts may be NULL.  The design may
    be freed or submitted again afterwards.  Errors: EUSAGE (a file, an
    option; nothing sent), EINFRA, EDENIED. */
int bitfarm_submit (bitfarm_farm *farm, const bitfarm_design *design,
                    const bitfarm_submit_options *opts, bitfarm_job **out);

/*  A job by its id, or a unique prefix of it (asks its status once).
    EUSAGE for no such job (or another key's), or an ambiguous prefix. */
int bitfarm_job_open (bitfarm_farm *farm, const char *id, bitfarm_job **out);

void bitfarm_job_free (bitfarm_job **job_p);

/*  The full job id (borrowed). */
const char *bitfarm_job_id (const bitfarm_job *job);

/*  Asks the broker for the job's status now (replacing the strings the
    accessors below returned). */
int bitfarm_job_refresh (bitfarm_job *job);

/*  From the last status the handle holds (no request): the state; a
    string field ("kind", "stage", "worker", "cache_key", "error",
    "failure_class", "waiting_for", "submitted_at", ...; NULL when absent
    or not a string); an integer field ("attempt", "priority", "cache_hit"
    as 0/1, ...; dflt when absent); and the whole status as JSON text
    (the object `bitfarm status --json` prints, docs/json.md). */
bitfarm_state bitfarm_job_state (const bitfarm_job *job);
const char *bitfarm_job_get (const bitfarm_job *job, const char *field);
int64_t bitfarm_job_get_int (const bitfarm_job *job, const char *field, int64_t dflt);
const char *bitfarm_job_json (bitfarm_job *job);

/*  Called by bitfarm_job_wait each time the state, stage, worker or
    attempt changes, and once at the end, from the waiting thread; job is
    the handle being waited on (read it with the accessors).  Return 0 to
    go on waiting, nonzero to stop: the wait then returns BITFARM_ETIMEOUT
    ("stopped by the progress callback") and the job goes on. */
typedef int (*bitfarm_progress_cb) (bitfarm_job *job, void *payload);

/*  Waits until the job ends or timeout_ms passes (0: no limit), polling
    its status.  A broker that stops answering is asked again for up to
    60 s (it may be restarting).  Returns BITFARM_OK when the job
    succeeded; else the class of its end with the job's error as the
    message: EDESIGN (the tools rejected the design), EINFRA, ETIMEOUT
    (the job's time limit, or timeout_ms: then the job still runs),
    ECANCELLED. */
int bitfarm_job_wait (bitfarm_job *job, int64_t timeout_ms, bitfarm_progress_cb progress,
                      void *payload);

typedef enum {
    BITFARM_BITSTREAM = 0,   /* the .bin, as icepack wrote it */
    BITFARM_REPORT,          /* nextpnr's JSON report, with the farm's summary */
    BITFARM_LOG              /* the tools' output */
} bitfarm_artifact;

/*  One of a finished job's outputs into *data, *len bytes (the caller's:
    bitfarm_free; a NUL follows the bytes).  EUSAGE when the job has none
    (it failed, or is not finished). */
int bitfarm_job_fetch (bitfarm_job *job, bitfarm_artifact what, void **data, size_t *len);

/*  The same, written to path (atomically: a temporary file renamed). */
int bitfarm_job_save (bitfarm_job *job, bitfarm_artifact what, const char *path);

/*  Called with each new piece of the log, in order; return nonzero to
    stop (bitfarm_job_logs then returns BITFARM_OK). */
typedef int (*bitfarm_log_cb) (const char *data, size_t len, void *payload);

/*  The job's log from the start; with follow, then what is added until
    the job ends (polling every 200 ms). */
int bitfarm_job_logs (bitfarm_job *job, int follow, bitfarm_log_cb fn, void *payload);

/*  Cancels a queued or running job (refreshing the handle).  EUSAGE when
    it had already ended. */
int bitfarm_job_cancel (bitfarm_job *job);

/* ---------------------------------------------------------------------- */
/*  Boards and register sessions                                            */

/*  A program job that loads a bitstream into board: source is a finished
    build's job id, a cache key (full or unique prefix), or a path to a
    .bin file (uploaded if the broker lacks it).  token: the reservation
    holding the board, or NULL when it is not reserved.  Returns at once
    with the job (wait for it with bitfarm_job_wait). */
int bitfarm_program (bitfarm_farm *farm, const char *board, const char *source,
                     const char *token, bitfarm_job **out);

typedef struct bitfarm_session bitfarm_session;

/*  Reserves a board for lease_ms (1000 .. 86400000; 0: 15 minutes) and
    opens a register session on it: board by name, or NULL and device
    ("up5k": any online board of that device).  by (may be NULL) labels
    the reservation in `bitfarm boards`.  EUSAGE (no such board), EBUSY
    (every matching board is reserved or busy), EINFRA, EDENIED. */
int bitfarm_session_open (bitfarm_farm *farm, const char *board, const char *device,
                          int64_t lease_ms, const char *by, bitfarm_session **out);

/*  A session on a reservation already held by this key (the token
    `bitfarm reserve` printed; `bitfarm session` sets $BITFARM_BOARD and
    $BITFARM_TOKEN): bitfarm_session_close does not release it. */
int bitfarm_session_attach (bitfarm_farm *farm, const char *board, const char *token,
                            bitfarm_session **out);

/*  Releases the reservation (unless attached) and frees the session.  The
    release's error, if any, is the thread's last error; the session is
    freed either way.  Returns BITFARM_OK or that error. */
int bitfarm_session_close (bitfarm_session **session_p);

/*  The board's name and the reservation's token (borrowed). */
const char *bitfarm_session_board (const bitfarm_session *session);
const char *bitfarm_session_token (const bitfarm_session *session);

/*  Loads source (as bitfarm_program) into the session's board and waits
    until it is loaded (timeout_ms, 0: no limit).  On the simulated board
    the design then runs in Verilator; its registers answer after this. */
int bitfarm_session_program (bitfarm_session *session, const char *source, int64_t timeout_ms);

/*  Register I/O through the design's bridge (docs/regio.md).  Each call
    is one request; count is in words (1..BITFARM_REGS_MAX_WORDS).  flags: BITFARM_FIXED
    reads or writes the same register count times (a FIFO), else
    addresses increment by 4.  Writes are not acknowledged by the bus:
    bitfarm_session_ident after them reports bus errors (status).  Errors:
    EUSAGE (an address or count out of range, a lost reservation), EDESIGN
    (bus error, bridge timeout), EINFRA (board offline, worker lost). */
#define BITFARM_FIXED 1u
#define BITFARM_REGS_MAX_WORDS 4096   /* words in one read or write */
int bitfarm_session_read (bitfarm_session *session, uint32_t addr, uint32_t *out, size_t count,
                          unsigned flags);
int bitfarm_session_write (bitfarm_session *session, uint32_t addr, const uint32_t *words,
                           size_t count, unsigned flags);

/*  Reads the register at addr until (value & mask) == want, for at most
    timeout_ms (1..10000): ETIMEOUT with the last value otherwise.  *out
    (may be NULL) receives the matching value. */
int bitfarm_session_poll (bitfarm_session *session, uint32_t addr, uint32_t mask, uint32_t want,
                          int64_t timeout_ms, uint32_t *out);

/*  The bridge's identity, and a write barrier: magic 0x42465542 ("BFUB"),
    version (major << 16 | minor), the design's user id, and the status of
    every access since the last ident (bit 0 bus error, bit 1 timeout).
    Any pointer may be NULL. */
int bitfarm_session_ident (bitfarm_session *session, uint32_t *magic, uint32_t *version,
                           uint32_t *user_id, uint32_t *status);

#ifdef __cplusplus
}
#endif

#endif
