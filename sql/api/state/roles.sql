-- The Data API's catalog read, when one of the project's API roles exists: the roles, their
-- memberships and every grant to them that the API room converges. $1 the API roles' OIDs, $2
-- the project's owner (0 when missing), $3 its schema (0 when missing), $4 schema auth (0), $5
-- schema extensions (0), $6 schema storage (0), $7 table storage.objects (0). One JSON document.
--
-- Grants on the project's own objects are the project's business (a migration grants its tables
-- to `<p>_authenticated`) and are not read: dropping a role revokes them with
-- `REVOKE ALL ON ALL … IN SCHEMA`. What names a role and blocks DROP ROLE (policies) is read from
-- pg_shdepend, indexed by the referenced role.
SELECT jsonb_build_object(
    'roles', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', r.rolname, 'login', r.rolcanlogin, 'inherit', r.rolinherit,
            'superuser', r.rolsuper, 'createdb', r.rolcreatedb, 'createrole', r.rolcreaterole,
            'replication', r.rolreplication, 'bypassrls', r.rolbypassrls,
            'connection_limit', r.rolconnlimit,
            'settings', coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                                  WHERE s.setdatabase = 0 AND s.setrole = r.oid), '{}'))
            ORDER BY r.rolname), '[]')
        FROM pg_roles r WHERE r.oid = ANY ($1::oid[])),
    -- Either side; to_jsonb keeps the columns each version has (16 added inherit/set options).
    'memberships', (
        SELECT coalesce(jsonb_agg(to_jsonb(m) || jsonb_build_object(
            'role', pg_get_userbyid(m.roleid)::text, 'member', pg_get_userbyid(m.member)::text,
            'grantor', pg_get_userbyid(m.grantor)::text)
            ORDER BY pg_get_userbyid(m.roleid), pg_get_userbyid(m.member)), '[]')
        FROM (SELECT * FROM pg_auth_members WHERE roleid = ANY ($1::oid[])
              UNION ALL
              SELECT * FROM pg_auth_members
              WHERE member = ANY ($1::oid[]) AND roleid <> ALL ($1::oid[])) m),
    -- The project's schema and the platform schemas and auth functions the API roles may use.
    -- `|| '{}'` detoasts a shared object's growing ACL once (see sql/platform/state/grants.sql).
    'grants', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'object', o.object, 'grantee', pg_get_userbyid(a.grantee)::text,
            'privilege', a.privilege_type)
            ORDER BY o.object, pg_get_userbyid(a.grantee), a.privilege_type), '[]')
        FROM (SELECT CASE n.oid WHEN $3 THEN 'schema project'
                                WHEN $4 THEN 'schema auth'
                                WHEN $6 THEN 'schema storage'
                                ELSE 'schema extensions' END AS object,
                     n.nspacl AS acl
              FROM pg_namespace n WHERE n.oid IN ($3, $4, $5, $6)
              UNION ALL
              SELECT 'table storage.objects', c.relacl FROM pg_class c WHERE c.oid = $7
              UNION ALL
              SELECT 'function auth.' || p.proname || '()', p.proacl
              FROM pg_proc p
              WHERE p.pronamespace = $4 AND p.proname IN ('uid', 'role', 'email', 'jwt')
                AND p.pronargs = 0) o,
             aclexplode(CASE WHEN o.acl IS NOT NULL THEN o.acl || '{}'::aclitem[] END) a
        WHERE a.grantee = ANY ($1::oid[])),
    -- The owner's default privileges for the API roles, global (schema 0) and in the schema.
    'default_acls', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'in_schema', d.defaclnamespace <> 0, 'objtype', d.defaclobjtype,
            'grantee', pg_get_userbyid(a.grantee)::text, 'privilege', a.privilege_type)
            ORDER BY pg_get_userbyid(a.grantee), d.defaclobjtype, a.privilege_type), '[]')
        FROM pg_default_acl d, aclexplode(d.defaclacl) a
        WHERE d.defaclrole = $2 AND d.defaclnamespace = ANY (ARRAY[0, $3]::oid[])
          AND a.grantee = ANY ($1::oid[])),
    -- Policies naming an API role (`TO <p>_authenticated`): they block DROP ROLE.
    'named_by', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'role', pg_get_userbyid(s.refobjid)::text,
            'object', pg_describe_object(s.classid, s.objid, s.objsubid))
            ORDER BY pg_describe_object(s.classid, s.objid, s.objsubid)), '[]')
        FROM pg_shdepend s
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = ANY ($1::oid[])
          AND s.deptype = 'r'
          AND s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()))
)::text
