/*  bf_board - see bf_board.h. */
#include "bf_board.h"
#include "bf_bridge.h"
#include "../common/bf_error.h"
#include "../common/bf_log.h"
#include "../common/bf_manifest.h"
#include "../common/bf_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_CONFIG_MAX (1u << 20)

/*  True when s is 1..max bytes, each in `set` or alphanumeric (lower case
    only when !upper). */
static bool
s_word (const char *s, size_t max, const char *set, bool upper)
{
    size_t n = s ? strlen (s) : 0;
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (!(isdigit (c) || islower (c) || (upper && isupper (c)) || strchr (set, c)))
            return false;
    }
    return true;
}

static int
s_str (char *dst, size_t dstlen, json_t *obj, const char *key, const char *where, size_t max,
       const char *set, bool upper, const char *want)
{
    json_t *v = json_object_get (obj, key);
    if (!v)
        return BF_OK;
    const char *s = json_string_value (v);
    if (!s || !s_word (s, max, set, upper) || strlen (s) >= dstlen)
        return bf_error_set (BF_EINVAL, "%s: invalid %s %s%.80s%s (want %s)", where, key,
                             s ? "'" : "", s ? s : "(not a string)", s ? "'" : "", want);
    snprintf (dst, dstlen, "%s", s);
    return BF_OK;
}

/*  "uart", "baud" and "bridge": the register bridge (bf_bridge.h). */
static int
s_regio_keys (bf_board_t *b, json_t *obj, const char *where)
{
    json_t *v;
    b->baud = 115200;
    if ((v = json_object_get (obj, "uart"))) {
        const char *s = json_string_value (v);
        size_t n = s ? strlen (s) : 0;
        bool good = n > 1 && n < sizeof b->uart && s[0] == '/' && !strstr (s, "/../")
                    && (n < 3 || strcmp (s + n - 3, "/..") != 0);
        for (size_t i = 0; good && i < n; i++)
            good = isalnum ((unsigned char) s[i]) || strchr ("._-+:@=,/", s[i]);
        if (!good)
            return bf_error_set (BF_EINVAL, "%s: invalid uart %s%.80s%s (want an absolute path "
                                 "such as /dev/serial/by-id/usb-FTDI_...-if01-port0)", where,
                                 s ? "'" : "", s ? s : "(not a string)", s ? "'" : "");
        if (b->is_virtual)
            return bf_error_set (BF_EINVAL, "%s: a virtual board takes no uart (its simulated "
                                 "UART is the worker's)", where);
        snprintf (b->uart, sizeof b->uart, "%s", s);
    }
    if ((v = json_object_get (obj, "baud"))) {
        if (!json_is_integer (v) || json_integer_value (v) < 1200
            || json_integer_value (v) > 4000000
            || !bf_bridge_baud_valid ((int) json_integer_value (v)))
            return bf_error_set (BF_EINVAL, "%s: invalid baud (want a standard rate such as "
                                 "115200, 1200..4000000)", where);
        if (!b->uart[0])
            return bf_error_set (BF_EINVAL, "%s: 'baud' needs 'uart'", where);
        b->baud = (int) json_integer_value (v);
    }
    if ((v = json_object_get (obj, "bridge"))) {
        const char *s = json_string_value (v);
        if (!s || (strcmp (s, "bitfarm") != 0 && strcmp (s, "litex") != 0))
            return bf_error_set (BF_EINVAL, "%s: invalid bridge %s%.40s%s (want bitfarm or "
                                 "litex)", where, s ? "'" : "", s ? s : "(not a string)",
                                 s ? "'" : "");
        if (!b->uart[0] && !b->is_virtual)
            return bf_error_set (BF_EINVAL, "%s: 'bridge' needs 'uart'", where);
        b->bridge_litex = strcmp (s, "litex") == 0;
    }
    return BF_OK;
}

