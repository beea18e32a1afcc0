-- Where the moved objects are now, who owns them, and who outside the project holds privileges on
-- them (table- and column-level, PUBLIC included); and who outside the project holds privileges on
-- the project's schema. $1, $2, $3 the OIDs of the moved relations, types and routines; $4 the
-- project's schema; $5 the roles allowed privileges: `<p>_owner` and `<p>_app`. Routines come with
-- their bodies, which a rewrite must have left naming no moved object in public.
--
-- Read while the exclusive locks are held, so written to be cheap to plan: lookups by OID, no
-- joins.
SELECT o.kind, o.oid, (SELECT nspname::text FROM pg_namespace WHERE oid = o.nsp), o.name::text,
       pg_get_userbyid(o.owner)::text,
       coalesce((SELECT array_agg(DISTINCT CASE g WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g)::text END)
                 FROM (SELECT a.grantee FROM aclexplode(o.acl) a
                       UNION ALL
                       SELECT a.grantee FROM pg_attribute att, aclexplode(att.attacl) a
                       WHERE o.kind = 'relation' AND att.attrelid = o.oid AND att.attacl IS NOT NULL) x(g)
                 WHERE g = 0 OR pg_get_userbyid(g) <> ALL ($5)),
                '{}') AS foreign_grantees,
       coalesce((SELECT array_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END)
                 FROM pg_namespace s, aclexplode(s.nspacl) a
                 WHERE s.nspname = $4 AND (a.grantee = 0 OR pg_get_userbyid(a.grantee) <> ALL ($5))),
                '{}') AS schema_foreign_grantees,
       o.body
FROM (SELECT 'relation' AS kind, oid, relnamespace AS nsp, relname AS name, relowner AS owner,
             coalesce(relacl, acldefault(CASE WHEN relkind = 'S' THEN 's' ELSE 'r' END::"char", relowner)) AS acl,
             NULL::text AS body
      FROM pg_class WHERE oid = ANY ($1)
      UNION ALL
      SELECT 'type', oid, typnamespace, typname, typowner, coalesce(typacl, acldefault('T', typowner)),
             NULL
      FROM pg_type WHERE oid = ANY ($2)
      UNION ALL
      SELECT 'function', oid, pronamespace, proname, proowner, coalesce(proacl, acldefault('f', proowner)),
             prosrc
      FROM pg_proc WHERE oid = ANY ($3)) o
ORDER BY o.kind, o.oid
