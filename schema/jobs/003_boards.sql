-- bitfarm broker job database, version 3: boards, program jobs and
-- reservations.  Applied by bf_db_open in one transaction; PRAGMA
-- user_version becomes 3.
ALTER TABLE jobs ADD COLUMN kind           TEXT NOT NULL DEFAULT 'build'; -- build | program
ALTER TABLE jobs ADD COLUMN board          TEXT;     -- program: the board to load
ALTER TABLE jobs ADD COLUMN after_job      TEXT;     -- program: the build whose bitstream it waits for
ALTER TABLE jobs ADD COLUMN token_hash     TEXT;     -- program: sha256 of the reservation token it carries
ALTER TABLE jobs ADD COLUMN bitstream_size INTEGER;  -- program: bytes of the bitstream to load

CREATE INDEX jobs_board ON jobs (board, state) WHERE board IS NOT NULL;
CREATE INDEX jobs_after ON jobs (after_job) WHERE after_job IS NOT NULL;

-- Every board a worker has declared.  Whether it is busy is not stored:
-- it is "a program job for it is running", read from jobs, so it cannot
-- drift from the job table.
CREATE TABLE boards (
    name           TEXT PRIMARY KEY,        -- 1..32 of a-z 0-9 _ . -
    worker         TEXT NOT NULL,           -- the worker that declared it last
    family         TEXT NOT NULL,           -- ice40
    device         TEXT NOT NULL,           -- hx1k, up5k, ...
    package        TEXT NOT NULL,
    cable          TEXT NOT NULL,           -- how openFPGALoader reaches it, for people
    virtual        INTEGER NOT NULL DEFAULT 0,
    health         TEXT NOT NULL DEFAULT 'ok',  -- ok | error | maintenance
    health_reason  TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,  -- consecutive infrastructure failures
    reserved_by    TEXT,                    -- holder of the reservation, for people
    token_hash     TEXT,                    -- sha256 of the holder's token
    reserved_until INTEGER,                 -- ms since the epoch: the lease ends
    lease_ms       INTEGER,                 -- the lease's length, for renewals
    last_job       TEXT,                    -- the last program job that ran on it
    updated_at     INTEGER NOT NULL         -- ms since the epoch
);
