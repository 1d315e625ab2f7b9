/*  bf_jobs_prov - the job table's reads by provenance (bf_jobs.h): the
    builds grouped by repository, for stats per repository. */
#include "bf_jobs_int.h"
#include "../common/bf_db.h"

json_t *
bf_jobs_repo_stats (bf_jobs_t *self, int64_t since, const char *owner)
{
    sqlite3_stmt *st = bf_db_prepare (self->db,
        "SELECT COALESCE (j.git_remote, CASE WHEN j.git_commit IS NOT NULL "
        "THEN '(local repository)' END) AS repo, COUNT (*), SUM (j.cache_hit), "
        "SUM (CASE WHEN j.cache_hit THEN IFNULL ((SELECT b.finished_at - b.started_at "
        "  FROM jobs b WHERE b.cache_key = j.cache_key AND b.cache_hit = 0 "
        "  AND b.state = 'succeeded' AND b.started_at > 0 ORDER BY b.seq DESC LIMIT 1), 0) "
        "ELSE 0 END) "
        "FROM jobs j WHERE j.kind = 'build' AND j.submitted_at >= ?1 "
        "AND (?2 IS NULL OR j.owner = ?2) GROUP BY repo ORDER BY 2 DESC, repo");
    sqlite3_bind_int64 (st, 1, since);
    bf_db_bind_str (st, 2, owner);
    json_t *arr = json_array ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        const unsigned char *repo = sqlite3_column_text (st, 0);
        json_array_append_new (arr, json_pack ("{s:o, s:I, s:I, s:I}", "repository",
                                               repo ? json_string ((const char *) repo)
                                                    : json_null (),
                                               "jobs", (json_int_t) sqlite3_column_int64 (st, 1),
                                               "hits", (json_int_t) sqlite3_column_int64 (st, 2),
                                               "saved_ms",
                                               (json_int_t) sqlite3_column_int64 (st, 3)));
    }
    sqlite3_finalize (st);
    return arr;
}
