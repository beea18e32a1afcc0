-- Where a move between two instances stands: one row per project being moved, on the SOURCE
-- instance, in a schema the admin owns. Run by the admin (owner of the database, so it may
-- create schemas). Nobody else needs it: PUBLIC loses everything, so no project's role can read
-- or change which step a move is at (tests/transfer.rs tries, expecting 42501).
CREATE SCHEMA IF NOT EXISTS cotenant_transfer;
REVOKE ALL ON SCHEMA cotenant_transfer FROM PUBLIC;
CREATE TABLE IF NOT EXISTS cotenant_transfer.moves (
    project     text PRIMARY KEY,
    -- The target instance: its name (for people) and where the logins' secrets will point.
    target      text NOT NULL,
    target_host text NOT NULL,
    target_port integer NOT NULL CHECK (target_port BETWEEN 1 AND 65535),
    -- `logical-replication` or `fence-then-copy`, chosen by the plan and kept for resumes.
    mechanism   text NOT NULL,
    -- The last step completed (see src/transfer/step.rs).
    step        text NOT NULL,
    -- Set by `--abort`: the move is being undone, and only `--abort` may continue.
    aborting    boolean NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Where the copies are compared (src/transfer/options.rs) and, for checksums after the flip, how
-- that comparison ended: `pending`, `running` (snapshots held), `matched`, `differ` (with
-- `checksum_differences`: per table, both values), `incomplete` (the run holding the snapshots
-- ended after the target started serving) or `not-compared` (counts only). `--finish` drops the
-- source's copy only after `matched` or `not-compared`, unless told `--unverified`. Added with
-- IF NOT EXISTS: a state table of an earlier version gains them (its moves verified in the fence).
ALTER TABLE cotenant_transfer.moves
    ADD COLUMN IF NOT EXISTS verification text NOT NULL DEFAULT 'checksums-in-fence',
    ADD COLUMN IF NOT EXISTS checksums text NOT NULL DEFAULT 'pending',
    ADD COLUMN IF NOT EXISTS checksum_differences text[] NOT NULL DEFAULT '{}';
REVOKE ALL ON TABLE cotenant_transfer.moves FROM PUBLIC;
