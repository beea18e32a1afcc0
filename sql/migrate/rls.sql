-- Row-level security of every table in one project's schema: whether it is enabled, forced, and
-- how many policies it has. $1: the schema. Reads only catalogs.
SELECT c.relname::text AS table_name,
       c.relrowsecurity AS enabled,
       c.relforcerowsecurity AS forced,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
ORDER BY 1
