-- What relocation reads first: the objects of schema public and of the project's schema, and the
-- facts about the instance it checks. $1 the project's schema (= the project's name), $2
-- `<p>_app`, $3 the project's steward. One JSON document.
--
-- The catalog is read in up to three statements, each small: a big query costs more to parse
-- and plan than to run, and relocation reads the catalog inside its transaction. This one finds
-- the objects; links.sql what is attached to them and what depends on them, by their OIDs;
-- details.sql, when there are any, the dependents outside public. Read-only plain catalog reads:
-- a dry run needs nothing beyond CONNECT.
--
-- No index leads with the schema, but every object created after initdb has an OID of 16384
-- (FirstNormalObjectId) or more: `oid >= 16384` skips PostgreSQL's own thousands of rows by the
-- OID index, and changes nothing else (their schemas are left out anyway). Names outside public
-- are labelled `schema.name`, quoted as quote_ident quotes, so that reports never depend on the
-- reader's search_path.
WITH ns AS (
    SELECT (SELECT oid FROM pg_namespace WHERE nspname = 'public') AS pub,
           (SELECT oid FROM pg_namespace WHERE nspname = $1) AS target,
           -- Schemas whose objects are PostgreSQL's own: they never move and cannot be moved.
           ARRAY(SELECT oid FROM pg_namespace
                 WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
                    OR nspname LIKE 'pg\_temp\_%' OR nspname LIKE 'pg\_toast\_temp\_%') AS system,
           -- Languages whose routine bodies are kept as text, resolved when they run.
           ARRAY(SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql')) AS text_languages
),
rel AS (
    SELECT oid, relname AS name, relkind AS kind, relnamespace AS nsp, relowner AS owner,
           relispartition AS partition,
           relnamespace::regnamespace::text || '.' || quote_ident(relname) AS label
    FROM pg_class
    WHERE oid >= 16384 AND relnamespace IN ((SELECT pub FROM ns), (SELECT target FROM ns))
),
typ AS (
    SELECT oid, typname AS name, typtype AS kind, typnamespace AS nsp, typowner AS owner,
           typrelid AS relation,
           typarray AS array_type, typelem AS element, typbasetype AS base,
           typnamespace::regnamespace::text || '.' || quote_ident(typname) AS label
    FROM pg_type
    WHERE oid >= 16384 AND typnamespace IN ((SELECT pub FROM ns), (SELECT target FROM ns))
),
-- Routines of public and of the project's schema, and those elsewhere whose text body mentions
-- public (they may name a moved relation there).
fun AS (
    SELECT oid, proname AS name, prokind AS kind, pronamespace AS nsp, proowner AS owner,
           proargtypes::oid[] AS arg_types,
           prosecdef AS security_definer, proconfig AS config,
           -- SQL-standard bodies (BEGIN ATOMIC) and C functions are bound at creation.
           CASE WHEN prosqlbody IS NULL AND prolang = ANY ((SELECT text_languages FROM ns)::oid[])
                THEN prosrc END AS body,
           prosrc ILIKE '%public%' AS mentions_public,
           -- What `--functions rewrite` restates with the moved names qualified: routines of
           -- public with a text body that names public.
           CASE WHEN pronamespace = (SELECT pub FROM ns) AND prokind IN ('f', 'p')
                     AND prosqlbody IS NULL AND prosrc ILIKE '%public%'
                     AND prolang = ANY ((SELECT text_languages FROM ns)::oid[])
                THEN pg_get_functiondef(oid) END AS definition,
           pronamespace::regnamespace::text || '.' || quote_ident(proname)
               || '(' || pg_get_function_identity_arguments(oid) || ')' AS label
    FROM pg_proc
    WHERE oid >= 16384
      AND (pronamespace IN ((SELECT pub FROM ns), (SELECT target FROM ns))
           OR (pronamespace <> ALL ((SELECT system FROM ns)::oid[]) AND prosqlbody IS NULL
               AND prolang = ANY ((SELECT text_languages FROM ns)::oid[])
               AND prosrc ILIKE '%public%'))
)
SELECT jsonb_build_object(
    'server_major', current_setting('server_version_num')::int / 10000,
    'admin', session_user::text,
    'database', current_database()::text,
    'public', (SELECT pub FROM ns),
    'target', (SELECT target FROM ns),
    'system', (SELECT system FROM ns),
    'target_owner', (SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace
                     WHERE oid = (SELECT target FROM ns)),
    'app_exists', to_regrole(quote_ident($2)) IS NOT NULL,
    -- Whether the admin can act as the steward (on 15 any membership allows SET ROLE).
    'admin_can_set_steward', EXISTS (
        SELECT FROM pg_auth_members m
        WHERE m.roleid = to_regrole(quote_ident($3))
          AND m.member = to_regrole(quote_ident(session_user))
          AND coalesce((to_jsonb(m)->>'set_option')::bool, true)),
    'relations', (SELECT coalesce(jsonb_agg(r), '[]')
                  FROM (SELECT oid, name, kind, nsp, owner, partition, label FROM rel) r),
    'types', (SELECT coalesce(jsonb_agg(t), '[]')
              FROM (SELECT oid, name, kind, nsp, owner, relation, array_type, element, base, label
                    FROM typ) t),
    'functions', (SELECT coalesce(jsonb_agg(f ORDER BY f.label), '[]')
                  FROM (SELECT oid, name, kind, nsp, owner, arg_types, security_definer, config,
                               body, mentions_public, definition, label
                        FROM fun) f)
)::text
