-- The audit's read of the policies on `storage.objects`, hosted Supabase's one table of every
-- bucket's files: whether each is permissive, the roles it names (PUBLIC when none) and its
-- expressions as the server prints them. No rows where there is no Storage.
SELECT pol.polname::text AS policy, pol.polpermissive AS permissive,
       ARRAY(SELECT CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(pol.polroles) r) AS roles,
       pg_get_expr(pol.polqual, pol.polrelid) AS using_expr,
       pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr
FROM pg_policy pol
WHERE pol.polrelid = to_regclass('storage.objects')
ORDER BY 1