int
bf_board_parse (bf_board_t *b, json_t *obj, const char *where)
{
    static const char *keys[] = { "name", "family", "device", "package", "board", "cable",
                                  "ftdi_serial", "busdev_num", "ip", "port", "freq_hz",
                                  "virtual", "vboard_options", "done_check", "profile", "uart",
                                  "baud", "bridge", NULL };
    memset (b, 0, sizeof *b);
    if (!json_is_object (obj))
        return bf_error_set (BF_EINVAL, "%s: a board must be a JSON object", where);
    const char *key;
    json_t *v;
    int rc;
    if (!json_object_get (obj, "name"))
        return bf_error_set (BF_EINVAL, "%s: 'name' is required", where);
    if ((rc = s_str (b->name, sizeof b->name, obj, "name", where, BF_BOARD_NAME_MAX, "_.-",
                     false, "1..32 of a-z 0-9 _ . -")) != BF_OK)
        return rc;
    char named[300];
    snprintf (named, sizeof named, "%s: board '%s'", where, b->name);
    where = named;
    json_object_foreach (obj, key, v) {
        bool known = false;
        for (int i = 0; keys[i]; i++)
            known |= strcmp (key, keys[i]) == 0;
        if (!known)
            return bf_error_set (BF_EINVAL, "%s: unknown key '%.40s'", where, key);
    }
    snprintf (b->family, sizeof b->family, "ice40");
    if ((rc = s_str (b->family, sizeof b->family, obj, "family", where, 15, "", false,
                     "ice40")) != BF_OK)
        return rc;
    if (strcmp (b->family, "ice40") != 0)
        return bf_error_set (BF_EINVAL, "%s: unknown family '%s' (want ice40)", where, b->family);
    if (!json_object_get (obj, "device") || !json_object_get (obj, "package"))
        return bf_error_set (BF_EINVAL, "%s: 'device' and 'package' are required", where);
    if ((rc = s_str (b->device, sizeof b->device, obj, "device", where, 15, "", false,
                     "an iCE40 device such as hx1k or up5k")) != BF_OK
        || (rc = s_str (b->package, sizeof b->package, obj, "package", where, 15, ":", false,
                        "a package such as tq144 or sg48")) != BF_OK)
        return rc;
    if (!bf_manifest_device (b->device, NULL))
        return bf_error_set (BF_EINVAL, "%s: unknown device '%s' (want an iCE40 device such "
                             "as hx1k or up5k)", where, b->device);
    if (!bf_manifest_package (b->device, b->package))
        return bf_error_set (BF_EINVAL, "%s: unknown package '%s' for %s (see the packages "
                             "nextpnr-ice40 takes in docs/flows.md)", where, b->package, b->device);
    if ((rc = s_str (b->board, sizeof b->board, obj, "board", where, 32, "_-", false,
                     "an openFPGALoader board name, see openFPGALoader --list-boards")) != BF_OK
        || (rc = s_str (b->cable, sizeof b->cable, obj, "cable", where, 32, "_-", false,
                        "an openFPGALoader cable name, see openFPGALoader --list-cables")) != BF_OK
        || (rc = s_str (b->ftdi_serial, sizeof b->ftdi_serial, obj, "ftdi_serial", where, 64,
                        "_-", true, "1..64 of A-Z a-z 0-9 _ -")) != BF_OK
        || (rc = s_str (b->busdev_num, sizeof b->busdev_num, obj, "busdev_num", where, 11, ":",
                        false, "BUS:DEVICE")) != BF_OK
        || (rc = s_str (b->ip, sizeof b->ip, obj, "ip", where, 15, ".", false,
                        "an IPv4 address")) != BF_OK)
        return rc;
    if (b->busdev_num[0]) {
        unsigned bus, dev;
        char tail;
        if (sscanf (b->busdev_num, "%u:%u%c", &bus, &dev, &tail) != 2 || bus > 255 || dev > 255)
            return bf_error_set (BF_EINVAL, "%s: invalid busdev_num '%s' (want BUS:DEVICE, "
                                 "0..255 each)", where, b->busdev_num);
    }
    struct in_addr addr;
    if (b->ip[0] && inet_pton (AF_INET, b->ip, &addr) != 1)
        return bf_error_set (BF_EINVAL, "%s: invalid ip '%s' (want an IPv4 address)", where,
                             b->ip);
    if ((v = json_object_get (obj, "port"))) {
        if (!json_is_integer (v) || json_integer_value (v) < 1 || json_integer_value (v) > 65535)
            return bf_error_set (BF_EINVAL, "%s: invalid port (want 1..65535)", where);
        b->port = (int) json_integer_value (v);
    }
    if ((v = json_object_get (obj, "freq_hz"))) {
        if (!json_is_integer (v) || json_integer_value (v) < 1000
            || json_integer_value (v) > 100000000)
            return bf_error_set (BF_EINVAL, "%s: invalid freq_hz (want 1000..100000000)", where);
        b->freq_hz = json_integer_value (v);
    }
    if ((v = json_object_get (obj, "virtual"))) {
        if (!json_is_boolean (v))
            return bf_error_set (BF_EINVAL, "%s: 'virtual' must be true or false", where);
        b->is_virtual = json_is_true (v);
    }
    int ways = (b->board[0] != 0) + (b->cable[0] != 0) + b->is_virtual;
    if (ways != 1)
        return bf_error_set (BF_EINVAL, "%s: give exactly one of 'board', 'cable' and "
                             "'virtual' (%s)", where, ways ? "got several" : "got none");
    json_t *opts = json_object_get (obj, "vboard_options");
    if (opts) {
        if (!b->is_virtual)
            return bf_error_set (BF_EINVAL, "%s: 'vboard_options' needs \"virtual\": true", where);
        if (!json_is_array (opts) || json_array_size (opts) > BF_VBOARD_OPTS_MAX)
            return bf_error_set (BF_EINVAL, "%s: 'vboard_options' must be an array of at most "
                                 "%d strings", where, BF_VBOARD_OPTS_MAX);
        size_t i;
        json_array_foreach (opts, i, v) {
            const char *s = json_string_value (v);
            if (!s || !*s || strlen (s) > 64 || strchr (s, '/'))
                return bf_error_set (BF_EINVAL, "%s: vboard_options[%zu] must be 1..64 bytes "
                                     "without '/'", where, i);
            for (const char *p = s; *p; p++)
                if (!isalnum ((unsigned char) *p) && !strchr ("-_.=x", *p))
                    return bf_error_set (BF_EINVAL, "%s: vboard_options[%zu] '%.64s' has a "
                                         "character outside a-z 0-9 - _ . =", where, i, s);
        }
    }
    if (json_object_get (obj, "profile")) {
        if (!b->is_virtual)
            return bf_error_set (BF_EINVAL, "%s: 'profile' needs \"virtual\": true", where);
        if ((rc = s_str (b->profile, sizeof b->profile, obj, "profile", where, 31, "_-",
                         false, "1..31 of a-z 0-9 _ -: a file of gateware/regio/profiles")) != BF_OK)
            return rc;
    }
    if (b->is_virtual) {
        if (b->ip[0] || b->port || b->ftdi_serial[0] || b->busdev_num[0])
            return bf_error_set (BF_EINVAL, "%s: a virtual board takes no ip, port, ftdi_serial "
                                 "or busdev_num", where);
        snprintf (b->cable, sizeof b->cable, "xvc-client");
        snprintf (b->ip, sizeof b->ip, "127.0.0.1");
        size_t i;
        json_array_foreach (opts, i, v)
            b->vboard_opts[i] = xstrdup (json_string_value (v));
    }
    bool xvc = strcmp (b->cable, "xvc-client") == 0;
    if (xvc && (!b->ip[0] || (!b->port && !b->is_virtual)))
        return bf_error_set (BF_EINVAL, "%s: cable xvc-client needs 'ip' and 'port'", where);
    if (!xvc && (b->ip[0] || b->port))
        return bf_error_set (BF_EINVAL, "%s: 'ip' and 'port' are for \"cable\": \"xvc-client\"",
                             where);
    b->done_check = xvc;
    if ((v = json_object_get (obj, "done_check"))) {
        if (!json_is_boolean (v))
            return bf_error_set (BF_EINVAL, "%s: 'done_check' must be true or false", where);
        if (json_is_true (v) && !xvc)
            return bf_error_set (BF_EINVAL, "%s: 'done_check' works only over xvc-client", where);
        b->done_check = json_is_true (v);
    }
    return s_regio_keys (b, obj, where);
}

