-- Sessions holding locks on the objects a relocation needs, oldest transaction first.
-- $1 the relations' OIDs, $2 the types' and routines' OIDs. Another role's session shows its pid,
-- user and application_name; its state and times only to a member of pg_read_all_stats.
SELECT l.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
       extract(epoch FROM now() - a.xact_start)::int8, l.mode,
       CASE WHEN l.locktype = 'relation'
            THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = l.relation)
            WHEN l.classid = 'pg_type'::regclass THEN l.objid::regtype::text
            ELSE l.objid::regprocedure::text END
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.locktype = 'relation' AND l.relation = ANY($1))
       OR (l.locktype = 'object' AND l.classid IN ('pg_type'::regclass, 'pg_proc'::regclass) AND l.objid = ANY($2)))
ORDER BY a.xact_start NULLS LAST, l.pid
