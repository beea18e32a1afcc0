-- The audit's read of ownership: the project schemas and everything in them not owned by the
-- project's owner (`<schema>_owner`). $1 the schemas' OIDs. Rows: one per object.
--
-- Indexes, TOAST tables and a table's row type follow their table, array types their element;
-- objects that belong to an extension are the extension's (reported by the lint
-- `lint.extension_in_project_schema`).
WITH schemas AS (
    SELECT n.oid, n.nspname::text AS project, n.nspname || '_owner' AS owner
    FROM pg_namespace n WHERE n.oid = ANY ($1::oid[])
),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass
),
-- Kinds with nothing to judge but their name, schema and owner.
named AS (
    SELECT 'collation' AS kind, collname AS name, collnamespace AS ns, collowner AS owned_by FROM pg_collation
    UNION ALL SELECT 'statistics', stxname, stxnamespace, stxowner FROM pg_statistic_ext
    UNION ALL SELECT 'text search configuration', cfgname, cfgnamespace, cfgowner FROM pg_ts_config
    UNION ALL SELECT 'text search dictionary', dictname, dictnamespace, dictowner FROM pg_ts_dict
    UNION ALL SELECT 'conversion', conname, connamespace, conowner FROM pg_conversion
),
objects AS (
    SELECT s.project, s.owner, 'schema' AS kind, quote_ident(s.project) AS object, n.nspowner AS owned_by
    FROM schemas s JOIN pg_namespace n ON n.oid = s.oid
    UNION ALL
    SELECT s.project, s.owner,
           CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          WHEN 'f' THEN 'foreign table' ELSE 'table' END,
           quote_ident(s.project) || '.' || quote_ident(c.relname), c.relowner
    FROM schemas s JOIN pg_class c ON c.relnamespace = s.oid
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND NOT EXISTS (SELECT 1 FROM members e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
    UNION ALL
    SELECT s.project, s.owner, CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
           quote_ident(s.project) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           p.proowner
    FROM schemas s JOIN pg_proc p ON p.pronamespace = s.oid
    WHERE NOT EXISTS (SELECT 1 FROM members e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
    UNION ALL
    SELECT s.project, s.owner, 'type', quote_ident(s.project) || '.' || quote_ident(t.typname), t.typowner
    FROM schemas s JOIN pg_type t ON t.typnamespace = s.oid
    WHERE t.typelem = 0 AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT 1 FROM members e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
    UNION ALL
    SELECT s.project, s.owner, 'operator', quote_ident(s.project) || '.' || o.oprname, o.oprowner
    FROM schemas s JOIN pg_operator o ON o.oprnamespace = s.oid
    WHERE NOT EXISTS (SELECT 1 FROM members e WHERE e.classid = 'pg_operator'::regclass AND e.objid = o.oid)
    UNION ALL
    SELECT s.project, s.owner, x.kind, quote_ident(s.project) || '.' || quote_ident(x.name), x.owned_by
    FROM schemas s JOIN named x ON x.ns = s.oid
)
SELECT project, kind, object, pg_get_userbyid(owned_by)::text AS owner
FROM objects WHERE pg_get_userbyid(owned_by)::text <> owner
ORDER BY 1, 3
