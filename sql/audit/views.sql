-- The audit's read for the view lints: every view and materialized view of the project schemas,
-- whether it reads with its owner's rights (no `security_invoker`), whether it reads
-- `auth.users` (hosted Supabase's table of every project's users), and who besides its owner
-- may read it. $1 the schemas' OIDs.
SELECT n.nspname::text AS project, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS object,
       c.relkind = 'v' AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o
                                       WHERE o ~* '^security_invoker=(true|on|yes|1)$') AS definer,
       to_regclass('auth.users') IS NOT NULL AND EXISTS (
           SELECT 1 FROM pg_rewrite rw
           JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
           WHERE rw.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass
             AND d.refobjid = to_regclass('auth.users')) AS reads_auth_users,
       ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END
             FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
             WHERE a.grantee <> c.relowner AND a.privilege_type = 'SELECT'
             ORDER BY 1) AS readers
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::oid[]) AND c.relkind IN ('v', 'm')
ORDER BY 1, 2
