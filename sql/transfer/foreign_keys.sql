-- The foreign keys between the project's own tables, as the fenced copy sets them aside: each
-- is dropped before the rows arrive and added back after them, in the same transaction on the
-- target, so it is checked by one query over the copied rows (as a pg_dump restore does)
-- instead of one trigger call per row. Partitioned tables and partitions keep theirs: adding a
-- key back to a partitioned table names the partitions' copies anew.
--
-- $1: the project's schema. Columns: the table (qualified), the constraint's name, its
-- definition, its comment.
SELECT format('%I.%I', n.nspname, t.relname), c.conname::text, pg_get_constraintdef(c.oid),
       obj_description(c.oid, 'pg_constraint')
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class r ON r.oid = c.confrelid
WHERE c.contype = 'f'
  AND n.nspname = $1
  AND r.relnamespace = t.relnamespace
  AND t.relkind = 'r' AND NOT t.relispartition
  AND r.relkind = 'r' AND NOT r.relispartition
ORDER BY 1, 2
