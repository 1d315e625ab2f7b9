-- bitfarm broker job database, version 1.
-- Applied by bf_db_open in a transaction; PRAGMA user_version is set to 1.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,          -- 32 lowercase hex chars, 128 random bits
    seq           INTEGER NOT NULL UNIQUE,   -- submission order (FIFO within a priority)
    state         TEXT NOT NULL,             -- queued running succeeded failed cancelled timed_out
    stage         TEXT,                      -- synth pnr pack ...
    failure_class TEXT,                      -- design infrastructure timeout cancelled
    priority      INTEGER NOT NULL DEFAULT 0,
    attempt       INTEGER NOT NULL DEFAULT 0,
    worker        TEXT,                      -- worker name of the current/last attempt
    action        TEXT NOT NULL,             -- digest of the manifest alone
    cache_key     TEXT,                      -- known once a toolchain is chosen
    cache_hit     INTEGER NOT NULL DEFAULT 0,
    manifest      TEXT NOT NULL,             -- normalized manifest, JSON
    bitstream     TEXT,                      -- sha256 of the bitstream object
    report        TEXT,                      -- sha256 of nextpnr's JSON report object
    log           TEXT,                      -- sha256 of the tools' log object
    error         TEXT,                      -- the tool's first error line
    submitted_at  INTEGER NOT NULL,          -- ms since the epoch
    started_at    INTEGER,
    finished_at   INTEGER
);
CREATE INDEX jobs_queue ON jobs (state, priority DESC, seq);

CREATE TABLE toolchains (
    id         TEXT PRIMARY KEY,             -- toolchain identity digest
    family     TEXT NOT NULL,                -- ice40
    versions   TEXT NOT NULL,                -- tool version strings, JSON, for people
    last_seen  INTEGER NOT NULL              -- ms since the epoch
);
