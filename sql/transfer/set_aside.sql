-- What the fenced copy sets aside on the target while the rows arrive, as a pg_dump restore
-- does: dropped before the copy and made again after it, in the copy's transaction (a failure
-- or a kill leaves everything as it was), so each is built once over the copied rows instead of
-- being maintained row by row:
-- * the foreign keys between the project's own tables: added back, each is one query over the
--   rows instead of one trigger call per row;
-- * the plain indexes (not unique, backing no constraint, not the replica identity or the
--   CLUSTER index, valid, no per-column statistics target, default tablespace): built by one
--   sort instead of one insertion per row.
-- Partitioned tables and partitions keep theirs: made again on a partitioned table, they name
-- the partitions' copies anew. Comments come back with them.
--
-- $1: the project's schema. Rows in the order to drop them (keys first); `restore` is the
-- statement that makes each again, and `restore_order` the order to run those in (indexes first,
-- so the keys' checks may use them).
WITH keys AS (
    SELECT 1 AS restore_order, format('%I.%I', n.nspname, t.relname) AS tbl, c.conname AS name,
           format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, c.conname) AS drop,
           format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', n.nspname, t.relname, c.conname,
                  pg_get_constraintdef(c.oid))
           || coalesce(format('; COMMENT ON CONSTRAINT %I ON %I.%I IS %L', c.conname, n.nspname,
                              t.relname, obj_description(c.oid, 'pg_constraint')), '') AS restore
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_class r ON r.oid = c.confrelid
    WHERE c.contype = 'f'
      AND n.nspname = $1
      AND r.relnamespace = t.relnamespace
      AND t.relkind = 'r' AND NOT t.relispartition
      AND r.relkind = 'r' AND NOT r.relispartition
), indexes AS (
    SELECT 0 AS restore_order, format('%I.%I', n.nspname, t.relname) AS tbl, x.relname AS name,
           format('DROP INDEX %I.%I', n.nspname, x.relname) AS drop,
           pg_get_indexdef(i.indexrelid)
           || coalesce(format('; COMMENT ON INDEX %I.%I IS %L', n.nspname, x.relname,
                              obj_description(i.indexrelid, 'pg_class')), '') AS restore
    FROM pg_index i
    JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = $1
      AND t.relkind = 'r' AND NOT t.relispartition
      AND NOT i.indisunique AND NOT i.indisreplident AND NOT i.indisclustered AND i.indisvalid
      AND x.reltablespace = 0
      AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
)
SELECT drop, restore, restore_order
FROM (SELECT * FROM keys UNION ALL SELECT * FROM indexes) s
ORDER BY restore_order DESC, tbl, name
