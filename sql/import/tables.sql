-- The tables of `public` whose rows an import copies, read on the source: ordinary tables and
-- leaf partitions (a partitioned table holds no rows of its own), not members of an extension,
-- each with the columns COPY writes (generated columns are computed again on the target) and the
-- planner's row estimate for the plan.
SELECT c.relname::text AS name,
       array_agg(a.attname::text ORDER BY a.attnum) AS columns,
       greatest(c.reltuples, 0)::bigint AS estimate
FROM pg_class c
JOIN pg_attribute a
  ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind = 'r'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
GROUP BY c.oid, c.relname
ORDER BY c.relname
