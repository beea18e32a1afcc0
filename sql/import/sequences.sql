-- The sequences of `public` on the source, not members of an extension: their values are set on
-- the target after the rows are in (pg_dump's data section does the same with setval).
SELECT c.relname::text AS name
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind = 'S'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname
