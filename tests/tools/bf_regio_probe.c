/*  bf_regio_probe - a test tool: talks UARTBone (src/common/bf_uartbone.h)
    to a simulated board (src/vsim/bf_vsim_main.cpp) over its unix socket,
    and builds simulated boards (src/common/bf_vsimcmd.h).

    usage:
      bf_regio_probe divisor PROFILE
          prints the profile's UART divisor (clock cycles per bit)
      bf_regio_probe vsim-build PROFILE MDIR MODEL TOP HARNESS [-DX]... [-GX=V]...
                     [-yDIR]... [--ports=CLK,RX,TX] SOURCE...
          runs Verilator (the argv of bf_vsimcmd_argv, printed first to
          stderr) and exits with its status; --ports names a top of the
          design's own (not bf_regio_wrap, so no -GCLK_HZ/-GBAUD)
      bf_regio_probe extract-model LIBRARY MODULE OUT
          writes MODULE's text from LIBRARY (yosys's cells_sim.v) to OUT
      bf_regio_probe [--timeout-ms N] SOCKET OP [+ OP]...
          one connection; the OPs in order; word addresses and values in C
          notation (0x.. hex):
            ident                           prints magic, version, user id, status
            write ADDR [--fixed] WORD...    no answer
            fill ADDR COUNT SEED [--fixed]  writes SEED + i * 0x01010101 (i = 0..COUNT-1)
            read ADDR COUNT [--fixed] [--status]   prints one word a line, then
                                            "status N (TEXT)" with --status
            raw HEX                         sends the bytes (e.g. 0201000000)
            recv N                          reads N bytes, prints them in hex
            silence MS                      fails if any byte arrives within MS ms
            sleep MS
    Exit status: 0 ok, 1 failure (a missing answer is "bridge timeout"),
    2 usage.
*/
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"
#include "../../src/common/bf_uartbone.h"
#include "../../src/common/bf_vsimcmd.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int s_timeout_ms = 5000;

static int64_t
s_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
s_u32 (const char *s, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull (s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
        return false;
    *out = (uint32_t) v;
    return true;
}

static int
s_send (int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write (fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf (stderr, "bf_regio_probe: write: %s\n", strerror (errno));
            return 1;
        }
        b += w;
        n -= (size_t) w;
    }
    return 0;
}

