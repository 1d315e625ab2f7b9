-- bitfarm broker job database: fair dispatch.  Applied by bf_db_open in
-- one transaction; PRAGMA user_version becomes the number of this file
-- in schema/jobs.  Dispatch takes, among owners with the same turn, the
-- one served least recently (docs/protocol.md 6.3): the latest start of
-- an owner's builds is read through this index.  No data changes.
CREATE INDEX jobs_owner_started ON jobs (owner, started_at) WHERE kind = 'build';
