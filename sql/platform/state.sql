-- The platform state of one project and of the instance's shared Supabase schemas, as one JSON
-- document. $1 the project's schema, $2 its owner role, $3 its app role, $4 the declared signup
-- hook's name (or NULL), $5 the declared realtime tables.
--
-- Only explicit grants to the project's roles are read (aclexplode of each object's ACL): the
-- privileges cotenant manages. What PUBLIC holds is the instance's business, not the project's.
WITH
roles AS (
    SELECT (SELECT oid FROM pg_roles WHERE rolname = $2) AS owner,
           (SELECT oid FROM pg_roles WHERE rolname = $3) AS app,
           (SELECT oid FROM pg_roles WHERE rolname = 'cotenant_signup') AS signup,
           (SELECT oid FROM pg_roles WHERE rolname = 'supabase_auth_admin') AS auth_admin,
           (SELECT oid FROM pg_namespace WHERE nspname = $1) AS schema,
           (SELECT oid FROM pg_namespace WHERE nspname = 'cotenant_platform') AS platform,
           (SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'cotenant_platform' AND t.typname = 'signup_user') AS signup_type
),
-- The objects whose grants platform access converges, with their ACLs.
objects AS (
    SELECT 'schema auth' AS object, n.nspacl AS acl, n.nspowner AS owner
    FROM pg_namespace n WHERE n.nspname = 'auth'
    UNION ALL
    SELECT 'schema extensions', n.nspacl, n.nspowner
    FROM pg_namespace n WHERE n.nspname = 'extensions'
    UNION ALL
    SELECT 'function auth.' || p.proname || '()', p.proacl, p.proowner
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'auth'
    WHERE p.pronargs = 0 AND p.proname IN ('uid', 'role', 'email', 'jwt')
    UNION ALL
    SELECT 'column auth.users (id)', a.attacl, c.relowner
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE a.attrelid = to_regclass('auth.users') AND a.attname = 'id'
    UNION ALL
    SELECT 'schema cotenant_platform', n.nspacl, n.nspowner
    FROM pg_namespace n WHERE n.nspname = 'cotenant_platform'
    UNION ALL
    SELECT 'type cotenant_platform.signup_user', t.typacl, t.typowner
    FROM pg_type t, roles r
    WHERE t.typnamespace = r.platform AND t.typname = 'signup_user'
)
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', current_user,
    'auth_admin_exists', r.auth_admin IS NOT NULL,
    'admin_can_set_auth_admin', CASE
        WHEN r.auth_admin IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(current_user, r.auth_admin, 'SET')
        ELSE pg_has_role(current_user, r.auth_admin, 'MEMBER') END,
    'auth_schema', EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth'),
    'auth_users', to_regclass('auth.users') IS NOT NULL,
    'extensions_schema', EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'extensions'),
    'publication_owner', (SELECT pg_get_userbyid(pubowner) FROM pg_publication
                          WHERE pubname = 'supabase_realtime'),
    'owners', coalesce((SELECT jsonb_object_agg(o.object, pg_get_userbyid(o.owner))
                        FROM objects o), '{}'),
    'owner_exists', r.owner IS NOT NULL,
    'grants', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'object', o.object,
                   'grantee', pg_get_userbyid(a.grantee),
                   'privilege', a.privilege_type)
               ORDER BY o.object, a.grantee, a.privilege_type)
        FROM objects o, aclexplode(o.acl) a
        WHERE a.grantee IN (r.owner, r.app)), '[]'),
    'admin_can_grant_extensions', EXISTS (
        SELECT 1 FROM pg_namespace n WHERE n.nspname = 'extensions'
          AND has_schema_privilege(current_user, n.oid, 'USAGE WITH GRANT OPTION')),
    'admin_inherits_owner', r.owner IS NOT NULL AND pg_has_role(current_user, r.owner, 'USAGE'),
    'published', coalesce((
        SELECT jsonb_agg(c.relname::text ORDER BY c.relname)
        FROM pg_publication p
        JOIN pg_publication_rel pr ON pr.prpubid = p.oid
        JOIN pg_class c ON c.oid = pr.prrelid
        WHERE p.pubname = 'supabase_realtime' AND c.relnamespace = r.schema), '[]'),
    'tables', coalesce((
        SELECT jsonb_agg(c.relname::text ORDER BY c.relname)
        FROM pg_class c
        WHERE c.relnamespace = r.schema AND c.relname = ANY ($5::text[])
          AND c.relkind IN ('r', 'p')), '[]'),
    'hook_candidates', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'oid', p.oid::int8,
                   'args', pg_get_function_identity_arguments(p.oid),
                   'takes_signup_user', p.pronargs = 1 AND t.oid IS NOT NULL
                                        AND p.proargtypes[0] = t.oid,
                   'returns', format_type(p.prorettype, NULL),
                   'returns_ok', p.prorettype = 'void'::regtype OR p.prorettype = t.oid,
                   'security_definer', p.prosecdef,
                   'owner', pg_get_userbyid(p.proowner),
                   'pins_search_path', EXISTS (
                       SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%'))
               ORDER BY p.oid)
        FROM pg_proc p
        LEFT JOIN pg_type t ON t.typnamespace = r.platform AND t.typname = 'signup_user'
        WHERE p.pronamespace = r.schema AND p.proname = $4), '[]'),
    'signup_role_exists', r.signup IS NOT NULL,
    'admin_can_set_signup', CASE
        WHEN r.signup IS NULL THEN false
        WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_has_role(current_user, r.signup, 'SET')
        ELSE pg_has_role(current_user, r.signup, 'MEMBER') END,
    'platform_schema', r.platform IS NOT NULL,
    'signup_type', EXISTS (SELECT 1 FROM pg_type t
                           WHERE t.typnamespace = r.platform AND t.typname = 'signup_user'),
    'signup_can_create', r.signup IS NOT NULL AND r.platform IS NOT NULL
        AND has_schema_privilege(r.signup, r.platform, 'CREATE'),
    -- The hooks registered today: functions taking the signup type that the dispatcher's role
    -- may execute, in any schema.
    'hooks', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'project', n.nspname::text,
                   'function', p.proname::text,
                   'oid', p.oid::int8,
                   'owner_oid', p.proowner::int8)
               ORDER BY n.nspname, p.proname)
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE r.signup IS NOT NULL AND p.proowner <> r.signup
          AND p.pronargs = 1 AND p.proargtypes[0] = r.signup_type
          AND EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                      WHERE a.grantee = r.signup AND a.privilege_type = 'EXECUTE')), '[]'),
    'signup_schema_usage', r.schema IS NOT NULL AND r.signup IS NOT NULL AND EXISTS (
        SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
        WHERE n.oid = r.schema AND a.grantee = r.signup AND a.privilege_type = 'USAGE'),
    'dispatcher', (SELECT jsonb_build_object('source', p.prosrc)
                   FROM pg_proc p
                   WHERE p.pronamespace = r.platform AND p.proname = 'dispatch_signup'
                     AND p.pronargs = 0),
    'trigger', EXISTS (SELECT 1 FROM pg_trigger t
                       WHERE t.tgrelid = to_regclass('auth.users')
                         AND t.tgname = 'cotenant_signup_hooks'),
    'signup_columns', coalesce((
        SELECT jsonb_agg(a.attname::text ORDER BY a.attnum)
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass('auth.users') AND a.attnum > 0
          AND NOT a.attisdropped), '[]')
)::text
FROM roles r
