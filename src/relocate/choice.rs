//! How the user chooses to handle each kind of [`Blocker`](super::Blocker): one enum per kind.
//! Without a choice a blocker of that kind stops the relocation; a choice applies to every
//! blocker of its kind.

/// A routine whose text body names a moved relation ([`BlockerKind::FunctionBody`]).
///
/// [`BlockerKind::FunctionBody`]: super::BlockerKind::FunctionBody
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FunctionChoice {
    /// Move the routine into the project too (only for routines in `public`, and only helps
    /// when it names the relations unqualified).
    MoveAlong,
    /// Move the routine along as [`MoveAlong`](Self::MoveAlong) does, and restate every moved
    /// routine whose body names moved objects as `public.<name>` with those names qualified by
    /// the project's schema (`CREATE OR REPLACE` from `pg_get_functiondef`, in the same
    /// transaction). The plan shows each rewrite as a diff; before commit, cotenant checks that
    /// the server accepted the new bodies and that none still names a moved object in public.
    Rewrite,
    /// Move anyway: the match is a text search and may be wrong, or the body will be fixed by a
    /// migration (`CREATE OR REPLACE FUNCTION`) afterwards.
    Ignore,
}

/// A moved routine that pins `search_path` to `public`, or a SECURITY DEFINER routine that pins
/// none ([`BlockerKind::SearchPath`]).
///
/// [`BlockerKind::SearchPath`]: super::BlockerKind::SearchPath
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchPathChoice {
    /// Replace `public` in its `search_path` with the project's schema (or pin it to the
    /// project's schema when it pinned nothing).
    Repoint,
    /// Leave its `search_path` as it is.
    Keep,
}

/// A view that reads moved and unmoved relations ([`BlockerKind::MixedView`]).
///
/// [`BlockerKind::MixedView`]: super::BlockerKind::MixedView
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewChoice {
    /// Move the view and the relations of `public` it reads.
    MoveAlong,
    /// Leave the view in `public`: it keeps reading the moved relations by OID, with its
    /// owner's privileges, which no longer reach them — it will fail until someone grants them.
    Leave,
}

/// A foreign key between a moved and an unmoved table ([`BlockerKind::ForeignKey`]).
///
/// [`BlockerKind::ForeignKey`]: super::BlockerKind::ForeignKey
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignKeyChoice {
    /// Move the other table (of `public`) too.
    MoveAlong,
    /// Keep the key across schemas: it keeps working (its checks run as the referenced table's
    /// owner), and ties the project to a table outside it.
    Keep,
}

/// A moved table that a publication publishes ([`BlockerKind::Publication`]).
///
/// [`BlockerKind::Publication`]: super::BlockerKind::Publication
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicationChoice {
    /// Keep publishing it (a publication listing the table keeps it wherever it lives);
    /// subscribers that filter on schema `public` must follow.
    Keep,
    /// Stop publishing it: drop it from a publication that lists it, or accept that it leaves a
    /// publication of all of `public`'s tables.
    Drop,
}

/// A row-level security policy on a moved table that applies only to roles outside the project
/// ([`BlockerKind::Policy`]).
///
/// [`BlockerKind::Policy`]: super::BlockerKind::Policy
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyChoice {
    /// Make the policy apply to `<p>_app` instead (`ALTER POLICY … TO "<p>_app"`).
    ToApp,
    /// Keep it: it no longer applies to anyone who can reach the table, so `<p>_app` sees no
    /// rows through it.
    Keep,
}

/// A type, sequence or trigger function that moved objects share with objects that stay
/// ([`BlockerKind::SharedDependency`]).
///
/// [`BlockerKind::SharedDependency`]: super::BlockerKind::SharedDependency
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedChoice {
    /// Move everything of `public` that uses it too.
    MoveAlong,
    /// Leave it in `public`; the moved objects keep using it there.
    Leave,
}

/// A moved trigger function that a trigger on `auth.users` fires: every signup of every project
/// runs it ([`BlockerKind::SignupTrigger`]).
///
/// [`BlockerKind::SignupTrigger`]: super::BlockerKind::SignupTrigger
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignupTriggerChoice {
    /// Make it the project's signup hook, in the same transaction: the trigger on `auth.users`
    /// is dropped, the function is recreated as `<p>.<name>(new cotenant_platform.signup_user)`
    /// — SECURITY DEFINER as `<p>_owner`, its search_path pinned to the project, its
    /// `public.<name>` references qualified — and the signup dispatcher calls it. The project's
    /// platform access must declare it (`signup_hook = "<name>"`).
    Hook,
}

/// The choices of one relocation, by blocker kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Choices {
    pub(crate) functions: Option<FunctionChoice>,
    pub(crate) search_paths: Option<SearchPathChoice>,
    pub(crate) views: Option<ViewChoice>,
    pub(crate) foreign_keys: Option<ForeignKeyChoice>,
    pub(crate) publications: Option<PublicationChoice>,
    pub(crate) policies: Option<PolicyChoice>,
    pub(crate) shared: Option<SharedChoice>,
    pub(crate) signup_triggers: Option<SignupTriggerChoice>,
}
