//! What to relocate and how: the selection, the choices for blockers, verification and lock
//! waiting.

use std::time::Duration;

use super::choice::{
    Choices, ForeignKeyChoice, FunctionChoice, PolicyChoice, PublicationChoice, SearchPathChoice,
    SharedChoice, SignupTriggerChoice, ViewChoice,
};
use super::{Selection, Verification};
use crate::platform::Access;

/// A relocation request: which objects, how to handle what stands in the way, how to verify,
/// and how long to wait for locks.
///
/// ```
/// use std::time::Duration;
/// use cotenant::relocate::{PolicyChoice, Relocation, Selection, Verification};
///
/// let relocation = Relocation::new(Selection::All)
///     .policies(PolicyChoice::ToApp)
///     .verification(Verification::Checksums)
///     .lock_timeout(Duration::from_secs(1));
/// assert_eq!(relocation.get_lock_timeout(), Duration::from_secs(1));
/// assert_eq!(relocation.get_attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    selection: Selection,
    choices: Choices,
    verification: Verification,
    lock_timeout: Duration,
    attempts: u32,
    platform: Option<(Access, Vec<String>)>,
}

impl Relocation {
    /// Relocates `selection` with no choices made (every blocker stops the move), row counts
    /// verified, a 2 s lock timeout and 5 attempts.
    pub fn new(selection: Selection) -> Self {
        Self {
            selection,
            choices: Choices::default(),
            verification: Verification::default(),
            lock_timeout: Duration::from_secs(2),
            attempts: 5,
            platform: None,
        }
    }

    /// How to handle routines whose body names a moved relation.
    pub fn functions(mut self, choice: FunctionChoice) -> Self {
        self.choices.functions = Some(choice);
        self
    }

    /// How to handle moved routines pinned to `search_path = public`.
    pub fn search_paths(mut self, choice: SearchPathChoice) -> Self {
        self.choices.search_paths = Some(choice);
        self
    }

    /// How to handle views reading moved and unmoved relations.
    pub fn views(mut self, choice: ViewChoice) -> Self {
        self.choices.views = Some(choice);
        self
    }

    /// How to handle foreign keys between moved and unmoved tables.
    pub fn foreign_keys(mut self, choice: ForeignKeyChoice) -> Self {
        self.choices.foreign_keys = Some(choice);
        self
    }

    /// How to handle moved tables that are published.
    pub fn publications(mut self, choice: PublicationChoice) -> Self {
        self.choices.publications = Some(choice);
        self
    }

    /// How to handle trigger functions that a trigger on `auth.users` fires.
    pub fn signup_triggers(mut self, choice: SignupTriggerChoice) -> Self {
        self.choices.signup_triggers = Some(choice);
        self
    }

    /// How to handle policies that apply only to roles outside the project.
    pub fn policies(mut self, choice: PolicyChoice) -> Self {
        self.choices.policies = Some(choice);
        self
    }

    /// How to handle types, sequences and trigger functions shared with unmoved objects.
    pub fn shared(mut self, choice: SharedChoice) -> Self {
        self.choices.shared = Some(choice);
        self
    }

    /// How much to check before committing (default: row counts).
    pub fn verification(mut self, verification: Verification) -> Self {
        self.verification = verification;
        self
    }

    /// How long one attempt waits for any lock before it gives up (default 2 s). The exclusive
    /// locks a move needs queue every later reader of the table behind them: keep it short.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How many attempts, with growing pauses between them, before a lock timeout is reported
    /// with the sessions holding the locks (default 5, at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The project's platform access (and the instance's extension allowlist), converged in the
    /// relocation's transaction when it turns a trigger function into the project's signup
    /// hook ([`SignupTriggerChoice::Hook`]): first so that the hook's owner may use the signup
    /// type, again after the move so that the dispatcher calls the new hook.
    /// [`Environment::relocate`](crate::Environment::relocate) sets it from the configuration.
    pub fn platform(mut self, access: Access, allowlist: Vec<String>) -> Self {
        self.platform = Some((access, allowlist));
        self
    }

    /// The platform access given with [`platform`](Self::platform).
    pub fn get_platform(&self) -> Option<(&Access, &[String])> {
        self.platform.as_ref().map(|(a, l)| (a, l.as_slice()))
    }

    /// The same choices for another selection: an import relocates what it created.
    pub(crate) fn with_selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// The selection.
    pub fn get_selection(&self) -> &Selection {
        &self.selection
    }

    /// The verification.
    pub fn get_verification(&self) -> Verification {
        self.verification
    }

    /// The lock timeout of one attempt.
    pub fn get_lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The number of attempts.
    pub fn get_attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn choices(&self) -> &Choices {
        &self.choices
    }
}
