/*  bf_util - see bf_util.h. */
#include "bf_util.h"
#include "bf_error.h"
#include "bf_log.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void
s_oom (size_t size)
{
    bf_err ("out of memory allocating %zu bytes", size);
    abort ();
}

void *
xmalloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

void *
xcalloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p)
        s_oom (n * size);
    return p;
}

void *
xrealloc (void *ptr, size_t size)
{
    void *p = realloc (ptr, size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

char *
xstrdup (const char *s)
{
    char *p = strdup (s);
    if (!p)
        s_oom (strlen (s));
    return p;
}

char *
xasprintf (const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start (ap, fmt);
    int n = vasprintf (&out, fmt, ap);
    va_end (ap);
    if (n < 0)
        s_oom (0);
    return out;
}

int64_t
bf_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
bf_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
bf_time_iso (char *buf, size_t len, int64_t ms)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
    return buf;
}

int
bf_mkdir_p (const char *path, unsigned mode)
{
    char tmp[4096];
    if (strlen (path) >= sizeof tmp)
        return bf_error_set (BF_ETOOBIG, "path too long '%s'", path);
    strcpy (tmp, path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir (tmp, mode) < 0 && errno != EEXIST)
            return bf_error_set (BF_EIO, "cannot create directory '%s': %s", tmp, strerror (errno));
        *p = '/';
    }
    if (mkdir (tmp, mode) < 0 && errno != EEXIST)
        return bf_error_set (BF_EIO, "cannot create directory '%s': %s", tmp, strerror (errno));
    return BF_OK;
}

int
bf_file_read (char **out, size_t *len_out, const char *path, size_t max_bytes)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", path, strerror (errno));
        return bf_error_set (BF_EIO, "cannot open '%s': %s", path, strerror (errno));
    }
    struct stat st;
    if (fstat (fd, &st) < 0) {
        close (fd);
        return bf_error_set (BF_EIO, "cannot stat '%s': %s", path, strerror (errno));
    }
    if (!S_ISREG (st.st_mode)) {
        close (fd);
        return bf_error_set (BF_EINVAL, "not a regular file '%s'", path);
    }
    if ((uint64_t) st.st_size > max_bytes) {
        close (fd);
        return bf_error_set (BF_ETOOBIG, "file too big '%s' (%lld bytes, limit %zu)", path,
                             (long long) st.st_size, max_bytes);
    }
    size_t cap = (size_t) st.st_size;
    char *buf = xmalloc (cap + 1);
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            /* the file grew while we read it */
            if (cap >= max_bytes) {
                free (buf);
                close (fd);
                return bf_error_set (BF_ETOOBIG, "file too big '%s' (limit %zu)", path, max_bytes);
            }
            cap = cap * 2 + 4096 > max_bytes ? max_bytes : cap * 2 + 4096;
            buf = xrealloc (buf, cap + 1);
        }
        ssize_t n = read (fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free (buf);
            close (fd);
            return bf_error_set (BF_EIO, "cannot read '%s': %s", path, strerror (e));
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    close (fd);
    buf[len] = '\0';
    *out = buf;
    if (len_out)
        *len_out = len;
    return BF_OK;
}

int
bf_write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

size_t
bf_log_marker (char *buf, uint64_t max)
{
    int n = snprintf (buf, BF_LOG_MARKER_MAX, "\n[bitfarm: log truncated at %llu bytes]\n",
                      (unsigned long long) max);
    return n > 0 && n < BF_LOG_MARKER_MAX ? (size_t) n : 0;
}

int
bf_log_append_capped (int fd, const void *data, size_t len, uint64_t max)
{
    if (max == 0)
        return bf_write_all (fd, data, len);
    if (len == 0)
        return 0;
    struct stat st;
    if (fstat (fd, &st) < 0)
        return -1;
    uint64_t size = (uint64_t) st.st_size;
    size_t fit = size < max ? (size_t) (max - size < len ? max - size : len) : 0;
    if (fit > 0 && bf_write_all (fd, data, fit) < 0)
        return -1;
    if (fit == len)
        return 0;
    char marker[BF_LOG_MARKER_MAX];
    size_t mlen = bf_log_marker (marker, max);
    if (size >= max && size >= mlen) {
        /* Full already: has the marker been written? */
        char tail[BF_LOG_MARKER_MAX];
        ssize_t n;
        do
            n = pread (fd, tail, mlen, (off_t) (size - mlen));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) mlen && memcmp (tail, marker, mlen) == 0)
            return 0;
    }
    return bf_write_all (fd, marker, mlen);
}

static int
s_fsync_dir (const char *path)
{
    char *copy = xstrdup (path);
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free (copy);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = fsync (fd);
    while (rc < 0 && errno == EINTR);
    close (fd);
    return rc;
}

