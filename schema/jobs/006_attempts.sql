-- bitfarm broker job database, version 6: who may report a result, and
-- which toolchain clients' keys are computed for.  Applied by bf_db_open
-- in one transaction; PRAGMA user_version becomes 6.  See
-- docs/protocol.md 6.1 and 6.2, docs/security.md "What a worker key can do".

-- Every dispatch of a job: the attempt number, the worker it went to (name
-- and CURVE key), the toolchain it was dispatched for and the cache key
-- the broker computed for that toolchain.  A RESULT counts only when it
-- names an attempt dispatched to the worker that sends it, and is stored
-- under this row's cache_key, never under a key the worker sends.
CREATE TABLE attempts (
    job           TEXT NOT NULL REFERENCES jobs (id),
    attempt       INTEGER NOT NULL,         -- 1, 2, ...
    worker        TEXT NOT NULL,            -- worker name
    worker_key    TEXT NOT NULL DEFAULT '', -- Z85 public key; '' on a plain broker
    toolchain     TEXT,                     -- identity digest; NULL for program jobs
    cache_key     TEXT,                     -- the broker's key; NULL for program jobs
    dispatched_at INTEGER NOT NULL,         -- ms since the epoch
    PRIMARY KEY (job, attempt)
);

-- A worker name belongs to the first CURVE key that registered it, across
-- restarts, until an admin releases it (`bitfarm workers --release NAME`).
CREATE TABLE worker_names (
    name       TEXT PRIMARY KEY,
    key        TEXT NOT NULL,               -- Z85 public key; '' on a plain broker
    first_seen INTEGER NOT NULL,            -- ms since the epoch
    last_seen  INTEGER NOT NULL
);

-- Farm-wide settings chosen by an admin (`bitfarm toolchains --default ID`)
-- or by the broker's documented rules.  Names: 'default_toolchain' (the
-- admin's choice), 'auto_toolchain' (the last identity most connected
-- workers reported).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE toolchains ADD COLUMN first_seen INTEGER;   -- ms since the epoch
UPDATE toolchains SET first_seen = last_seen;
