-- The migration summary of every project on the instance, in one catalog read.
--
-- A project is a schema owned by a role named `<schema>_owner` (what provisioning creates). Its
-- summary is the comment on its history table, which the runner writes as the owner in the same
-- transaction as each history row. Catalogs, comments included, are readable by every role: the
-- admin needs no privilege on the project schemas (it has none, by design).
SELECT n.nspname::text AS project,
       c.oid IS NOT NULL AS has_history,
       obj_description(c.oid, 'pg_class') AS summary
FROM pg_namespace n
JOIN pg_roles o ON o.oid = n.nspowner AND o.rolname = n.nspname || '_owner'
LEFT JOIN pg_class c
       ON c.relnamespace = n.oid AND c.relname = 'cotenant_migrations' AND c.relkind = 'r'
WHERE $1::text IS NULL OR n.nspname = $1
ORDER BY 1
