-- Provisioning's catalog read, while PUBLIC may still use schema public: the roles that use it
-- today only because PUBLIC may. They get USAGE of their own when PUBLIC's is revoked, so
-- hardening never breaks a service already using the instance (on hosted Supabase: its API roles
-- and service logins). $1 the OIDs of the project's roles, $2 the name of the role project logins
-- connect through (`cotenant_connect`). One JSON document: a list of role names.
--
-- The rule: every role that is not cotenant's keeps USAGE — logins, the roles they switch to
-- (PostgREST's `authenticator` to `anon`, `authenticated`, `service_role`) and roles only a
-- superuser switches to (hosted Supabase's `dashboard_user`): hardening takes USAGE from
-- cotenant's roles only. Left out: superusers (they bypass privileges), PostgreSQL's predefined
-- `pg_*` roles, cotenant's stewards, the connect role (every project login inherits it: it must
-- hold nothing but CONNECT), and every project's roles — a project is schema `x` owned by
-- `x_owner`; its roles are `x_owner`, `x_app`, `x_login`, `x_migrator`, the rotation twins and the
-- Data API roles `x_anon`, `x_authenticated`, `x_service` (src/api/). A
-- role that keeps USAGE anyway — as the schema's owner, or through a grant to a role whose
-- privileges it inherits — needs nothing.
WITH project_roles AS (
    SELECT r.oid
    FROM pg_namespace n
    JOIN pg_roles o ON o.oid = n.nspowner AND o.rolname = n.nspname || '_owner'
    JOIN pg_roles r ON r.rolname IN (n.nspname || '_owner', n.nspname || '_app', n.nspname || '_login',
                                     n.nspname || '_migrator', n.nspname || '_login_clone',
                                     n.nspname || '_migrator_clone', n.nspname || '_anon',
                                     n.nspname || '_authenticated', n.nspname || '_service')
    UNION
    SELECT unnest($1::oid[])
),
users AS (
    SELECT r.oid, r.rolname
    FROM pg_roles r
    WHERE NOT r.rolsuper AND r.rolname !~ '^pg_' AND r.rolname !~ '^cotenant_steward_[0-9]+$'
      AND r.rolname <> $2 AND r.oid NOT IN (SELECT oid FROM project_roles)
),
public_schema AS (
    SELECT n.nspowner, coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl
    FROM pg_namespace n WHERE n.nspname = 'public'
)
SELECT coalesce(jsonb_agg(u.rolname ORDER BY u.rolname), '[]')::text
FROM users u, public_schema s
WHERE NOT pg_has_role(u.oid, s.nspowner, 'USAGE')
  AND NOT EXISTS (SELECT 1 FROM aclexplode(s.acl) a
                  WHERE a.grantee <> 0 AND a.privilege_type = 'USAGE'
                    AND pg_has_role(u.oid, a.grantee, 'USAGE'))
