-- The columns of `public`'s tables that reference auth.users by a one-column foreign key, read on
-- the source: a users map rewrites them in the imported rows.
SELECT c.relname::text AS "table", a.attname::text AS "column"
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
WHERE con.contype = 'f'
  AND con.confrelid = to_regclass('auth.users')
  AND c.relnamespace = 'public'::regnamespace
  AND cardinality(con.conkey) = 1
ORDER BY 1, 2
