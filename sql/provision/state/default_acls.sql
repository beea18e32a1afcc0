-- Provisioning's catalog read, when the project's owner exists: its default privileges, global
-- (schema 0) and in the project's schema. $1 the owner's OID, $2 the schema's OID (0 when there
-- is none). One JSON document.
SELECT jsonb_build_object(
    -- For grantees other than the owner itself.
    'default_acls', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'in_schema', d.defaclnamespace <> 0, 'objtype', d.defaclobjtype,
            'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
            'privilege', a.privilege_type)), '[]')
        FROM pg_default_acl d, aclexplode(d.defaclacl) a
        WHERE d.defaclrole = $1 AND d.defaclnamespace = ANY (ARRAY[0, $2]::oid[])
          AND a.grantee <> d.defaclrole),
    -- A missing global row for functions or types means PostgreSQL's built-in default: PUBLIC may
    -- use them.
    'global_default_acl_types', (
        SELECT coalesce(jsonb_agg(d.defaclobjtype), '[]') FROM pg_default_acl d
        WHERE d.defaclrole = $1 AND d.defaclnamespace = 0)
)::text
