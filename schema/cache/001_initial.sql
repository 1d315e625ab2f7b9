-- bitfarm cache index, version 1.  Objects live in objects/ab/abcdef..
-- (content-addressed by SHA-256); this index lists them and the entries.
CREATE TABLE objects (
    digest      TEXT PRIMARY KEY,            -- sha256, 64 lowercase hex
    size        INTEGER NOT NULL,            -- bytes
    created_at  INTEGER NOT NULL,            -- ms since the epoch
    accessed_at INTEGER NOT NULL
);
CREATE TABLE entries (
    key         TEXT PRIMARY KEY,            -- cache key (bf_key.h)
    action      TEXT NOT NULL,               -- digest of the manifest alone
    toolchain   TEXT NOT NULL,
    outcome     TEXT NOT NULL,               -- succeeded | failed (design failures only)
    stage       TEXT,                        -- the stage that failed
    error       TEXT,                        -- the tool's first error line
    bitstream   TEXT,                        -- object digests
    report      TEXT,
    log         TEXT,
    manifest    TEXT NOT NULL,               -- normalized manifest, JSON
    created_at  INTEGER NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0,
    accessed_at INTEGER NOT NULL
);
CREATE INDEX entries_action ON entries (action);
