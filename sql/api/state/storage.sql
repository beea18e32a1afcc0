-- The Data API's catalog read, when schema storage has its tables: the project's bucket and the
-- policies on storage.objects named after its API roles. $1 the project's name (= its bucket's
-- id), $2 the API roles' names. One JSON document.
SELECT jsonb_build_object(
    'bucket_exists', EXISTS (SELECT 1 FROM storage.buckets b WHERE b.id = $1),
    'bucket_objects', (SELECT count(*) FROM storage.objects o WHERE o.bucket_id = $1),
    'storage_policies', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', p.polname::text,
            'cmd', p.polcmd::text,
            'roles', (SELECT coalesce(jsonb_agg(pg_get_userbyid(r) ORDER BY pg_get_userbyid(r)), '[]')
                      FROM unnest(p.polroles) r),
            'using', pg_get_expr(p.polqual, p.polrelid),
            'check', pg_get_expr(p.polwithcheck, p.polrelid))
            ORDER BY p.polname), '[]')
        FROM pg_policy p
        WHERE p.polrelid = 'storage.objects'::regclass AND p.polname = ANY ($2::name[]))
)::text
