-- The history of one project's migrations, kept in the project's own schema.
--
-- Run by the runner on the project's migrator login, which acts as `<p>_owner`: the table belongs
-- to the owner like everything else in the schema. Placeholders (quoted identifiers): {schema},
-- {app}. Runs under the project's migrate lock, so concurrent first runs do not race.
CREATE TABLE IF NOT EXISTS {schema}.cotenant_migrations (
    version       integer PRIMARY KEY CHECK (version > 0),
    -- The file name, e.g. 001_create_users.sql.
    name          text NOT NULL,
    -- SHA-256 of the file (line endings normalized), as 64 hex digits.
    checksum      text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    -- False for a `-- cotenant: no-transaction` file.
    transactional boolean NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   bigint NOT NULL CHECK (duration_ms >= 0),
    -- The login that ran it, or the label the runner was given (e.g. a CI job).
    applied_by    text NOT NULL DEFAULT session_user,
    -- Set by `cotenant repair` when the checksum was re-baselined on purpose.
    repaired_at   timestamptz
);
-- The owner's default privileges give `<p>_app` the data of every new table: not this one.
-- Services have no business reading or editing which migrations ran.
REVOKE ALL ON {schema}.cotenant_migrations FROM {app};
-- Defense in depth: with row-level security on and no policy, a grant restored by hand still
-- shows `<p>_app` no row. The owner (the runner) is not subject to it.
ALTER TABLE {schema}.cotenant_migrations ENABLE ROW LEVEL SECURITY;
