-- bitfarm broker job database, version 11 (after 010_stats): bearer tokens
-- of the HTTP API (docs/http.md, bf_tokens.h).  Applied by bf_db_open in
-- one transaction.
-- Only a token's SHA-256 is stored; the token itself is shown once, to the
-- admin that created it.  A token stands for a client key (name, and its
-- Z85 public key on a CURVE broker; '' on a plain broker) with the role
-- 'client' (that key's view: its own jobs) or 'admin' (every job).
CREATE TABLE http_tokens (
    sha256      TEXT PRIMARY KEY,            -- hex SHA-256 of the token
    id          TEXT NOT NULL UNIQUE,        -- its first 12 hex characters: names it
    role        TEXT NOT NULL CHECK (role IN ('client', 'admin')),
    name        TEXT NOT NULL,               -- the key's name (KEYS/*/NAME.key)
    key         TEXT NOT NULL DEFAULT '',    -- the key's Z85 public key; '' plain broker
    created_at  INTEGER NOT NULL,            -- ms since the epoch
    created_by  TEXT NOT NULL                -- the name of the admin key that made it
);
