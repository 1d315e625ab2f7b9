/*  bf_bridge - see bf_bridge.h. */
#include "bf_bridge.h"
#include "../common/bf_error.h"
#include "../common/bf_uartbone.h"
#include "../common/bf_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define S_ANSWER_MS   500      /* a command's answer time beyond its bytes' time on the wire:
                                  USB latency (the FTDI timer), or a simulated board's
                                  catch-up of up to 250 ms after an idle gap */
#define S_SLICE_MS    50       /* waits are cut in slices to see a cancel */

/*  One bf_bridge_run: its options, and when the bytes of the writes sent
    since the last answer are off the wire (from the caller's wire_free).  Writes are not answered, and a
    socket or a tty takes their bytes long before the board has read them
    (a simulated board's socket buffers all of a 4096-word write): an
    answer that follows them comes that much later. */
typedef struct {
    const char *board;
    int baud;
    bool litex;
    int64_t deadline;
    atomic_int *cancel;
    int64_t wire_free;          /* monotonic ms; 0: nothing outstanding */
} s_run_t;

/*  The time (ms, rounded up) len bytes take on the wire, 8N1. */
static int64_t
s_wire_ms (const s_run_t *o, size_t len)
{
    int64_t baud = o->baud > 0 ? o->baud : 115200;
    return ((int64_t) len * 10 * 1000 + baud - 1) / baud;
}

static const struct { int baud; speed_t speed; } s_rates[] = {
    { 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 }, { 19200, B19200 },
    { 38400, B38400 }, { 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
    { 460800, B460800 }, { 500000, B500000 }, { 921600, B921600 }, { 1000000, B1000000 },
    { 1500000, B1500000 }, { 2000000, B2000000 }, { 3000000, B3000000 },
    { 4000000, B4000000 },
};

bool
bf_bridge_baud_valid (int baud)
{
    for (size_t i = 0; i < sizeof s_rates / sizeof s_rates[0]; i++)
        if (s_rates[i].baud == baud)
            return true;
    return false;
}

/*  An FTDI's latency timer (16 ms by default) delays every short answer
    by up to that much: set it to 1 ms where the kernel lets us
    (ftdi_sio's sysfs attribute).  Best effort, silent. */
static void
s_low_latency (const char *path)
{
    char real[4096];
    if (!realpath (path, real))
        return;
    const char *base = strrchr (real, '/');
    base = base ? base + 1 : real;
    char attr[4200];
    snprintf (attr, sizeof attr, "/sys/bus/usb-serial/devices/%s/latency_timer", base);
    int fd = open (attr, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write (fd, "1", 1) < 0) {
            /* not ours to change: the answers are just slower */
        }
        close (fd);
    }
}

int
bf_bridge_open_uart (int *fd_out, const char *path, int baud)
{
    *fd_out = -1;
    speed_t speed = 0;
    for (size_t i = 0; i < sizeof s_rates / sizeof s_rates[0]; i++)
        if (s_rates[i].baud == baud)
            speed = s_rates[i].speed;
    if (!speed)
        return bf_error_set (BF_EINVAL, "baud %d is not a standard rate", baud);
    int fd;
    do
        fd = open (path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return bf_error_set (BF_EIO, "cannot open the board's UART '%s': %s", path,
                             strerror (errno));
    struct termios t;
    if (tcgetattr (fd, &t) != 0) {
        int e = errno;
        close (fd);
        return bf_error_set (BF_EIO, "'%s' is not a serial device: %s", path, strerror (e));
    }
    cfmakeraw (&t);
    t.c_cflag &= ~(tcflag_t) (CSTOPB | PARENB | CRTSCTS | CSIZE);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_iflag &= ~(tcflag_t) (IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed (&t, speed);
    cfsetospeed (&t, speed);
    if (tcsetattr (fd, TCSANOW, &t) != 0) {
        int e = errno;
        close (fd);
        return bf_error_set (BF_EIO, "cannot set '%s' to %d baud 8N1: %s", path, baud,
                             strerror (e));
    }
    tcflush (fd, TCIOFLUSH);
    s_low_latency (path);
    *fd_out = fd;
    return BF_OK;
}

/*  Waits until fd is ready for events or until `until` (monotonic ms),
    in slices, watching the cancel flag.  BF_OK, BF_ETIMEDOUT, or BF_EIO
    (cancelled, or the peer hung up). */
static int
s_wait (int fd, short events, int64_t until, s_run_t *o)
{
    for (;;) {
        if (o->cancel && atomic_load (o->cancel))
            return bf_error_set (BF_EIO, "cancelled");
        int64_t left = until - bf_mono_ms ();
        if (left <= 0)
            return BF_ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll (&p, 1, (int) (left < S_SLICE_MS ? left : S_SLICE_MS));
        if (n < 0 && errno != EINTR)
            return bf_error_set (BF_EIO, "poll on board '%s': %s", o->board, strerror (errno));
        if (n > 0 && (p.revents & events))
            return BF_OK;
        if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
            return bf_error_set (BF_EIO, "the UART of board '%s' hung up", o->board);
    }
}

static int
s_write_all (int fd, const uint8_t *buf, size_t len, s_run_t *o)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write (fd, buf + done, len - done);
        if (w > 0) {
            done += (size_t) w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return bf_error_set (BF_EIO, "cannot write to the UART of board '%s': %s", o->board,
                                 strerror (errno));
        int rc = s_wait (fd, POLLOUT, o->deadline, o);
        if (rc == BF_ETIMEDOUT)
            return bf_error_set (BF_ETIMEDOUT, "bridge timeout: board '%s' did not take %zu "
                                 "bytes within the request's time", o->board, len - done);
        if (rc != BF_OK)
            return rc;
    }
    return BF_OK;
}

/*  Reads exactly len bytes by `until`.  BF_OK, BF_ETIMEDOUT (no detail:
    the caller names the command), BF_EIO. */
static int
s_read_exact (int fd, uint8_t *buf, size_t len, int64_t until, s_run_t *o)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read (fd, buf + got, len - got);
        if (r > 0) {
            got += (size_t) r;
            continue;
        }
        if (r == 0 && !isatty (fd))
            return bf_error_set (BF_EIO, "the UART of board '%s' closed", o->board);
        if (r < 0 && errno != EAGAIN && errno != EINTR && errno != EIO)
            return bf_error_set (BF_EIO, "cannot read the UART of board '%s': %s", o->board,
                                 strerror (errno));
        int rc = s_wait (fd, POLLIN, until, o);
        if (rc != BF_OK)
            return rc;
    }
    return BF_OK;
}