void
bf_boards_free (bf_board_t *boards, int n)
{
    for (int i = 0; boards && i < n; i++)
        for (int k = 0; boards[i].vboard_opts[k]; k++)
            free (boards[i].vboard_opts[k]);
    free (boards);
}

int
bf_boards_load (bf_board_t **boards_out, int *n_out, const char *path)
{
    *boards_out = NULL;
    *n_out = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = bf_file_read (&text, &len, path, S_CONFIG_MAX);
    if (rc != BF_OK)
        return bf_error_set (rc, "worker config %s: %s", path, bf_error_last ());
    json_error_t jerr;
    json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
    free (text);
    if (!root)
        return bf_error_set (BF_EINVAL, "worker config %s: line %d: %s", path, jerr.line,
                             jerr.text);
    json_t *arr = json_object_get (root, "boards");
    const char *key;
    json_t *v;
    json_object_foreach (root, key, v)
        if (strcmp (key, "boards") != 0) {
            rc = bf_error_set (BF_EINVAL, "worker config %s: unknown key '%.40s'", path, key);
            goto out;
        }
    if (arr && (!json_is_array (arr) || json_array_size (arr) > BF_BOARDS_MAX)) {
        rc = bf_error_set (BF_EINVAL, "worker config %s: 'boards' must be an array of at most "
                           "%d boards", path, BF_BOARDS_MAX);
        goto out;
    }
    size_t n = json_array_size (arr);
    bf_board_t *boards = xcalloc (n + 1, sizeof *boards);
    for (size_t i = 0; i < n; i++) {
        char where[300];
        snprintf (where, sizeof where, "worker config %s", path);
        rc = bf_board_parse (&boards[i], json_array_get (arr, i), where);
        for (size_t k = 0; rc == BF_OK && k < i; k++)
            if (strcmp (boards[k].name, boards[i].name) == 0)
                rc = bf_error_set (BF_EINVAL, "worker config %s: board name '%s' is used twice",
                                   path, boards[i].name);
        if (rc != BF_OK) {
            bf_boards_free (boards, (int) i + 1);
            goto out;
        }
    }
    *boards_out = boards;
    *n_out = (int) n;
    rc = BF_OK;
out:
    json_decref (root);
    return rc;
}

