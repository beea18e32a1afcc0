-- The relfilenode of every moved relation, of its indexes and of its TOAST table and index: a
-- rewrite (copying the rows) would give each a new one. $1 the moved relations' OIDs.
--
-- Read twice while the exclusive locks are held, so written to be cheap to plan: lookups by
-- OID, no joins.
SELECT c.oid, c.relname::text, pg_relation_filenode(c.oid)
FROM (SELECT $1::oid[] || ARRAY(SELECT reltoastrelid FROM pg_class
                                WHERE oid = ANY ($1) AND reltoastrelid <> 0) AS oids) r,
     pg_class c
WHERE c.oid = ANY (r.oids || ARRAY(SELECT indexrelid FROM pg_index WHERE indrelid = ANY (r.oids)))
  AND pg_relation_filenode(c.oid) IS NOT NULL
ORDER BY c.oid
