-- What relocation reads second: what is attached to the objects of public (objects.sql found
-- them) and what depends on them, by their OIDs. Each part below is one list; cotenant asks for
-- the lists it needs in one statement, each as `(SELECT jsonb_agg(…) FROM (<part>) …)` with its
-- own array of OIDs as `$1` (renumbered there). Every part is an index scan, or a few, by OID.

-- @dependencies: pg_depend both ways — what depends on an object of public (by the index on the
-- referenced object), and what the objects of public and the routines that mention public depend
-- on themselves: extension membership ('e'), a sequence's owning column ('a') or identity ('i').
-- $1 the OIDs of those objects, of every kind (the client keeps the pairs that are its own). One
-- pair of index scans per OID: on a small catalog the planner would rather scan all of pg_depend.
SELECT d.*
FROM unnest($1::oid[]) o,
     LATERAL (SELECT classid, objid, objsubid, refclassid, refobjid, deptype
              FROM pg_depend
              WHERE refclassid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass)
                AND refobjid = o
              UNION ALL
              SELECT classid, objid, objsubid, refclassid, refobjid, deptype
              FROM pg_depend
              WHERE classid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass)
                AND objid = o AND deptype IN ('e', 'a', 'i')) d

-- @roles: the owners of the objects of public, and whether the admin has their privileges.
SELECT oid, rolname AS name, rolsuper AS superuser,
       pg_has_role(session_user, oid, 'USAGE') AS admin_acts
FROM pg_roles
WHERE oid = ANY ($1)

-- @relation_grantees: who holds privileges on the relations of public other than their owner,
-- table- or column-level, by name in the database's collation; PUBLIC is spelled PUBLIC.
SELECT c.oid, array_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                 ELSE pg_get_userbyid(a.grantee)::text END) AS names
FROM unnest($1::oid[]) o
JOIN pg_class c ON c.oid = o,
     LATERAL (SELECT c.relacl
              UNION ALL
              SELECT attacl FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL) x(acl),
     aclexplode(x.acl) a
WHERE a.grantee <> c.relowner
GROUP BY c.oid

-- @type_grantees: the same for the types of public (by default, PUBLIC may use a type).
SELECT t.oid, array_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                 ELSE pg_get_userbyid(a.grantee)::text END) AS names
FROM pg_type t, aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
WHERE t.oid = ANY ($1) AND a.grantee <> t.typowner
GROUP BY t.oid

-- @function_grantees: the same for the routines of public (by default, PUBLIC may execute one).
SELECT p.oid, array_agg(DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                 ELSE pg_get_userbyid(a.grantee)::text END) AS names
FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE p.oid = ANY ($1) AND a.grantee <> p.proowner
GROUP BY p.oid

-- @inheritance: the parents and children of the relations of public.
SELECT inhrelid AS relation, inhparent AS parent
FROM pg_inherits
WHERE inhrelid = ANY ($1) OR inhparent = ANY ($1)

-- @indexes: the indexes of the tables of public (named in their table's schema).
SELECT indrelid AS relation, indexrelid AS index
FROM pg_index
WHERE indrelid = ANY ($1)

-- @policies: the row-level security policies of the tables of public, with the roles they apply
-- to (PUBLIC spelled PUBLIC).
SELECT polrelid AS relation, polname AS name,
       ARRAY(SELECT CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(polroles) r) AS roles
FROM pg_policy
WHERE polrelid = ANY ($1)

-- @publications: the publications that publish a table of public by name. $1 the tables.
SELECT pr.prrelid AS relation, p.pubname AS name, pg_get_userbyid(p.pubowner)::text AS owner,
       pg_has_role(session_user, p.pubowner, 'USAGE') AS admin_acts
FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
WHERE pr.prrelid = ANY ($1)

-- @schema_publications: the publications of every table of a schema (FOR TABLES IN SCHEMA).
-- $1 public's OID.
SELECT p.pubname AS name
FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
WHERE pn.pnnspid = ANY ($1)

-- @foreign_keys: the foreign keys of the tables of public, and the table each references;
-- those that partitioning clones are left out.
SELECT con.oid, con.conname AS name, con.conrelid AS relation, con.confrelid AS referenced,
       t.relnamespace AS referenced_nsp,
       t.relnamespace::regnamespace::text || '.' || quote_ident(t.relname) AS referenced_label
FROM pg_constraint con JOIN pg_class t ON t.oid = con.confrelid
WHERE con.conrelid = ANY ($1) AND con.contype = 'f' AND con.conparentid = 0

-- @view_reads: the relations the rules of the views and materialized views of public read.
SELECT rw.ev_class AS view, r.oid AS relation, r.relnamespace AS nsp,
       r.relnamespace::regnamespace::text || '.' || quote_ident(r.relname) AS label
FROM pg_rewrite rw
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
JOIN pg_class r ON r.oid = d.refobjid
WHERE rw.ev_class = ANY ($1)

-- @argument_types: how to spell each type the routines of public take, whatever the
-- search_path: built-in types as format_type prints them, others schema-qualified; an array
-- through its element type.
SELECT a AS oid, t.typnamespace AS nsp, format_type(a, NULL) AS format,
       t.typnamespace::regnamespace::text || '.' || quote_ident(t.typname) AS label,
       CASE WHEN e.typarray = a THEN e.oid END AS element,
       e.typnamespace::regnamespace::text || '.' || quote_ident(e.typname) AS element_label
FROM unnest($1::oid[]) a
LEFT JOIN pg_type t ON t.oid = a
LEFT JOIN pg_type e ON e.oid = t.typelem
