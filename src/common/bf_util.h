/*  bf_util - small system helpers shared by every component.

    Memory: the x* allocators log and abort on out-of-memory, the one policy
    for the daemons (as tmux and OpenSSH do); they never return NULL.
    Files: every read takes an explicit maximum size; every write that must
    survive a crash goes through bf_file_write_atomic (temp file, fsync,
    rename, fsync of the directory; git's lockfile.h).
    System calls are retried on EINTR and files are opened O_CLOEXEC.
    All functions are thread-safe.
*/
#ifndef BF_UTIL_H_INCLUDED
#define BF_UTIL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc (size_t size);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *ptr, size_t size);
char *xstrdup (const char *s);
/*  printf into a fresh heap string; caller frees. */
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Milliseconds since the Unix epoch (wall clock) and since an arbitrary
    point (monotonic). */
int64_t bf_now_ms (void);
int64_t bf_mono_ms (void);

/*  Formats a wall-clock time in ms as RFC 3339 UTC with milliseconds into
    buf (at least 32 bytes).  Returns buf. */
char *bf_time_iso (char *buf, size_t len, int64_t ms);

/*  Creates path and its parents with the given mode; existing directories
    are fine.  Returns BF_OK or BF_EIO with a detail. */
int bf_mkdir_p (const char *path, unsigned mode);

/*  Reads a whole file into a fresh NUL-terminated heap buffer; *len_out gets
    the size in bytes (without the NUL).  Files over max_bytes give
    BF_ETOOBIG; missing ones BF_ENOTFOUND; other failures BF_EIO.
    The caller frees *out. */
int bf_file_read (char **out, size_t *len_out, const char *path, size_t max_bytes);

/*  Writes len bytes to path atomically: a unique temp file beside it,
    fsync, rename over path, fsync of the directory.  A crash at any point
    leaves either the old file or the whole new one.  mode is applied to the
    new file.  Returns BF_OK or BF_EIO. */
int bf_file_write_atomic (const char *path, const void *data, size_t len, unsigned mode);

/*  Writes len bytes to path (created with mode, or truncated), with no
    fsync: for scratch files that need not survive a crash, such as a job
    directory's inputs (the directory goes with the job).  A symlink at
    path is not followed.  Returns BF_OK or BF_EIO with a detail. */
int bf_file_write_scratch (const char *path, const void *data, size_t len, unsigned mode);

/*  write(2) all of len bytes, retrying on EINTR and short writes.
    Returns 0 or -1 with errno set. */
int bf_write_all (int fd, const void *data, size_t len);

/*  Job logs are capped (docs/protocol.md 2.1): a log holds at most `max`
    bytes of output, then one marker line "[bitfarm: log truncated at MAX
    bytes]" (on a line of its own), then nothing more.  The marker is at
    most BF_LOG_MARKER_MAX bytes, so a capped log never exceeds max +
    BF_LOG_MARKER_MAX. */
#define BF_LOG_MARKER_MAX 64

/*  The marker for cap max, "\n[bitfarm: log truncated at MAX bytes]\n",
    into buf (at least BF_LOG_MARKER_MAX bytes).  Returns its length. */
size_t bf_log_marker (char *buf, uint64_t max);

/*  Appends data to the log file open on fd (O_APPEND, and readable: a
    full file's tail is read back), within the cap
    max (0: no cap): what fits below max is written, and the first byte
    that does not fit writes the marker instead, once (a file already
    ending with the marker gets nothing more).  Stateless: the file's size
    and tail say where it stands, so several writers in turn (the tools of
    one build) share one cap.  Returns 0, or -1 with errno set. */
int bf_log_append_capped (int fd, const void *data, size_t len, uint64_t max);

/*  Fills out with 2*nbytes lowercase hex characters of cryptographically
    random data plus a NUL (out must hold 2*nbytes+1).  Returns BF_OK or
    BF_ERROR when the system's random source fails. */
int bf_random_hex (char *out, size_t nbytes);

/*  Removes path recursively (like rm -rf); missing is fine.
    Returns BF_OK or BF_EIO. */
int bf_remove_tree (const char *path);

/*  path made absolute against cwd (when relative) and folded lexically --
    ".", "..", "//" -- without touching the file system, into out (size
    bytes; a result that does not fit is cut at a component).  "/" for an
    empty result. */
void bf_path_fold (char *out, size_t size, const char *cwd, const char *path);

/*  A 32-bit word as 4 big-endian bytes at p, and back (the UARTBone wire
    and REGIO's blobs). */
void bf_be32_put (uint8_t *p, uint32_t v);
uint32_t bf_be32_get (const uint8_t *p);

/*  The directory of the running code into out: of libbitfarm.so when
    this code runs inside it (then true: its lib/ directory, with the
    programs in ../bin), else of the executable (/proc/self/exe; false).
    out is "" when neither can be read. */
bool bf_self_dir (char *out, size_t size);

/*  The path of the program `name` beside the running code (bf_self_dir:
    the executable's directory, or the library's ../bin) when it is there
    and executable, else a copy of `name` itself, to be looked up in PATH.
    Caller frees. */
char *bf_sibling_program (const char *name);

/*  True when s starts with prefix. */
bool bf_starts_with (const char *s, const char *prefix);

#endif
