/*  Unit tests for bf_curve (keys) and bf_auth (allow-lists, roles) and the
    sandbox's argv (bf_sandbox). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/broker/bf_auth.h"
#include "../../src/common/bf_curve.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"
#include "../../src/worker/bf_sandbox.h"

static char s_dir[] = "/tmp/bf-test-curve.XXXXXX";

static void
endpoint__only_loopback_and_ipc_are_local (void **state)
{
    (void) state;
    const char *local[] = { "ipc:///tmp/x", "inproc://x", "tcp://127.0.0.1:5555",
                            "tcp://127.1.2.3:1", "tcp://[::1]:5555", "tcp://localhost:80", NULL };
    const char *remote[] = { "tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.1:5555",
                             "tcp://eth0:5555", "tcp://127.0.0.1.evil.com:5555",
                             "tcp://127.0.0.1x:1", "tcp://[::]:5555", "udp://127.0.0.1:1",
                             "tcp://localhostx:1", NULL };
    for (int i = 0; local[i]; i++)
        assert_true (bf_endpoint_is_local (local[i]));
    for (int i = 0; remote[i]; i++) {
        if (bf_endpoint_is_local (remote[i]))
            fail_msg ("'%s' judged local", remote[i]);
    }
}

static void
keygen__modes_and_refusals (void **state)
{
    (void) state;
    char key[BF_CURVE_KEY_LEN + 1];
    assert_int_equal (bf_curve_keygen (s_dir, "alice", "client", key), BF_OK);
    assert_int_equal (strlen (key), BF_CURVE_KEY_LEN);
    char *pub = xasprintf ("%s/alice.key", s_dir), *sec = xasprintf ("%s/alice.key_secret", s_dir);
    struct stat sb;
    assert_int_equal (stat (sec, &sb), 0);
    assert_int_equal (sb.st_mode & 0777, 0600);
    assert_int_equal (bf_curve_keygen (s_dir, "alice", "client", NULL), BF_EBUSY);
    assert_int_equal (bf_curve_keygen (s_dir, "x", "root", NULL), BF_EINVAL);
    assert_int_equal (bf_curve_keygen (s_dir, ".hidden", "client", NULL), BF_EINVAL);
    assert_int_equal (bf_curve_keygen (s_dir, "a/b", "client", NULL), BF_EINVAL);
    char got[BF_CURVE_KEY_LEN + 1];
    assert_int_equal (bf_curve_load_public (got, pub), BF_OK);
    assert_string_equal (got, key);
    zcert_t *cert = NULL;
    assert_int_equal (bf_curve_load_secret (&cert, sec), BF_OK);
    assert_string_equal (zcert_public_txt (cert), key);
    zcert_destroy (&cert);
    assert_int_equal (bf_curve_load_secret (&cert, pub), BF_EINVAL);   /* no secret in it */
    assert_non_null (strstr (bf_error_last (), "holds no secret key"));
    chmod (sec, 0640);
    assert_int_equal (bf_curve_load_secret (&cert, sec), BF_EINVAL);
    assert_non_null (strstr (bf_error_last (), "chmod 600"));
    assert_null (cert);
    free (pub);
    free (sec);
}

static void
auth__roles_follow_the_directories (void **state)
{
    (void) state;
    char wkey[BF_CURVE_KEY_LEN + 1], ckey[BF_CURVE_KEY_LEN + 1], akey[BF_CURVE_KEY_LEN + 1];
    char *keys = xasprintf ("%s/k", s_dir), *allow = xasprintf ("%s/allow", s_dir);
    assert_int_equal (bf_curve_keygen (keys, "broker", "broker", NULL), BF_OK);
    assert_int_equal (bf_curve_keygen (keys, "w", "worker", wkey), BF_OK);
    assert_int_equal (bf_curve_keygen (keys, "c", "client", ckey), BF_OK);
    assert_int_equal (bf_curve_keygen (keys, "a", "client", akey), BF_OK);
    char *bsec = xasprintf ("%s/broker.key_secret", keys);
    bf_auth_t *auth = NULL;
    assert_int_equal (bf_auth_new (&auth, allow, bsec), BF_OK);
    assert_int_equal (bf_auth_roles (auth, wkey, NULL), 0);
    char *cmd = xasprintf ("cp %s/w.key %s/workers/ && cp %s/c.key %s/clients/ && "
                           "cp %s/a.key %s/admins/", keys, allow, keys, allow, keys, allow);
    assert_int_equal (system (cmd), 0);
    const char *name = NULL;
    assert_int_equal (bf_auth_roles (auth, wkey, &name), BF_AUTH_WORKER);
    assert_string_equal (name, "w");
    assert_int_equal (bf_auth_roles (auth, ckey, NULL), BF_AUTH_CLIENT);
    assert_int_equal (bf_auth_roles (auth, akey, NULL), BF_AUTH_CLIENT | BF_AUTH_ADMIN);
    assert_int_equal (bf_auth_roles (auth, NULL, NULL), 0);
    assert_int_equal (bf_auth_roles (auth, "short", NULL), 0);
    char *gone = xasprintf ("%s/clients/c.key", allow);
    assert_int_equal (remove (gone), 0);
    assert_int_equal (bf_auth_roles (auth, ckey, NULL), 0);       /* revoked at once */
    bf_auth_destroy (&auth);
    free (gone);
    free (cmd);
    free (bsec);
    free (keys);
    free (allow);
}

