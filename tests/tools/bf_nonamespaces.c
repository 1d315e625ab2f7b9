/*  bf_nonamespaces - runs a command where no namespace can be made, as in a
    container under Docker's default seccomp profile: a seccomp filter makes
    unshare(2), setns(2) and clone(2) with any CLONE_NEW* flag fail with
    EPERM, and clone3(2) fail with ENOSYS (so libc falls back to clone,
    whose flags a filter can see).  bubblewrap then cannot start, even for
    root; everything else runs as before.  The filter is inherited by every
    child and cannot be lifted.

    Usage: bf_nonamespaces COMMAND [ARGS...]
    Exit status: the command's; 127 when it cannot be run, 1 when the
    filter cannot be installed (the reason on stderr).  x86_64 and aarch64
    (other architectures: every call is let through, with a warning). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define S_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define S_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_clone3
#define __NR_clone3 435
#endif

#define S_NEWNS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER \
                       | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: bf_nonamespaces COMMAND [ARGS...]\n");
        return 2;
    }
#ifdef S_ARCH
    struct sock_filter filter[] = {
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, S_ARCH, 1, 0),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 6, 0),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_setns, 5, 0),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 6, 0),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* clone: its flags are the first argument (the low 32 bits) */
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, args[0])),
        BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, S_NEWNS_FLAGS, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
    /* Root with CAP_SYS_ADMIN may install a filter as it is; anyone else
       needs no_new_privs first. */
    if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
            fprintf (stderr, "bf_nonamespaces: cannot install the seccomp filter: %s\n",
                     strerror (errno));
            return 1;
        }
    }
#else
    fprintf (stderr, "bf_nonamespaces: unknown architecture: namespaces are not denied\n");
#endif
    execvp (argv[1], argv + 1);
    fprintf (stderr, "bf_nonamespaces: cannot run '%s': %s\n", argv[1], strerror (errno));
    return 127;
}
