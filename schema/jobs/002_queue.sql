-- bitfarm broker job database, version 2: retries, time limits,
-- coalescing (single-flight), worker tags and a per-job event history.
-- Applied by bf_db_open in one transaction; PRAGMA user_version becomes 2.
ALTER TABLE jobs ADD COLUMN timeout_ms   INTEGER NOT NULL DEFAULT 3600000; -- wall-clock limit of one attempt
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;       -- infrastructure retries end here
ALTER TABLE jobs ADD COLUMN not_before   INTEGER NOT NULL DEFAULT 0;       -- ms since the epoch; retry back-off
ALTER TABLE jobs ADD COLUMN deadline_at  INTEGER;                          -- ms; the running attempt's time limit
ALTER TABLE jobs ADD COLUMN follows      TEXT;                             -- id of the job this one is coalesced onto
ALTER TABLE jobs ADD COLUMN tags         TEXT NOT NULL DEFAULT '[]';       -- JSON array: worker tags required

CREATE INDEX jobs_follows ON jobs (follows) WHERE follows IS NOT NULL;
CREATE INDEX jobs_action ON jobs (action) WHERE state IN ('queued', 'running');

-- Every state change of a job, written in the same transaction as the change.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY,            -- order of events
    job      TEXT NOT NULL REFERENCES jobs (id),
    at       INTEGER NOT NULL,               -- ms since the epoch
    event    TEXT NOT NULL,                  -- queued coalesced running stage retry recovered
                                             -- promoted succeeded failed cancelled timed_out
    attempt  INTEGER NOT NULL,
    worker   TEXT,
    reason   TEXT
);
CREATE INDEX events_job ON events (job, id);
