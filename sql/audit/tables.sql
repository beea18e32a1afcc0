-- The audit's read for the row-level security lints: every table of the project schemas, with
-- whether RLS is enabled, how many policies it has and whether a role other than its owner may
-- read or write it (a grant to anyone, PUBLIC included). $1 the schemas' OIDs.
SELECT n.nspname::text AS project, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS object,
       c.relrowsecurity AS rls,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::int8 AS policies,
       EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
               WHERE a.grantee <> c.relowner
                 AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')) AS reachable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::oid[]) AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
ORDER BY 1, 2
