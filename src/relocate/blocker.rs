//! What would break or be left half-way by a relocation: reported with the object and the
//! reason, and stopping the move unless a [choice](super::FunctionChoice) handles it.

use std::fmt;

/// The kinds of [`Blocker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum BlockerKind {
    /// A routine whose text body names a moved relation in a way that will not resolve after
    /// the move. Found by searching the body's text: a heuristic that can miss dynamic SQL and
    /// can match a word that is not the relation. See [`FunctionChoice`](super::FunctionChoice).
    FunctionBody,
    /// A moved routine pinned to `search_path = public`, or a SECURITY DEFINER routine pinned to
    /// nothing. See [`SearchPathChoice`](super::SearchPathChoice).
    SearchPath,
    /// A view reading moved and unmoved relations. See [`ViewChoice`](super::ViewChoice).
    MixedView,
    /// A foreign key between a moved and an unmoved table. See
    /// [`ForeignKeyChoice`](super::ForeignKeyChoice).
    ForeignKey,
    /// A moved table in a publication (e.g. Supabase's `supabase_realtime`). See
    /// [`PublicationChoice`](super::PublicationChoice).
    Publication,
    /// A row-level security policy on a moved table for roles outside the project only. See
    /// [`PolicyChoice`](super::PolicyChoice).
    Policy,
    /// A type, sequence or trigger function shared by moved and unmoved objects. See
    /// [`SharedChoice`](super::SharedChoice).
    SharedDependency,
    /// A moved trigger function fired by a trigger on `auth.users`, which every project's
    /// signups insert into. See [`SignupTriggerChoice`](super::SignupTriggerChoice).
    SignupTrigger,
    /// A name already taken in the project's schema. No choice resolves it: rename or drop one
    /// of the two.
    NameTaken,
    /// An object owned by a role the admin cannot act as. No choice resolves it: an operator
    /// with the right role runs the statement the blocker names.
    OwnerOutOfReach,
    /// An object relocation does not handle (extension members, foreign tables, inheritance,
    /// aggregates, range types, a partition without its parent). No choice resolves it.
    Unsupported,
}

/// One finding of the dependency analysis: an object, why it stands in the way, and how it is
/// (or can be) handled.
///
/// ```no_run
/// # fn show(plan: &cotenant::relocate::RelocationPlan) {
/// for blocker in plan.blockers().iter().filter(|b| !b.is_resolved()) {
///     eprintln!("{:?} {}: {}", blocker.kind(), blocker.object(), blocker.reason());
///     eprintln!("  to resolve: {}", blocker.remedy());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    kind: BlockerKind,
    object: String,
    reason: String,
    remedy: String,
    resolution: Option<String>,
}

impl Blocker {
    pub(crate) fn new(
        kind: BlockerKind,
        object: impl Into<String>,
        reason: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            object: object.into(),
            reason: reason.into(),
            remedy: remedy.into(),
            resolution: None,
        }
    }

    /// Replaces the remedy: the user's choice cannot handle this one, and this says why.
    pub(crate) fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }

    /// Marks the blocker as handled by the user's choice, described by `how`.
    pub(crate) fn resolved(mut self, how: impl Into<String>) -> Self {
        self.resolution = Some(how.into());
        self
    }

    /// The kind of finding.
    pub fn kind(&self) -> BlockerKind {
        self.kind
    }

    /// The object, e.g. `function public.audit_change()`.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// What would break or be left half-way, and why.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// How it can be resolved: the choices that handle it, or the statement an operator runs.
    pub fn remedy(&self) -> &str {
        &self.remedy
    }

    /// How the user's choice handles it in this relocation, if it does.
    pub fn resolution(&self) -> Option<&str> {
        self.resolution.as_deref()
    }

    /// True when a choice handles it; an unresolved blocker stops the relocation.
    pub fn is_resolved(&self) -> bool {
        self.resolution.is_some()
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)?;
        match &self.resolution {
            Some(how) => write!(f, " — handled: {how}"),
            None => write!(f, " — {}", self.remedy),
        }
    }
}

/// Blockers as one line, `; ` between them: how the errors that stop on blockers list them.
pub(crate) struct Listing<'a>(pub(crate) &'a [Blocker]);

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, blocker) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{blocker}")?;
        }
        Ok(())
    }
}
