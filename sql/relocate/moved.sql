-- Where the moved objects are now, who owns them, and who outside the project holds privileges on
-- them (table- and column-level, PUBLIC included); and who outside the project holds privileges on
-- the project's schema. $1, $2, $3 the OIDs of the moved relations, types and routines; $4 the
-- project's schema; $5 the roles allowed privileges: `<p>_owner` and `<p>_app`.
WITH allowed AS (
    SELECT oid FROM pg_roles WHERE rolname = ANY($5)
),
objects AS (
    SELECT 'relation' AS kind, c.oid, c.relnamespace AS nsp, c.relname AS name, c.relowner AS owner,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
    FROM pg_class c WHERE c.oid = ANY($1)
    UNION ALL
    SELECT 'type', t.oid, t.typnamespace, t.typname, t.typowner, coalesce(t.typacl, acldefault('T', t.typowner))
    FROM pg_type t WHERE t.oid = ANY($2)
    UNION ALL
    SELECT 'function', p.oid, p.pronamespace, p.proname, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p WHERE p.oid = ANY($3)
),
grantees AS (
    SELECT o.kind, o.oid, a.grantee FROM objects o, aclexplode(o.acl) a
    UNION
    SELECT 'relation', att.attrelid, a.grantee
    FROM pg_attribute att, aclexplode(att.attacl) a
    WHERE att.attrelid = ANY($1) AND att.attacl IS NOT NULL
)
SELECT o.kind, o.oid, n.nspname::text, o.name::text, pg_get_userbyid(o.owner)::text,
       coalesce((SELECT array_agg(DISTINCT CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END)
                 FROM grantees g
                 WHERE g.kind = o.kind AND g.oid = o.oid AND g.grantee NOT IN (SELECT oid FROM allowed)),
                '{}') AS foreign_grantees,
       coalesce((SELECT array_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END)
                 FROM pg_namespace s, aclexplode(s.nspacl) a
                 WHERE s.nspname = $4 AND a.grantee NOT IN (SELECT oid FROM allowed)),
                '{}') AS schema_foreign_grantees
FROM objects o JOIN pg_namespace n ON n.oid = o.nsp
ORDER BY o.kind, o.oid
