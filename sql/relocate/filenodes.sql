-- The relfilenode of every moved relation, of its indexes and of its TOAST table and index: a
-- rewrite (copying the rows) would give each a new one. $1 the moved relations' OIDs.
WITH moved AS (
    SELECT unnest($1::oid[]) AS oid
),
related AS (
    SELECT oid FROM moved
    UNION
    SELECT x.indexrelid FROM pg_index x WHERE x.indrelid IN (SELECT oid FROM moved)
    UNION
    SELECT c.reltoastrelid FROM pg_class c WHERE c.oid IN (SELECT oid FROM moved) AND c.reltoastrelid <> 0
    UNION
    SELECT x.indexrelid FROM pg_class c JOIN pg_index x ON x.indrelid = c.reltoastrelid
    WHERE c.oid IN (SELECT oid FROM moved)
)
SELECT r.oid, c.relname::text, pg_relation_filenode(r.oid)
FROM related r JOIN pg_class c ON c.oid = r.oid
WHERE pg_relation_filenode(r.oid) IS NOT NULL
ORDER BY r.oid
