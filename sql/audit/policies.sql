-- The audit's read of row-level security policies on the project schemas' tables: the roles
-- each names (PUBLIC when none) and its expressions as the server prints them. $1 the schemas'
-- OIDs.
SELECT n.nspname::text AS project,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table_name, pol.polname::text AS policy,
       ARRAY(SELECT CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(pol.polroles) r) AS roles,
       pg_get_expr(pol.polqual, pol.polrelid) AS using_expr,
       pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::oid[])
ORDER BY 1, 2, 3
