-- What `cotenant doctor` reports as routes into project data: SECURITY DEFINER routines and views
-- (which run with their owner's rights) outside every project's schema, owned by a role that is
-- not a project's, which a project role can reach, and whose owner can read project data (a
-- superuser, a pg_read_all_data member, a BYPASSRLS role, the admin, or a role granted USAGE on
-- a project's schema).
-- Runs as the admin; reads the catalog only. One row per route.
--
-- A project is schema `x` owned by `x_owner`; its roles are `x_owner`, `x_app`, `x_login`,
-- `x_migrator`, the rotation twins and the Data API roles `x_anon`, `x_authenticated`,
-- `x_service`. With no project yet, PUBLIC alone stands for every project to come.
WITH RECURSIVE projects AS (
    SELECT n.oid, n.nspname
    FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner AND o.rolname = n.nspname || '_owner'
),
project_roles AS (
    SELECT r.oid
    FROM projects p
    JOIN pg_roles r ON r.rolname IN (p.nspname || '_owner', p.nspname || '_app', p.nspname || '_login',
                                     p.nspname || '_migrator', p.nspname || '_login_clone',
                                     p.nspname || '_migrator_clone', p.nspname || '_anon',
                                     p.nspname || '_authenticated', p.nspname || '_service')
),
-- Every role whose privileges a project role can use (by inheritance or SET ROLE): the project
-- roles, what they are members of, transitively, and PUBLIC (grantee 0).
reach (oid) AS (
    SELECT oid FROM project_roles
    UNION
    SELECT m.roleid FROM pg_auth_members m JOIN reach ON m.member = reach.oid
),
grantees AS (
    SELECT oid FROM reach UNION SELECT 0::oid
),
-- Roles outside the projects granted USAGE on a project's schema: the first step to reading
-- what it keeps (the audit names the grant itself). Project schemas' ACLs are short.
project_grantees AS (
    SELECT DISTINCT a.grantee AS oid
    FROM projects p JOIN pg_namespace n ON n.oid = p.oid, aclexplode(n.nspacl) a
    WHERE a.privilege_type = 'USAGE' AND a.grantee <> 0
),
-- Owners that can read what a project keeps, and why.
readers AS (
    SELECT r.oid, r.rolname,
           CASE WHEN r.rolsuper THEN 'superuser'
                WHEN pg_has_role(r.oid, 'pg_read_all_data', 'USAGE') THEN 'pg_read_all_data'
                WHEN r.rolbypassrls THEN 'bypassrls'
                WHEN r.rolname = session_user THEN 'admin'
                WHEN r.oid IN (SELECT oid FROM project_grantees) THEN 'project_privileges'
           END AS power
    FROM pg_roles r
    WHERE r.oid NOT IN (SELECT oid FROM project_roles)
),
-- Schemas a project role can look into, and through whom (PUBLIC first). Conservative: the
-- schema and the object may be reachable through different project roles.
open_schemas AS (
    SELECT n.oid, n.nspname,
           (SELECT CASE WHEN bool_or(a.grantee = 0) THEN 'PUBLIC' ELSE min(pg_get_userbyid(a.grantee)::text) END
            FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
            WHERE a.privilege_type = 'USAGE' AND a.grantee IN (SELECT oid FROM grantees)) AS through
    FROM pg_namespace n
    -- PostgreSQL's own schemas are left out: their views filter by the caller's privileges.
    WHERE n.oid NOT IN (SELECT oid FROM projects)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
),
routes AS (
    SELECT 'function' AS kind, s.nspname::text AS schema, p.proname::text AS name,
           pg_get_function_identity_arguments(p.oid) AS args, w.rolname::text AS owner, w.power,
           s.through AS schema_through,
           (SELECT CASE WHEN bool_or(a.grantee = 0) THEN 'PUBLIC' ELSE min(pg_get_userbyid(a.grantee)::text) END
            FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
            WHERE a.privilege_type = 'EXECUTE' AND a.grantee IN (SELECT oid FROM grantees)) AS through
    FROM pg_proc p
    JOIN open_schemas s ON s.oid = p.pronamespace AND s.through IS NOT NULL
    JOIN readers w ON w.oid = p.proowner AND w.power IS NOT NULL
    -- Event trigger functions cannot be called, nor attached but by a superuser; trigger
    -- functions can: a project's owner may attach one to its own table.
    WHERE p.prosecdef AND p.prorettype <> 'event_trigger'::regtype
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, s.nspname::text,
           c.relname::text, NULL, w.rolname::text, w.power, s.through,
           (SELECT CASE WHEN bool_or(a.grantee = 0) THEN 'PUBLIC' ELSE min(pg_get_userbyid(a.grantee)::text) END
            FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            WHERE a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
              AND a.grantee IN (SELECT oid FROM grantees))
    FROM pg_class c
    JOIN open_schemas s ON s.oid = c.relnamespace AND s.through IS NOT NULL
    JOIN readers w ON w.oid = c.relowner AND w.power IS NOT NULL
    -- A security_invoker view (PostgreSQL 15+) reads as whoever queries it.
    -- Only reading relations is done with the owner's rights (functions a view calls run as,
    -- and are checked for, whoever queries it): a view reading none is no route.
    WHERE c.relkind IN ('v', 'm')
      AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o
                      WHERE o ~* '^security_invoker=(true|on|yes|1)$')
      AND EXISTS (SELECT 1 FROM pg_rewrite rw
                  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                  WHERE rw.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjid <> c.oid)
)
SELECT kind, schema, name, args, owner, power, through, schema_through
FROM routes WHERE through IS NOT NULL
ORDER BY schema, name, args, kind
