-- Hosted Supabase's pooler login: the pooler connects as `pgbouncer` and looks up the password of
-- whoever a client claims to be through a SECURITY DEFINER function of the bootstrap superuser
-- (only a superuser reads pg_authid), callable by `pgbouncer` alone.
-- Learned from supabase/postgres migrations/db: migrations/20251121132723_correct_search_path_pgbouncer.sql
-- (the function as hosted has it now: empty search_path, valid-until honoured, EXECUTE revoked from
-- PUBLIC and granted to pgbouncer) and the schema dump the repository keeps (schema owned by pgbouncer).

CREATE SCHEMA pgbouncer AUTHORIZATION pgbouncer;

CREATE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE (username text, password text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    RAISE DEBUG 'PgBouncer auth request: %', p_usename;
    RETURN QUERY
    SELECT a.rolname::text,
           CASE WHEN a.rolvaliduntil < now() THEN NULL ELSE a.rolpassword::text END
    FROM pg_catalog.pg_authid AS a
    WHERE a.rolname = p_usename AND a.rolcanlogin;
END
$$;

REVOKE EXECUTE ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer;
