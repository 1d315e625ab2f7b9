/*  bf_regio - see bf_regio.h.  The wrapper's files and the pcf with the
    profile's pins are served from memory through a bf_design_fs_t laid
    over the one the design had. */
#include "bf_regio.h"
#include "../common/bf_datadir.h"
#include "../common/bf_error.h"
#include "../common/bf_pcf.h"
#include "../common/bf_proof.h"
#include "../common/bf_sha256.h"
#include "../common/bf_util.h"
#include "../common/bf_vsimcmd.h"
#include "bf_regio_ports.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILES 4                    /* the bridge, the wrapper, the pcf, the instance */

typedef struct {
    char abs[PATH_MAX];
    char *data;
    size_t len;
} s_file_t;

struct _bf_regio_t {
    const bf_design_fs_t *under;     /* NULL: the file system */
    bf_design_fs_t fs;
    char cwd[PATH_MAX];
    s_file_t files[S_FILES];
    int nfiles;
    const char *given[S_FILES];      /* the names added to the design's files */
    char *define;                    /* BF_REGIO_TOP=TOP */
    bf_regio_port_t ports[BF_REGIO_PORTS_MAX];
    char *params[2];                 /* CLK_HZ=, BAUD= */
    const char **vfiles, **vdefines, **vparams;   /* the grown lists *d points to */
    bf_regio_profile_t prof;
    bf_design_opts_t *d, saved;      /* the options changed, and as they were */
};

static const s_file_t *
s_virtual (const bf_regio_t *self, const char *abs)
{
    for (int i = 0; i < self->nfiles; i++)
        if (strcmp (self->files[i].abs, abs) == 0)
            return &self->files[i];
    return NULL;
}

static int
s_resolve (void *arg, char *out, const char *path)
{
    bf_regio_t *self = arg;
    char abs[PATH_MAX];
    bf_path_fold (abs, sizeof abs, self->cwd, path);
    if (s_virtual (self, abs)) {
        snprintf (out, PATH_MAX, "%s", abs);
        return BF_OK;
    }
    if (self->under)
        return self->under->resolve (self->under->arg, out, path);
    return realpath (path, out) ? BF_OK : BF_ENOTFOUND;
}

static int
s_check (void *arg, const char *abs, bool named)
{
    bf_regio_t *self = arg;
    struct stat st;
    if (s_virtual (self, abs))
        return BF_OK;
    if (self->under)
        return self->under->check (self->under->arg, abs, named);
    if (stat (abs, &st) != 0)
        return BF_ENOTFOUND;
    return S_ISREG (st.st_mode) ? BF_OK : bf_error_set (BF_EINVAL, "not a regular file '%s'", abs);
}

static int
s_read (void *arg, char **data, size_t *len, const char *abs)
{
    bf_regio_t *self = arg;
    const s_file_t *f = s_virtual (self, abs);
    if (f) {
        *data = xmalloc (f->len + 1);
        memcpy (*data, f->data, f->len);
        (*data)[f->len] = '\0';
        *len = f->len;
        return BF_OK;
    }
    if (self->under)
        return self->under->read (self->under->arg, data, len, abs);
    return bf_file_read (data, len, abs, BF_MAX_FILE_SIZE);
}

static int
s_digest (void *arg, char hex[65], uint64_t *size, const char *abs)
{
    bf_regio_t *self = arg;
    const s_file_t *f = s_virtual (self, abs);
    if (f) {
        bf_sha256_hex (hex, f->data, f->len);
        *size = f->len;
        return BF_OK;
    }
    if (self->under)
        return self->under->digest (self->under->arg, hex, size, abs);
    return bf_sha256_file (hex, size, abs);
}

static int
s_scan (void *arg, const char *abs, bf_scan_fn *fn, void *fnarg)
{
    bf_regio_t *self = arg;
    const s_file_t *f = s_virtual (self, abs);
    if (!f && self->under && self->under->scan)
        return self->under->scan (self->under->arg, abs, fn, fnarg);
    char *text = NULL;
    size_t len = 0;
    int rc = s_read (self, &text, &len, abs);
    if (rc == BF_OK)
        bf_design_scan (text, len, fn, fnarg);
    free (text);
    return rc;
}

