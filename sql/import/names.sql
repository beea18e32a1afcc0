-- The names an import creates in `public`, read on the source, or finds there, read on the target:
-- relations of every kind (tables, indexes, sequences, views and composite types share one
-- namespace), free-standing types (not a relation's row type nor an array type) and routines with
-- their argument types. Members of extensions are not dumped and not counted. Two sides clash
-- where the same (kind, name) is in both.
SELECT 'relation' AS kind, c.relname::text AS name
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'type', t.typname::text
FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace
  AND t.typrelid = 0
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 'routine', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2