static char *
s_cable_text (const bf_board_t *b)
{
    char port[16] = "";
    if (b->port)
        snprintf (port, sizeof port, "%d", b->port);
    return xasprintf ("%s%s%s%s%s%s%s%s%s%s%s", b->board[0] ? "-b " : "-c ",
                      b->board[0] ? b->board : b->cable,
                      b->ftdi_serial[0] ? " --ftdi-serial " : "", b->ftdi_serial,
                      b->busdev_num[0] ? " --busdev-num " : "", b->busdev_num,
                      b->ip[0] ? " --ip " : "", b->ip, b->port ? " --port " : "", port,
                      b->is_virtual ? " (bitfarm-vboard)" : "");
}

json_t *
bf_board_json (const bf_board_t *b)
{
    char *cable = s_cable_text (b);
    json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", b->name, "family",
                           b->family, "device", b->device, "package", b->package, "cable",
                           cable, "virtual", b->is_virtual);
    free (cable);
    return o;
}

char **
bf_board_argv (const bf_board_t *b, const char *bitstream)
{
    char **argv = xcalloc (20, sizeof *argv);
    int n = 0;
    argv[n++] = xstrdup ("openFPGALoader");
    argv[n++] = xstrdup (b->board[0] ? "-b" : "-c");
    argv[n++] = xstrdup (b->board[0] ? b->board : b->cable);
    if (b->ftdi_serial[0]) {
        argv[n++] = xstrdup ("--ftdi-serial");
        argv[n++] = xstrdup (b->ftdi_serial);
    }
    if (b->busdev_num[0]) {
        argv[n++] = xstrdup ("--busdev-num");
        argv[n++] = xstrdup (b->busdev_num);
    }
    if (b->ip[0]) {
        argv[n++] = xstrdup ("--ip");
        argv[n++] = xstrdup (b->ip);
        argv[n++] = xstrdup ("--port");
        argv[n++] = xasprintf ("%d", b->port);
    }
    if (b->freq_hz) {
        argv[n++] = xstrdup ("--freq");
        argv[n++] = xasprintf ("%lld", (long long) b->freq_hz);
    }
    argv[n++] = xstrdup ("--write-sram");
    argv[n++] = xstrdup (bitstream);
    return argv;
}

