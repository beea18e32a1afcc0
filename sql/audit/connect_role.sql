-- What the connect role holds beyond CONNECT on this database. On 16+ every project's logins
-- inherit it (src/provision/connect.rs), so anything more it holds — an attribute, a
-- membership, a privilege anywhere — every login of every project holds too. One row per
-- extra, described; none when the role does not exist (15, or no project provisioned on 16+).
WITH r AS (SELECT * FROM pg_roles WHERE rolname = 'cotenant_connect'),
acls AS (
    SELECT 'table' AS kind, c.oid::regclass::text AS name, c.relacl AS acl
    FROM pg_class c WHERE c.relacl IS NOT NULL
    UNION ALL
    SELECT 'column', format('%s.%I', a.attrelid::regclass, a.attname), a.attacl
    FROM pg_attribute a WHERE a.attacl IS NOT NULL
    UNION ALL
    SELECT 'schema', quote_ident(n.nspname), n.nspacl FROM pg_namespace n WHERE n.nspacl IS NOT NULL
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text, p.proacl FROM pg_proc p WHERE p.proacl IS NOT NULL
    UNION ALL
    SELECT 'database', quote_ident(d.datname), d.datacl FROM pg_database d WHERE d.datacl IS NOT NULL
)
SELECT 'the attribute ' || v.attribute
FROM r, LATERAL (VALUES (r.rolsuper, 'SUPERUSER'), (r.rolcreaterole, 'CREATEROLE'),
                        (r.rolcreatedb, 'CREATEDB'), (r.rolcanlogin, 'LOGIN'),
                        (r.rolreplication, 'REPLICATION'), (r.rolbypassrls, 'BYPASSRLS'))
            AS v(held, attribute)
WHERE v.held
UNION ALL
SELECT format('membership in %I', pg_get_userbyid(m.roleid))
FROM r JOIN pg_auth_members m ON m.member = r.oid
UNION ALL
SELECT format('%s on %s %s', e.privilege_type, acls.kind, acls.name)
FROM r, acls, LATERAL aclexplode(acls.acl) e
WHERE e.grantee = r.oid
  AND NOT (acls.kind = 'database' AND acls.name = quote_ident(current_database())
           AND e.privilege_type = 'CONNECT')
UNION ALL
SELECT format('default privileges %s on %s', e.privilege_type, d.defaclobjtype)
FROM r, pg_default_acl d, LATERAL aclexplode(d.defaclacl) e
WHERE e.grantee = r.oid
ORDER BY 1
