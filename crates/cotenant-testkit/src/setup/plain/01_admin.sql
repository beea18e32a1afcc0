-- A self-hosted PostgreSQL instance as cotenant expects it: initdb's bootstrap superuser (named
-- `bootstrap` here, so nothing in a test can mistake it for Supabase's) and an admin `postgres` that
-- is NOT a superuser: CREATEROLE and owner of the database, nothing else. No API roles, no platform
-- schemas, no default privileges: PUBLIC keeps PostgreSQL's own defaults.
-- Runs once per template as the bootstrap superuser; passwords are set per server after it starts.

CREATE ROLE postgres LOGIN CREATEROLE;
ALTER DATABASE postgres OWNER TO postgres;