/*  Reads a small decimal sysfs attribute; -1 when absent. */
static long
s_sysfs_num (const char *dir, const char *name)
{
    char *path = xasprintf ("%s/%s", dir, name);
    char buf[32] = "";
    FILE *f = fopen (path, "re");
    free (path);
    if (!f)
        return -1;
    bool ok = fgets (buf, sizeof buf, f) != NULL;
    fclose (f);
    char *end = NULL;
    long v = ok ? strtol (buf, &end, 10) : -1;
    return ok && end != buf ? v : -1;
}

void
bf_board_reach (bf_sandbox_reach_t *out, const bf_board_t *b, const char *sysfs)
{
    memset (out, 0, sizeof *out);
    if (strcmp (b->cable, "xvc-client") == 0) {
        out->net = true;
        return;
    }
    out->usb = true;
    unsigned bus, dev;
    if (b->busdev_num[0] && sscanf (b->busdev_num, "%u:%u", &bus, &dev) == 2) {
        snprintf (out->nodes[out->nnodes++], sizeof out->nodes[0], "/dev/bus/usb/%03u/%03u",
                  bus, dev);
        return;
    }
    if (!b->ftdi_serial[0]) {
        snprintf (out->nodes[out->nnodes++], sizeof out->nodes[0], "/dev/bus/usb");
        return;
    }
    char *devices = xasprintf ("%s/bus/usb/devices", sysfs);
    DIR *d = opendir (devices);
    struct dirent *e;
    while (d && (e = readdir (d)) && out->nnodes == 0) {
        if (e->d_name[0] == '.')
            continue;
        char *dir = xasprintf ("%s/%s", devices, e->d_name);
        char *path = xasprintf ("%s/serial", dir);
        char serial[80] = "";
        FILE *f = fopen (path, "re");
        if (f) {
            if (fgets (serial, sizeof serial, f))
                serial[strcspn (serial, "\n")] = '\0';
            fclose (f);
        }
        long busnum = s_sysfs_num (dir, "busnum"), devnum = s_sysfs_num (dir, "devnum");
        if (strcmp (serial, b->ftdi_serial) == 0 && busnum >= 0 && devnum >= 0)
            snprintf (out->nodes[out->nnodes++], sizeof out->nodes[0],
                      "/dev/bus/usb/%03ld/%03ld", busnum, devnum);
        free (path);
        free (dir);
    }
    if (d)
        closedir (d);
    free (devices);
}

