//! What stands in the way of a move: the [`Blocker`]s of a [closure](super::closure), with the
//! user's choices applied — what they add to the move, what they hold back, and the extra
//! statements they call for.
//!
//! Pure, like the closure: computed from one catalog read.

mod foreign_keys;
mod names;
mod policies;
mod publications;
mod routines;
mod shared;
mod signup;
mod support;
mod views;

use std::collections::{BTreeMap, BTreeSet};

use super::Selection;
use super::blocker::Blocker;
use super::catalog::{Catalog, Index, ObjectId};
use super::choice::Choices;
use super::closure::Closure;
use crate::ProjectName;
use crate::platform::Access;

/// The analysis of one closure.
pub(crate) struct Analysis<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) index: &'a Index<'a>,
    pub(crate) project: &'a ProjectName,
    pub(crate) selection: &'a Selection,
    pub(crate) choices: &'a Choices,
    /// The project's platform access, when the relocation knows it.
    pub(crate) platform: Option<&'a Access>,
    pub(crate) moved: &'a BTreeMap<ObjectId, String>,
    pub(crate) closure: Closure,
    /// Objects the choices move along.
    pub(crate) additions: BTreeSet<ObjectId>,
    /// Objects the choices leave in public.
    pub(crate) leaves: BTreeSet<ObjectId>,
}

impl Analysis<'_> {
    pub(crate) fn run(&mut self) {
        self.support_and_owners();
        self.shared();
        self.signup_triggers();
        self.views();
        self.foreign_keys();
        self.bodies();
        self.search_paths();
        self.publications();
        self.policies();
        self.names();
    }

    fn is_moved(&self, id: ObjectId) -> bool {
        self.moved.contains_key(&id)
    }

    fn report(&mut self, blocker: Blocker) {
        self.closure.blockers.push(blocker);
    }
}
