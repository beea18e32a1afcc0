-- The audit's read of memberships: every row of pg_auth_members with a project role or a
-- steward on either side. $1 their OIDs. to_jsonb keeps the columns each version has:
-- PostgreSQL 16 added inherit_option and set_option (NULL on 15, where membership always
-- allows SET ROLE and inheritance follows the member's INHERIT attribute).
SELECT pg_get_userbyid(m.roleid)::text AS role, pg_get_userbyid(m.member)::text AS member,
       pg_get_userbyid(m.grantor)::text AS grantor, m.admin_option,
       (to_jsonb(m)->>'inherit_option')::bool AS inherit_option,
       (to_jsonb(m)->>'set_option')::bool AS set_option
FROM (SELECT * FROM pg_auth_members WHERE roleid = ANY ($1::oid[])
      UNION
      SELECT * FROM pg_auth_members WHERE member = ANY ($1::oid[])) m
ORDER BY 1, 2, 3
