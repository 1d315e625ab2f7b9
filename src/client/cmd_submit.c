/*  cmd_submit - submit (send a design, optionally wait for it) and explain
    (what a submit would send, its exact commands and cache key). */
#include "bf_cli.h"
#include "bf_explain.h"
#include "../cache/bf_key.h"
#include "../common/bf_error.h"
#include "../common/bf_flowcmd.h"
#include "../common/bf_sha256.h"
#include "../common/bf_toolchain.h"
#include "../common/bf_util.h"
#include "bf_git.h"
#include "bf_submission.h"
#include "bf_localfarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  `bitfarm explain`: the manifest, action digest and cache key of a
    design, and with --diff KEY how it differs from that entry. */
static int
s_explain (bf_cli_args_t *a, const bf_manifest_t *manifest)
{
    char action[BF_SHA256_HEX_LEN + 1], key[BF_SHA256_HEX_LEN + 1] = "";
    bf_key_action (action, manifest);
    char toolchain[BF_SHA256_HEX_LEN + 1] = "", salt[80] = "";
    const char *tc_from = NULL;
    bf_client_t *client = bf_cli_open_existing (a);
    if (a->toolchain) {
        size_t n = strlen (a->toolchain);
        if (n != BF_SHA256_HEX_LEN || strspn (a->toolchain, "0123456789abcdef") != n) {
            bf_client_destroy (&client);
            return bf_cli_fail (BFX_USAGE, "bad --toolchain '%.80s' (want 64 lowercase hex "
                                "characters, as `bitfarm workers --json` shows)", a->toolchain);
        }
        snprintf (toolchain, sizeof toolchain, "%s", a->toolchain);
        tc_from = "--toolchain";
    }
    else if (client) {
        json_t *body = json_object ();
        bf_msg_t *reply = NULL;
        if (bf_client_request (client, &reply, "PING", body, NULL) == BF_OK) {
            if (json_is_string (json_object_get (reply->body, "salt")))
                snprintf (salt, sizeof salt, "%s", bf_cli_str (reply->body, "salt"));
            if (json_is_string (json_object_get (reply->body, "toolchain"))) {
                snprintf (toolchain, sizeof toolchain, "%s", bf_cli_str (reply->body, "toolchain"));
                tc_from = "the broker's latest worker";
            }
        }
        bf_msg_destroy (&reply);
        json_decref (body);
    }
    if (!tc_from) {
        bf_toolchain_t tc = { 0 };
        char *farm = bf_localfarm_dir ();
        bf_mkdir_p (farm, 0755);
        char *memo = xasprintf ("%s/explain-toolchain.json", farm);
        if (bf_toolchain_identify (&tc, NULL, memo) == BF_OK) {
            snprintf (toolchain, sizeof toolchain, "%s", tc.id);
            tc_from = "this machine";
        }
        bf_toolchain_release (&tc);
        free (memo);
        free (farm);
    }
    if (tc_from)
        bf_key_compute_salted (key, manifest, toolchain, salt);
    char *commands = bf_flowcmd_by_hand (manifest);
    json_t *out = json_pack ("{s:o, s:s, s:s, s:s}", "manifest", bf_manifest_encode (manifest),
                             "action", action,
                             "key_schema", BF_KEY_SCHEMA, "commands", commands);
    if (a->submit.provenance)
        json_object_set (out, "provenance", a->submit.provenance);
    if (tc_from) {
        json_object_set_new (out, "toolchain", json_string (toolchain));
        json_object_set_new (out, "toolchain_from", json_string (tc_from));
        json_object_set_new (out, "cache_key", json_string (key));
    }
    int rc = BFX_OK;
    if (a->diff) {
        json_t *entry = NULL;
        bf_cache_t *cache = NULL;
        if (client && !a->cache_dir) {
            json_t *body = json_pack ("{s:s}", "key", a->diff);
            bf_msg_t *reply = NULL;
            if (bf_client_request (client, &reply, "ENTRY", body, NULL) == BF_OK)
                entry = json_incref (reply->body);
            else
                rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
            bf_msg_destroy (&reply);
            json_decref (body);
        }
        else if ((rc = bf_cli_open_cache (&cache, a)) == BFX_OK) {
            char full[BF_SHA256_HEX_LEN + 1];
            if (bf_cache_resolve_key (cache, full, a->diff) != BF_OK
                || bf_cache_get_entry (cache, &entry, full, true) != BF_OK)
                rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
            bf_cache_destroy (&cache);
        }
        bf_manifest_t cached;
        if (entry && bf_manifest_decode (&cached, json_object_get (entry, "manifest")) != BF_OK) {
            rc = bf_cli_fail (BFX_USAGE, "cannot read the manifest of cache entry %.12s: %s",
                              bf_cli_str (entry, "key"), bf_error_last ());
            json_decref (entry);
            entry = NULL;
        }
        if (entry) {
            json_t *diff = bf_explain_diff (manifest, tc_from ? toolchain : NULL, &cached,
                                            bf_cli_str (entry, "toolchain"));
            bf_manifest_release (&cached);
            json_object_set_new (out, "diff_key", json_string (bf_cli_str (entry, "key")));
            json_object_set_new (out, "diff", diff);
            rc = json_array_size (diff) > 0 ? 1 : BFX_OK;
            json_decref (entry);
        }
    }
    bf_client_destroy (&client);
    if (a->json || rc > 1) {
        if (rc <= 1)
            bf_cli_print_json (out);
        json_decref (out);
        free (commands);
        return rc;
    }
    json_t *diff = json_object_get (out, "diff");
    if (diff) {
        /* --diff: only the answer, one line per difference */
        if (json_array_size (diff) == 0)
            printf ("same inputs as cache entry %s\n", bf_cli_str (out, "diff_key"));
        size_t i;
        json_t *v;
        json_array_foreach (diff, i, v)
            printf ("%s\n", json_string_value (v));
        json_decref (out);
        free (commands);
        return rc;
    }
    char *text = json_dumps (json_object_get (out, "manifest"), JSON_INDENT (2) | JSON_SORT_KEYS);
    printf ("manifest %s\n", text);
    free (text);
    printf ("commands (by hand, from the source root; the worker runs the same, writing\n"
            "its outputs to its job directory):\n%s", commands);
    printf ("action     %s\n", action);
    if (tc_from)
        printf ("toolchain  %s (%s)\ncache key  %s\n", toolchain, tc_from, key);
    else
        printf ("cache key  unknown: no toolchain known (give --toolchain ID)\n");
    json_decref (out);
    free (commands);
    return rc;
}

