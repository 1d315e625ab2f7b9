/*  bf_cache_entry - a cache entry as a C record, and its one JSON codec.

    An entry maps a cache key (bf_key.h) to the outcome of a build: for a
    success the bitstream, report and log objects; for a design failure the
    failed stage, the tool's first error line and the log.  The index
    (bf_cache.c) stores it as one row of `entries` (schema/cache); the
    broker, the worker and `bitfarm cache show` see it as a JSON object:

        "key"          64 hex characters (absent before it is stored)
        "action"       the action digest (bf_key_action) of the manifest
        "toolchain"    the building toolchain's id
        "outcome"      "succeeded" | "failed"
        "stage"        optional: the stage that failed (or "done")
        "error"        optional: the tool's first error line
        "bitstream", "report", "log"
                       optional: object digests
        "created_at", "hits", "accessed_at"
                       ms since the epoch, a count, ms (present once stored)
        "build_ms"     how long the build that stored it took, ms (0: unknown)
        "manifest"     the normalized manifest, an object

    bf_cache_entry_to_json writes exactly these fields, in this order, so
    the JSON seen by callers is the one the index has always produced.
    Thread-safety: a record belongs to one thread; the functions keep no
    state.
*/
#ifndef BF_CACHE_ENTRY_H_INCLUDED
#define BF_CACHE_ENTRY_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

typedef enum {
    BF_CACHE_SUCCEEDED = 0,     /* "succeeded": a bitstream */
    BF_CACHE_FAILED    = 1,     /* "failed": a design failure (only those are cached) */
} bf_cache_outcome_t;

/*  Every string is owned by the record (heap, or NULL when absent); the
    manifest is a reference the record holds (or NULL: written as {}). */
typedef struct {
    char *key;
    char *action;
    char *toolchain;
    bf_cache_outcome_t outcome;
    char *stage;
    char *error;
    char *bitstream;            /* object digests */
    char *report;
    char *log;
    json_t *manifest;
    int64_t created_at;         /* ms since the epoch; 0 before it is stored */
    int64_t accessed_at;        /* ms since the epoch */
    int64_t hits;
    int64_t build_ms;           /* the build's duration, ms (dispatch to result); 0 unknown */
} bf_cache_entry_t;

/*  The entry's objects, in the order RESULT carries their blobs
    (docs/protocol.md §6.2): "bitstream", "report", "log". */
#define BF_CACHE_ENTRY_OBJECTS 3
extern const char *const bf_cache_entry_object_names[BF_CACHE_ENTRY_OBJECTS];

/*  The digest field of object i (0..2, as above) of e: a pointer into the
    record, so *bf_cache_entry_object (e, i) may be read or replaced. */
char **bf_cache_entry_object (bf_cache_entry_t *e, int i);

/*  Git's lifecycle for a struct embedded by value: init zeroes it; release
    frees its contents and leaves it initialised (so it is idempotent). */
void bf_cache_entry_init (bf_cache_entry_t *e);
void bf_cache_entry_release (bf_cache_entry_t *e);

/*  "succeeded" or "failed"; and back: BF_OK or BF_EINVAL (anything else). */
const char *bf_cache_outcome_name (bf_cache_outcome_t outcome);
int bf_cache_outcome_parse (bf_cache_outcome_t *out, const char *name);

/*  Decodes a JSON object into *out (initialised here; release it, also on
    failure).  "action", "toolchain" and "outcome" are required strings,
    "outcome" one of the two names; optional fields of the wrong type are
    treated as absent, as the index always did.  "key", "created_at",
    "accessed_at", "hits" and "build_ms" are read when present, so that decoding what
    bf_cache_entry_to_json wrote gives the same record.  The manifest is
    referenced, not copied.  Returns BF_OK or BF_EINVAL with a detail
    naming the field. */
int bf_cache_entry_from_json (bf_cache_entry_t *out, json_t *json);

/*  Encodes e as a new JSON object (caller decrefs) with the fields above:
    absent strings are left out, times and hits always written, and the
    manifest last (a new reference, or {} when NULL). */
json_t *bf_cache_entry_to_json (const bf_cache_entry_t *e);

#endif
