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
            FROM (
                SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
                       c.relname::text AS name, NULL::text AS args,
                       coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
                FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
                WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                UNION ALL
                SELECT 'ROUTINE', p.proname::text, pg_get_function_identity_arguments(p.oid),
                       coalesce(p.proacl, acldefault('f', p.proowner))
                FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
                WHERE p.pronamespace = $1
                UNION ALL
                SELECT 'TYPE', t.typname::text, NULL, coalesce(t.typacl, acldefault('T', t.typowner))
                FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
                WHERE t.typnamespace = $1
                  AND t.typelem = 0 -- not an array type: those follow their element type
                  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
            ) o, aclexplode(o.acl) a
            WHERE a.grantee <> ALL ($2::oid[])
        ) g),
    -- What deprovisioning would drop: the schema's relations, routines and standalone types.
    'objects', (
        SELECT coalesce(jsonb_agg(o.name ORDER BY o.name), '[]') FROM (
            SELECT c.relname::text AS name
            FROM deps d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
            WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            UNION ALL
            SELECT p.proname || '()'
            FROM deps d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
            WHERE p.pronamespace = $1
            UNION ALL
            -- Standalone types; a composite type's relation depends on the type, not the schema.
            SELECT t.typname::text
            FROM deps d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
            WHERE t.typnamespace = $1 AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
        ) o)
)::text
