-- What relocation reads last, and only when there is something to read: the objects outside
-- public that depend on an object of public (links.sql found the dependencies), by OID. Asked for
-- as links.sql's parts are: each part is one list, `$1` its array of OIDs. Labels as in
-- objects.sql.

-- @columns: the columns of relations and composite types that depend on a type of public, with
-- their type, and their relation.
SELECT a.attrelid AS relation, a.attnum AS number, a.atttypid AS type, c.relkind AS kind,
       c.reltype AS row_type, c.relnamespace AS nsp,
       c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS label
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid = ANY ($1) AND a.attnum > 0 AND NOT a.attisdropped

-- @defaults: column defaults (that call nextval() on a sequence of public), and their relation.
SELECT ad.oid, c.oid AS relation, c.relnamespace AS nsp,
       c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS label
FROM pg_attrdef ad JOIN pg_class c ON c.oid = ad.adrelid
WHERE ad.oid = ANY ($1)

-- @triggers: triggers (that execute a routine of public), and their relation. Name, type bits
-- and WHEN clause tell whether a trigger on auth.users can become a signup hook.
SELECT tg.oid, tg.tgname AS name, tg.tgtype AS type, tg.tgqual IS NOT NULL AS conditional,
       tg.tgfoid AS function, tg.tgisinternal AS internal, c.oid AS relation,
       c.relnamespace AS nsp, c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS label
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
WHERE tg.oid = ANY ($1)

-- @rules: rewrite rules (of views that read a relation of public), and their relation.
SELECT rw.oid, c.oid AS relation, c.relkind AS kind, c.relnamespace AS nsp,
       c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS label
FROM pg_rewrite rw JOIN pg_class c ON c.oid = rw.ev_class
WHERE rw.oid = ANY ($1)

-- @constraints: foreign keys (that reference a table of public), with both their tables; those
-- that partitioning clones are left out.
SELECT con.oid, con.conname AS name, f.oid AS relation, f.relnamespace AS nsp,
       f.relnamespace::regnamespace::text || '.' || quote_ident(f.relname) AS label,
       t.oid AS referenced, t.relnamespace AS referenced_nsp,
       t.relnamespace::regnamespace::text || '.' || quote_ident(t.relname) AS referenced_label
FROM pg_constraint con
JOIN pg_class f ON f.oid = con.conrelid
JOIN pg_class t ON t.oid = con.confrelid
WHERE con.oid = ANY ($1) AND con.contype = 'f' AND con.conparentid = 0

-- @routines: routines (whose signature names a type of public).
SELECT oid, pronamespace AS nsp,
       pronamespace::regnamespace::text || '.' || quote_ident(proname)
           || '(' || pg_get_function_identity_arguments(oid) || ')' AS label
FROM pg_proc
WHERE oid = ANY ($1)

-- @types: domains and range types (built on a type of public), with their base type or subtype.
SELECT t.oid, t.typtype AS kind, t.typnamespace AS nsp,
       t.typnamespace::regnamespace::text || '.' || quote_ident(t.typname) AS label,
       CASE t.typtype WHEN 'd' THEN t.typbasetype WHEN 'r' THEN r.rngsubtype END AS base
FROM pg_type t LEFT JOIN pg_range r ON r.rngtypid = t.oid
WHERE t.oid = ANY ($1)
