//! Server settings for a throwaway test server, the same on every backend.

/// `(name, value)` pairs: written to postgresql.conf locally, passed as `-c` options to containers.
pub(crate) const SETTINGS: &[(&str, &str)] = &[
    // Tests open many connections: pools per project and environment, isolation matrices.
    ("max_connections", "300"),
    ("shared_buffers", "32MB"),
    // Nothing on a throwaway server is worth a sync: a crash loses a server the tests drop anyway.
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    // What hosted instances use; also the default since 14, stated so a template never depends
    // on the binaries' defaults.
    ("password_encryption", "scram-sha-256"),
    // Hosted Supabase streams changes to Realtime and read replicas by logical decoding; cotenant's
    // online moves will too. On both flavours: self-hosted instances that replicate run it as well.
    ("wal_level", "logical"),
    // Hosted Supabase preloads it (issue 15 reads it); the Supabase flavour creates the extension.
    // Contrib ships it with both binaries the testkit runs.
    ("shared_preload_libraries", "pg_stat_statements"),
];
