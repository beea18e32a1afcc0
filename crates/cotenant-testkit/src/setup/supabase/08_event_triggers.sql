-- Hosted Supabase's event triggers: owned by the bootstrap superuser, they fire on DDL by anyone,
-- the admin and every project's migrator included, and run with that role's rights. PostgREST's
-- pair tells PostgREST to reload its schema cache; the extension-access one hands the API roles
-- pg_graphql's schema when someone creates the extension (never here: pg_graphql is not installed,
-- but the trigger still runs on every CREATE EXTENSION a project issues).
-- Learned from supabase/postgres migrations/db: migrations/20260923021047_update_pgrst_watch_triggers.sql
-- (which commands and objects count, which schemas are left out),
-- 20250402065937_alter_internal_event_triggers_owner_to_supabase_admin.sql (owner),
-- 20220317095840_pg_graphql.sql and 20260820000001_rescope_pg_graphql_access_trigger.sql
-- (issue_pg_graphql_access); and PostgREST's documentation on schema reloading.

CREATE FUNCTION extensions.pgrst_ddl_watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    command record;
BEGIN
    FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF (command.command_tag IN (
                'CREATE SCHEMA', 'ALTER SCHEMA',
                'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE',
                'CREATE VIEW', 'ALTER VIEW',
                'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW',
                'CREATE FUNCTION', 'ALTER FUNCTION',
                'CREATE TYPE', 'ALTER TYPE',
                'CREATE RULE', 'COMMENT')
            -- Temporary objects and Supabase's own schemas never reach the API.
            AND coalesce(command.schema_name, '') NOT IN ('pg_temp', 'auth', 'realtime', '_realtime', 'storage'))
           OR (command.command_tag = 'CREATE TRIGGER'
               AND command.object_identity NOT LIKE '% pg\_temp.%')
        THEN
            NOTIFY pgrst, 'reload schema';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION extensions.pgrst_drop_watch() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    dropped record;
BEGIN
    FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF (dropped.object_type IN (
                'schema', 'table', 'foreign table', 'view', 'materialized view',
                'function', 'type', 'rule')
            AND NOT dropped.is_temporary
            AND coalesce(dropped.schema_name, '') NOT IN ('auth', 'realtime', '_realtime', 'storage'))
           OR (dropped.object_type = 'trigger'
               AND dropped.object_identity NOT LIKE '% pg\_temp.%')
        THEN
            NOTIFY pgrst, 'reload schema';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION extensions.grant_pg_graphql_access() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_event_trigger_ddl_commands() AS command
        JOIN pg_extension AS extension ON command.objid = extension.oid
        WHERE extension.extname = 'pg_graphql'
    ) THEN
        GRANT USAGE ON SCHEMA graphql TO postgres, anon, authenticated, service_role;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql TO postgres, anon, authenticated, service_role;
    END IF;
END
$$;

CREATE EVENT TRIGGER pgrst_ddl_watch ON ddl_command_end
    EXECUTE FUNCTION extensions.pgrst_ddl_watch();
CREATE EVENT TRIGGER pgrst_drop_watch ON sql_drop
    EXECUTE FUNCTION extensions.pgrst_drop_watch();
CREATE EVENT TRIGGER issue_pg_graphql_access ON ddl_command_end
    WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION extensions.grant_pg_graphql_access();

-- Created after 02_extensions.sql granted the schema's routines: the dashboard reaches these too.
GRANT ALL ON ALL ROUTINES IN SCHEMA extensions TO postgres, dashboard_user;