/*  Bytes left over from an earlier request are no answer to this one. */
static void
s_drain (int fd)
{
    uint8_t junk[256];
    if (isatty (fd))
        tcflush (fd, TCIFLUSH);
    while (read (fd, junk, sizeof junk) > 0)
        ;
}

/*  The time a command of `bytes` bytes out and `answer` bytes back may
    take: twice their time on the wire and twice that of the earlier writes
    still on the wire (a simulated board may run at half speed), and
    S_ANSWER_MS.  The answer ends that backlog. */
static int64_t
s_answer_ms (s_run_t *o, size_t bytes)
{
    int64_t backlog = o->wire_free - bf_mono_ms ();
    o->wire_free = 0;
    return S_ANSWER_MS + 2 * (s_wire_ms (o, bytes) + (backlog > 0 ? backlog : 0));
}

/*  One read command of n (1..255) words at byte address addr. */
static int
s_read_cmd (int fd, uint32_t *words, uint32_t addr, unsigned n, bool fixed,
            s_run_t *o, const char **cls)
{
    uint8_t cmd[BF_UB_HEADER_LEN], ans[4 * BF_UB_MAX_WORDS + 1];
    size_t clen = 0, alen = 0;
    bool status = !o->litex;
    int rc = bf_uartbone_encode_read (cmd, sizeof cmd, &clen, &alen, addr / 4, n, fixed, status);
    if (rc == BF_OK)
        rc = s_write_all (fd, cmd, clen, o);
    if (rc != BF_OK) {
        *cls = rc == BF_ETIMEDOUT ? BF_REGIO_CLASS_DESIGN : BF_REGIO_CLASS_INFRA;
        return rc;
    }
    int64_t wait = s_answer_ms (o, clen + alen), now = bf_mono_ms ();
    int64_t until = now + wait < o->deadline ? now + wait : o->deadline;
    rc = s_read_exact (fd, ans, alen, until, o);
    if (rc == BF_ETIMEDOUT) {
        *cls = BF_REGIO_CLASS_DESIGN;
        return bf_error_set (BF_ETIMEDOUT, "bridge timeout: board '%s' did not answer a read "
                             "at 0x%08" PRIx32 " within %lld ms (is bf_uartbone in the design?)",
                             o->board, addr, (long long) (until - now));
    }
    uint8_t st = 0;
    if (rc == BF_OK)
        rc = bf_uartbone_decode_read (words, &st, ans, alen, n, status);
    if (rc != BF_OK) {
        *cls = BF_REGIO_CLASS_INFRA;
        return rc == BF_EPROTO ? bf_error_set (BF_EIO, "board '%s': %s", o->board,
                                               bf_error_last ()) : rc;
    }
    if (st) {
        *cls = BF_REGIO_CLASS_DESIGN;
        return bf_error_set (BF_EIO, "bus error: board '%s' reports %s on a read of %u word(s) "
                             "at 0x%08" PRIx32, o->board, bf_uartbone_status_str (st), n, addr);
    }
    return BF_OK;
}

static int
s_read (int fd, bf_regio_op_t *op, s_run_t *o, const char **cls)
{
    free (op->words);
    op->words = xcalloc (op->count, sizeof (uint32_t));
    for (uint32_t done = 0; done < op->count;) {
        unsigned n = op->count - done > BF_UB_MAX_WORDS ? BF_UB_MAX_WORDS : op->count - done;
        uint32_t addr = op->fixed ? op->addr : op->addr + 4 * done;
        int rc = s_read_cmd (fd, op->words + done, addr, n, op->fixed, o, cls);
        if (rc != BF_OK)
            return rc;
        done += n;
    }
    return BF_OK;
}

