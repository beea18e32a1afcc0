-- The fingerprint of one project's schema, for parity between environments: one line per fact,
-- with names instead of OIDs, so the same schema on two instances gives the same set of lines.
-- $1: the schema (= the project's name). The caller sorts the lines.
--
-- Runs with search_path = pg_catalog (SET LOCAL by the caller), so that pg_get_*def and
-- format_type qualify every name outside pg_catalog the same way whatever the session's settings.
-- Reads only catalogs, which every role may read: the admin needs no privilege on the schema.
--
-- Not fingerprinted: data (sequence values, rows), comments, statistics, and who granted a
-- privilege (only what is granted to whom).
WITH ns AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_namespace n WHERE n.nspname = $1
),
-- What lives in the schema, found through its dependency on the schema: pg_depend is indexed by
-- the referenced object, while pg_class and pg_type have no index by namespace and scanning them
-- costs ~15 ms on an instance of a thousand projects. PostgreSQL records that dependency for
-- every relation except indexes, TOAST tables and composite types' relations (which depend on
-- their table or type), and for every standalone type (not a table's row type, not an array).
-- The namespace conditions below are kept as a check.
deps AS (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = (SELECT oid FROM ns)
      AND d.refobjsubid = 0
),
-- Standalone types: enums, domains, ranges and their multiranges, shells, and composite types
-- made with CREATE TYPE.
typ AS (
    SELECT t.oid, t.typname, t.typtype, t.typowner, t.typacl, t.typbasetype, t.typtypmod,
           t.typnotnull, t.typdefaultbin, t.typcollation, t.typrelid
    FROM deps d JOIN pg_type t ON t.oid = d.objid
    WHERE d.classid = 'pg_type'::regclass AND t.typnamespace = (SELECT oid FROM ns)
),
rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relrowsecurity,
           c.relforcerowsecurity, c.relpersistence, c.reloptions, c.relpartbound
    FROM (SELECT d.objid AS oid FROM deps d WHERE d.classid = 'pg_class'::regclass
          UNION
          SELECT t.typrelid FROM typ t WHERE t.typtype = 'c') o
    JOIN pg_class c ON c.oid = o.oid
    WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
),
fn AS (
    SELECT p.oid, p.prokind, p.proowner, p.proacl,
           format('%I(%s)', p.proname, pg_get_function_identity_arguments(p.oid)) AS ident
    FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
),
kind(relkind, name) AS (
    VALUES ('r', 'table'), ('p', 'partitioned table'), ('v', 'view'), ('m', 'materialized view'),
           ('f', 'foreign table'), ('S', 'sequence'), ('c', 'composite type')
),
acls(object, acl) AS (
    SELECT format('schema %I', nspname), coalesce(nspacl, acldefault('n', nspowner)) FROM ns
    UNION ALL
    SELECT format('%s %I', k.name, r.relname),
           coalesce(r.relacl, acldefault(CASE r.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", r.relowner))
    FROM rel r JOIN kind k ON k.relkind = r.relkind::text WHERE r.relkind <> 'c'
    UNION ALL
    SELECT format('column %I.%I', r.relname, a.attname), a.attacl
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
    WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
    UNION ALL
    SELECT 'function ' || ident, coalesce(proacl, acldefault('f', proowner)) FROM fn
    UNION ALL
    SELECT format('type %I', typname), coalesce(typacl, acldefault('T', typowner)) FROM typ
)
SELECT format('schema %I owner %s', nspname, pg_get_userbyid(nspowner)) FROM ns
UNION ALL
SELECT format('extension %I version %s', e.extname, e.extversion)
FROM pg_extension e WHERE e.extnamespace = (SELECT oid FROM ns)
-- Grants, on everything: the grantee and the privilege, not the grantor.
UNION ALL
SELECT format('%s grant %s to %s%s', acls.object, a.privilege_type,
              CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
              CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END)
FROM acls, aclexplode(acls.acl) a
-- Relations: kind, owner, persistence, options (views' security_invoker too), partitioning.
UNION ALL
SELECT format('%s %I owner %s%s%s%s', k.name, r.relname, pg_get_userbyid(r.relowner),
              CASE r.relpersistence WHEN 'u' THEN ' unlogged' ELSE '' END,
              coalesce(' with (' || array_to_string(r.reloptions, ', ') || ')', ''),
              CASE WHEN r.relkind = 'p' THEN ' partition by ' || pg_get_partkeydef(r.oid) ELSE '' END)
FROM rel r JOIN kind k ON k.relkind = r.relkind::text
UNION ALL
SELECT format('table %I inherits %s%s', r.relname, i.inhparent::regclass,
              coalesce(' ' || pg_get_expr(r.relpartbound, r.oid), ''))
FROM rel r JOIN pg_inherits i ON i.inhrelid = r.oid
-- Row-level security.
UNION ALL
SELECT format('table %I row level security %s', r.relname,
              CASE WHEN r.relforcerowsecurity THEN 'enabled and forced' ELSE 'enabled' END)
FROM rel r WHERE r.relrowsecurity
UNION ALL
SELECT format('policy %I on %I: %s for %s to %s%s%s', p.polname, r.relname,
              CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
              CASE p.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update'
                            WHEN 'd' THEN 'delete' ELSE 'all' END,
              (SELECT string_agg(g.name, ', ' ORDER BY g.name)
               FROM (SELECT CASE o WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(o)::text END AS name
                     FROM unnest(p.polroles) o) g),
              coalesce(' using (' || pg_get_expr(p.polqual, p.polrelid) || ')', ''),
              coalesce(' with check (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''))
FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
-- Columns: position among the live columns, type, nullability, default or generation, identity,
-- a collation other than the type's.
UNION ALL
SELECT format('column %I.%I #%s %s%s%s%s%s%s', r.relname, a.attname,
              row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
              format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              CASE WHEN a.attgenerated = 's' THEN ' generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
                   ELSE coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') END,
              CASE a.attidentity WHEN 'a' THEN ' generated always as identity'
                                 WHEN 'd' THEN ' generated by default as identity' ELSE '' END,
              CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                   THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END,
              CASE WHEN a.attstorage <> t.typstorage THEN ' storage ' || a.attstorage::text ELSE '' END)
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
-- Constraints of tables and of domains (pg_get_constraintdef says NOT VALID where it applies).
UNION ALL
SELECT format('constraint %I on %I: %s', c.conname, r.relname, pg_get_constraintdef(c.oid))
FROM pg_constraint c JOIN rel r ON r.oid = c.conrelid
UNION ALL
-- (A domain's constraints have conrelid 0: with it the lookup uses the (conrelid, contypid) index
-- instead of scanning every constraint of every project.)
SELECT format('constraint %I on domain %I: %s', c.conname, t.typname, pg_get_constraintdef(c.oid))
FROM typ t JOIN pg_constraint c ON c.conrelid = 0 AND c.contypid = t.oid
-- Indexes, with a mark on one a failed CREATE INDEX CONCURRENTLY left invalid.
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END
FROM pg_index i JOIN rel r ON r.oid = i.indrelid
-- Sequences: their definition and owning column, not their current value.
UNION ALL
SELECT format('sequence %I as %s start %s increment %s min %s max %s cache %s%s%s', r.relname,
              format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
              s.seqcache, CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END,
              coalesce((SELECT format(' owned by %I.%I', t.relname, a.attname)
                        FROM pg_depend dep
                        JOIN pg_class t ON t.oid = dep.refobjid
                        JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
                        WHERE dep.classid = 'pg_class'::regclass AND dep.objid = r.oid
                          AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')), ''))
FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
-- Types.
UNION ALL
SELECT format('type %I owner %s: %s', t.typname, pg_get_userbyid(t.typowner),
              CASE t.typtype
                  WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                             FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
                  WHEN 'd' THEN 'domain over ' || format_type(t.typbasetype, t.typtypmod)
                                || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
                                || coalesce(' default ' || pg_get_expr(t.typdefaultbin, 0), '')
                                || CASE WHEN t.typcollation <> 0 THEN ' collate ' || t.typcollation::regcollation::text ELSE '' END
                  WHEN 'r' THEN 'range of ' || (SELECT format_type(g.rngsubtype, NULL) FROM pg_range g WHERE g.rngtypid = t.oid)
                  WHEN 'm' THEN 'multirange'
                  WHEN 'c' THEN 'composite'
                  ELSE 'base' END)
FROM typ t
-- Functions and procedures: pg_get_functiondef includes language, volatility, SECURITY DEFINER,
-- SET options (search_path) and the body; one line per line of it, numbered, so a diff shows the
-- lines that changed. Aggregates have no such definition: their parts come from pg_aggregate.
UNION ALL
SELECT format('function %s owner %s', f.ident, pg_get_userbyid(f.proowner)) FROM fn f
UNION ALL
SELECT format('function %s line %s: %s', f.ident, lpad(d.n::text, 4, '0'), d.line)
FROM (SELECT * FROM fn WHERE prokind <> 'a') f,
     regexp_split_to_table(CASE WHEN f.prokind <> 'a' THEN pg_get_functiondef(f.oid) END, E'\n')
         WITH ORDINALITY AS d(line, n)
UNION ALL
SELECT format('aggregate %s: sfunc %s stype %s%s%s%s', f.ident, a.aggtransfn,
              format_type(a.aggtranstype, NULL),
              CASE WHEN a.aggfinalfn::oid <> 0 THEN ' finalfunc ' || a.aggfinalfn::text ELSE '' END,
              CASE WHEN a.aggcombinefn::oid <> 0 THEN ' combinefunc ' || a.aggcombinefn::text ELSE '' END,
              coalesce(' initcond ' || quote_literal(a.agginitval), ''))
FROM fn f JOIN pg_aggregate a ON a.aggfnoid = f.oid
UNION ALL
SELECT format('view %I line %s: %s', r.relname, lpad(d.n::text, 4, '0'), d.line)
FROM (SELECT * FROM rel WHERE relkind IN ('v', 'm')) r,
     regexp_split_to_table(CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid, true) END, E'\n')
         WITH ORDINALITY AS d(line, n)
UNION ALL
SELECT format('trigger %I on %I: %s%s', t.tgname, r.relname, pg_get_triggerdef(t.oid),
              CASE t.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (replica only)'
                               WHEN 'A' THEN ' (always)' ELSE '' END)
FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT format('rule %I on %I: %s', w.rulename, r.relname, pg_get_ruledef(w.oid))
FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class WHERE w.rulename <> '_RETURN'
-- The owner's default privileges: what new objects will grant.
UNION ALL
SELECT format('default privileges of %s%s on %s: grant %s to %s%s', pg_get_userbyid(d.defaclrole),
              CASE WHEN d.defaclnamespace = 0 THEN '' ELSE format(' in schema %I', $1) END,
              CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                   WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE 'large objects' END,
              a.privilege_type,
              CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
              CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END)
FROM pg_default_acl d, aclexplode(d.defaclacl) a
WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $1 || '_owner')
  AND (d.defaclnamespace = 0 OR d.defaclnamespace = (SELECT oid FROM ns))
-- The migration history, as the runner's summary: last version and history checksum. The caller
-- renders it.
UNION ALL
SELECT 'migrations ' || coalesce(obj_description(r.oid, 'pg_class'), '')
FROM rel r WHERE r.relname = 'cotenant_migrations' AND r.relkind = 'r'
