-- Hosted Supabase's API surface: the schemas PostgREST and pg_graphql expose. Whatever the admin
-- (or the bootstrap superuser) creates in `public` or `graphql_public` is granted to the three API
-- roles through default privileges, and the same holds in `storage`. cotenant moves projects out of
-- `public` and must revoke what these grants left. PUBLIC keeps PostgreSQL's defaults (USAGE on
-- public, EXECUTE on new functions): that hole is cotenant's to close, not the setup's.
-- Learned from supabase/postgres migrations/db: init-scripts/00000000000000-initial-schema.sql
-- (public's grants and default privileges), migrations/20220317095840_pg_graphql.sql and
-- 20220404205710_pg_graphql-on-by-default.sql (graphql_public and its placeholder resolver), and the
-- schema dump the repository keeps (default privileges of postgres in storage and graphql_public).

GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;

CREATE SCHEMA graphql_public;
GRANT USAGE ON SCHEMA graphql_public TO postgres, anon, authenticated, service_role;

DO $$
DECLARE
    creator text;
    place text;
    kind text;
BEGIN
    FOREACH creator IN ARRAY ARRAY['postgres', 'supabase_admin'] LOOP
        FOREACH place IN ARRAY ARRAY['public', 'storage', 'graphql_public'] LOOP
            FOREACH kind IN ARRAY ARRAY['TABLES', 'SEQUENCES', 'FUNCTIONS'] LOOP
                -- The bootstrap superuser's objects go to the admin as well; the admin's are its own.
                EXECUTE format(
                    'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT ALL ON %s TO %s',
                    creator, place, kind,
                    CASE creator WHEN 'postgres' THEN '' ELSE 'postgres, ' END
                        || 'anon, authenticated, service_role'
                );
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

-- Until pg_graphql is installed, the GraphQL endpoint answers through this placeholder.
CREATE FUNCTION graphql_public.graphql(
    "operationName" text DEFAULT NULL,
    query text DEFAULT NULL,
    variables jsonb DEFAULT NULL,
    extensions jsonb DEFAULT NULL
) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'errors', jsonb_build_array(jsonb_build_object(
            'message', 'pg_graphql extension is not enabled.'
        ))
    )
$$;