void
bf_board_argv_free (char **argv)
{
    for (int i = 0; argv && argv[i]; i++)
        free (argv[i]);
    free (argv);
}

/*  Messages of openFPGALoader 0.10.0 (from its source and its behaviour
    against bitfarm-vboard), matched case-sensitively as substrings. */
static const char *s_bitstream_msgs[] = {
    "Unknown device with IDCODE",       /* jtag.cpp: IDCODE not in its list */
    "mismatch",                         /* IDCODE/size mismatch messages */
    "CRC",                              /* CRC error / CRC check failures */
    "FAIL",                             /* ice40.cpp "Wait for CDONE FAIL"; "SRAM Flash: FAIL" */
    "not supported",
    "Failed to parse",
    "Error: Fail to parse",
    NULL
};
static const char *s_infra_msgs[] = {
    "unable to open ftdi device",       /* ftdipp_mpsse.cpp: no such cable */
    "Failed to claim cable",
    "Connection error",                 /* xvc_client.cpp: connect() failed */
    "connection failure",
    "Client orderly shut down",         /* xvc_client.cpp: peer closed */
    "Receive error", "Send error", "Send instruction failed",
    "libusb", "usb bulk", "USB", "fails to open device", "Error: No device",
    "cable not found", "No cable", "unknown cable",
    NULL
};

