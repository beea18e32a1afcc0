//! What to import and how: relocation's choices, the users map, the pg_dump to use.

use std::path::PathBuf;

use super::UsersMap;
use crate::relocate::{Relocation, Selection};

/// An import request: the choices for what relocation's dependency analysis finds (the same as
/// `relocate`'s; the selection is always everything in the source's `public`), the users map,
/// and optionally the pg_dump binary.
///
/// ```
/// use cotenant::import::{Import, UsersMap};
/// use cotenant::relocate::{FunctionChoice, Relocation, Selection, SignupTriggerChoice};
///
/// let import = Import::new(
///     Relocation::new(Selection::All)
///         .signup_triggers(SignupTriggerChoice::Hook)
///         .functions(FunctionChoice::Rewrite),
/// )
/// .users_map(UsersMap::default());
/// assert!(import.get_users_map().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Import {
    relocation: Relocation,
    users_map: UsersMap,
    pg_dump: Option<PathBuf>,
}

impl Import {
    /// Imports with `relocation`'s choices (its selection is replaced by everything in public).
    pub fn new(relocation: Relocation) -> Self {
        Import {
            relocation: relocation.with_selection(Selection::All),
            users_map: UsersMap::default(),
            pg_dump: None,
        }
    }

    /// Merges the mapped source users into users of the shared instance.
    pub fn users_map(mut self, map: UsersMap) -> Self {
        self.users_map = map;
        self
    }

    /// The pg_dump binary to use (pg_restore is taken from its directory); by default the one
    /// of the source's major version that [`find_pg_dump`](super::find_pg_dump) finds.
    pub fn pg_dump(mut self, path: impl Into<PathBuf>) -> Self {
        self.pg_dump = Some(path.into());
        self
    }

    /// The relocation's choices, selection `All`.
    pub fn get_relocation(&self) -> &Relocation {
        &self.relocation
    }

    /// The users map.
    pub fn get_users_map(&self) -> &UsersMap {
        &self.users_map
    }

    /// The pg_dump binary given.
    pub fn get_pg_dump(&self) -> Option<&PathBuf> {
        self.pg_dump.as_ref()
    }

    pub(crate) fn with_relocation(mut self, relocation: Relocation) -> Self {
        self.relocation = relocation.with_selection(Selection::All);
        self
    }
}
