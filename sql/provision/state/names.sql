-- Provisioning's catalog read, step 1: the session and the schema found by name. $1 the
-- project's schema (= the project's name). One JSON document. Sent with found_roles.sql (the
-- project's roles and its steward, by name) and instance.sql, in one round trip.
--
-- The read runs twice in every provisioning transaction (to plan, and again before commit to
-- prove nothing is left to do), and any schema change invalidates every cached plan: so it is
-- built from small statements that plan in a fraction of a millisecond, where one query that
-- gathered everything cost ~3 ms to plan. These find the roles and the schema; the others
-- (in this folder) read what hangs off them, by OID, and only when they exist. Read-only plain
-- catalog reads: plans can be made by anyone who can connect.
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'admin_oid', (SELECT r.oid::int8 FROM pg_roles r WHERE r.rolname = session_user),
    'database', current_database()::text,
    -- How PostgreSQL stores `search_path = <schema>` as a role setting (it quotes when needed).
    'search_path_setting', 'search_path=' || quote_ident($1),
    'schema', (
        SELECT jsonb_build_object(
            'oid', n.oid::int8,
            'owner', pg_get_userbyid(n.nspowner),
            'acl', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type)), '[]')
                    FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a))
        FROM pg_namespace n WHERE n.nspname = $1)
)::text
