-- The Data API's catalog read, step 1: what is found by name. $1 the project's schema, $2 its
-- owner role, $3 the names of its API roles (`<p>_anon`, `<p>_authenticated`, `<p>_service`).
-- One JSON document.
--
-- Like provisioning's reads (sql/provision/state/), names are resolved by to_regrole /
-- to_regnamespace (cache lookups, no join through pg_roles), and what hangs off the API roles is
-- read by roles.sql only when one exists: a project without the Data API costs this statement.
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'admin_bypassrls', (SELECT r.rolbypassrls FROM pg_roles r WHERE r.rolname = session_user),
    'authenticator_oid', to_regrole('authenticator')::int8,
    'realtime_oid', to_regrole('supabase_realtime_admin')::int8,
    'owner_oid', to_regrole(quote_ident($2))::int8,
    'schema_oid', to_regnamespace(quote_ident($1))::int8,
    'auth_oid', to_regnamespace('auth')::int8,
    'extensions_oid', to_regnamespace('extensions')::int8,
    'storage_oid', to_regnamespace('storage')::int8,
    'storage_objects_oid', to_regclass('storage.objects')::int8,
    'storage_buckets_oid', to_regclass('storage.buckets')::int8,
    'admin_can_set_storage_admin', CASE
        WHEN to_regrole('supabase_storage_admin') IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(session_user, 'supabase_storage_admin', 'SET')
        ELSE pg_has_role(session_user, 'supabase_storage_admin', 'MEMBER') END,
    'admin_can_set_auth_admin', CASE
        WHEN to_regrole('supabase_auth_admin') IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(session_user, 'supabase_auth_admin', 'SET')
        ELSE pg_has_role(session_user, 'supabase_auth_admin', 'MEMBER') END,
    'admin_can_grant_extensions', to_regnamespace('extensions') IS NOT NULL
        AND has_schema_privilege(session_user, 'extensions', 'USAGE WITH GRANT OPTION'),
    'role_oids', (SELECT coalesce(jsonb_agg(to_regrole(quote_ident(n))::int8), '[]')
                  FROM unnest($3::text[]) n WHERE to_regrole(quote_ident(n)) IS NOT NULL)
)::text
