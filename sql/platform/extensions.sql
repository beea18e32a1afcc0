-- The allow-listed extensions ($1) as the server has them: where each is installed, whether it is
-- available at all, and whether its default version is trusted (creatable by a non-superuser with
-- CREATE on the database). One row per name.
SELECT x.name,
       (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = x.name) AS installed_in,
       a.name IS NOT NULL AS available,
       coalesce((SELECT v.trusted FROM pg_available_extension_versions v
                 WHERE v.name = x.name AND v.version = a.default_version), false) AS trusted
FROM unnest($1::text[]) AS x(name)
LEFT JOIN pg_available_extensions a ON a.name = x.name
ORDER BY x.name
