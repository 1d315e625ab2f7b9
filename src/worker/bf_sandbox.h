/*  bf_sandbox - where a build's tools run: bubblewrap (bwrap(1), Debian's
    bubblewrap package) plus resource limits.

    Every tool run of a build (yosys, nextpnr-ice40, icepack) becomes
        bwrap --unshare-all --die-with-parent --new-session --clearenv
              --ro-bind /usr /usr (+ /bin, /lib, ... as they are on the host)
              --ro-bind-try /etc/ld.so.cache ...
              --proc /proc --dev /dev --tmpfs /tmp
              --bind JOB JOB --chdir CWD -- TOOL ARGS...
    so the tool sees:
      - no network (a new, empty network namespace);
      - the system (/usr and its links) read-only, and nothing else of the
        host: no /etc beyond the loader cache, no /home, no /root, no /var,
        so no keys, no caches and no other jobs' directories;
      - its own job directory, the only place it can write (plus a private
        /tmp that vanishes with it);
      - a new PID namespace: bwrap's child is PID 1 in it, so when bwrap is
        killed (bf_spawn kills its process group) or dies, the kernel kills
        every process in the namespace.
    Limits (setrlimit, inherited through bwrap): CPU seconds, address
    space, file size and processes, on top of the job's wall-clock timeout.

    A worker running as root (common on CI) would run its tools as root,
    and the kernel exempts root from RLIMIT_NPROC: --limit-procs would do
    nothing.  So for a root worker (drop_root) the sandbox is made by a
    privileged bwrap without a user namespace, keeping only CAP_SETUID,
    CAP_SETGID and CAP_SETPCAP, and the tool is started through
        setpriv --reuid 65534 --regid 65534 --clear-groups
                --bounding-set -all --inh-caps -all --no-new-privs -- TOOL
    inside it: the tool runs as uid/gid 65534 with no capabilities and no
    way to gain any (no_new_privs), so RLIMIT_NPROC holds for it, and a
    fork bomb fails to fork.  (The count is per host uid: every process of
    uid 65534 on the host counts, those of other builds too.)  The job's
    out/ directory is given to that uid (bf_sandbox_give); everything else
    the tool sees stays root's and read-only to it.  The directories above
    the job directory and a --tools directory are made 0755 inside the
    sandbox so the tool may pass through them, and /tmp is 1777.

    Thread-safety: a bf_sandbox_t is read-only after bf_sandbox_init, and
    may be shared by build threads.
*/
#ifndef BF_SANDBOX_H_INCLUDED
#define BF_SANDBOX_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "../common/bf_spawn.h"

#define BF_SANDBOX_CPU_DEFAULT   3600                 /* s of CPU per tool run */
#define BF_SANDBOX_AS_DEFAULT    (8LL << 30)          /* bytes of address space */
#define BF_SANDBOX_FSIZE_DEFAULT (1LL << 30)          /* bytes per file written */
#define BF_SANDBOX_NPROC_DEFAULT 1024                 /* processes and threads */

#define BF_SANDBOX_UID      65534                /* nobody/nogroup on Debian: a root */
#define BF_SANDBOX_GID      65534                /* worker's tools run as these */
#define BF_SANDBOX_SETPRIV  "/usr/bin/setpriv"   /* util-linux, essential on Debian */

typedef struct {
    bool enabled;                /* false: --no-sandbox (limits still apply) */
    bf_spawn_limits_t limits;
    char *bwrap;                 /* "bwrap", or a path */
    bool drop_root;              /* the worker is root: tools run as BF_SANDBOX_UID (init) */
    char *system_args[64];       /* how to show the system: filled by bf_sandbox_init */
    int nsystem;
    char *shown[4];              /* host directories shown read-only (bf_sandbox_show) */
    int nshown;
} bf_sandbox_t;

/*  Fills in how the host's system directories are shown (merged-/usr
    links or read-only binds), with the defaults for any limit left 0.
    When enabled, checks that bubblewrap runs and can make namespaces here
    by running `true` in a sandbox over scratch_dir (an existing
    directory).  BF_OK, or BF_ERROR with a detail saying why and what to do
    (install bubblewrap, allow user namespaces, or --no-sandbox).  When the
    trial fails, the detail names bwrap's first line and the causes this
    host shows (a seccomp filter, a chroot, a container, a sysctl that
    exists here and is off), or the likely ones when none shows. */
int bf_sandbox_init (bf_sandbox_t *self, const char *scratch_dir);
void bf_sandbox_fini (bf_sandbox_t *self);

/*  Shows a toolchain directory outside /usr (bitfarm-worker --tools DIR)
    read-only to the tools: DIR, or its prefix DIR/.. when DIR ends in
    /bin, so that the prefix's lib/ and share/yosys are there too.  Call
    after bf_sandbox_init and before bf_sandbox_hide; at most 4. */
void bf_sandbox_show (bf_sandbox_t *self, const char *tools_dir);

/*  Hides dir (the worker's keys, its cache, its work directory) from the
    tools: when it lies inside what the sandbox shows of the host (under
    /usr, say /usr/local/etc/bitfarm, or under a directory given to
    bf_sandbox_show), an empty tmpfs is mounted over it; elsewhere it is
    not visible anyway.  Call after bf_sandbox_init. */
void bf_sandbox_hide (bf_sandbox_t *self, const char *dir);

/*  The argv that runs argv inside the sandbox, with job_dir writable and
    cwd (inside job_dir) as working directory: a new NULL-terminated
    vector, which the caller frees with free() (the strings in it are
    borrowed from self, job_dir, cwd and argv, which must outlive it).
    When the sandbox is disabled, a copy of argv. */
const char **bf_sandbox_argv (const bf_sandbox_t *self, const char *job_dir, const char *cwd,
                              const char *const *argv);

/*  What a program job's openFPGALoader may reach (bf_board_reach). */
typedef struct {
    bool net;                    /* an XVC cable: the host's network (see docs/security.md) */
    bool usb;                    /* a USB cable: /sys read-only, for libusb's enumeration */
    char nodes[4][64];           /* device nodes bound read-write: "/dev/bus/usb/001/004" */
    int nnodes;
} bf_sandbox_reach_t;

/*  The argv that runs openFPGALoader (argv) for a program job: the same
    sandbox as a build's (user, PID, IPC, UTS, network namespaces; the
    system read-only; no /home, keys or caches) except that job_dir (which
    holds only the bitstream) is read-only, the tool runs as the worker's
    own uid (inside a user namespace), and it reaches only what reach
    names: the network for an XVC cable, the listed device nodes (and /sys
    read-only) for a USB one.  Allocated and freed as bf_sandbox_argv.
    When the sandbox is disabled, a copy of argv. */
const char **bf_sandbox_program_argv (const bf_sandbox_t *self, const char *job_dir,
                                      const bf_sandbox_reach_t *reach,
                                      const char *const *argv);

/*  Makes dir (a directory the tools write, such as a job's out/) the
    tools' own: chown to BF_SANDBOX_UID/GID when drop_root, else nothing.
    BF_OK or BF_EIO with a detail. */
int bf_sandbox_give (const bf_sandbox_t *self, const char *dir);

/*  What a tool's end means once bwrap has relayed it: bwrap exits 128 + N
    when the tool was killed by signal N.  Rewrites *res to say "killed by
    N" in that case (sandbox enabled only). */
void bf_sandbox_result (const bf_sandbox_t *self, bf_spawn_result_t *res);

#endif
