-- The tables of one project's schema that a move carries, with what the choice of mechanism and
-- the fence estimate need. $1: the schema. The migration history is not data: the target gets
-- its own by re-running the same migrations.
SELECT c.relname::text AS name,
       -- Columns a COPY can carry, in column order (generated columns are recomputed).
       array(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = ''
             ORDER BY a.attnum) AS columns,
       -- Tables of the same schema this one references by foreign key (copied before it).
       array(SELECT DISTINCT r.relname::text FROM pg_constraint f
             JOIN pg_class r ON r.oid = f.confrelid
             WHERE f.conrelid = c.oid AND f.contype = 'f' AND r.relnamespace = c.relnamespace
               AND r.oid <> c.oid
             ORDER BY 1) AS references,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       -- Logical replication publishes updates and deletes only of tables with a replica
       -- identity: without one, the source would refuse the application's UPDATEs.
       (c.relreplident = 'f'
        OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i
                                             WHERE i.indrelid = c.oid AND i.indisprimary))
        OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i
                                             WHERE i.indrelid = c.oid AND i.indisreplident)))
           AS has_replica_identity,
       has_table_privilege(c.oid, 'SELECT') AS admin_can_read,
       pg_table_size(c.oid)::bigint AS bytes,
       -- -1: never analyzed (the plan counts those tables instead).
       c.reltuples::bigint AS estimated_rows
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'cotenant_migrations'
ORDER BY c.relname
