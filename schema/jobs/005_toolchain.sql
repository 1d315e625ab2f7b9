-- bitfarm broker job database, version 5: toolchain pins.  Applied by
-- bf_db_open in one transaction; PRAGMA user_version becomes 5.
-- A build submitted with `submit --toolchain ID` runs only on workers whose
-- toolchain identity is that id (the full 64 hex characters the prefix
-- resolved to), and coalesces only with builds pinned to the same one.
-- NULL: any capable worker (the broker chooses; docs/protocol.md).
ALTER TABLE jobs ADD COLUMN toolchain TEXT;
