-- The columns of `auth.users` and `auth.identities` that COPY can write (not generated), with their
-- types: read on both sides, an import copies the columns both GoTrue schemas have with the same
-- type. Empty where there is no auth schema (the plain flavour).
SELECT c.relname::text AS "table", a.attname::text AS "column",
       format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
WHERE c.oid IN (to_regclass('auth.users'), to_regclass('auth.identities'))
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY 1, a.attnum
