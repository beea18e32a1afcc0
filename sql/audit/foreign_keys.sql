-- The audit's read for the lint on unindexed foreign keys: every foreign key of a project
-- schema's table whose columns are not the leading columns of any index on that table (a
-- delete or key update on the referenced table then scans it). $1 the schemas' OIDs.
SELECT n.nspname::text AS project, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table_name,
       k.conname::text AS constraint_name,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i) AS columns
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND c.relnamespace = ANY ($1::oid[])
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = k.conrelid AND i.indpred IS NULL
        AND cardinality(k.conkey) <= i.indnkeyatts
        -- The key's columns, in any order, are the index's first ones.
        AND (SELECT array_agg(x ORDER BY x) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(x, o)
             WHERE u.o <= cardinality(k.conkey))
            = (SELECT array_agg(x ORDER BY x) FROM unnest(k.conkey) x))
ORDER BY 1, 2, 3
