-- What `cotenant doctor` reads about the admin connection and the instance's defaults.
-- Runs as the admin; needs no privilege beyond CONNECT.
SELECT current_setting('server_version')                          AS server_version,
       current_setting('server_version_num')::int                 AS server_version_num,
       r.rolname::text                                            AS admin,
       r.rolsuper                                                 AS is_superuser,
       r.rolcreaterole                                            AS has_createrole,
       d.datdba = r.oid                                           AS owns_database,
       pg_get_userbyid(d.datdba)::text                            AS database_owner,
       current_database()::text                                   AS database,
       has_schema_privilege('public', 'public', 'CREATE')         AS public_can_create_in_public,
       has_database_privilege('public', d.datname, 'CONNECT')     AS public_can_connect,
       has_database_privilege('public', d.datname, 'TEMPORARY')   AS public_can_create_temp,
       has_schema_privilege('public', 'public', 'USAGE')          AS public_can_use_public,
       -- No global default-privileges row for the admin's functions, or one that grants PUBLIC.
       NOT EXISTS (SELECT 1 FROM pg_default_acl da
                   WHERE da.defaclrole = r.oid AND da.defaclnamespace = 0 AND da.defaclobjtype = 'f'
                     AND NOT EXISTS (SELECT 1 FROM aclexplode(da.defaclacl) a WHERE a.grantee = 0))
                                                                  AS admin_functions_public
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database();