/*  submit -n: what would be sent, as the worker will see it; nothing is. */
static int
s_dry_run (const bf_cli_args_t *a, const bf_manifest_t *m)
{
    json_t *files = json_array ();
    const bf_manifest_files_t *lists[] = { &m->sources, &m->data };
    static const char *kinds[] = { "source", "data" };
    uint64_t total = 0;
    for (int k = 0; k < 3; k++) {
        size_t n = k < 2 ? lists[k]->n : m->has_pcf;
        for (size_t i = 0; i < n; i++) {
            const bf_manifest_file_t *f = k < 2 ? &lists[k]->items[i] : &m->pcf;
            total += f->size;
            json_array_append_new (files, json_pack ("{s:s, s:s, s:I, s:s}", "kind",
                                                     k < 2 ? kinds[k] : "pcf", "path", f->path,
                                                     "size", (json_int_t) f->size, "sha256",
                                                     f->sha256));
        }
    }
    if (a->json) {
        json_t *out = json_pack ("{s:o, s:I, s:s, s:b}", "files", files, "bytes",
                                 (json_int_t) total, "workdir", m->workdir, "sent", 0);
        if (a->submit.provenance)
            json_object_set (out, "provenance", a->submit.provenance);
        bf_cli_print_json (out);
        json_decref (out);
        return BFX_OK;
    }
    size_t i;
    json_t *f;
    json_array_foreach (files, i, f)
        printf ("%-6s  %10lld  %s\n", bf_cli_str (f, "kind"),
                (long long) json_integer_value (json_object_get (f, "size")),
                bf_cli_text (f, "path"));
    printf ("%zu file(s), %llu bytes; the tools would run in %s; nothing sent (dry run)\n",
            json_array_size (files), (unsigned long long) total,
            m->workdir);
    json_decref (files);
    return BFX_OK;
}

