-- Hosted Supabase's roles: the demoted admin `postgres`, PostgREST's API roles and the logins of
-- Supabase's own services, with the memberships and role settings hosted instances carry.
-- Learned from supabase/postgres migrations/db: init-scripts/00000000000000-initial-schema.sql,
-- 00000000000001-auth-schema.sql, 00000000000002-storage-schema.sql, 00000000000003-post-setup.sql,
-- 00000000000003-realtime-schema.sql, migrations/10000000000000_demote-postgres.sql,
-- 20221028101028_set_authenticator_timeout.sql, 20230529180330_alter_api_roles_for_inherit.sql,
-- 20231130133139_set_lock_timeout_to_authenticator_role.sql and
-- 20250605172253_grant_with_admin_to_postgres_16_and_above.sql; and ../shared/facts.md.
-- Runs first, as the bootstrap superuser `supabase_admin` (initdb --username). Passwords of the
-- logins are not set here: every server sets random ones of its own after it starts.

-- The admin cotenant provisions with: hosted Supabase creates it as a superuser for its init
-- scripts and then demotes it to these attributes.
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
ALTER DATABASE postgres OWNER TO postgres;
ALTER ROLE postgres SET search_path TO "$user", public, extensions;
ALTER ROLE supabase_admin SET search_path TO "$user", public, auth, extensions;

-- PostgREST's roles: it logs in as `authenticator` (NOINHERIT: it holds nothing itself) and
-- `SET ROLE`s to the JWT's role claim. The three have been INHERIT since 2023.
CREATE ROLE anon NOLOGIN INHERIT;
CREATE ROLE authenticated NOLOGIN INHERIT;
CREATE ROLE service_role NOLOGIN INHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE authenticator SET lock_timeout = '8s';

-- The logins of Supabase's services. GoTrue (auth) and Storage own their schemas and create
-- their tables themselves at startup; both may create roles.
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION;
ALTER ROLE supabase_auth_admin SET search_path = auth;
CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION;
ALTER ROLE supabase_storage_admin SET search_path = storage;
CREATE ROLE supabase_realtime_admin LOGIN NOINHERIT CREATEROLE REPLICATION;
ALTER ROLE supabase_realtime_admin SET search_path = public, extensions, realtime;
GRANT anon, authenticated, service_role TO supabase_realtime_admin;
GRANT CREATE ON DATABASE postgres
    TO supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin;

-- The dashboard's SQL editor reads everything; replication feeds read replicas and ETL.
CREATE ROLE supabase_read_only_user LOGIN BYPASSRLS;
GRANT pg_read_all_data TO supabase_read_only_user;
CREATE ROLE supabase_replication_admin LOGIN REPLICATION;
CREATE ROLE dashboard_user NOLOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION;
GRANT ALL ON DATABASE postgres TO dashboard_user;

-- The pooler (Supavisor/PgBouncer) looks passwords up through pgbouncer.get_auth (see
-- 06_pgbouncer.sql).
CREATE ROLE pgbouncer LOGIN;

-- What the demoted admin is a member of, each granted by the bootstrap superuser. On 16+ such a
-- grant has INHERIT TRUE (postgres is INHERIT) and SET TRUE but no ADMIN, so the admin may
-- `SET ROLE supabase_auth_admin` and uses pg_read_all_data's rights without asking; hosted adds
-- ADMIN on the API roles there, so that the admin can hand them on. Also on 16+ only (the role
-- does not exist on 15, where CREATE SUBSCRIPTION needs a superuser): hosted grants the admin
-- pg_create_subscription, with ADMIN, so that it may subscribe (supabase/postgres
-- migrations/db/migrations, 2025: the grant to postgres of pg_create_subscription); `cotenant
-- move` then carries rows by logical replication.
GRANT anon, authenticated, service_role TO postgres;
GRANT supabase_auth_admin, supabase_storage_admin TO postgres;
GRANT pg_read_all_data, pg_signal_backend, pg_monitor TO postgres;
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'GRANT anon, authenticated, service_role TO postgres WITH ADMIN OPTION';
        EXECUTE 'GRANT pg_create_subscription TO postgres WITH ADMIN OPTION';
    END IF;
END
$$;