static int
s_write (int fd, const bf_regio_op_t *op, s_run_t *o, const char **cls)
{
    size_t len = bf_uartbone_write_batch_len (op->count, BF_UB_MAX_WORDS);
    uint8_t *buf = xmalloc (len ? len : 1);
    size_t out = 0;
    int rc = bf_uartbone_encode_write_batch (buf, len, &out, op->addr / 4, op->words, op->count,
                                             op->fixed, BF_UB_MAX_WORDS);
    if (rc == BF_OK)
        rc = s_write_all (fd, buf, out, o);
    free (buf);
    if (rc == BF_OK) {
        int64_t now = bf_mono_ms ();
        o->wire_free = (o->wire_free > now ? o->wire_free : now) + s_wire_ms (o, out);
    }
    if (rc != BF_OK)
        *cls = rc == BF_ETIMEDOUT ? BF_REGIO_CLASS_DESIGN : BF_REGIO_CLASS_INFRA;
    return rc;
}

static int
s_poll (int fd, bf_regio_op_t *op, s_run_t *o, const char **cls)
{
    int64_t start = bf_mono_ms ();
    int64_t until = start + op->timeout_ms;
    for (;;) {
        uint32_t v = 0;
        int rc = s_read_cmd (fd, &v, op->addr, 1, true, o, cls);
        if (rc != BF_OK)
            return rc;
        op->polls++;
        op->got = v;
        int64_t now = bf_mono_ms ();
        op->ms = (uint32_t) (now - start);
        if ((v & op->mask) == op->value)
            return BF_OK;
        if (now >= until || now >= o->deadline) {
            *cls = BF_REGIO_CLASS_DESIGN;
            return bf_error_set (BF_ETIMEDOUT, "poll timeout: register 0x%08" PRIx32 " of board "
                                 "'%s' read 0x%08" PRIx32 " (mask 0x%08" PRIx32 ", want 0x%08"
                                 PRIx32 ") after %u reads in %lld ms", op->addr, o->board, v,
                                 op->mask, op->value, op->polls, (long long) (now - start));
        }
        usleep (1000);
    }
}

static int
s_ident (int fd, bf_regio_op_t *op, s_run_t *o, const char **cls)
{
    uint8_t cmd[BF_UB_HEADER_LEN], ans[BF_UB_IDENT_LEN];
    size_t clen = 0;
    int rc = bf_uartbone_encode_ident (cmd, sizeof cmd, &clen);
    if (rc == BF_OK)
        rc = s_write_all (fd, cmd, clen, o);
    if (rc != BF_OK) {
        *cls = rc == BF_ETIMEDOUT ? BF_REGIO_CLASS_DESIGN : BF_REGIO_CLASS_INFRA;
        return rc;
    }
    int64_t wait = s_answer_ms (o, clen + sizeof ans), now = bf_mono_ms ();
    int64_t until = now + wait < o->deadline ? now + wait : o->deadline;
    rc = s_read_exact (fd, ans, sizeof ans, until, o);
    if (rc == BF_ETIMEDOUT) {
        *cls = BF_REGIO_CLASS_DESIGN;
        return bf_error_set (BF_ETIMEDOUT, "bridge timeout: board '%s' did not answer ident "
                             "within %lld ms (is bf_uartbone in the design?)", o->board,
                             (long long) (until - now));
    }
    bf_ub_ident_t id;
    if (rc == BF_OK && (rc = bf_uartbone_decode_ident (&id, ans, sizeof ans)) != BF_OK) {
        *cls = BF_REGIO_CLASS_DESIGN;
        return bf_error_set (BF_EINVAL, "board '%s' answered ident with something else than "
                             "bf_uartbone's answer: %s", o->board, bf_error_last ());
    }
    if (rc != BF_OK) {
        *cls = BF_REGIO_CLASS_INFRA;
        return rc;
    }
    op->magic = id.magic;
    op->version = id.version;
    op->user_id = id.user_id;
    op->status = id.status;
    return BF_OK;
}

int
bf_bridge_run (int fd, bf_regio_batch_t *b, bf_bridge_opts_t *opts,
               const char **class_out)
{
    *class_out = BF_REGIO_CLASS_INFRA;
    s_run_t run = { .board = opts->board, .baud = opts->baud, .litex = opts->litex,
                    .deadline = opts->deadline, .cancel = opts->cancel,
                    .wire_free = opts->wire_free };
    s_run_t *o = &run;
    s_drain (fd);
    int rc = BF_OK;
    for (size_t i = 0; i < b->n && rc == BF_OK; i++) {
        bf_regio_op_t *op = &b->ops[i];
        rc = op->kind == BF_REGIO_READ ? s_read (fd, op, o, class_out)
             : op->kind == BF_REGIO_WRITE ? s_write (fd, op, o, class_out)
             : op->kind == BF_REGIO_POLL ? s_poll (fd, op, o, class_out)
             : s_ident (fd, op, o, class_out);
    }
    opts->wire_free = run.wire_free;
    return rc;
}