int
bf_file_write_atomic (const char *path, const void *data, size_t len, unsigned mode)
{
    char rnd[17];
    if (bf_random_hex (rnd, 8) != BF_OK)
        return bf_error_set (BF_EIO, "no random source for temp file of '%s'", path);
    char *tmp = xasprintf ("%s.tmp-%s", path, rnd);
    int rc = BF_OK;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = bf_error_set (BF_EIO, "cannot create '%s': %s", tmp, strerror (errno));
        goto out;
    }
    int frc = 0;
    if (bf_write_all (fd, data, len) < 0)
        frc = -1;
    else {
        do
            frc = fsync (fd);
        while (frc < 0 && errno == EINTR);
    }
    int e = errno;
    close (fd);
    if (frc < 0) {
        unlink (tmp);
        rc = bf_error_set (BF_EIO, "cannot write '%s': %s", tmp, strerror (e));
        goto out;
    }
    if (rename (tmp, path) < 0) {
        e = errno;
        unlink (tmp);
        rc = bf_error_set (BF_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror (e));
        goto out;
    }
    if (s_fsync_dir (path) < 0)
        rc = bf_error_set (BF_EIO, "cannot sync directory of '%s': %s", path, strerror (errno));
out:
    free (tmp);
    return rc;
}

int
bf_file_write_scratch (const char *path, const void *data, size_t len, unsigned mode)
{
    int fd;
    do
        fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return bf_error_set (BF_EIO, "cannot create '%s': %s", path, strerror (errno));
    int wrc = bf_write_all (fd, data, len);
    int e = errno;
    if (close (fd) < 0 && wrc == 0) {
        wrc = -1;
        e = errno;
    }
    if (wrc < 0)
        return bf_error_set (BF_EIO, "cannot write '%s': %s", path, strerror (e));
    return BF_OK;
}

int
bf_random_hex (char *out, size_t nbytes)
{
    unsigned char raw[64];
    static const char digits[] = "0123456789abcdef";
    /* the kernel's CSPRNG (getrandom(2), blocking only before it is seeded),
       not OpenSSL's: what links bf_util needs no libcrypto (the lean submit) */
    if (nbytes > sizeof raw)
        return BF_ERROR;
    for (size_t got = 0; got < nbytes;) {
        ssize_t n = getrandom (raw + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return BF_ERROR;
        got += (size_t) n;
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return BF_OK;
}

static int
s_rm_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path) < 0 && errno != ENOENT ? -1 : 0;
}

int
bf_remove_tree (const char *path)
{
    if (nftw (path, s_rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return bf_error_set (BF_EIO, "cannot remove '%s': %s", path, strerror (errno));
    return BF_OK;
}

bool
bf_starts_with (const char *s, const char *prefix)
{
    return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
bf_self_dir (char *out, size_t size)
{
    char exe[PATH_MAX] = "";
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    Dl_info info;
    char *lib = NULL;
    if (dladdr ((void *) bf_self_dir, &info) && info.dli_fname && info.dli_fname[0] == '/')
        lib = realpath (info.dli_fname, NULL);
    bool in_library = lib && strcmp (lib, exe) != 0;
    char *dir = in_library ? lib : exe;
    char *slash = strrchr (dir, '/');
    if (slash)
        *slash = '\0';
    snprintf (out, size, "%s", slash ? dir : "");
    free (lib);
    return in_library;
}

char *
bf_sibling_program (const char *name)
{
    char dir[PATH_MAX];
    bool in_library = bf_self_dir (dir, sizeof dir);
    if (dir[0]) {
        char *p = xasprintf ("%s%s/%s", dir, in_library ? "/../bin" : "", name);
        char *real = access (p, X_OK) == 0 ? realpath (p, NULL) : NULL;
        free (p);
        if (real)
            return real;
    }
    return xstrdup (name);   /* execvp searches PATH */
}

void
bf_path_fold (char *out, size_t size, const char *cwd, const char *path)
{
    size_t blen = strlen (cwd) + strlen (path) + 2;
    char *buf = xmalloc (blen);
    snprintf (buf, blen, "%s/%s", path[0] == '/' ? "" : cwd, path);
    size_t n = 0;
    out[0] = '\0';
    for (char *save = NULL, *part = strtok_r (buf, "/", &save); part;
         part = strtok_r (NULL, "/", &save)) {
        if (strcmp (part, ".") == 0)
            continue;
        if (strcmp (part, "..") == 0) {
            char *slash = strrchr (out, '/');
            n = slash ? (size_t) (slash - out) : 0;
            out[n] = '\0';
            continue;
        }
        if (n + strlen (part) + 2 > size)
            break;
        n += (size_t) snprintf (out + n, size - n, "/%s", part);
    }
    if (n == 0)
        snprintf (out, size, "/");
    free (buf);
}

void
bf_be32_put (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

uint32_t
bf_be32_get (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
