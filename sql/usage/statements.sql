-- `cotenant status --usage`, where pg_stat_statements is installed: each project's top
-- statements by total execution time in this database. `{pg_stat_statements}` is the view,
-- qualified by the extension's schema (hosted Supabase: `extensions`). $1 the projects asked for
-- (NULL: all), $2 how many statements per project.
--
-- pg_stat_statements records the user a statement ran as (`userid`): a login's sessions run as
-- the project's app role and a migrator's as its owner (role defaults), so every role of the
-- project counts. Without pg_read_all_stats the texts of other users' statements are hidden.
WITH projects AS (
    SELECT n.nspname::text AS project
    FROM pg_namespace n
    WHERE EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = n.nspname || '_owner')
      AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
),
roles AS (
    SELECT p.project, r.oid, r.rolname::text AS role
    FROM projects p
    JOIN pg_roles r ON r.rolname IN (p.project || '_owner', p.project || '_app', p.project || '_login',
                                     p.project || '_migrator', p.project || '_login_clone',
                                     p.project || '_migrator_clone')
),
ranked AS (
    SELECT r.project, r.role, s.calls, s.total_exec_time, s.mean_exec_time, s.rows,
           left(s.query, 200) AS query,
           row_number() OVER (PARTITION BY r.project ORDER BY s.total_exec_time DESC) AS rank
    FROM {pg_stat_statements} s JOIN roles r ON r.oid = s.userid
    WHERE s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
)
SELECT project, role, calls::int8, total_exec_time::float8 AS total_ms,
       mean_exec_time::float8 AS mean_ms, rows::int8, query
FROM ranked WHERE rank <= $2
ORDER BY project, rank
