-- Everything provisioning compares against the role model for one project, as one JSON document.
-- $1 schema (= project name), $2 owner, $3 app, $4 login, $5 migrator, $6 the project's steward,
-- $7 and $8 the rotation twins of the login and the migrator.
-- Read-only, needs no privilege beyond CONNECT: plans can be made by anyone who can connect.
WITH names(rolname) AS (VALUES ($2::text), ($3::text), ($4::text), ($5::text), ($6::text), ($7::text), ($8::text)),
project AS (
    SELECT r.oid, r.rolname FROM pg_roles r WHERE r.rolname IN ($2, $3, $4, $5, $7, $8)
),
schema AS (
    SELECT n.oid, n.nspowner, n.nspacl FROM pg_namespace n WHERE n.nspname = $1
),
-- What lives in the schema, found through its dependency on the schema: pg_depend is indexed by
-- the referenced object, while pg_class, pg_proc and pg_type have no index by namespace and
-- scanning them grows with every project's objects. PostgreSQL records that dependency for every
-- relation except indexes, TOAST tables and composite types' relations, for every routine, and
-- for every standalone type (composite types made with CREATE TYPE included; not a table's row
-- type, not an array). The namespace conditions below are kept as a check.
deps AS (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = (SELECT oid FROM schema)
      AND d.refobjsubid = 0
),
owner AS (
    SELECT r.oid FROM pg_roles r WHERE r.rolname = $2
),
db AS (
    SELECT d.datname, d.datdba, coalesce(d.datacl, acldefault('d', d.datdba)) AS acl
    FROM pg_database d WHERE d.datname = current_database()
)
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'database', (SELECT datname FROM db),
    'search_path_setting', 'search_path=' || quote_ident($1),
    'roles', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', r.rolname, 'login', r.rolcanlogin, 'inherit', r.rolinherit,
            'superuser', r.rolsuper, 'createdb', r.rolcreatedb, 'createrole', r.rolcreaterole,
            'replication', r.rolreplication, 'bypassrls', r.rolbypassrls,
            'connection_limit', r.rolconnlimit,
            'settings', coalesce(s.setconfig, '{}')) ORDER BY r.rolname), '[]')
        FROM pg_roles r
        LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
        WHERE r.rolname IN (SELECT rolname FROM names)),
    -- Every membership a project role takes part in, either side. to_jsonb keeps the columns each
    -- version has: PostgreSQL 16 added inherit_option and set_option.
    'memberships', (
        -- Two index scans rather than one scan of a table that grows with every project.
        SELECT coalesce(jsonb_agg(to_jsonb(m) || jsonb_build_object(
            'role', pg_get_userbyid(m.roleid)::text, 'member', pg_get_userbyid(m.member)::text,
            'grantor', pg_get_userbyid(m.grantor)::text)
            ORDER BY pg_get_userbyid(m.roleid), pg_get_userbyid(m.member), pg_get_userbyid(m.grantor)), '[]')
        FROM (SELECT * FROM pg_auth_members WHERE roleid = ANY (ARRAY(SELECT oid FROM project))
              UNION
              SELECT * FROM pg_auth_members WHERE member = ANY (ARRAY(SELECT oid FROM project))) m),
    'schema', (
        SELECT jsonb_build_object(
            'owner', pg_get_userbyid(s.nspowner),
            'acl', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                        'privilege', a.privilege_type)), '[]')
                    FROM aclexplode(coalesce(s.nspacl, acldefault('n', s.nspowner))) a))
        FROM schema s),
    -- The owner's default privileges, global (schema null) and in the project's schema. A missing
    -- global row for functions or types means PostgreSQL's built-in default: PUBLIC may use them.
    'default_acls', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'in_schema', d.defaclnamespace <> 0, 'objtype', d.defaclobjtype,
            'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
            'privilege', a.privilege_type)), '[]')
        FROM pg_default_acl d, aclexplode(d.defaclacl) a
        WHERE d.defaclrole = (SELECT oid FROM owner)
          AND (d.defaclnamespace = 0 OR d.defaclnamespace = (SELECT oid FROM schema))
          AND a.grantee <> d.defaclrole),
    'global_default_acl_types', (
        SELECT coalesce(jsonb_agg(d.defaclobjtype), '[]') FROM pg_default_acl d
        WHERE d.defaclrole = (SELECT oid FROM owner) AND d.defaclnamespace = 0),
    -- Grants on the schema's objects to anyone outside the project (PUBLIC included).
    'foreign_grants', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'kind', g.kind, 'name', g.name, 'args', g.args, 'grantee', g.grantee)
            ORDER BY g.kind, g.name, g.args, g.grantee), '[]')
        FROM (
            SELECT DISTINCT o.kind, o.name, o.args,
                   CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee
            FROM (
                SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
                       c.relname::text AS name, NULL::text AS args,
                       coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
                FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
                WHERE c.relnamespace = (SELECT oid FROM schema) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                UNION ALL
                SELECT 'ROUTINE', p.proname::text, pg_get_function_identity_arguments(p.oid),
                       coalesce(p.proacl, acldefault('f', p.proowner))
                FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
                WHERE p.pronamespace = (SELECT oid FROM schema)
                UNION ALL
                SELECT 'TYPE', t.typname::text, NULL, coalesce(t.typacl, acldefault('T', t.typowner))
                FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
                WHERE t.typnamespace = (SELECT oid FROM schema)
                  AND t.typelem = 0 -- not an array type: those follow their element type
                  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
            ) o, aclexplode(o.acl) a
            WHERE a.grantee NOT IN (SELECT oid FROM project)
        ) g),
    -- What deprovisioning would drop: the schema's relations, routines and standalone types.
    'objects', (
        SELECT coalesce(jsonb_agg(o.name ORDER BY o.name), '[]') FROM (
            SELECT c.relname::text AS name
            FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
            WHERE c.relnamespace = (SELECT oid FROM schema) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            UNION ALL
            SELECT p.proname || '()'
            FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
            WHERE p.pronamespace = (SELECT oid FROM schema)
            UNION ALL
            -- Standalone types; a composite type's relation depends on the type, not the schema.
            SELECT t.typname::text
            FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
            WHERE t.typnamespace = (SELECT oid FROM schema) AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
        ) o),
    -- Whether the admin may SET ROLE to the steward (on 15 any membership allows it).
    'admin_can_set_steward', EXISTS (
        SELECT 1 FROM pg_auth_members m
        WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $6)
          AND m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    -- The database's ACL grows by two entries per project: it is only searched from C
    -- (has_database_privilege, aclcontains), never exploded into rows, which costs name lookups
    -- per entry and, for a toasted ACL, a detoast per row (aclexplode: ~100 ms at 1,000 projects).
    'instance', jsonb_build_object(
        'public_can_connect', has_database_privilege('public', current_database(), 'CONNECT'),
        'public_can_temp', has_database_privilege('public', current_database(), 'TEMPORARY'),
        'public_can_create_in_public', has_schema_privilege('public', 'public', 'CREATE'),
        -- Project logins granted CONNECT explicitly (by the owner, as cotenant grants it).
        'can_connect', (
            SELECT coalesce(jsonb_agg(p.rolname ORDER BY p.rolname), '[]') FROM project p, db
            WHERE aclcontains(db.acl, makeaclitem(p.oid, db.datdba, 'CONNECT', false))
               OR aclcontains(db.acl, makeaclitem(p.oid, db.datdba, 'CONNECT', true))),
        -- Logins that connect today only because PUBLIC may: they keep CONNECT and TEMP when
        -- PUBLIC's are revoked, so hardening never locks out a service already using the instance.
        'logins_relying_on_public', CASE WHEN has_database_privilege('public', current_database(), 'CONNECT')
            THEN (
                SELECT coalesce(jsonb_agg(r.rolname ORDER BY r.rolname), '[]') FROM pg_roles r, db
                WHERE r.rolcanlogin AND NOT r.rolsuper AND r.oid <> db.datdba
                  AND r.oid NOT IN (SELECT oid FROM project)
                  AND NOT aclcontains(db.acl, makeaclitem(r.oid, db.datdba, 'CONNECT', false))
                  AND NOT aclcontains(db.acl, makeaclitem(r.oid, db.datdba, 'CONNECT', true)))
            ELSE '[]' END,
        'steward_can_create', CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $6)
            THEN has_database_privilege($6, current_database(), 'CREATE') ELSE false END
    )
)::text
