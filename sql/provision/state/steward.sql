-- Provisioning's catalog read, when the project's steward exists. $1 the steward's OID, $2 the
-- admin's. One JSON document.
SELECT jsonb_build_object(
    -- Whether the admin may SET ROLE to the steward (on 15 any membership allows it).
    'admin_can_set_steward', EXISTS (
        SELECT 1 FROM pg_auth_members m
        WHERE m.roleid = $1 AND m.member = $2
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    'steward_can_create', has_database_privilege($1, current_database(), 'CREATE')
)::text
