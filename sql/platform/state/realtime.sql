-- Platform access's catalog read, when the project's schema exists: its tables in publication
-- supabase_realtime and the declared realtime tables that exist. $1 the schema, $2 the
-- publication (0 when there is none), $3 the declared tables. One JSON document.
SELECT jsonb_build_object(
    'published', coalesce((
        SELECT jsonb_agg(c.relname::text ORDER BY c.relname)
        FROM pg_publication_rel pr
        JOIN pg_class c ON c.oid = pr.prrelid
        WHERE pr.prpubid = $2 AND c.relnamespace = $1), '[]'),
    'tables', coalesce((
        SELECT jsonb_agg(c.relname::text ORDER BY c.relname)
        FROM pg_class c
        WHERE c.relname = ANY ($3::text[]) AND c.relnamespace = $1
          AND c.relkind IN ('r', 'p')), '[]')
)::text
