-- The audit's read for the lint on extensions: extensions installed into a project's schema
-- instead of the shared `extensions` schema. $1 the schemas' OIDs.
SELECT n.nspname::text AS project, e.extname::text AS extension
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extnamespace = ANY ($1::oid[])
ORDER BY 1, 2
