-- What a self-hosted server needs for PgBouncer's `auth_query`, done the way PgBouncer's own docs
-- describe it: a login for the pooler and a SECURITY DEFINER function of the superuser (only a
-- superuser reads pg_shadow) that returns a login's password hash, callable by the pooler's login
-- alone. Same name and shape as hosted Supabase's `pgbouncer.get_auth` (setup/supabase/06_pgbouncer.sql),
-- so one PgBouncer configuration serves both flavours. Idempotent: run when a pooler starts in front
-- of a plain server, as the bootstrap superuser; the login's password is set after it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgbouncer') THEN
        CREATE ROLE pgbouncer LOGIN;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION pgbouncer;

CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE (username text, password text)
    LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
    SELECT s.usename::text, s.passwd::text
    FROM pg_catalog.pg_shadow AS s
    WHERE s.usename = p_usename AND (s.valuntil IS NULL OR s.valuntil >= now())
$$;

REVOKE EXECUTE ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer;