/*  Reads exactly n bytes within timeout_ms; returns the count read. */
static size_t
s_recv (int fd, uint8_t *b, size_t n, int timeout_ms)
{
    size_t got = 0;
    int64_t end = s_ms () + timeout_ms;
    while (got < n) {
        int left = (int) (end - s_ms ());
        if (left <= 0)
            break;
        struct pollfd p = { fd, POLLIN, 0 };
        int k = poll (&p, 1, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        ssize_t r = read (fd, b + got, n - got);
        if (r <= 0)
            break;
        got += (size_t) r;
    }
    return got;
}

static int
s_answer (int fd, uint8_t *b, size_t n)
{
    size_t got = s_recv (fd, b, n, s_timeout_ms);
    if (got != n) {
        fprintf (stderr, "bf_regio_probe: bridge timeout: %zu of %zu answer bytes in %d ms\n",
                 got, n, s_timeout_ms);
        return 1;
    }
    return 0;
}

static int
s_fail (int rc)
{
    fprintf (stderr, "bf_regio_probe: %s\n", bf_error_last ());
    return rc ? 1 : 0;
}

/*  Runs one OP (argv[0..argc-1]); returns 0, 1 or 2. */
static int
s_op (int fd, int argc, char **argv)
{
    static uint8_t buf[BF_UB_MAX_CMD_LEN + 16];
    static uint32_t words[BF_UB_MAX_WORDS + 1];
    bool fixed = false, status = false;
    int n = 0;
    char *pos[BF_UB_MAX_WORDS + 4];
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--fixed") == 0)
            fixed = true;
        else if (strcmp (argv[i], "--status") == 0)
            status = true;
        else if (n < (int) (sizeof pos / sizeof pos[0]))
            pos[n++] = argv[i];
        else
            return 2;
    }
    const char *op = argv[0];
    size_t len = 0, answer = 0;
    uint32_t addr = 0, count = 0, seed = 0;
    if (strcmp (op, "ident") == 0 && n == 0) {
        if (bf_uartbone_encode_ident (buf, sizeof buf, &len) != BF_OK)
            return s_fail (1);
        if (s_send (fd, buf, len) || s_answer (fd, buf, BF_UB_IDENT_LEN))
            return 1;
        bf_ub_ident_t id;
        if (bf_uartbone_decode_ident (&id, buf, BF_UB_IDENT_LEN) != BF_OK)
            return s_fail (1);
        printf ("magic=0x%08x version=0x%08x user_id=0x%08x status=%u\n", (unsigned) id.magic,
                (unsigned) id.version, (unsigned) id.user_id, id.status);
        return 0;
    }
    if (strcmp (op, "write") == 0 && n >= 2 && s_u32 (pos[0], &addr)) {
        for (int i = 1; i < n; i++)
            if (!s_u32 (pos[i], &words[i - 1]))
                return 2;
        if (bf_uartbone_encode_write (buf, sizeof buf, &len, addr, words, (unsigned) (n - 1),
                                      fixed) != BF_OK)
            return s_fail (1);
        return s_send (fd, buf, len);
    }
    if (strcmp (op, "fill") == 0 && n == 3 && s_u32 (pos[0], &addr) && s_u32 (pos[1], &count)
        && s_u32 (pos[2], &seed)) {
        for (uint32_t i = 0; i < count && i < BF_UB_MAX_WORDS + 1; i++)
            words[i] = seed + i * 0x01010101u;
        if (bf_uartbone_encode_write (buf, sizeof buf, &len, addr, words, (unsigned) count,
                                      fixed) != BF_OK)
            return s_fail (1);
        return s_send (fd, buf, len);
    }
    if (strcmp (op, "read") == 0 && n == 2 && s_u32 (pos[0], &addr) && s_u32 (pos[1], &count)) {
        if (bf_uartbone_encode_read (buf, sizeof buf, &len, &answer, addr, (unsigned) count,
                                     fixed, status) != BF_OK)
            return s_fail (1);
        if (s_send (fd, buf, len) || s_answer (fd, buf, answer))
            return 1;
        uint8_t st = 0;
        if (bf_uartbone_decode_read (words, &st, buf, answer, (unsigned) count, status) != BF_OK)
            return s_fail (1);
        for (uint32_t i = 0; i < count; i++)
            printf ("0x%08x\n", (unsigned) words[i]);
        if (status)
            printf ("status %u (%s)\n", st, bf_uartbone_status_str (st));
        return 0;
    }
    if (strcmp (op, "raw") == 0 && n == 1) {
        size_t hl = strlen (pos[0]);
        if (hl % 2 || hl / 2 > sizeof buf)
            return 2;
        for (size_t i = 0; i < hl / 2; i++) {
            unsigned v;
            if (sscanf (pos[0] + 2 * i, "%2x", &v) != 1)
                return 2;
            buf[i] = (uint8_t) v;
        }
        return s_send (fd, buf, hl / 2);
    }
    if (strcmp (op, "recv") == 0 && n == 1 && s_u32 (pos[0], &count) && count <= sizeof buf) {
        if (s_answer (fd, buf, count))
            return 1;
        for (uint32_t k = 0; k < count; k++)
            printf ("%02x", buf[k]);
        printf ("\n");
        return 0;
    }
    if (strcmp (op, "silence") == 0 && n == 1 && s_u32 (pos[0], &count)) {
        size_t got = s_recv (fd, buf, sizeof buf, (int) count);
        if (got) {
            fprintf (stderr, "bf_regio_probe: %zu unexpected bytes, first 0x%02x\n", got, buf[0]);
            return 1;
        }
        return 0;
    }
    if (strcmp (op, "sleep") == 0 && n == 1 && s_u32 (pos[0], &count)) {
        usleep ((useconds_t) count * 1000u);
        return 0;
    }
    return 2;
}

