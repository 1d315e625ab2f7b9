/*  replay - runs the fuzz target (fuzz_proto.c) once over each file in
    tests/fuzz/corpus and tests/fuzz/regress (or the files and directories
    given), without libFuzzer, so `make test` (and `make asan`) replays
    every input that once crashed, plus the corpus.  TAP output: one "ok"
    per directory, and "not ok" with the file name if one crashes (a crash
    ends the run, which the test runner counts). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc (1 << 20);
    size_t n = fread (buf, 1, 1 << 20, f);
    fclose (f);
    LLVMFuzzerTestOneInput (buf, n);
    free (buf);
    return 0;
}

int
main (int argc, char **argv)
{
    static const char *defaults[] = { "tests/fuzz/corpus", "tests/fuzz/regress" };
    int ndirs = argc > 1 ? argc - 1 : 2;
    int t = 0, bad = 0;
    for (int i = 0; i < ndirs; i++) {
        const char *dir = argc > 1 ? argv[i + 1] : defaults[i];
        DIR *d = opendir (dir);
        if (!d) {
            printf ("not ok %d - cannot open %s\n", ++t, dir);
            bad++;
            continue;
        }
        int files = 0;
        struct dirent *e;
        while ((e = readdir (d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat sb;
            if (stat (path, &sb) != 0 || !S_ISREG (sb.st_mode))
                continue;
            fprintf (stderr, "# %s\n", path);
            if (s_file (path) != 0) {
                printf ("not ok %d - cannot read %s\n", ++t, path);
                bad++;
            }
            files++;
        }
        closedir (d);
        printf ("ok %d - the protocol decoder survives %d input(s) in %s\n", ++t, files, dir);
    }
    printf ("1..%d\n", t);
    return bad ? 1 : 0;
}
