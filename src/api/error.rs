use crate::ProjectName;

/// Planning or applying a project's Data API roles failed; whatever the transaction did was
/// rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// Reading the catalog failed.
    #[error("reading the Data API state of project `{project}`: {source}")]
    Catalog {
        /// The project.
        project: ProjectName,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The API was enabled on an instance without PostgREST's login role.
    #[error(
        "project `{project}`: the Data API needs role `authenticator` (the role PostgREST logs in as), and this instance has none: run PostgREST with an `authenticator` login (hosted Supabase has one), or remove [projects.{project}.api] from cotenant.toml"
    )]
    NoAuthenticator {
        /// The project.
        project: ProjectName,
    },
    /// Realtime's impersonation was declared on an instance without Realtime's role.
    #[error(
        "project `{project}`: `realtime = true` needs role `supabase_realtime_admin` (the role Supabase Realtime runs as), and this instance has none: set `realtime = false` in [projects.{project}.api]"
    )]
    NoRealtime {
        /// The project.
        project: ProjectName,
    },
    /// A Storage bucket was declared on an instance without Supabase Storage's tables.
    #[error(
        "project `{project}`: `storage = true` needs tables `storage.buckets` and `storage.objects` (Supabase Storage's), and this instance lacks them: set `storage = false` in [projects.{project}.api]"
    )]
    NoStorage {
        /// The project.
        project: ProjectName,
    },
    /// The project's bucket still holds objects and would be removed.
    #[error(
        "project `{project}`: its Storage bucket `{project}` still holds {objects} object(s): delete them through the Storage API (which also removes the files), or keep `storage = true` in [projects.{project}.api]"
    )]
    BucketNotEmpty {
        /// The project.
        project: ProjectName,
        /// How many objects are left.
        objects: i64,
    },
    /// `<p>_service` needs BYPASSRLS, which cotenant's admin cannot give on this server.
    #[error("project `{project}`: `{role}` needs BYPASSRLS, and {why}")]
    CannotBypassRls {
        /// The project.
        project: ProjectName,
        /// `<p>_service`.
        role: String,
        /// Why not, and what to do.
        why: String,
    },
    /// The API's platform grants need a role the admin cannot act as.
    #[error(
        "project `{project}`: the API roles get {what}, and the admin `{admin}` cannot {how}: {fix}"
    )]
    CannotGrantPlatform {
        /// The project.
        project: ProjectName,
        /// The admin.
        admin: String,
        /// What the API roles get.
        what: String,
        /// What the admin cannot do.
        how: String,
        /// What to do about it.
        fix: String,
    },
    /// Objects still name an API role that the declaration drops.
    #[error(
        "project `{project}`: `{role}` cannot be dropped while {} name it: drop or alter them in a migration, or keep [projects.{project}.api] enabled",
        objects.join(", ")
    )]
    StillNamed {
        /// The project.
        project: ProjectName,
        /// The role.
        role: String,
        /// What names it (`policy notes_owner on table reli.notes`).
        objects: Vec<String>,
    },
    /// The project is not provisioned on the instance.
    #[error(
        "project `{project}` is not provisioned here: run `cotenant provision {project}`, which also creates its API roles"
    )]
    NotProvisioned {
        /// The project.
        project: ProjectName,
    },
    /// Applying the plan failed.
    #[error("applying the Data API roles of project `{project}`: {source}")]
    Apply {
        /// The project.
        project: ProjectName,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// After applying, the catalog still differs from the declaration.
    #[error(
        "project `{project}`: the Data API roles did not converge, still to do: {}; nothing was committed",
        left.join("; ")
    )]
    NotConverged {
        /// The project.
        project: ProjectName,
        /// What the plan computed after applying still wanted to do.
        left: Vec<String>,
    },
}
