-- Platform access's catalog read, step 1: what is found by name, and what follows from it
-- without reading a table. $1 the project's schema, $2 its owner role, $3 its app role. One JSON
-- document.
--
-- The read runs twice in every provisioning with platform access (to plan, and again before
-- commit to prove nothing is left to do), after schema changes that invalidate cached plans: so
-- it is built, like provisioning's (sql/provision/state/), from small statements that plan in a
-- fraction of a millisecond, where one wide query cost 7-11 ms at 100 projects (see grants.sql
-- for the part that grew with the number of projects). Names are
-- resolved by to_regrole / to_regnamespace (a cache lookup, no plan; pg_roles is a view joining
-- pg_authid and pg_db_role_setting). The other statements in this folder read what hangs off
-- the objects found, by OID, pipelined in one round trip, and only when those exist.
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', current_user::text,
    'owner_oid', r.owner::int8,
    'app_oid', r.app::int8,
    'signup_oid', r.signup::int8,
    'schema_oid', r.schema::int8,
    'platform_oid', r.platform::int8,
    'auth_oid', r.auth::int8,
    'extensions_oid', r.extensions::int8,
    'signup_type_oid', r.signup_type::int8,
    'auth_users_oid', r.auth_users::int8,
    'publication_oid', p.oid::int8,
    'publication_owner', pg_get_userbyid(p.pubowner)::text,
    'auth_admin_exists', r.auth_admin IS NOT NULL,
    'admin_can_set_auth_admin', CASE
        WHEN r.auth_admin IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(current_user, r.auth_admin, 'SET')
        ELSE pg_has_role(current_user, r.auth_admin, 'MEMBER') END,
    'auth_schema', r.auth IS NOT NULL,
    'auth_users', r.auth_users IS NOT NULL,
    'extensions_schema', r.extensions IS NOT NULL,
    'owner_exists', r.owner IS NOT NULL,
    'admin_can_grant_extensions', r.extensions IS NOT NULL
        AND has_schema_privilege(current_user, r.extensions, 'USAGE WITH GRANT OPTION'),
    'admin_inherits_owner', r.owner IS NOT NULL AND pg_has_role(current_user, r.owner, 'USAGE'),
    'signup_role_exists', r.signup IS NOT NULL,
    'admin_can_set_signup', CASE
        WHEN r.signup IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(current_user, r.signup, 'SET')
        ELSE pg_has_role(current_user, r.signup, 'MEMBER') END,
    'platform_schema', r.platform IS NOT NULL,
    'signup_type', r.signup_type IS NOT NULL,
    'signup_can_create', r.signup IS NOT NULL AND r.platform IS NOT NULL
        AND has_schema_privilege(r.signup, r.platform, 'CREATE')
)::text
FROM (SELECT to_regrole(quote_ident($2)) AS owner,
             to_regrole(quote_ident($3)) AS app,
             to_regrole('cotenant_signup') AS signup,
             to_regrole('supabase_auth_admin') AS auth_admin,
             to_regnamespace(quote_ident($1)) AS schema,
             to_regnamespace('cotenant_platform') AS platform,
             to_regnamespace('auth') AS auth,
             to_regnamespace('extensions') AS extensions,
             (SELECT t.oid FROM pg_type t
              WHERE t.typname = 'signup_user'
                AND t.typnamespace = to_regnamespace('cotenant_platform')) AS signup_type,
             to_regclass('auth.users') AS auth_users) r
LEFT JOIN pg_publication p ON p.pubname = 'supabase_realtime'
