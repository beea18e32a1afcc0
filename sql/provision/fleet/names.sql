-- Provisioning's catalog read for many projects at once (`cotenant apply`), step 1: what is
-- found by name. $1 the projects' schemas (= their names), $2 the names of their roles (rotation
-- twins included) and of their stewards. One JSON document: what sql/provision/state/names.sql
-- returns for one project, with every project's roles and schemas, and the projects found on the
-- instance (schemas `x` owned by `x_owner`) whether asked for or not.
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
    -- Role defaults by the (database, role) index, as in the one-project read.
    'roles', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'oid', r.oid::int8, 'name', r.rolname, 'login', r.rolcanlogin, 'inherit', r.rolinherit,
            'superuser', r.rolsuper, 'createdb', r.rolcreatedb, 'createrole', r.rolcreaterole,
            'replication', r.rolreplication, 'bypassrls', r.rolbypassrls,
            'connection_limit', r.rolconnlimit,
            'settings', coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                                  WHERE s.setdatabase = 0 AND s.setrole = r.oid), '{}'))
            ORDER BY r.rolname), '[]')
        FROM pg_roles r WHERE r.rolname = ANY ($2::name[])),
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
        WHERE o.rolname = n.nspname || '_owner'),
    'public_can_connect', has_database_privilege('public', current_database(), 'CONNECT'),
    'public_can_temp', has_database_privilege('public', current_database(), 'TEMPORARY'),
    'public_can_create_in_public', has_schema_privilege('public', 'public', 'CREATE'),
    'public_can_use_public', has_schema_privilege('public', 'public', 'USAGE'),
    -- As in the one-project read: what the admin's new functions ('f') and types ('T') still
    -- grant to PUBLIC.
    'admin_public_defaults', (
        SELECT coalesce(jsonb_agg(t::text), '[]')
        FROM unnest('{T,f}'::"char"[]) t
        LEFT JOIN pg_default_acl d ON d.defaclrole = to_regrole(quote_ident(session_user))
              AND d.defaclnamespace = 0 AND d.defaclobjtype = t
        WHERE d.oid IS NULL OR EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE a.grantee = 0))
)::text
