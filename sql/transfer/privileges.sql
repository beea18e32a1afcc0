-- What the admin may do for logical replication on one instance (read on both ends of a move).
SELECT current_setting('server_version_num')::int / 10000 AS major,
       current_user::text AS admin,
       r.rolsuper AS superuser,
       r.rolreplication AS replication,
       r.rolbypassrls AS bypass_rls,
       -- 16+: CREATE SUBSCRIPTION needs the privileges of pg_create_subscription (and CREATE on
       -- the database); 15 and older: a superuser.
       (current_setting('server_version_num')::int >= 160000
        AND EXISTS (SELECT 1 FROM pg_roles p WHERE p.rolname = 'pg_create_subscription'
                    AND pg_has_role(current_user, p.oid, 'USAGE'))) AS create_subscription,
       has_database_privilege(current_database(), 'CREATE') AS create_on_database,
       current_setting('wal_level') AS wal_level,
       current_setting('max_replication_slots')::int
           - (SELECT count(*) FROM pg_replication_slots)::int AS free_slots
FROM pg_roles r
WHERE r.rolname = current_user
