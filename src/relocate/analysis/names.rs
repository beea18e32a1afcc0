//! Names the moved objects would take in the project's schema, against the names there and
//! against each other.

use std::collections::{BTreeMap, BTreeSet};

use super::Analysis;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::Kind;

impl Analysis<'_> {
    /// Names the moved objects would take in the project's schema, against the names there and
    /// against each other.
    pub(super) fn names(&mut self) {
        let schema = self.project.as_str();
        let taken_relations: BTreeSet<&str> = self
            .catalog
            .taken
            .relations
            .iter()
            .map(String::as_str)
            .collect();
        let taken_types: BTreeSet<&str> = self
            .catalog
            .taken
            .types
            .iter()
            .map(String::as_str)
            .collect();
        let mut relation_names: BTreeMap<String, String> = BTreeMap::new();
        let mut type_names: BTreeMap<String, String> = BTreeMap::new();
        let mut found: Vec<(String, String)> = Vec::new();
        for &id in self.moved.keys() {
            let object = self.index.describe(id);
            let name = self.index.name(id);
            let renamed = self.selection.renamed(name);
            match id.kind {
                Kind::Relation => {
                    let r = self.index.relations[&id.oid];
                    claim(
                        &mut found,
                        schema,
                        &mut relation_names,
                        &taken_relations,
                        object.clone(),
                        name,
                        renamed,
                    );
                    if self.index.kind(id).has_row_type() {
                        claim(
                            &mut found,
                            schema,
                            &mut type_names,
                            &taken_types,
                            object,
                            name,
                            renamed,
                        );
                    }
                    for index in &r.indexes {
                        claim(
                            &mut found,
                            schema,
                            &mut relation_names,
                            &taken_relations,
                            format!("index {index} of table public.{name}"),
                            index,
                            index,
                        );
                    }
                    for seq in self
                        .catalog
                        .relations
                        .iter()
                        .filter(|s| s.owned_by == Some(id.oid))
                    {
                        claim(
                            &mut found,
                            schema,
                            &mut relation_names,
                            &taken_relations,
                            format!("sequence public.{} of table public.{name}", seq.name),
                            &seq.name,
                            self.selection.renamed(&seq.name),
                        );
                    }
                }
                Kind::Type => {
                    claim(
                        &mut found,
                        schema,
                        &mut type_names,
                        &taken_types,
                        object.clone(),
                        name,
                        renamed,
                    );
                    if let Some(array) = &self.index.types[&id.oid].array_name {
                        let renamed_array = format!("_{renamed}");
                        claim(
                            &mut found,
                            schema,
                            &mut type_names,
                            &taken_types,
                            format!("array type of {object}"),
                            array,
                            &renamed_array,
                        );
                    }
                }
                Kind::Function => {
                    let args = &self.index.functions[&id.oid].arg_types;
                    let taken = self
                        .catalog
                        .taken
                        .functions
                        .iter()
                        .any(|t| (t.name == name || t.name == renamed) && t.arg_types == *args);
                    if taken {
                        found.push((
                            object,
                            format!("`{schema}.{renamed}` with the same arguments already exists"),
                        ));
                    }
                }
            }
        }
        // One finding per object: a table's name and its row type's clash together.
        let mut reported = BTreeSet::new();
        for (object, reason) in found {
            if !reported.insert(object.clone()) {
                continue;
            }
            self.report(Blocker::new(
                BlockerKind::NameTaken,
                object,
                reason,
                "rename or drop one of the two first (e.g. `ALTER TABLE … RENAME TO …`), then relocate again",
            ));
        }
    }
}

/// Claims `last` (after renaming; `during`, before) for `object` in one namespace of the
/// project's schema, noting in `found` a name taken there or claimed twice.
fn claim(
    found: &mut Vec<(String, String)>,
    schema: &str,
    names: &mut BTreeMap<String, String>,
    taken: &BTreeSet<&str>,
    object: String,
    during: &str,
    last: &str,
) {
    for name in [during, last] {
        if taken.contains(name) {
            found.push((object, format!("`{schema}.{name}` already exists")));
            return;
        }
    }
    if let Some(other) = names.insert(last.to_owned(), object.clone()) {
        found.push((
            object,
            format!("would be named `{schema}.{last}`, as {other} would"),
        ));
    }
}