static int
s_build (int argc, char **argv)
{
    if (argc < 7)
        return -1;
    bf_regio_profile_t prof;
    if (bf_regio_profile_load (&prof, argv[1]) != BF_OK)
        return s_fail (1);
    const char *defs[BF_VSIMCMD_LIST_MAX], *params[BF_VSIMCMD_LIST_MAX],
               *libs[BF_VSIMCMD_LIST_MAX], *srcs[BF_VSIMCMD_LIST_MAX];
    size_t nd = 0, np = 0, nl = 0, ns = 0;
    static char ports[3][64];
    bool have_ports = false;
    for (int i = 6; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp (a, "--ports=", 8) == 0) {
            if (sscanf (a + 8, "%63[^,],%63[^,],%63s", ports[0], ports[1], ports[2]) != 3)
                return -1;
            have_ports = true;
        } else if (strncmp (a, "-D", 2) == 0 && nd < BF_VSIMCMD_LIST_MAX)
            defs[nd++] = a + 2;
        else if (strncmp (a, "-G", 2) == 0 && np < BF_VSIMCMD_LIST_MAX)
            params[np++] = a + 2;
        else if (strncmp (a, "-y", 2) == 0 && nl < BF_VSIMCMD_LIST_MAX)
            libs[nl++] = a + 2;
        else if (ns < BF_VSIMCMD_LIST_MAX)
            srcs[ns++] = a;
        else
            return -1;
    }
    bf_vsimcmd_t spec = {
        .mdir = argv[2], .model = argv[3], .top = argv[4], .harness = argv[5],
        .sources = srcs, .nsources = ns, .defines = defs, .ndefines = nd,
        .params = params, .nparams = np, .libdirs = libs, .nlibdirs = nl, .profile = &prof,
    };
    if (have_ports) {           /* a design's own top: no wrapper parameters */
        spec.profile = NULL;
        spec.clk_port = ports[0];
        spec.rx_port = ports[1];
        spec.tx_port = ports[2];
    }
    char **av = NULL;
    if (bf_vsimcmd_argv (&av, &spec) != BF_OK)
        return s_fail (1);
    for (char **p = av; *p; p++)
        fprintf (stderr, "%s%s", p == av ? "" : " ", *p);
    fprintf (stderr, "\n");
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        execvp (av[0], av);
        fprintf (stderr, "bf_regio_probe: cannot run '%s': %s\n", av[0], strerror (errno));
        _exit (127);
    }
    int st = 0;
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
        ;
    bf_vsimcmd_free (&av);
    return WIFEXITED (st) ? WEXITSTATUS (st) : 1;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv[1], "divisor") == 0) {
        bf_regio_profile_t prof;
        if (bf_regio_profile_load (&prof, argv[2]) != BF_OK)
            return s_fail (1);
        printf ("%u\n", (unsigned) bf_regio_divisor (prof.clk_hz, prof.baud));
        return 0;
    }
    if (argc == 5 && strcmp (argv[1], "extract-model") == 0) {
        char *text = NULL, *mod = NULL;
        size_t len = 0;
        int rc = bf_file_read (&text, &len, argv[2], 4u << 20);
        if (rc == BF_OK)
            rc = bf_vsim_extract_module (&mod, text, len, argv[3]);
        if (rc == BF_OK)
            rc = bf_file_write_atomic (argv[4], mod, strlen (mod), 0644);
        free (text);
        free (mod);
        return rc == BF_OK ? 0 : s_fail (1);
    }
    if (argc >= 2 && strcmp (argv[1], "vsim-build") == 0) {
        int rc = s_build (argc - 1, argv + 1);
        if (rc == -1)
            fprintf (stderr, "usage: bf_regio_probe vsim-build PROFILE MDIR MODEL TOP HARNESS "
                     "[-DX] [-GX=V] [-yDIR] SOURCE...\n");
        return rc == -1 ? 2 : rc;
    }
    int i = 1;
    if (argc > 2 && strcmp (argv[1], "--timeout-ms") == 0) {
        uint32_t t;
        if (!s_u32 (argv[2], &t))
            return 2;
        s_timeout_ms = (int) t;
        i = 3;
    }
    if (argc - i < 2) {
        fprintf (stderr, "usage: bf_regio_probe [--timeout-ms N] SOCKET OP [+ OP]...\n");
        return 2;
    }
    const char *path = argv[i++];
    struct sockaddr_un sa;
    memset (&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen (path) >= sizeof sa.sun_path)
        return 2;
    strcpy (sa.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        fprintf (stderr, "bf_regio_probe: cannot connect to '%s': %s\n", path, strerror (errno));
        return 1;
    }
    int rc = 0;
    while (i < argc && rc == 0) {
        int j = i;
        while (j < argc && strcmp (argv[j], "+") != 0)
            j++;
        rc = s_op (fd, j - i, argv + i);
        if (rc == 2)
            fprintf (stderr, "bf_regio_probe: bad operation '%s' (see the usage in "
                     "tests/tools/bf_regio_probe.c)\n", argv[i]);
        i = j + 1;
    }
    fflush (stdout);
    close (fd);
    return rc;
}
