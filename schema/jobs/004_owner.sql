-- bitfarm broker job database, version 4: job ownership.  Applied by
-- bf_db_open in one transaction; PRAGMA user_version becomes 4.
-- With CURVE (bitfarm-broker --keys), a job belongs to the key that
-- submitted it: only that key or an admin key may cancel it or read its
-- log.  NULL on a plain broker, and for jobs from before version 4.
ALTER TABLE jobs ADD COLUMN owner      TEXT;     -- Z85 public key (40 characters)
ALTER TABLE jobs ADD COLUMN owner_name TEXT;     -- the key's name, for people