static void
sandbox__argv_confines_to_the_job (void **state)
{
    (void) state;
    bf_sandbox_t sb = { .enabled = true };
    if (bf_sandbox_init (&sb, s_dir) != BF_OK   /* runs `true` in bwrap */
        && system ("bwrap --unshare-pid --unshare-net --ro-bind / / true >/dev/null 2>&1") != 0) {
        /* bubblewrap itself cannot start here (a container, a chroot, a
           seccomp profile): the test has nothing to check */
        print_message ("# SKIP no sandbox here: %s\n", bf_error_last ());
        bf_sandbox_fini (&sb);
        skip ();
    }
    else
        assert_true (sb.bwrap != NULL);
    assert_true (sb.limits.cpu_s > 0 && sb.limits.as_bytes > 0 && sb.limits.fsize_bytes > 0);
    const char *tool[] = { "yosys", "-s", "/job/build.ys", NULL };
    const char **v = bf_sandbox_argv (&sb, "/job", "/job/src", tool);
    int n = 0, binds = 0, dashes = -1;
    bool net = false, ro_usr = false, job = false, userns = false;
    for (; v[n]; n++) {
        if (strcmp (v[n], "--unshare-all") == 0 || strcmp (v[n], "--unshare-net") == 0)
            net = true;
        userns |= strcmp (v[n], "--unshare-all") == 0;
        if (strcmp (v[n], "--") == 0 && dashes < 0)
            dashes = n;
        if (strcmp (v[n], "--ro-bind") == 0 && strcmp (v[n + 1], "/usr") == 0)
            ro_usr = true;
        if (strcmp (v[n], "--bind") == 0) {
            binds++;
            job = strcmp (v[n + 1], "/job") == 0;
        }
    }
    assert_string_equal (v[0], "bwrap");
    assert_true (net && ro_usr && job);
    assert_int_equal (binds, 1);                     /* the only writable place */
    assert_string_equal (v[n - 3], "yosys");         /* the tool's argv, unchanged, last */
    if (geteuid () == 0) {
        /* A root worker: no user namespace (in one, uid 65534 would be
           host root) and the tool started by setpriv as uid 65534, with
           no capabilities and no_new_privs, so RLIMIT_NPROC holds. */
        assert_true (sb.drop_root);
        assert_false (userns);
        assert_string_equal (v[dashes + 1], BF_SANDBOX_SETPRIV);
        assert_string_equal (v[dashes + 2], "--reuid");
        assert_string_equal (v[dashes + 3], "65534");
        assert_string_equal (v[n - 5], "--no-new-privs");
        assert_string_equal (v[n - 4], "--");
    }
    else {
        assert_false (sb.drop_root);
        assert_true (userns);
        assert_int_equal (dashes, n - 4);
    }
    free (v);
    /* openFPGALoader: the job directory read-only, and only its board. */
    const char *ofl[] = { "openFPGALoader", "--write-sram", "/job/bitstream.bin", NULL };
    bf_sandbox_reach_t xvc = { .net = true };
    v = bf_sandbox_program_argv (&sb, "/job", &xvc, ofl);
    bool share_net = false, ro_job = false, rw = false, sys = false;
    for (n = 0; v[n]; n++) {
        share_net |= strcmp (v[n], "--share-net") == 0;
        ro_job |= strcmp (v[n], "--ro-bind") == 0 && strcmp (v[n + 1], "/job") == 0;
        rw |= strcmp (v[n], "--bind") == 0 || strncmp (v[n], "--dev-bind", 10) == 0;
        sys |= strcmp (v[n], "/sys") == 0;
    }
    assert_true (share_net && ro_job && !rw && !sys);
    assert_string_equal (v[n - 3], "openFPGALoader");
    free (v);
    bf_sandbox_reach_t usb = { .usb = true, .nnodes = 1 };
    snprintf (usb.nodes[0], sizeof usb.nodes[0], "/dev/bus/usb/001/004");
    v = bf_sandbox_program_argv (&sb, "/job", &usb, ofl);
    int devs = 0;
    share_net = sys = false;
    for (n = 0; v[n]; n++) {
        share_net |= strcmp (v[n], "--share-net") == 0;
        sys |= strcmp (v[n], "--ro-bind") == 0 && strcmp (v[n + 1], "/sys") == 0;
        if (strncmp (v[n], "--dev-bind", 10) == 0) {
            devs++;
            assert_string_equal (v[n + 1], "/dev/bus/usb/001/004");
        }
    }
    assert_true (!share_net && sys);
    assert_int_equal (devs, 1);
    free (v);
    /* Something of the worker's under /usr is masked; elsewhere nothing is added. */
    int before = sb.nsystem;
    bf_sandbox_hide (&sb, s_dir);
    assert_int_equal (sb.nsystem, before);
    bf_sandbox_hide (&sb, "/usr/share");
    assert_int_equal (sb.nsystem, before + 2);
    assert_string_equal (sb.system_args[before], "--tmpfs");
    assert_string_equal (sb.system_args[before + 1], "/usr/share");
    bf_spawn_result_t r = { .exited = true, .exit_code = 128 + 24 };
    bf_sandbox_result (&sb, &r);
    assert_false (r.exited);
    assert_int_equal (r.term_signal, 24);            /* SIGXCPU relayed by bwrap */
    bf_sandbox_fini (&sb);
}

int
main (void)
{
    if (!mkdtemp (s_dir))
        return 1;
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (endpoint__only_loopback_and_ipc_are_local),
        cmocka_unit_test (keygen__modes_and_refusals),
        cmocka_unit_test (auth__roles_follow_the_directories),
        cmocka_unit_test (sandbox__argv_confines_to_the_job),
    };
    int rc = cmocka_run_group_tests_name ("curve", tests, NULL, NULL);
    bf_remove_tree (s_dir);
    return rc;
}