static int
s_proof (void *arg, char out[65], const char *abs, const char *key)
{
    bf_regio_t *self = arg;
    const s_file_t *f = s_virtual (self, abs);
    if (!f && self->under && self->under->proof)
        return self->under->proof (self->under->arg, out, abs, key);
    char *text = NULL;
    size_t len = 0;
    int rc = s_read (self, &text, &len, abs);
    if (rc == BF_OK)
        bf_proof_hex (out, key, text, len);
    free (text);
    return rc;
}

/*  The profiles there are, for the refusal of an unknown one. */
static void
s_profiles (char *out, size_t size, const char *data)
{
    char *dir = xasprintf ("%s/gateware/regio/profiles", data);
    DIR *d = opendir (dir);
    out[0] = '\0';
    for (struct dirent *e; d && (e = readdir (d));) {
        size_t n = strlen (e->d_name);
        if (n > 4 && strcmp (e->d_name + n - 4, ".ini") == 0)
            snprintf (out + strlen (out), size - strlen (out), "%s%.*s", out[0] ? ", " : "",
                      (int) (n - 4), e->d_name);
    }
    if (d)
        closedir (d);
    free (dir);
}

typedef struct {
    const bf_regio_profile_t *prof;
    const char *shown;
} s_pins_t;

static int
s_on_io (void *arg, const char *port, const char *pin, int line)
{
    s_pins_t *c = arg;
    const bf_regio_profile_t *p = c->prof;
    int n = atoi (pin);
    const char *what = n == p->clk_pin ? "clock" : n == p->rx_pin ? "UART rx"
                     : n == p->tx_pin ? "UART tx" : NULL;
    if (!what)
        return 0;
    bf_error_set (BF_EINVAL, "the pcf '%s' (line %d) puts '%s' on pin %d, the %s profile's %s "
                  "pin (--regio wires it to the bridge)", c->shown, line, port, n, p->name, what);
    return BF_EINVAL;
}

/*  The user's pcf must leave the profile's pins to the wrapper. */
static int
s_check_pcf (const bf_regio_t *self, const char *text, size_t len, const char *shown)
{
    s_pins_t c = { &self->prof, shown };
    return bf_pcf_each_io (text, len, s_on_io, &c);
}

static int
s_add_file (bf_regio_t *self, const char *dir, const char *name, char *data, size_t len)
{
    s_file_t *f = &self->files[self->nfiles];
    if (snprintf (f->abs, sizeof f->abs, "%s/%s/%s", dir, BF_REGIO_DIR, name)
        >= (int) sizeof f->abs) {
        free (data);
        return bf_error_set (BF_EINVAL, "path too long under '%s'", dir);
    }
    f->data = data;
    f->len = len;
    self->nfiles++;
    return BF_OK;
}

