-- Provisioning's catalog read, what all projects share: PUBLIC's rights on the database and on
-- schema `public`, the admin's default privileges, and the role through which project logins
-- connect on 16+ ($1, `cotenant_connect`: src/provision/connect.rs). One JSON document. Read
-- alongside the names (the one-project read's names.sql, or the fleet's), in the same round trip.
SELECT jsonb_build_object(
    'public_can_connect', has_database_privilege('public', current_database(), 'CONNECT'),
    'public_can_temp', has_database_privilege('public', current_database(), 'TEMPORARY'),
    'public_can_create_in_public', has_schema_privilege('public', 'public', 'CREATE'),
    'connect_role_exists', to_regrole(quote_ident($1)) IS NOT NULL,
    -- Granted explicitly, by the database's owner (as cotenant grants it): searched from C, one
    -- detoast of the database's ACL.
    'connect_role_can_connect', coalesce((
        SELECT aclcontains(coalesce(d.datacl, acldefault('d', d.datdba)),
                           makeaclitem(to_regrole(quote_ident($1)), d.datdba, 'CONNECT', false))
        FROM pg_database d WHERE d.datname = current_database()), false),
    'public_can_use_public', has_schema_privilege('public', 'public', 'USAGE'),
    -- Of functions ('f') and types ('T'), those the admin's new ones still grant to PUBLIC: with no
    -- global default-privileges row PostgreSQL's built-in default does (EXECUTE, USAGE), and a row
    -- can grant it too. A per-schema row cannot take it back.
    'admin_public_defaults', (
        SELECT coalesce(jsonb_agg(t::text), '[]')
        FROM unnest('{T,f}'::"char"[]) t
        LEFT JOIN pg_default_acl d ON d.defaclrole = to_regrole(quote_ident(session_user))
              AND d.defaclnamespace = 0 AND d.defaclobjtype = t
        WHERE d.oid IS NULL OR EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE a.grantee = 0))
)::text
