/*  bf_uartdev - a TEST DEVICE, not the product: a pseudo-terminal whose
    far end answers the UARTBone protocol (LiteX's commands 0x01..0x04 and
    bitfarm's 0xB2, 0xB4 and IDENT 0xBF, as bf_uartbone.h describes them)
    from an in-memory register file, so that tests can run the worker's
    real serial path (open, termios, bursts, deadlines) without a board.

        bf_uartdev [--silent] [--user-id N] [--log FILE]
        bf_uartdev --relay SOCKET

    Prints "bf-uartdev: ready PATH" (the pty's slave, for a board's
    "uart") on stdout, then serves until killed.  The register file:
        byte addresses 0x0 .. 0x3fffc   65536 words of RAM (zero at start)
        0x40 (STATUS)                   reads 1 once 200 ms have passed since
                                        the last write to 0x44 (START), else 0
        0xdead0000 .. 0xdeadfffc        a slave that answers with a bus error
        anything else                   a slave that never answers: reads
                                        0xffffffff with the timeout bit
    --silent: answers nothing (a design without the bridge).
    --log FILE: one line per command ("cmd 0x02 len 255 addr 0x00000100").
    --relay SOCKET: no register file; the bytes go both ways between the
    pty and a unix socket (the simulated board's, src/vsim --listen), so
    that the worker's serial path drives the real bf_uartbone.v.
*/
#include "../../src/common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_WORDS 65536u

static uint32_t s_ram[S_WORDS];
static int64_t s_armed_at = -1;
static uint8_t s_status;         /* sticky since the last IDENT */
static FILE *s_log;

static int64_t
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
s_read_byte (int fd, uint8_t *c)
{
    for (;;) {
        ssize_t r = read (fd, c, 1);
        if (r == 1)
            return 0;
        if (r < 0 && errno != EAGAIN && errno != EINTR && errno != EIO)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll (&p, 1, 100);
    }
}

static void
s_write_all (int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write (fd, b, n);
        if (w > 0) {
            b += w;
            n -= (size_t) w;
        }
        else {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            poll (&p, 1, 100);
        }
    }
}

/*  One bus access at word address a: the value read, and the status. */
static uint32_t
s_access (uint32_t a, bool write, uint32_t v)
{
    uint32_t byte = a * 4;
    if (byte >= 0xdead0000u && byte <= 0xdeadfffcu) {
        s_status |= 1;
        return 0xffffffffu;
    }
    if (a >= S_WORDS) {
        s_status |= 2;
        return 0xffffffffu;
    }
    if (write) {
        s_ram[a] = v;
        if (byte == 0x44)
            s_armed_at = s_now ();
        return 0;
    }
    if (byte == 0x40)
        return s_armed_at >= 0 && s_now () - s_armed_at >= 200 ? 1 : 0;
    return s_ram[a];
}

/*  --relay: pty master <-> unix socket, until either side ends. */
static int
s_relay (int m, const char *path)
{
    int u = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (u < 0 || connect (u, (struct sockaddr *) &sa, sizeof sa) != 0) {
        perror ("bf_uartdev: connect");
        return 1;
    }
    uint8_t buf[4096];
    for (;;) {
        struct pollfd p[2] = { { .fd = m, .events = POLLIN }, { .fd = u, .events = POLLIN } };
        if (poll (p, 2, 100) < 0 && errno != EINTR)
            return 1;
        if (p[0].revents & POLLIN) {
            ssize_t n = read (m, buf, sizeof buf);
            if (n > 0) {
                if (s_log)
                    fprintf (s_log, "to board %zd bytes\n", n);
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write (u, buf + off, (size_t) (n - off));
                    if (w <= 0)
                        return 1;
                    off += w;
                }
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read (u, buf, sizeof buf);
            if (n <= 0)
                return 0;
            s_write_all (m, buf, (size_t) n);
        }
    }
}

int
main (int argc, char **argv)
{
    bool silent = false;
    const char *relay = NULL;
    uint32_t user_id = 0x5e55105e;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--silent") == 0)
            silent = true;
        else if (strcmp (argv[i], "--user-id") == 0 && i + 1 < argc)
            user_id = (uint32_t) strtoul (argv[++i], NULL, 0);
        else if (strcmp (argv[i], "--relay") == 0 && i + 1 < argc)
            relay = argv[++i];
        else if (strcmp (argv[i], "--log") == 0 && i + 1 < argc) {
            s_log = fopen (argv[++i], "w");
            if (s_log)
                setvbuf (s_log, NULL, _IOLBF, 0);
        }
        else {
            fprintf (stderr, "usage: bf_uartdev [--silent] [--user-id N] [--log FILE] "
                     "| --relay SOCKET\n");
            return 2;
        }
    }
    int m = posix_openpt (O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt (m) != 0 || unlockpt (m) != 0) {
        perror ("bf_uartdev: posix_openpt");
        return 1;
    }
    const char *slave = ptsname (m);
    /* Raw on both sides, and a slave kept open here, so that the master
       never reads EIO between two users of the slave. */
    int s = open (slave, O_RDWR | O_NOCTTY);
    struct termios t;
    if (s < 0 || tcgetattr (s, &t) != 0) {
        perror ("bf_uartdev: slave");
        return 1;
    }
    cfmakeraw (&t);
    tcsetattr (s, TCSANOW, &t);
    tcgetattr (m, &t);
    cfmakeraw (&t);
    tcsetattr (m, TCSANOW, &t);
    fcntl (m, F_SETFL, fcntl (m, F_GETFL) | O_NONBLOCK);
    printf ("bf-uartdev: ready %s\n", slave);
    fflush (stdout);
    if (relay)
        return s_relay (m, relay);
    uint8_t h[6], buf[4 * 256 + 1];
    for (;;) {
        for (int i = 0; i < 6; i++)
            if (s_read_byte (m, &h[i]) != 0)
                return 1;
        unsigned cmd = h[0], len = h[1];
        uint32_t addr = bf_be32_get (h + 2);
        if (s_log)
            fprintf (s_log, "cmd 0x%02x len %u addr 0x%08x\n", cmd, len, addr * 4);
        if (cmd == 0x01 || cmd == 0x03) {
            for (unsigned k = 0; k < len; k++) {
                uint8_t w[4];
                for (int i = 0; i < 4; i++)
                    if (s_read_byte (m, &w[i]) != 0)
                        return 1;
                uint32_t v = bf_be32_get (w);
                s_access (cmd == 0x01 ? addr + k : addr, true, v);
            }
        }
        else if (cmd == 0x02 || cmd == 0x04 || cmd == 0xb2 || cmd == 0xb4) {
            bool fixed = cmd == 0x04 || cmd == 0xb4, status = cmd >= 0xb0;
            uint8_t before = s_status;
            s_status = 0;
            for (unsigned k = 0; k < len; k++)
                bf_be32_put (buf + 4 * k, s_access (fixed ? addr : addr + k, false, 0));
            uint8_t st = s_status;
            s_status |= before;
            size_t n = 4 * len;
            if (status)
                buf[n++] = st;
            if (!silent)
                s_write_all (m, buf, n);
        }
        else if (cmd == 0xbf) {
            bf_be32_put (buf, 0x42465542u);
            bf_be32_put (buf + 4, 0x00010000u);
            bf_be32_put (buf + 8, user_id);
            buf[12] = s_status;
            s_status = 0;
            if (!silent)
                s_write_all (m, buf, 13);
        }
        /* anything else: skipped, as LiteX's core does */
    }
}
