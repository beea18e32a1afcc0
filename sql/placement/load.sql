-- One instance's load, for the placement rule and `cotenant status`: the server's
-- max_connections, the client connections open now (every database: they share the limit), and
-- the size of the shared database. Readable by the non-superuser admin: pg_stat_activity shows
-- every session's row (only other users' query text is hidden), and the admin owns the database.
SELECT current_setting('max_connections')::int8 AS max_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int8
           AS connections,
       pg_database_size(current_database())::int8 AS database_bytes
