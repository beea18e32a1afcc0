-- Organizations and who belongs to them.
--
-- Every table of this template is scoped to an organization and has row-level security enabled:
-- a service connects as the project's login (sessions run as `<p>_app`) and sets the caller's
-- claims per transaction, the way hosted Supabase's PostgREST does:
--
--   SELECT set_config('request.jwt.claims', '{"sub": "…", "org_id": "…"}', true);
--
-- Policies compare each row's org_id with the claim. Without the claim, `<p>_app` sees no row.
-- Migrations run as `<p>_owner`, who owns the tables and so is not subject to RLS (backfills work).
-- Names are unqualified: the migrator's search_path is the project's schema.

-- The organization of the current request, NULL without one. Not SECURITY DEFINER, and plain SQL so
-- that the planner inlines it into policies; policies call it as `(SELECT current_org_id())` so it
-- is evaluated once per statement, not once per row.
CREATE FUNCTION current_org_id() RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'org_id')::uuid
$$;

-- The user of the current request (the JWT's `sub`), NULL without one.
CREATE FUNCTION current_user_id() RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;

-- Keeps updated_at current. search_path is pinned to the one it was created with (the project's
-- schema), so the function behaves the same whoever fires it.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{2,63}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_own ON organizations
    USING (id = (SELECT current_org_id()))
    WITH CHECK (id = (SELECT current_org_id()));

-- Tables below have the primary key (org_id, id): one index serves the policies' org_id filter
-- and the composite foreign keys that keep references inside one organization.
CREATE TABLE members (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, user_id)
);
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_org ON members
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE invitations (
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    email       text NOT NULL CHECK (email LIKE '%_@_%'),
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    -- Only a hash: the token itself is sent to the invitee and never stored.
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  uuid NOT NULL,
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '7 days',
    accepted_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, invited_by) REFERENCES members (org_id, id) ON DELETE CASCADE
);
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY invitations_org ON invitations
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));
