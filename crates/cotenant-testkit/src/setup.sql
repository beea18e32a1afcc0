-- What a fresh hosted Supabase instance looks like to cotenant: its roles and the privileges they
-- carry in `public`. Runs once per server as the bootstrap superuser `supabase_admin` (for local
-- servers: once per cached template, which every server then copies). Passwords are not set here:
-- each server sets its own random ones after it starts.

-- The admin cotenant provisions with. Not a superuser: CREATEROLE and owner of the database, with
-- the other attributes hosted Supabase gives its `postgres` role.
CREATE ROLE postgres LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS;
ALTER DATABASE postgres OWNER TO postgres;

-- PostgREST's roles: the API switches from `authenticator` to one of the three per request.
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;

-- Hosted instances expose `public` through the API: whatever the admin creates there is granted to
-- the API roles. cotenant moves projects out of `public` and must revoke what these grants left.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
