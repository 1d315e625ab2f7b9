-- bitfarm cache index, version 3: the build time an entry saves.
-- build_ms: how long the build that stored the entry took (ms, from its
-- dispatch to its result; 0 when unknown: entries from before version 3,
-- and entries stored without one).  stats.saved_ms: per toolchain, the sum
-- of the build times of the entries hit (each hit adds its entry's
-- build_ms), written with the hit counters (bf_cache_flush).
ALTER TABLE entries ADD COLUMN build_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stats ADD COLUMN saved_ms INTEGER NOT NULL DEFAULT 0;