static const char **
s_grow (const char **list, int n, const char *add)
{
    const char **v = xcalloc ((size_t) n + 2, sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = list[i];
    v[n] = add;
    return v;
}

int
bf_regio_apply (bf_regio_t **out, bf_design_opts_t *d, const char *name)
{
    *out = NULL;
    if (!d->top || !d->nfiles)
        return bf_error_set (BF_EINVAL, "--regio needs --top (the Wishbone slave) and files");
    if (strcmp (d->top, BF_REGIO_WRAP_TOP) == 0)
        return bf_error_set (BF_EINVAL, "--regio wraps the top: give the design's own top, "
                             "not '%s'", BF_REGIO_WRAP_TOP);
    if (strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen (name) || !*name
        || strlen (name) > 31)
        return bf_error_set (BF_EINVAL, "bad --regio profile '%.40s' (want a-z 0-9 _ -)", name);
    char *data = bf_datadir ();
    if (!data)
        return BF_ENOTFOUND;
    bf_regio_t *self = xcalloc (1, sizeof *self);
    self->under = d->fs;
    self->d = d;
    self->saved = *d;   /* given back by bf_regio_destroy: the lists stay the caller's */
    int rc = BF_OK;
    char *ppath = xasprintf ("%s/gateware/regio/profiles/%s.ini", data, name);
    char *pcf_text = NULL, *text = NULL;
    size_t pcf_len = 0, len = 0;
    if (access (ppath, R_OK) != 0) {
        char names[256];
        s_profiles (names, sizeof names, data);
        rc = bf_error_set (BF_EINVAL, "unknown --regio profile '%s' (profiles: %s)", name,
                           names[0] ? names : "none installed");
        goto out;
    }
    if ((rc = bf_regio_profile_load (&self->prof, ppath)) != BF_OK)
        goto out;
    const bf_regio_profile_t *p = &self->prof;
    if ((d->device && strcmp (d->device, p->device) != 0)
        || (d->package && strcmp (d->package, p->package) != 0)) {
        rc = bf_error_set (BF_EINVAL, "--regio %s is an %s-%s board, not %s%s%s", name,
                           p->device, p->package, d->device ? d->device : p->device,
                           d->package ? "-" : "", d->package ? d->package : "");
        goto out;
    }
    if (d->fs)
        snprintf (self->cwd, sizeof self->cwd, "%s", d->fs->cwd);
    else if (!getcwd (self->cwd, sizeof self->cwd)) {
        rc = bf_error_set (BF_EIO, "cannot get the current directory: %s", strerror (errno));
        goto out;
    }
    /* Beside the first source, so the design's root stays what it was. */
    char first[PATH_MAX], dir[PATH_MAX];
    if (d->fs ? d->fs->resolve (d->fs->arg, first, d->files[0]) != BF_OK
              : !realpath (d->files[0], first)) {
        rc = bf_error_set (BF_ENOTFOUND, "cannot open '%s': No such file or directory",
                           d->files[0]);
        goto out;
    }
    snprintf (dir, sizeof dir, "%s", first);
    *strrchr (dir, '/') = '\0';
    static const char *const gw[] = { "bf_uartbone.v", "regio/bf_regio_wrap.v" };
    for (int i = 0; i < 2 && rc == BF_OK; i++) {
        char *path = xasprintf ("%s/gateware/%s", data, gw[i]);
        if ((rc = bf_file_read (&text, &len, path, BF_MAX_FILE_SIZE)) == BF_OK)
            rc = s_add_file (self, dir, strrchr (gw[i], '/') ? strrchr (gw[i], '/') + 1 : gw[i],
                             text, len);
        text = NULL;
        free (path);
    }
    if (rc != BF_OK)
        goto out;
    /* The pcf: the user's, then the profile's lines. */
    const char *base = name;
    if (d->pcf) {
        char real[PATH_MAX];
        if ((d->fs ? d->fs->resolve (d->fs->arg, real, d->pcf) != BF_OK : !realpath (d->pcf, real))
            || (d->fs ? d->fs->read (d->fs->arg, &pcf_text, &pcf_len, real)
                      : bf_file_read (&pcf_text, &pcf_len, real, BF_MAX_FILE_SIZE)) != BF_OK) {
            rc = bf_error_set (BF_ENOTFOUND, "cannot open '%s': %s", d->pcf, bf_error_last ());
            goto out;
        }
        if ((rc = s_check_pcf (self, pcf_text, pcf_len, d->pcf)) != BF_OK)
            goto out;
        base = strrchr (d->pcf, '/') ? strrchr (d->pcf, '/') + 1 : d->pcf;
    }
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream (&buf, &blen);
    if (pcf_text)
        fprintf (f, "%s%s", pcf_text, pcf_len && pcf_text[pcf_len - 1] != '\n' ? "\n" : "");
    fprintf (f, "# added by submit --regio %s (gateware/regio/profiles/%s.ini)\n", name, name);
    for (int i = 0; i < p->npcf; i++)
        fprintf (f, "%s\n", p->pcf[i]);
    fclose (f);
    char pcfname[PATH_MAX];
    size_t bl = strlen (base);
    snprintf (pcfname, sizeof pcfname, "%.*s.pcf",
              (int) (bl > 4 && strcmp (base + bl - 4, ".pcf") == 0 ? bl - 4 : bl), base);
    if ((rc = s_add_file (self, dir, pcfname, buf, blen)) != BF_OK)
        goto out;
    /* The instance of the user's top, from its ports as its sources say. */
    int nports = 0;
    bool found = false;
    for (int i = 0; i < d->nfiles && !found && rc == BF_OK; i++) {
        char real[PATH_MAX];
        char *src = NULL;
        size_t slen = 0;
        if ((d->fs ? d->fs->resolve (d->fs->arg, real, d->files[i]) == BF_OK
                   : realpath (d->files[i], real) != NULL)
            && (d->fs ? d->fs->read (d->fs->arg, &src, &slen, real)
                      : bf_file_read (&src, &slen, real, BF_MAX_FILE_SIZE)) == BF_OK)
            found = bf_regio_ports_read (self->ports, &nports, src, slen, d->top) == BF_OK;
        free (src);
    }
    bf_error_clear ();
    char *inst = NULL;
    if (!found)
        rc = bf_error_set (BF_EINVAL, "--regio: no source given defines module '%s' (the top)",
                           d->top);
    else if ((rc = bf_regio_ports_instance (&inst, self->ports, nports, d->top)) == BF_OK)
        rc = s_add_file (self, dir, "bf_regio_user.vh", inst, strlen (inst));
    if (rc != BF_OK)
        goto out;
    /* The options: the wrapper is the top, the user's top its module. */
    for (int i = 0; i < 2; i++)
        self->given[i] = self->files[i].abs;
    self->vfiles = xcalloc ((size_t) d->nfiles + 3, sizeof *self->vfiles);
    self->vfiles[0] = self->given[0];
    self->vfiles[1] = self->given[1];
    for (int i = 0; i < d->nfiles; i++)
        self->vfiles[i + 2] = d->files[i];
    d->files = self->vfiles;
    d->nfiles += 2;
    d->pcf = self->files[2].abs;
    self->define = xasprintf ("BF_REGIO_TOP=%s", d->top);
    const char **one_d = s_grow (d->defines, d->ndefines, self->define);
    self->vdefines = s_grow (one_d, d->ndefines + 1, "BF_REGIO_USER_VH");
    free (one_d);
    d->defines = self->vdefines;
    d->ndefines += 2;
    self->params[0] = xasprintf ("CLK_HZ=%u", (unsigned) p->clk_hz);
    self->params[1] = xasprintf ("BAUD=%u", (unsigned) p->baud);
    const char **one = s_grow (d->params, d->nparams, self->params[0]);
    self->vparams = s_grow (one, d->nparams + 1, self->params[1]);
    free (one);
    d->params = self->vparams;
    d->nparams += 2;
    d->top = BF_REGIO_WRAP_TOP;
    d->device = p->device;
    d->package = p->package;
    self->fs = (bf_design_fs_t) { self, self->cwd, s_resolve, s_check, s_read, s_digest, s_scan,
                                  s_proof };
    d->fs = &self->fs;
out:
    free (pcf_text);
    free (ppath);
    free (data);
    if (rc != BF_OK)
        bf_regio_destroy (&self);
    *out = self;
    return rc;
}

void
bf_regio_destroy (bf_regio_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bf_regio_t *self = *self_p;
    if (self->d)
        *self->d = self->saved;
    for (int i = 0; i < self->nfiles; i++)
        free (self->files[i].data);
    free (self->define);
    free (self->params[0]);
    free (self->params[1]);
    free (self->vfiles);
    free (self->vdefines);
    free (self->vparams);
    free (self);
    *self_p = NULL;
}
