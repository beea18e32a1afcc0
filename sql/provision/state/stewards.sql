-- Provisioning's catalog read, for the stewards and sub-stewards that exist (the one-project
-- read's two, or every project's for the fleet's read). $1 their OIDs, $2 the admin's, $3 the name
-- of the role logins connect through (`cotenant_connect`). One JSON document: a list, each entry
-- naming its steward.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'name', pg_get_userbyid(s.oid)::text,
    -- Whether the admin may SET ROLE to the steward (on 15 any membership allows it).
    'admin_can_set_steward', EXISTS (
        SELECT 1 FROM pg_auth_members m
        WHERE m.roleid = s.oid AND m.member = $2
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    -- Whether it may grant the connect role (16+: ADMIN, neither inherited nor usable).
    'administers_connect', EXISTS (
        SELECT 1 FROM pg_auth_members m
        WHERE m.roleid = to_regrole(quote_ident($3)) AND m.member = s.oid AND m.admin_option),
    'steward_can_create', has_database_privilege(s.oid, current_database(), 'CREATE'),
    -- Who inherits it (16+; none on 15): a sub-steward's steward, which holds through it the
    -- ADMIN the sub-steward has on its projects' roles.
    'inherited_by', (
        SELECT coalesce(jsonb_agg(pg_get_userbyid(m.member)::text ORDER BY 1), '[]')
        FROM pg_auth_members m
        WHERE m.roleid = s.oid AND coalesce((to_jsonb(m)->>'inherit_option')::bool, false)))), '[]')::text
FROM unnest($1::oid[]) AS s(oid)
