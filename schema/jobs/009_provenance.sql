-- bitfarm broker job database: provenance (submit from git).  Applied by
-- bf_db_open in one transaction; PRAGMA user_version becomes the number of
-- this file in schema/jobs.  A job built from a git tree records where it
-- came from (bf_provenance.h): the whole object as JSON, and its commit id
-- for `bitfarm jobs --rev`.  Old jobs have neither (NULL).
ALTER TABLE jobs ADD COLUMN provenance TEXT;
ALTER TABLE jobs ADD COLUMN git_commit TEXT;
CREATE INDEX jobs_git_commit ON jobs (git_commit) WHERE git_commit IS NOT NULL;
-- Grouping by repository (`cache stats` per repository): the remote's
-- URL, credentials stripped, of a job built from git; and the builds a
-- cache hit avoided, found by their key.
ALTER TABLE jobs ADD COLUMN git_remote TEXT;
CREATE INDEX jobs_built_key ON jobs (cache_key) WHERE cache_hit = 0 AND state = 'succeeded';
