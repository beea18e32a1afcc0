-- Provisioning's catalog read, for the project's roles that exist. $1 their OIDs (rotation twins
-- included, the steward not). One JSON document.
SELECT jsonb_build_object(
    -- Every membership a project role takes part in, either side: two index scans. to_jsonb keeps
    -- the columns each version has: PostgreSQL 16 added inherit_option and set_option.
    'memberships', (
        SELECT coalesce(jsonb_agg(to_jsonb(m) || jsonb_build_object(
            'role', pg_get_userbyid(m.roleid)::text, 'member', pg_get_userbyid(m.member)::text,
            'grantor', pg_get_userbyid(m.grantor)::text)
            ORDER BY pg_get_userbyid(m.roleid), pg_get_userbyid(m.member), pg_get_userbyid(m.grantor)), '[]')
        FROM (SELECT * FROM pg_auth_members WHERE roleid = ANY ($1::oid[])
              UNION ALL
              SELECT * FROM pg_auth_members
              WHERE member = ANY ($1::oid[]) AND roleid <> ALL ($1::oid[])) m),
    -- Project logins granted CONNECT explicitly (by the owner, as cotenant grants it). The
    -- database's ACL grows by two entries per project: it is only searched from C (aclcontains),
    -- never exploded into rows, which costs name lookups per entry and, for a toasted ACL, a
    -- detoast per row (aclexplode: ~100 ms at 1,000 projects).
    'can_connect', (
        SELECT coalesce(jsonb_agg(r.rolname ORDER BY r.rolname), '[]')
        FROM pg_roles r, pg_database d
        WHERE r.oid = ANY ($1::oid[]) AND d.datname = current_database()
          AND (aclcontains(coalesce(d.datacl, acldefault('d', d.datdba)), makeaclitem(r.oid, d.datdba, 'CONNECT', false))
               OR aclcontains(coalesce(d.datacl, acldefault('d', d.datdba)), makeaclitem(r.oid, d.datdba, 'CONNECT', true))))
)::text
