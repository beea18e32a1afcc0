-- Platform access's catalog read, when a signup hook is declared and the project's schema
-- exists: the schema's functions named like the hook. $1 the schema, $2 the hook's name, $3 type
-- cotenant_platform.signup_user (0 when it does not exist). One JSON document.
SELECT jsonb_build_object(
    'hook_candidates', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'oid', p.oid::int8,
                   'args', pg_get_function_identity_arguments(p.oid),
                   'takes_signup_user', p.pronargs = 1 AND p.proargtypes[0] = $3,
                   'returns', format_type(p.prorettype, NULL),
                   'returns_ok', p.prorettype = 'void'::regtype OR p.prorettype = $3,
                   'security_definer', p.prosecdef,
                   'owner', pg_get_userbyid(p.proowner),
                   'pins_search_path', EXISTS (
                       SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%'))
               ORDER BY p.oid)
        FROM pg_proc p
        WHERE p.proname = $2 AND p.pronamespace = $1), '[]')
)::text
