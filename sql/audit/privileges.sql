-- The audit's read of privileges: every grant on a project's schema and on everything in it
-- (relations, columns, sequences, routines, types) and every default privilege that would grant
-- on what is created there, to a role the model does not let hold privileges there. $1 the
-- schemas' OIDs; $2 the suffixes of the project roles that may hold privileges in their own
-- schema (`_owner`, `_app`). PUBLIC is grantee 0 and always reported. Rows: one per object,
-- grantee and privilege.
--
-- Besides grants in the schema's default ACLs, a project owner's global default privileges
-- count (they apply in every schema the owner creates in), and a missing global row for
-- functions or types means PostgreSQL's built-in default: PUBLIC may execute and use them.
WITH schemas AS (
    SELECT n.oid, n.nspname::text AS project, n.nspowner,
           ARRAY(SELECT n.nspname || s FROM unnest($2::text[]) s) AS members
    FROM pg_namespace n WHERE n.oid = ANY ($1::oid[])
),
-- What belongs to an extension is the extension's: the lint `lint.extension_in_project_schema`
-- reports the extension once.
extension_members AS (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass
),
acls AS (
    SELECT s.project, 'schema' AS kind, quote_ident(s.project) AS object, s.members,
           n.nspowner AS owner, coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl
    FROM schemas s JOIN pg_namespace n ON n.oid = s.oid
    UNION ALL
    SELECT s.project, CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                                     WHEN 'm' THEN 'materialized view'
                                     WHEN 'f' THEN 'foreign table' ELSE 'table' END,
           quote_ident(s.project) || '.' || quote_ident(c.relname), s.members, c.relowner,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
    FROM schemas s JOIN pg_class c ON c.relnamespace = s.oid
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND NOT EXISTS (SELECT 1 FROM extension_members e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
    UNION ALL
    SELECT s.project, 'column',
           quote_ident(s.project) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
           s.members, c.relowner, a.attacl
    FROM schemas s JOIN pg_class c ON c.relnamespace = s.oid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attacl IS NOT NULL
    UNION ALL
    SELECT s.project, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           quote_ident(s.project) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           s.members, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM schemas s JOIN pg_proc p ON p.pronamespace = s.oid
    WHERE NOT EXISTS (SELECT 1 FROM extension_members e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
    UNION ALL
    -- Standalone types only: a table's row type and array types follow their relation / element.
    SELECT s.project, 'type', quote_ident(s.project) || '.' || quote_ident(t.typname), s.members,
           t.typowner, coalesce(t.typacl, acldefault('T', t.typowner))
    FROM schemas s JOIN pg_type t ON t.typnamespace = s.oid
    WHERE t.typelem = 0 AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT 1 FROM extension_members e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
    UNION ALL
    SELECT s.project, 'default privileges',
           'default privileges of ' || quote_ident(pg_get_userbyid(d.defaclrole))
               || ' in schema ' || quote_ident(s.project) || ' on '
               || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                                       WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types'
                                       ELSE 'schemas' END,
           s.members, d.defaclrole, d.defaclacl
    FROM schemas s JOIN pg_default_acl d ON d.defaclnamespace = s.oid
    UNION ALL
    SELECT s.project, 'default privileges',
           'default privileges of ' || quote_ident(pg_get_userbyid(d.defaclrole)) || ' on '
               || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                                       WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types'
                                       ELSE 'schemas' END,
           s.members, d.defaclrole, d.defaclacl
    FROM schemas s JOIN pg_default_acl d ON d.defaclrole = s.nspowner AND d.defaclnamespace = 0
    UNION ALL
    -- No global row: the built-in default grants EXECUTE / USAGE to PUBLIC.
    SELECT s.project, 'default privileges',
           'default privileges of ' || quote_ident(pg_get_userbyid(s.nspowner)) || ' on '
               || CASE t WHEN 'f' THEN 'functions' ELSE 'types' END,
           s.members, s.nspowner, CASE t WHEN 'f' THEN acldefault('f', s.nspowner) ELSE acldefault('T', s.nspowner) END
    FROM schemas s CROSS JOIN unnest('{f,T}'::"char"[]) t
    WHERE NOT EXISTS (SELECT 1 FROM pg_default_acl d
                      WHERE d.defaclrole = s.nspowner AND d.defaclnamespace = 0 AND d.defaclobjtype = t)
)
SELECT x.project, x.kind, x.object,
       CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       a.privilege_type AS privilege
FROM acls x, aclexplode(x.acl) a
WHERE a.grantee = 0
   OR (a.grantee <> x.owner AND NOT (pg_get_userbyid(a.grantee)::text = ANY (x.members)))
ORDER BY 1, 3, 4, 5
