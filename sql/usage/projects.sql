-- `cotenant status --usage`: what each project uses of the instance now, for every project at
-- once. A project is schema `x` for which role `x_owner` exists; $1 the projects asked for
-- (NULL: all). One row per project.
--
-- Sessions are counted by their session user (pg_stat_activity.usesysid): the login, whatever
-- role its role defaults switched to. Without pg_read_all_stats (pg_monitor has it; hosted
-- Supabase's admin holds it) other users' sessions are counted, but their state and query are
-- hidden: `hidden_sessions` says how many.
WITH projects AS (
    SELECT n.oid, n.nspname::text AS project
    FROM pg_namespace n
    WHERE EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = n.nspname || '_owner')
      AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
),
logins AS (
    SELECT p.project, r.oid, r.rolname,
           CASE WHEN r.rolname IN (p.project || '_login', p.project || '_login_clone') THEN 'app'
                ELSE 'migrator' END AS login
    FROM projects p
    JOIN pg_roles r ON r.rolname IN (p.project || '_login', p.project || '_login_clone',
                                     p.project || '_migrator', p.project || '_migrator_clone')
),
sizes AS (
    SELECT c.relnamespace, sum(pg_total_relation_size(c.oid))::int8 AS bytes
    FROM pg_class c
    -- Tables' sizes include their indexes and TOAST; sequences and materialized views count too.
    WHERE c.relnamespace IN (SELECT oid FROM projects) AND c.relkind IN ('r', 'm', 'S')
    GROUP BY c.relnamespace
),
sessions AS (
    SELECT l.project, l.login, l.rolname::text AS role, a.state, a.query_start,
           left(a.query, 200) AS query
    FROM pg_stat_activity a JOIN logins l ON l.oid = a.usesysid
),
longest AS (
    SELECT DISTINCT ON (s.project) s.project, s.role, s.state,
           extract(epoch FROM now() - s.query_start)::float8 AS seconds, s.query
    FROM sessions s
    WHERE s.state IS NOT NULL AND s.state <> 'idle' AND s.query_start IS NOT NULL
    ORDER BY s.project, s.query_start
)
SELECT p.project, coalesce(z.bytes, 0) AS schema_bytes,
       (SELECT count(*) FROM sessions s WHERE s.project = p.project AND s.login = 'app')::int8 AS app_connections,
       (SELECT r.rolconnlimit FROM pg_roles r WHERE r.rolname = p.project || '_login') AS app_connection_limit,
       (SELECT count(*) FROM sessions s WHERE s.project = p.project AND s.login = 'migrator')::int8 AS migrator_connections,
       (SELECT r.rolconnlimit FROM pg_roles r WHERE r.rolname = p.project || '_migrator') AS migrator_connection_limit,
       (SELECT count(*) FROM sessions s WHERE s.project = p.project AND s.state IS NULL)::int8 AS hidden_sessions,
       g.role AS longest_role, g.state AS longest_state, g.seconds AS longest_seconds, g.query AS longest_query
FROM projects p
LEFT JOIN sizes z ON z.relnamespace = p.oid
LEFT JOIN longest g ON g.project = p.project
ORDER BY p.project