static const char *
s_find_line (const char *output, const char **msgs, char *line, size_t linelen)
{
    for (const char *p = output; p && *p;) {
        const char *end = strchr (p, '\n');
        size_t n = end ? (size_t) (end - p) : strlen (p);
        for (int i = 0; msgs[i]; i++) {
            size_t m = strlen (msgs[i]);
            for (size_t k = 0; k + m <= n; k++)
                if (memcmp (p + k, msgs[i], m) == 0) {
                    char raw[512];
                    snprintf (raw, sizeof raw, "%.*s", (int) (n < 500 ? n : 500), p);
                    bf_log_escape (line, linelen, raw);
                    return msgs[i];
                }
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void
s_last_line (const char *output, char *line, size_t linelen)
{
    const char *best = NULL;
    size_t bestn = 0;
    for (const char *p = output; p && *p;) {
        const char *end = strchr (p, '\n');
        size_t n = end ? (size_t) (end - p) : strlen (p);
        if (n > 0 && strspn (p, " \t\r") < n) {
            best = p;
            bestn = n;
        }
        p = end ? end + 1 : NULL;
    }
    char raw[512];
    snprintf (raw, sizeof raw, "%.*s", best ? (int) (bestn < 500 ? bestn : 500) : 0,
              best ? best : "");
    bf_log_escape (line, linelen, raw);
}

bf_load_class_t
bf_board_classify (const bf_spawn_result_t *r, const char *output, char *error, size_t errlen)
{
    char line[512];
    if (r->timed_out) {
        snprintf (error, errlen, "openFPGALoader did not finish within the time limit "
                  "(%lld ms): cable or board not responding", (long long) r->elapsed_ms);
        return BF_LOAD_INFRA;
    }
    if (s_find_line (output, s_bitstream_msgs, line, sizeof line)) {
        snprintf (error, errlen, "bitstream or device error: %s", line);
        return BF_LOAD_BITSTREAM;
    }
    if (!r->exited) {
        s_last_line (output, line, sizeof line);
        snprintf (error, errlen, "openFPGALoader died of signal %d (%s)%s%s", r->term_signal,
                  r->term_signal == SIGPIPE ? "SIGPIPE: the cable connection was lost"
                                            : strsignal (r->term_signal),
                  line[0] ? "; last output: " : "", line);
        return BF_LOAD_INFRA;
    }
    if (s_find_line (output, s_infra_msgs, line, sizeof line)) {
        snprintf (error, errlen, "cable or connection error: %s", line);
        return BF_LOAD_INFRA;
    }
    if (r->exit_code != 0) {
        s_last_line (output, line, sizeof line);
        snprintf (error, errlen, "openFPGALoader exited with status %d: %s", r->exit_code,
                  line[0] ? line : "(no output)");
        return BF_LOAD_INFRA;
    }
    error[0] = '\0';
    return BF_LOAD_OK;
}

/* ---------------------------------------------------------------------- */
/*  A minimal XVC 1.0 client, for the DONE check                            */

static int
s_io (int fd, void *buf, size_t len, bool writing, int64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        int64_t left = deadline - bf_mono_ms ();
        struct pollfd p = { .fd = fd, .events = writing ? POLLOUT : POLLIN };
        if (left <= 0 || poll (&p, 1, (int) left) <= 0)
            return -1;
        ssize_t n = writing ? send (fd, (char *) buf + done, len - done, MSG_NOSIGNAL)
                            : recv (fd, (char *) buf + done, len - done, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

int
bf_board_xvc_ir_capture (uint8_t *ir_out, const char *ip, int port, int timeout_ms)
{
    int64_t deadline = bf_mono_ms () + timeout_ms;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    if (inet_pton (AF_INET, ip, &sa.sin_addr) != 1)
        return bf_error_set (BF_EINVAL, "invalid XVC address %s", ip);
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return bf_error_set (BF_EIO, "socket: %s", strerror (errno));
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = BF_OK;
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        rc = bf_error_set (BF_EIO, "XVC %s:%d: connect: %s", ip, port, strerror (errno));
        goto out;
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t elen = sizeof err;
    if (poll (&p, 1, timeout_ms) <= 0 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0
        || err) {
        rc = bf_error_set (BF_EIO, "XVC %s:%d: connect: %s", ip, port,
                           err ? strerror (err) : "timed out");
        goto out;
    }
    char info[64];
    size_t n = 0;
    if (s_io (fd, (void *) "getinfo:", 8, true, deadline) < 0)
        goto io;
    while (n < sizeof info - 1) {
        if (s_io (fd, info + n, 1, false, deadline) < 0)
            goto io;
        if (info[n++] == '\n')
            break;
    }
    info[n] = '\0';
    if (!bf_starts_with (info, "xvcServer_v1.0:")) {
        rc = bf_error_set (BF_EIO, "XVC %s:%d: not an XVC 1.0 server", ip, port);
        goto out;
    }
    /*  18 clocks: TMS 1x5 (Test-Logic-Reset), 0 (Run-Test/Idle), 1, 1
        (Select-IR), 0 (Capture-IR), 0 (Shift-IR), then 6 bits of BYPASS
        (TDI 1) with TMS 1 on the last (Exit1-IR), 1 (Update-IR), 0 (RTI).
        TDO during clocks 10..15 is the captured IR. */
    static const uint8_t tms_bits[18] = { 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 };
    uint8_t cmd[6 + 4 + 3 + 3] = { 's', 'h', 'i', 'f', 't', ':', 18, 0, 0, 0 };
    for (int i = 0; i < 18; i++) {
        if (tms_bits[i])
            cmd[10 + i / 8] |= (uint8_t) (1u << (i % 8));
        if (i >= 10 && i <= 15)
            cmd[13 + i / 8] |= (uint8_t) (1u << (i % 8));
    }
    uint8_t tdo[3];
    if (s_io (fd, cmd, sizeof cmd, true, deadline) < 0 || s_io (fd, tdo, 3, false, deadline) < 0)
        goto io;
    uint8_t ir = 0;
    for (int i = 0; i < 6; i++)
        if (tdo[(10 + i) / 8] & (1u << ((10 + i) % 8)))
            ir |= (uint8_t) (1u << i);
    *ir_out = ir;
    goto out;
io:
    rc = bf_error_set (BF_EIO, "XVC %s:%d: %s", ip, port,
                       bf_mono_ms () >= deadline ? "timed out" : "connection lost");
out:
    close (fd);
    return rc;
}
