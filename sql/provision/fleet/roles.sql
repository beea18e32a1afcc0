-- Provisioning's catalog read for many projects at once, for their roles that exist: what
-- sql/provision/state/roles.sql returns for one project, built for thousands of OIDs. $1 the OIDs
-- of the projects' roles (the stewards not). One JSON document.
--
-- Two differences, both measured at 1,000 projects (4,000 roles, a database ACL of 2,000
-- entries): the list is joined once as a set instead of `= ANY ($1)` inside an index condition
-- (which walks the whole array again for every row of the other side), and CONNECT is read by
-- exploding the database's ACL once (handed over detoasted by `|| '{}'`) instead of two
-- `aclcontains` per role, each detoasting the ACL again: ~680 ms → ~25 ms.
WITH ids AS MATERIALIZED (
    SELECT DISTINCT unnest($1::oid[]) AS oid
),
members AS (
    SELECT m, pg_get_userbyid(m.roleid) AS role, pg_get_userbyid(m.member) AS member,
           pg_get_userbyid(m.grantor) AS grantor
    FROM pg_auth_members m
    WHERE m.roleid IN (SELECT oid FROM ids) OR m.member IN (SELECT oid FROM ids)
),
-- Logins granted CONNECT explicitly by the database's owner, as cotenant grants it.
can_connect AS MATERIALIZED (
    SELECT DISTINCT a.grantee
    FROM pg_database d,
         aclexplode(coalesce(d.datacl, acldefault('d', d.datdba)) || '{}'::aclitem[]) a
    WHERE d.datname = current_database() AND a.privilege_type = 'CONNECT' AND a.grantor = d.datdba
)
SELECT jsonb_build_object(
    -- Every membership a project role takes part in, either side. Sorted by `name` (C
    -- collation), as the one-project read sorts.
    'memberships', (
        SELECT coalesce(jsonb_agg(to_jsonb(r.m) || jsonb_build_object(
            'role', r.role::text, 'member', r.member::text, 'grantor', r.grantor::text)
            ORDER BY r.role, r.member, r.grantor), '[]')
        FROM members r),
    'can_connect', (
        SELECT coalesce(jsonb_agg(r.rolname ORDER BY r.rolname), '[]')
        FROM ids JOIN can_connect c ON c.grantee = ids.oid JOIN pg_roles r ON r.oid = ids.oid)
)::text
