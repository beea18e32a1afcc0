-- The audit's read of the role model, for every project at once. A project is schema `x` for
-- which role `x_owner` exists (who owns the schema is checked by `owners.sql`, not assumed). $1 the suffixes of
-- the model's roles (`_owner`, `_app`, …), from the audit's table of expected roles. Rows: one
-- per project role that exists, and one per steward and sub-steward; `project` is NULL for those.
--
-- Role defaults are read by the (database, role) index, both the role-wide ones and any for
-- this database alone (which would override them).
WITH projects AS (
    SELECT n.nspname::text AS project, n.oid AS schema_oid
    FROM pg_namespace n
    WHERE EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = n.nspname || '_owner')
),
roles AS (
    SELECT p.project, p.schema_oid, r.oid, r.rolname
    FROM projects p CROSS JOIN unnest($1::text[]) s(suffix)
    JOIN pg_roles r ON r.rolname = p.project || s.suffix
    UNION ALL
    SELECT NULL, NULL, r.oid, r.rolname
    FROM pg_roles r WHERE r.rolname ~ '^cotenant_steward_[0-9]{2}(_[0-9]+)?$'
)
SELECT x.project, x.schema_oid, x.oid, x.rolname::text AS name,
       r.rolcanlogin AS login, r.rolinherit AS inherit, r.rolsuper AS superuser,
       r.rolcreatedb AS createdb, r.rolcreaterole AS createrole, r.rolreplication AS replication,
       r.rolbypassrls AS bypassrls, r.rolconnlimit AS connection_limit,
       coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                 WHERE s.setdatabase = 0 AND s.setrole = x.oid), '{}')::text[] AS settings,
       coalesce((SELECT s.setconfig FROM pg_db_role_setting s, pg_database d
                 WHERE d.datname = current_database() AND s.setdatabase = d.oid
                   AND s.setrole = x.oid), '{}')::text[] AS database_settings,
       CASE WHEN x.project IS NOT NULL THEN quote_ident(x.project) END AS search_path
FROM roles x JOIN pg_roles r ON r.oid = x.oid
ORDER BY x.project NULLS LAST, x.rolname
