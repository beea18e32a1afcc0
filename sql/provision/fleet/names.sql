-- Provisioning's catalog read for many projects at once (`cotenant apply`), step 1: what is
-- found by name. $1 the projects' schemas (= their names). One JSON document: what
-- sql/provision/state/names.sql returns for one project, with every project's schema, and the
-- projects found on the instance (schemas `x` owned by `x_owner`) whether asked for or not. The
-- roles come from sql/provision/state/found_roles.sql, given every project's role names.
--
-- One statement for all projects: the per-project plans are then computed in memory, so that
-- "nothing to do" for 1,000 projects is a handful of statements, not a read per project.
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'admin_oid', (SELECT r.oid::int8 FROM pg_roles r WHERE r.rolname = session_user),
    'database', current_database()::text,
    -- How PostgreSQL stores `search_path = <schema>` as a role setting (it quotes when needed),
    -- by project.
    'search_path_settings', (
        SELECT coalesce(jsonb_object_agg(p, 'search_path=' || quote_ident(p)), '{}')
        FROM unnest($1::text[]) p),
    'schemas', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', n.nspname::text,
            'oid', n.oid::int8,
            'owner', pg_get_userbyid(n.nspowner),
            'acl', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type)), '[]')
                    FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a))), '[]')
        FROM pg_namespace n WHERE n.nspname = ANY ($1::name[])),
    -- Every project on the instance: a schema `x` owned by a role `x_owner`.
    'found_projects', (
        SELECT coalesce(jsonb_agg(n.nspname::text ORDER BY n.nspname), '[]')
        FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner
        WHERE o.rolname = n.nspname || '_owner')
)::text
