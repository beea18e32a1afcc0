-- Provisioning's catalog read for many projects at once, for the stewards that exist: what
-- sql/provision/state/steward.sql says of one. $1 the stewards' OIDs, $2 the admin's. One JSON
-- document: a list, each entry naming its steward.
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'name', pg_get_userbyid(s.oid)::text,
    -- Whether the admin may SET ROLE to the steward (on 15 any membership allows it).
    'admin_can_set_steward', EXISTS (
        SELECT 1 FROM pg_auth_members m
        WHERE m.roleid = s.oid AND m.member = $2
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    'steward_can_create', has_database_privilege(s.oid, current_database(), 'CREATE'))), '[]')::text
FROM unnest($1::oid[]) AS s(oid)
