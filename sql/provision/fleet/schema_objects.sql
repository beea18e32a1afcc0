-- Provisioning's catalog read for many projects at once, for the schemas that exist: what lives
-- in them. $1 the schemas' OIDs; $2 and $3 pairs (schema OID, role OID): the roles of each
-- schema's project. One JSON document: sql/provision/state/schema_objects.sql's lists, each entry
-- naming its schema.
--
-- Objects are found through their dependency on the schema, as in the one-project read (see
-- there why).
WITH deps AS (
    SELECT d.refobjid AS schema, d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ANY ($1::oid[]) AND d.refobjsubid = 0
),
project_roles AS (
    SELECT r.schema, r.role FROM unnest($2::oid[], $3::oid[]) AS r(schema, role)
),
objects AS (
    SELECT d.schema, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
           c.relname::text AS name, NULL::text AS args, c.relname::text AS label,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl,
           true AS listed, true AS granted
    FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
    WHERE c.relnamespace = d.schema AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    UNION ALL
    SELECT d.schema, 'ROUTINE', p.proname::text, pg_get_function_identity_arguments(p.oid), p.proname || '()',
           coalesce(p.proacl, acldefault('f', p.proowner)), true, true
    FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    WHERE p.pronamespace = d.schema
    UNION ALL
    SELECT d.schema, 'TYPE', t.typname::text, NULL, t.typname::text,
           coalesce(t.typacl, acldefault('T', t.typowner)),
           t.typtype IN ('e', 'd', 'r', 'm', 'c'),
           t.typelem = 0 AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
    FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
    WHERE t.typnamespace = d.schema
)
SELECT jsonb_build_object(
    -- Grants on each schema's objects to anyone outside its project (PUBLIC included).
    'foreign_grants', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'schema', g.schema, 'kind', g.kind, 'name', g.name, 'args', g.args, 'grantee', g.grantee)
            ORDER BY g.schema, g.kind, g.name, g.args, g.grantee), '[]')
        FROM (
            SELECT DISTINCT o.schema::int8 AS schema, o.kind, o.name, o.args,
                   CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee
            FROM objects o, aclexplode(o.acl) a
            WHERE o.granted
              AND NOT EXISTS (SELECT 1 FROM project_roles r WHERE r.schema = o.schema AND r.role = a.grantee)
        ) g),
    'objects', (
        SELECT coalesce(jsonb_agg(jsonb_build_object('schema', o.schema::int8, 'label', o.label)
                                  ORDER BY o.schema, o.label), '[]')
        FROM objects o WHERE o.listed)
)::text
