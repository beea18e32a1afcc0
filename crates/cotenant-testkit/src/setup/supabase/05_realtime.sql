-- Hosted Supabase's Realtime: the (empty) publication `supabase_realtime` owned by the admin, whose
-- tables Realtime streams to clients (the servers run with wal_level = logical, see settings.rs),
-- and the `realtime` schema where the Realtime service keeps its subscriptions and broadcast
-- messages.
-- Learned from supabase/postgres migrations/db: init-scripts/00000000000000-initial-schema.sql
-- (the publication), 00000000000003-realtime-schema.sql (schema, supabase_realtime_admin, grants),
-- migrations/20250421084701_revoke_admin_roles_from_postgres.sql; and supabase/realtime's
-- migrations (subscription, messages). Realtime's functions (apply_rls, list_changes, ...) are
-- left out: nothing here runs the Realtime service.

CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime OWNER TO postgres;

CREATE SCHEMA realtime;
GRANT USAGE ON SCHEMA realtime TO postgres, anon, authenticated, service_role;
GRANT ALL ON SCHEMA realtime TO supabase_realtime_admin WITH GRANT OPTION;
GRANT USAGE ON SCHEMA auth TO supabase_realtime_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO supabase_realtime_admin;
GRANT CREATE, USAGE ON SCHEMA public TO supabase_realtime_admin;
GRANT USAGE ON SCHEMA extensions TO supabase_realtime_admin;

-- The Realtime service creates its objects itself, logged in as supabase_realtime_admin.
SET ROLE supabase_realtime_admin;

CREATE TYPE realtime.equality_op AS ENUM ('eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in');
CREATE TYPE realtime.user_defined_filter AS (
    column_name text,
    op realtime.equality_op,
    value text
);

-- The role a subscriber's JWT names, resolved when the subscription is stored.
CREATE FUNCTION realtime.to_regrole(role_name text) RETURNS regrole LANGUAGE sql IMMUTABLE AS $$
    SELECT role_name::regrole
$$;

CREATE TABLE realtime.subscription (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id uuid NOT NULL,
    entity regclass NOT NULL,
    filters realtime.user_defined_filter[] NOT NULL DEFAULT '{}',
    claims jsonb NOT NULL,
    claims_role regrole NOT NULL GENERATED ALWAYS AS (realtime.to_regrole(claims ->> 'role')) STORED,
    created_at timestamp NOT NULL DEFAULT timezone('utc', now())
);
CREATE INDEX ix_realtime_subscription_entity ON realtime.subscription (entity);

-- Broadcast and presence messages, partitioned by day by the service; RLS decides who may
-- receive which topic.
CREATE TABLE realtime.messages (
    topic text NOT NULL,
    extension text NOT NULL,
    payload jsonb,
    event text,
    private boolean DEFAULT false,
    updated_at timestamp NOT NULL DEFAULT now(),
    inserted_at timestamp NOT NULL DEFAULT now(),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    PRIMARY KEY (id, inserted_at)
) PARTITION BY RANGE (inserted_at);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;

CREATE TABLE realtime.schema_migrations (
    version bigint NOT NULL PRIMARY KEY,
    inserted_at timestamp(0)
);

GRANT SELECT, INSERT, UPDATE ON realtime.messages TO anon, authenticated, service_role;
GRANT ALL ON realtime.messages TO postgres;
GRANT ALL ON realtime.subscription TO postgres, dashboard_user;

RESET ROLE;
