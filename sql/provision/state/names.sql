-- Provisioning's catalog read, step 1: what is found by name. $1 the project's schema (= the
-- project's name), $2 the names of the project's roles (rotation twins included) and its steward.
-- One JSON document.
--
-- The read runs twice in every provisioning transaction (to plan, and again before commit to
-- prove nothing is left to do), and any schema change invalidates every cached plan: so it is
-- built from small statements that plan in a fraction of a millisecond, where one query that
-- gathered everything cost ~3 ms to plan. This one finds the roles and the schema; the others
-- (in this folder) read what hangs off them, by OID, and only when they exist. Read-only plain
-- catalog reads: plans can be made by anyone who can connect.
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'admin_oid', (SELECT r.oid::int8 FROM pg_roles r WHERE r.rolname = session_user),
    'database', current_database()::text,
    -- How PostgreSQL stores `search_path = <schema>` as a role setting (it quotes when needed).
    'search_path_setting', 'search_path=' || quote_ident($1),
    -- Role defaults by the (database, role) index: pg_roles' own join to pg_db_role_setting
    -- hashes the whole table, which grows with every project's logins.
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
    'schema', (
        SELECT jsonb_build_object(
            'oid', n.oid::int8,
            'owner', pg_get_userbyid(n.nspowner),
            'acl', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type)), '[]')
                    FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a))
        FROM pg_namespace n WHERE n.nspname = $1),
    'public_can_connect', has_database_privilege('public', current_database(), 'CONNECT'),
    'public_can_temp', has_database_privilege('public', current_database(), 'TEMPORARY'),
    'public_can_create_in_public', has_schema_privilege('public', 'public', 'CREATE'),
    'public_can_use_public', has_schema_privilege('public', 'public', 'USAGE'),
    -- Of functions ('f') and types ('T'), those the admin's new ones still grant to PUBLIC: with no
    -- global default-privileges row PostgreSQL's built-in default does (EXECUTE, USAGE), and a row
    -- can grant it too. A per-schema row cannot take it back.
    'admin_public_defaults', (
        SELECT coalesce(jsonb_agg(t::text), '[]')
        FROM unnest('{T,f}'::"char"[]) t
        LEFT JOIN pg_default_acl d ON d.defaclrole = to_regrole(quote_ident(session_user))
              AND d.defaclnamespace = 0 AND d.defaclobjtype = t
        WHERE d.oid IS NULL OR EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE a.grantee = 0))
)::text
