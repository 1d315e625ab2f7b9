-- bitfarm broker job database, version 7: tenants.  Applied by bf_db_open
-- in one transaction; PRAGMA user_version becomes 7.
-- A reservation is held by the key that made it (docs/security.md,
-- "Tenants"): its token works only together with that key.  `--by` stays
-- in reserved_by, a label for people.  NULL on a plain broker, and for
-- reservations made before version 7 (those work for plain peers only,
-- and expire as usual).
ALTER TABLE boards ADD COLUMN reserved_key      TEXT;   -- Z85 public key of the holder
ALTER TABLE boards ADD COLUMN reserved_key_name TEXT;   -- the key's name, for people

-- JOBS and prefixes of a non-admin client look only at its own jobs.
CREATE INDEX jobs_owner ON jobs (owner, seq) WHERE owner IS NOT NULL;
