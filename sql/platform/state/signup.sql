-- Platform access's catalog read: the signup hooks' machinery as it is. $1 role cotenant_signup,
-- $2 type cotenant_platform.signup_user, $3 the project's schema, $4 schema cotenant_platform,
-- $5 table auth.users (each 0 when it does not exist). One JSON document.
SELECT jsonb_build_object(
    -- The hooks registered today: functions taking the signup type that the dispatcher's role
    -- may execute, in any schema. Found through their dependency on the type (an index scan):
    -- pg_proc has no index on argument types, and a scan of it costs ~1 ms.
    'hooks', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'project', n.nspname::text,
                   'function', p.proname::text,
                   'oid', p.oid::int8,
                   'owner_oid', p.proowner::int8)
               ORDER BY n.nspname, p.proname)
        FROM pg_depend d
        JOIN pg_proc p ON p.oid = d.objid
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid = $2 AND d.refobjsubid = 0
          AND d.classid = 'pg_proc'::regclass
          AND $1 <> 0 AND p.proowner <> $1
          AND p.pronargs = 1 AND p.proargtypes[0] = $2
          AND EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                      WHERE a.grantee = $1 AND a.privilege_type = 'EXECUTE')), '[]'),
    'signup_schema_usage', $1 <> 0 AND EXISTS (
        SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
        WHERE n.oid = $3 AND a.grantee = $1 AND a.privilege_type = 'USAGE'),
    'dispatcher', (SELECT jsonb_build_object('source', p.prosrc)
                   FROM pg_proc p
                   WHERE p.proname = 'dispatch_signup' AND p.pronargs = 0
                     AND p.pronamespace = $4),
    'trigger', EXISTS (SELECT 1 FROM pg_trigger t
                       WHERE t.tgrelid = $5 AND t.tgname = 'cotenant_signup_hooks'),
    'signup_columns', coalesce((
        SELECT jsonb_agg(a.attname::text ORDER BY a.attnum)
        FROM pg_attribute a
        WHERE a.attrelid = $5 AND a.attnum > 0 AND NOT a.attisdropped), '[]')
)::text
