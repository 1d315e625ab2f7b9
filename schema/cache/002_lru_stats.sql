-- bitfarm cache index, version 2: LRU eviction, pins, statistics.
-- The running totals in `usage` are kept by triggers, so the size of the
-- cache is one row away however many objects it holds.
CREATE INDEX objects_lru ON objects (accessed_at);
CREATE INDEX entries_bitstream ON entries (bitstream);
CREATE INDEX entries_report ON entries (report);
CREATE INDEX entries_log ON entries (log);
CREATE INDEX entries_toolchain ON entries (toolchain);
CREATE INDEX entries_lru ON entries (accessed_at);

-- A pin keeps an object (by digest) or an entry (by cache key) and its
-- objects from eviction while its owner, a queued or running job, lives.
CREATE TABLE pins (
    owner TEXT NOT NULL,                     -- job id
    ref   TEXT NOT NULL,                     -- object digest or cache key
    PRIMARY KEY (owner, ref)
) WITHOUT ROWID;
CREATE INDEX pins_ref ON pins (ref);

-- Counters per toolchain ('' for events with no toolchain, e.g. a corrupt
-- input object).  Written in batches (bf_cache_flush).
CREATE TABLE stats (
    toolchain   TEXT PRIMARY KEY,
    hits        INTEGER NOT NULL DEFAULT 0,
    misses      INTEGER NOT NULL DEFAULT 0,
    evictions   INTEGER NOT NULL DEFAULT 0,
    corruptions INTEGER NOT NULL DEFAULT 0
);

-- Toolchains whose entries were disowned (bitfarm cache invalidate): their
-- entries are deleted and no new entry of theirs is accepted.
CREATE TABLE disowned (
    toolchain TEXT PRIMARY KEY,
    at        INTEGER NOT NULL               -- ms since the epoch
);

-- Settings recorded by the owner of the cache (max_size, in bytes).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE usage (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    objects INTEGER NOT NULL,
    bytes   INTEGER NOT NULL
);
INSERT INTO usage SELECT 1, count(*), coalesce(sum(size), 0) FROM objects;
CREATE TRIGGER objects_usage_add AFTER INSERT ON objects BEGIN
    UPDATE usage SET objects = objects + 1, bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER objects_usage_del AFTER DELETE ON objects BEGIN
    UPDATE usage SET objects = objects - 1, bytes = bytes - OLD.size WHERE id = 1;
END;
