use crate::ProjectName;

/// Planning or applying a project's platform access failed; whatever the transaction did was
/// rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// Reading the catalog failed.
    #[error("reading the platform state of project `{project}`: {source}")]
    Catalog {
        /// The project.
        project: ProjectName,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Platform access was asked for on an instance without Supabase's roles and schemas.
    #[error(
        "project `{project}`: platform access ({asked}) needs a Supabase-like instance, and this one lacks {}: remove the access from [platform] / [projects.{project}.platform] in cotenant.toml for a self-hosted instance",
        missing.join(", ")
    )]
    NotSupabase {
        /// The project.
        project: ProjectName,
        /// Which access was asked for.
        asked: String,
        /// What the instance lacks, e.g. ``role `supabase_auth_admin` ``.
        missing: Vec<String>,
    },
    /// The admin cannot act as a role it must act as.
    #[error(
        "project `{project}`: the admin `{admin}` cannot SET ROLE to `{role}`, which owns {what}: grant `{role}` to `{admin}` (hosted Supabase does) or turn that access off"
    )]
    CannotActAs {
        /// The project.
        project: ProjectName,
        /// The admin.
        admin: String,
        /// The role it must act as.
        role: String,
        /// What that role owns.
        what: String,
    },
    /// A table declared in `realtime` does not exist in the project's schema.
    #[error(
        "project `{project}`: realtime table `{project}.{table}` does not exist: create it in a migration first, or remove it from `realtime` in [projects.{project}.platform]"
    )]
    NoSuchTable {
        /// The project.
        project: ProjectName,
        /// The declared table.
        table: String,
    },
    /// An allow-listed extension is not available on the server.
    #[error(
        "extension `{extension}` in [platform.allow] extensions {why}: remove it from the allowlist or install it on the server"
    )]
    ExtensionUnavailable {
        /// The extension.
        extension: String,
        /// What is wrong: not available, or not trusted.
        why: String,
    },
    /// The declared signup hook is not a function cotenant may call.
    #[error(
        "project `{project}`: signup hook `{project}.{function}` {problem}; declare it as `CREATE FUNCTION {project}.{function}(new cotenant_platform.signup_user) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = {project}, pg_catalog AS $$ ... $$` in a migration (owned by `{project}_owner`)"
    )]
    BadHook {
        /// The project.
        project: ProjectName,
        /// The declared function.
        function: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The project is not provisioned on the instance: its roles and schema do not exist.
    #[error(
        "project `{project}` is not provisioned here: run `cotenant provision {project}`, which also converges its platform access"
    )]
    NotProvisioned {
        /// The project.
        project: ProjectName,
    },
    /// Applying the plan failed.
    #[error("applying the platform access of project `{project}`: {source}")]
    Apply {
        /// The project.
        project: ProjectName,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// After applying, the catalog still differs from the declaration: a bug in cotenant, or a
    /// concurrent change by hand.
    #[error(
        "project `{project}`: platform access did not converge, still to do: {}; nothing was committed",
        left.join("; ")
    )]
    NotConverged {
        /// The project.
        project: ProjectName,
        /// What the plan computed after applying still wanted to do.
        left: Vec<String>,
    },
}
