-- bitfarm broker job database, version 10 (after 009_provenance): what a
-- cache hit saved, for `bitfarm cache stats` (docs/protocol.md, CACHESTATS).
-- Applied by bf_db_open in one transaction.
-- saved_ms: on a job that was a cache hit, the build time of the entry it
-- hit (the entry's build_ms: how long the build that stored it took); 0 on
-- every other job and on hits from before this version.
ALTER TABLE jobs ADD COLUMN saved_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_submitted ON jobs (submitted_at) WHERE kind = 'build';
