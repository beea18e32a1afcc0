-- Provisioning's catalog read, when the project's schema exists: what lives in it. $1 the
-- schema's OID, $2 the OIDs of the project's roles. One JSON document.
--
-- Objects are found through their dependency on the schema: pg_depend is indexed by the
-- referenced object, while pg_class, pg_proc and pg_type have no index by namespace and scanning
-- them grows with every project's objects. PostgreSQL records that dependency for every relation
-- except indexes, TOAST tables and composite types' relations, for every routine, and for every
-- standalone type (composite types made with CREATE TYPE included; not a table's row type, not an
-- array). The namespace conditions are kept as a check.
WITH deps AS (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = $1 AND d.refobjsubid = 0
),
-- One list, planned once: `listed` what deprovisioning would drop (relations, routines and
-- standalone types), `granted` what a grant outside the project would matter on.
objects AS (
    SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
           c.relname::text AS name, NULL::text AS args, c.relname::text AS label,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl,
           true AS listed, true AS granted
    FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
    WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    UNION ALL
    SELECT 'ROUTINE', p.proname::text, pg_get_function_identity_arguments(p.oid), p.proname || '()',
           coalesce(p.proacl, acldefault('f', p.proowner)), true, true
    FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    WHERE p.pronamespace = $1
    UNION ALL
    -- A composite type's relation depends on the type, not the schema. Array types follow their
    -- element type.
    SELECT 'TYPE', t.typname::text, NULL, t.typname::text,
           coalesce(t.typacl, acldefault('T', t.typowner)),
           t.typtype IN ('e', 'd', 'r', 'm', 'c'),
           t.typelem = 0 AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
    FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
    WHERE t.typnamespace = $1
)
SELECT jsonb_build_object(
    -- Grants on the schema's objects to anyone outside the project (PUBLIC included).
    'foreign_grants', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'kind', g.kind, 'name', g.name, 'args', g.args, 'grantee', g.grantee)
            ORDER BY g.kind, g.name, g.args, g.grantee), '[]')
        FROM (
            SELECT DISTINCT o.kind, o.name, o.args,
                   CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee
            FROM objects o, aclexplode(o.acl) a
            WHERE o.granted AND a.grantee <> ALL ($2::oid[])
        ) g),
    'objects', (
        SELECT coalesce(jsonb_agg(o.label ORDER BY o.label), '[]') FROM objects o WHERE o.listed)
)::text
