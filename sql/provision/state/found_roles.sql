-- Provisioning's catalog read, the roles found by name: $1 the names of the read's projects' roles
-- (rotation twins included) and of their stewards. One JSON document, a list by name. Shared by
-- the one-project read and the fleet's.
--
-- Role defaults by the (database, role) index: pg_roles' own join to pg_db_role_setting hashes
-- the whole table, which grows with every project's logins.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'oid', r.oid::int8, 'name', r.rolname, 'login', r.rolcanlogin, 'inherit', r.rolinherit,
    'superuser', r.rolsuper, 'createdb', r.rolcreatedb, 'createrole', r.rolcreaterole,
    'replication', r.rolreplication, 'bypassrls', r.rolbypassrls,
    'connection_limit', r.rolconnlimit,
    'settings', coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                          WHERE s.setdatabase = 0 AND s.setrole = r.oid), '{}'))
    ORDER BY r.rolname), '[]')::text
FROM pg_roles r WHERE r.rolname = ANY ($1::name[])
