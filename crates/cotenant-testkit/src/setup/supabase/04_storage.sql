-- Hosted Supabase's `storage` schema as the Storage service (supabase/storage) leaves it after its
-- migrations: owned by supabase_storage_admin, buckets and objects behind RLS, every table granted
-- to the API roles through the owner's default privileges.
-- Learned from supabase/postgres migrations/db: init-scripts/00000000000002-storage-schema.sql,
-- migrations/10000000000000_demote-postgres.sql, 20250421084701_revoke_admin_roles_from_postgres.sql
-- (storage.migrations and CREATE on the schema taken back from the admin and the API roles); and
-- supabase/storage's migrations (tables and the foldername/filename/extension helpers). Columns for
-- features the tests do not touch (multipart uploads, S3 protocol, analytics buckets) are left out.

CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO postgres, anon, authenticated, service_role;
GRANT ALL ON SCHEMA storage TO dashboard_user;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;

-- The Storage service creates its objects itself, logged in as supabase_storage_admin.
SET ROLE supabase_storage_admin;

CREATE TABLE storage.buckets (
    id text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    owner uuid,
    owner_id text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    public boolean DEFAULT false,
    avif_autodetection boolean DEFAULT false,
    file_size_limit bigint,
    allowed_mime_types text[]
);
CREATE UNIQUE INDEX bname ON storage.buckets (name);

CREATE TABLE storage.objects (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    bucket_id text REFERENCES storage.buckets (id),
    name text,
    owner uuid,
    owner_id text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    last_accessed_at timestamptz DEFAULT now(),
    metadata jsonb,
    user_metadata jsonb,
    path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
    version text
);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);
-- Without a policy nobody but the owner and BYPASSRLS roles sees an object: projects add policies.
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

CREATE TABLE storage.migrations (
    id integer NOT NULL PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE,
    hash varchar(40) NOT NULL,
    executed_at timestamp DEFAULT current_timestamp
);

-- What RLS policies on storage.objects use to match paths (`folder/sub/file.png`).
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parts text[] := string_to_array(name, '/');
BEGIN
    RETURN parts[1:array_length(parts, 1) - 1];
END
$$;

CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parts text[] := string_to_array(name, '/');
BEGIN
    RETURN parts[array_length(parts, 1)];
END
$$;

CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parts text[] := string_to_array(name, '/');
    file text := parts[array_length(parts, 1)];
BEGIN
    RETURN reverse(split_part(reverse(file), '.', 1));
END
$$;

RESET ROLE;

-- Storage's own bookkeeping is nobody else's.
REVOKE ALL ON storage.migrations FROM postgres, anon, authenticated, service_role;
