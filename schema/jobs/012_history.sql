-- bitfarm broker job database, version 12 (after 011_http_tokens): a long
-- job history (issue 20).  Applied by bf_db_open in one transaction.
-- No data changes: indexes that keep every look-up the broker makes on its
-- own (retention, program jobs waiting for builds, a cache entry's
-- sources) from scanning the finished jobs it keeps.

-- Retention (--keep-jobs, bf_jobs_retain.c): finished jobs, oldest first.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state NOT IN ('queued', 'running');
-- Program jobs still waiting for their build (bf_jobs_after_done, after
-- every job's end): the waiting ones only, not every program job kept.
CREATE INDEX jobs_after_waiting ON jobs (after_job)
    WHERE state = 'queued' AND after_job IS NOT NULL AND bitstream IS NULL;
-- The jobs built from git that made a cache entry (`bitfarm cache show`).
CREATE INDEX jobs_key_sources ON jobs (cache_key, seq) WHERE provenance IS NOT NULL;
