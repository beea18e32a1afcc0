-- Everything relocation needs to know about schema public, and about the project's schema it moves
-- into, as one JSON document. $1 the project's schema (= the project's name), $2 `<p>_app`,
-- $3 the project's steward.
--
-- Read-only and plain catalog reads: a dry run needs nothing beyond CONNECT. Names of objects
-- outside public are labelled `schema.name` with quote_ident, so the report never depends on the
-- reader's search_path. Types are referred to by OID; `labels` spells each one used by a routine
-- signature schema-qualified, for the same reason. PostgreSQL's own types and objects are left
-- out of the reads (they never move and cannot be moved); that keeps the read to a few ms.
WITH pub AS (
    SELECT oid FROM pg_namespace WHERE nspname = 'public'
),
target AS (
    SELECT oid, nspowner FROM pg_namespace WHERE nspname = $1
),
-- Schemas whose objects are PostgreSQL's own.
system AS (
    SELECT oid FROM pg_namespace
    WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname LIKE 'pg\_temp\_%'
       OR nspname LIKE 'pg\_toast\_temp\_%'
),
-- Members of extensions: they move only with their extension, never one by one.
extension_member AS (
    SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
),
rel AS (
    SELECT c.*, n.nspname,
           quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS label,
           c.relnamespace = (SELECT oid FROM pub) AS in_public
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relnamespace NOT IN (SELECT oid FROM system)
),
typ AS (
    SELECT t.*, n.nspname,
           quote_ident(n.nspname) || '.' || quote_ident(t.typname) AS label,
           t.typnamespace = (SELECT oid FROM pub) AS in_public,
           -- An array type stands for its element type.
           e.oid AS element
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_type e ON e.typarray = t.oid
    WHERE t.typnamespace NOT IN (SELECT oid FROM system)
),
fun AS (
    SELECT p.*, n.nspname,
           quote_ident(n.nspname) || '.' || quote_ident(p.proname)
               || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS label,
           p.pronamespace = (SELECT oid FROM pub) AS in_public
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.pronamespace NOT IN (SELECT oid FROM system)
),
-- Who may act as whom: the admin can move what a role it has the privileges of owns.
owner AS (
    SELECT r.oid, r.rolname, r.rolsuper, pg_has_role(session_user, r.oid, 'USAGE') AS admin_acts
    FROM pg_roles r
),
-- Grantees of an ACL other than its object's owner; PUBLIC is spelled PUBLIC.
grant_edge AS (
    SELECT 'relation' AS kind, c.oid, a.grantee
    FROM rel c, aclexplode(coalesce(c.relacl,
        acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
    WHERE c.in_public AND a.grantee <> c.relowner
    UNION
    SELECT 'relation', att.attrelid, a.grantee
    FROM rel c JOIN pg_attribute att ON att.attrelid = c.oid, aclexplode(att.attacl) a
    WHERE c.in_public AND att.attacl IS NOT NULL AND a.grantee <> c.relowner
    UNION
    SELECT 'type', t.oid, a.grantee
    FROM typ t, aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
    WHERE t.in_public AND t.element IS NULL AND a.grantee <> t.typowner
    UNION
    SELECT 'function', p.oid, a.grantee
    FROM fun p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    WHERE p.in_public AND a.grantee <> p.proowner
),
grantees AS (
    SELECT kind, oid,
           jsonb_agg(DISTINCT CASE grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee)::text END) AS names
    FROM grant_edge GROUP BY kind, oid
),
-- What depends on what, as (user, used) pairs where one side is in public.
column_type AS (
    -- Columns of relations, and attributes of composite types (whose user is the type).
    SELECT DISTINCT
           CASE WHEN c.relkind = 'c' THEN 'type' ELSE 'relation' END AS user_kind,
           CASE WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END AS user_oid,
           c.label AS user_label, c.in_public AS user_in_public,
           coalesce(t.element, t.oid) AS used
    FROM rel c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN typ t ON t.oid = a.atttypid
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
),
uses AS (
    SELECT ct.user_kind, ct.user_oid, ct.user_label, ct.user_in_public,
           'type' AS used_kind, u.oid AS used, u.label AS used_label, 'column' AS how
    FROM column_type ct JOIN typ u ON u.oid = ct.used
    WHERE u.in_public
    UNION ALL
    -- Column defaults that call nextval() on a sequence.
    SELECT DISTINCT 'relation', c.oid, c.label, c.in_public, 'relation', s.oid, s.label, 'default'
    FROM pg_depend d
    JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
    JOIN rel c ON c.oid = ad.adrelid
    JOIN rel s ON s.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass AND s.relkind = 'S'
    WHERE s.in_public
    UNION ALL
    -- Triggers (not the internal ones of foreign keys) and the functions they execute.
    SELECT DISTINCT 'relation', c.oid, c.label, c.in_public, 'function', p.oid, p.label, 'trigger'
    FROM pg_trigger tg JOIN rel c ON c.oid = tg.tgrelid JOIN fun p ON p.oid = tg.tgfoid
    WHERE NOT tg.tgisinternal AND p.in_public
    UNION ALL
    -- Views and materialized views, and the relations their query reads.
    SELECT DISTINCT 'relation', v.oid, v.label, v.in_public, 'relation', r.oid, r.label, 'view'
    FROM pg_rewrite rw
    JOIN rel v ON v.oid = rw.ev_class
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
    JOIN rel r ON r.oid = d.refobjid
    WHERE v.relkind IN ('v', 'm') AND (v.in_public OR r.in_public)
    UNION ALL
    -- Routine signatures: argument and result types.
    SELECT DISTINCT 'function', p.oid, p.label, p.in_public, 'type', u.oid, u.label, 'signature'
    FROM fun p
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                    AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
    JOIN typ t ON t.oid = d.refobjid
    JOIN typ u ON u.oid = coalesce(t.element, t.oid)
    WHERE u.in_public
    UNION ALL
    -- Types built on types: a domain's base type, a range's subtype.
    SELECT 'type', t.oid, t.label, t.in_public, 'type', u.oid, u.label, 'type'
    FROM typ t JOIN typ b ON b.oid = t.typbasetype JOIN typ u ON u.oid = coalesce(b.element, b.oid)
    WHERE t.typtype = 'd' AND u.in_public
    UNION ALL
    SELECT 'type', t.oid, t.label, t.in_public, 'type', u.oid, u.label, 'type'
    FROM pg_range r JOIN typ t ON t.oid = r.rngtypid JOIN typ s ON s.oid = r.rngsubtype
    JOIN typ u ON u.oid = coalesce(s.element, s.oid)
    WHERE u.in_public
)
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'database', current_database()::text,
    'target_owner', (SELECT pg_get_userbyid(nspowner)::text FROM target),
    'app_exists', EXISTS (SELECT FROM pg_roles WHERE rolname = $2),
    -- Whether the admin can act as the steward (on 15 any membership allows SET ROLE).
    'admin_can_set_steward', EXISTS (
        SELECT FROM pg_auth_members m
        WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $3)
          AND m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    'relations', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'oid', c.oid::bigint, 'name', c.relname::text, 'kind', c.relkind::text,
            'owner', o.rolname::text, 'owner_superuser', o.rolsuper, 'admin_acts', o.admin_acts,
            'partition_of', (SELECT i.inhparent::bigint FROM pg_inherits i
                             WHERE i.inhrelid = c.oid AND c.relispartition),
            'inheritance', NOT c.relispartition AND (
                EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = c.oid)
                OR (c.relkind = 'r' AND EXISTS (SELECT FROM pg_inherits i WHERE i.inhparent = c.oid))),
            'extension', EXISTS (SELECT FROM extension_member e
                                 WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid),
            'owned_by', (SELECT d.refobjid::bigint FROM pg_depend d
                         WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                         LIMIT 1),
            'grantees', coalesce(g.names, '[]'),
            'indexes', (SELECT coalesce(jsonb_agg(ic.relname::text ORDER BY ic.relname), '[]')
                        FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                        WHERE x.indrelid = c.oid),
            'policies', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                             'name', pol.polname::text,
                             'roles', (SELECT jsonb_agg(CASE r WHEN 0 THEN 'PUBLIC'
                                                        ELSE pg_get_userbyid(r)::text END)
                                       FROM unnest(pol.polroles) r))
                             ORDER BY pol.polname), '[]')
                         FROM pg_policy pol WHERE pol.polrelid = c.oid),
            'publications', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'name', p.pubname::text, 'owner', po.rolname::text,
                                 'admin_acts', po.admin_acts) ORDER BY p.pubname), '[]')
                             FROM pg_publication_rel pr
                             JOIN pg_publication p ON p.oid = pr.prpubid
                             JOIN owner po ON po.oid = p.pubowner
                             WHERE pr.prrelid = c.oid)
            ) ORDER BY c.relname), '[]')
        FROM rel c JOIN owner o ON o.oid = c.relowner
        LEFT JOIN grantees g ON g.kind = 'relation' AND g.oid = c.oid
        WHERE c.in_public AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')),
    'types', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'oid', t.oid::bigint, 'name', t.typname::text, 'kind', t.typtype::text,
            'owner', o.rolname::text, 'owner_superuser', o.rolsuper, 'admin_acts', o.admin_acts,
            'extension', EXISTS (SELECT FROM extension_member e
                                 WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid),
            'array_name', (SELECT a.typname::text FROM pg_type a WHERE a.oid = t.typarray),
            'grantees', coalesce(g.names, '[]')
            ) ORDER BY t.typname), '[]')
        FROM typ t JOIN owner o ON o.oid = t.typowner
        LEFT JOIN grantees g ON g.kind = 'type' AND g.oid = t.oid
        WHERE t.in_public AND t.element IS NULL
          AND (t.typtype IN ('e', 'd', 'r')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))),
    'functions', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'oid', p.oid::bigint, 'name', p.proname::text, 'kind', p.prokind::text,
            'arg_types', (SELECT coalesce(jsonb_agg(a::bigint ORDER BY n), '[]')
                          FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(a, n)),
            'owner', o.rolname::text, 'owner_superuser', o.rolsuper, 'admin_acts', o.admin_acts,
            'extension', EXISTS (SELECT FROM extension_member e
                                 WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid),
            'security_definer', p.prosecdef,
            'search_path', (SELECT substr(s, length('search_path=') + 1) FROM unnest(p.proconfig) s
                            WHERE s LIKE 'search\_path=%'),
            -- Bodies kept as text are resolved when they run; SQL-standard bodies (BEGIN ATOMIC) and
            -- C functions are bound at creation and need no reading.
            'body', CASE WHEN p.prosqlbody IS NULL AND l.lanname IN ('sql', 'plpgsql') THEN p.prosrc END,
            'grantees', coalesce(g.names, '[]')
            ) ORDER BY p.proname, p.oid), '[]')
        FROM fun p JOIN owner o ON o.oid = p.proowner JOIN pg_language l ON l.oid = p.prolang
        LEFT JOIN grantees g ON g.kind = 'function' AND g.oid = p.oid
        WHERE p.in_public),
    -- Routines elsewhere whose text body mentions public: they may name a moved relation there.
    'outside_bodies', (
        SELECT coalesce(jsonb_agg(jsonb_build_object('label', p.label, 'body', p.prosrc)
                                  ORDER BY p.label), '[]')
        FROM fun p JOIN pg_language l ON l.oid = p.prolang
        WHERE NOT p.in_public AND p.prosqlbody IS NULL AND l.lanname IN ('sql', 'plpgsql')
          AND p.prosrc ILIKE '%public%'
          AND NOT EXISTS (SELECT FROM extension_member e
                          WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)),
    -- Every type a routine in public takes, by OID, spelled so that it resolves whatever the
    -- search_path: built-in types as format_type prints them, others schema-qualified.
    'labels', (
        SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
            'oid', a::bigint, 'element', t.element::bigint,
            'label', CASE WHEN t.oid IS NULL THEN format_type(a, NULL)
                          WHEN t.element IS NOT NULL THEN e.label || '[]'
                          ELSE t.label END)), '[]')
        FROM fun p, unnest(p.proargtypes::oid[]) a
        LEFT JOIN typ t ON t.oid = a
        LEFT JOIN typ e ON e.oid = t.element
        WHERE p.in_public),
    'uses', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'user_kind', user_kind, 'user_oid', user_oid::bigint, 'user_label', user_label,
            'user_in_public', user_in_public, 'used_kind', used_kind, 'used', used::bigint,
            'used_label', used_label, 'how', how)), '[]')
        FROM uses),
    -- Foreign keys with at least one end in public; those that partitioning clones are left out.
    'foreign_keys', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', con.conname::text, 'from', f.oid::bigint, 'from_label', f.label,
            'from_in_public', f.in_public, 'to', t.oid::bigint, 'to_label', t.label,
            'to_in_public', t.in_public) ORDER BY f.label, con.conname), '[]')
        FROM pg_constraint con JOIN rel f ON f.oid = con.conrelid JOIN rel t ON t.oid = con.confrelid
        WHERE con.contype = 'f' AND con.conparentid = 0 AND (f.in_public OR t.in_public)),
    -- Publications that take every table of public (FOR TABLES IN SCHEMA public).
    'schema_publications', (
        SELECT coalesce(jsonb_agg(p.pubname::text ORDER BY p.pubname), '[]')
        FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
        WHERE pn.pnnspid = (SELECT oid FROM pub)),
    -- Names already used in the project's schema.
    'taken', jsonb_build_object(
        'relations', (SELECT coalesce(jsonb_agg(c.relname::text), '[]') FROM pg_class c
                      WHERE c.relnamespace = (SELECT oid FROM target)),
        'types', (SELECT coalesce(jsonb_agg(t.typname::text), '[]') FROM pg_type t
                  WHERE t.typnamespace = (SELECT oid FROM target)),
        'functions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'name', p.proname::text,
                          'arg_types', (SELECT coalesce(jsonb_agg(a::bigint ORDER BY n), '[]')
                                        FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(a, n)))), '[]')
                      FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM target)))
)::text
