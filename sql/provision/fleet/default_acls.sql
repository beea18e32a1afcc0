-- Provisioning's catalog read for many projects at once, for the owners that exist: their
-- default privileges, global (schema 0) and in their project's schema. $1 the owners' OIDs, $2
-- the OID of each one's schema (0 when there is none), in the same order. One JSON document:
-- sql/provision/state/default_acls.sql's rows, each naming its owner.
WITH owners AS (
    SELECT o.owner, o.schema, pg_get_userbyid(o.owner)::text AS name
    FROM unnest($1::oid[], $2::oid[]) AS o(owner, schema)
)
SELECT jsonb_build_object(
    -- For grantees other than the owner itself.
    'default_acls', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'owner', o.name,
            'in_schema', d.defaclnamespace <> 0, 'objtype', d.defaclobjtype,
            'grantee', CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
            'privilege', a.privilege_type)), '[]')
        FROM owners o
        JOIN pg_default_acl d ON d.defaclrole = o.owner AND d.defaclnamespace IN (0, o.schema),
             aclexplode(d.defaclacl) a
        WHERE a.grantee <> d.defaclrole),
    -- Owners' global rows: without one for functions or types, PostgreSQL's built-in default
    -- lets PUBLIC use them.
    'global_default_acl_types', (
        SELECT coalesce(jsonb_agg(jsonb_build_object('owner', o.name, 'objtype', d.defaclobjtype)), '[]')
        FROM owners o JOIN pg_default_acl d ON d.defaclrole = o.owner AND d.defaclnamespace = 0)
)::text