/*  shared: git's view already opened by the caller (the project file's),
    or NULL to open it here. */
static int
s_submit (bf_cli_args_t *a, bool explain, bf_git_t *shared)
{
    if (!a->design.top || (!a->design.device && !a->regio))
        return bf_cli_fail (BFX_USAGE, "--top and --device are required (--regio PROFILE "
                            "gives the device)");
    /* Inside a git work tree (or with --rev, --git-dir) git defines the
       design's tree (bf_git.h); $BITFARM_NO_GIT=1 gives the plain file
       system back. */
    bf_submission_t sub = { 0 };
    json_t *job = NULL;
    bf_client_t *client = NULL;
    int rc = BFX_OK;
    if (bf_submission_prepare (&sub, a, shared, !shared) != BF_OK) {
        rc = bf_cli_fail (BFX_USAGE, "%s", bf_error_last ());
        goto out;
    }
    bf_design_t *design = sub.design;
    if (explain || a->dry_run) {
        rc = explain ? s_explain (a, bf_design_manifest (design))
                     : s_dry_run (a, bf_design_manifest (design));
        goto out;
    }
    if ((rc = bf_cli_open (&client, a)) != BFX_OK)
        goto out;
    uint64_t uploaded = 0;
    if (bf_client_submit (client, &job, design, &a->submit, &uploaded) != BF_OK) {
        rc = bf_cli_fail (BFX_INFRA, "%s", bf_error_last ());
        goto out;
    }
    const char *id = bf_cli_str (job, "id");
    if (!a->wait) {
        if (a->json) {
            json_object_set_new (job, "uploaded_bytes", json_integer ((json_int_t) uploaded));
            json_object_set_new (job, "schema", json_integer (BF_CLI_JSON_SCHEMA));
            bf_cli_print_json (job);
        }
        else
            puts (id);
        goto out;
    }
    if (!a->json) {
        puts (id);
        fflush (stdout);
    }
    json_t *final = NULL;
    rc = bf_cli_wait (client, id, &final, a->json);
    if (final) {
        if (a->output && rc == BFX_OK) {
            int frc = bf_cli_fetch_to (client, id, "bitstream", a->output);
            if (frc != BFX_OK)
                rc = frc;
            else if (!a->json)
                fprintf (stderr, "%.12s: bitstream written to %s\n", id, a->output);
        }
        if (a->json) {
            json_object_set_new (final, "schema", json_integer (BF_CLI_JSON_SCHEMA));
            bf_cli_print_json (final);
        }
        json_decref (final);
    }
out:
    json_decref (job);
    bf_client_destroy (&client);
    bf_submission_release (&sub);
    return rc;
}


int
bf_cli_submit_files (bf_cli_args_t *a, bool explain, bf_git_t *git)
{
    return s_submit (a, explain, git);
}

/*  submit [options] FILES... ; without FILES: bitfarm.ini (cmd_project.c) */
int
bf_cmd_submit (bf_cli_args_t *a)
{
    if (a->nargs == 0 || a->ntargets > 0 || a->all || a->junit || a->artifacts)
        return bf_cli_project (a, false);
    return s_submit (a, false, NULL);
}

/*  explain [submit options] FILES... [--diff KEY] ; -t NAME */
int
bf_cmd_explain (bf_cli_args_t *a)
{
    if (a->nargs == 0 || a->ntargets > 0)
        return bf_cli_project (a, true);
    return s_submit (a, true, NULL);
}
