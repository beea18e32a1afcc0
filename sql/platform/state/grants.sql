-- Platform access's catalog read: the objects whose grants it converges, by OID (0 for one that
-- does not exist), with their owners and the explicit grants to the project's roles. $1 the
-- owner role, $2 the app role, $3 schema auth, $4 schema extensions, $5 schema
-- cotenant_platform, $6 type cotenant_platform.signup_user, $7 table auth.users. One JSON
-- document.
--
-- Only explicit grants to the project's roles are read (aclexplode of each object's ACL): the
-- privileges cotenant manages. What PUBLIC holds is the instance's business, not the project's.
-- These ACLs grow by two entries for every project, so they are stored compressed, and
-- aclexplode detoasts its argument again for every row it returns (quadratic: ~14 ms at 150
-- projects). `|| '{}'` hands it the array already detoasted, once per object (~1.4 ms); a
-- NULL ACL stays NULL (`NULL || '{}'` is an empty array aclexplode refuses).
WITH objects AS (
    SELECT CASE n.oid WHEN $3 THEN 'schema auth'
                      WHEN $4 THEN 'schema extensions'
                      ELSE 'schema cotenant_platform' END AS object,
           n.nspacl AS acl, n.nspowner AS owner
    FROM pg_namespace n WHERE n.oid IN ($3, $4, $5)
    UNION ALL
    SELECT 'function auth.' || p.proname || '()', p.proacl, p.proowner
    FROM pg_proc p
    WHERE p.proname IN ('uid', 'role', 'email', 'jwt') AND p.pronamespace = $3
      AND p.pronargs = 0
    UNION ALL
    SELECT 'column auth.users (id)', a.attacl, c.relowner
    FROM pg_attribute a, pg_class c
    WHERE a.attrelid = $7 AND a.attname = 'id' AND c.oid = $7
    UNION ALL
    SELECT 'type cotenant_platform.signup_user', t.typacl, t.typowner
    FROM pg_type t WHERE t.oid = $6
)
SELECT jsonb_build_object(
    'owners', coalesce((SELECT jsonb_object_agg(o.object, pg_get_userbyid(o.owner))
                        FROM objects o), '{}'),
    'grants', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'object', o.object,
                   'grantee', pg_get_userbyid(a.grantee),
                   'privilege', a.privilege_type)
               ORDER BY o.object, a.grantee, a.privilege_type)
        FROM objects o, aclexplode(CASE WHEN o.acl IS NOT NULL THEN o.acl || '{}'::aclitem[] END) a
        -- 0 stands for a role that does not exist, and is PUBLIC in an ACL.
        WHERE a.grantee IN ($1, $2) AND a.grantee <> 0), '[]')
)::text
